package payments

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"

	"fuju/internal/tenancy"
)

// An operator's Express account is created once however often and however
// concurrently it is asked for; the onboarding link and account.updated
// drive its status, and CanTakeCharges follows it.
func TestConnectedAccountLifecycle(t *testing.T) {
	h := newHarness(t)
	var wg sync.WaitGroup
	got := make([]Account, 6)
	errs := make([]error, 6)
	for i := range got {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got[i], errs[i] = h.svc.ConnectAccount(h.ctx, scopeA, adminA, "op-a")
		}()
	}
	wg.Wait()
	for i := range got {
		if errs[i] != nil || got[i].StripeID == "" || got[i].StripeID != got[0].StripeID {
			t.Fatalf("caller %d: %+v, %v (first %s)", i, got[i], errs[i], got[0].StripeID)
		}
	}
	calls := h.w.posts("/v1/accounts")
	if len(calls) == 0 {
		t.Fatal("no account created at Stripe")
	}
	for _, c := range calls {
		if c.Key != "operator/op-a/account" || c.Form.Get("type") != "express" ||
			c.Form.Get("capabilities[transfers][requested]") != "true" || c.Form.Get("metadata[fuju_operator]") != "op-a" {
			t.Fatalf("account call %+v", c)
		}
	}
	if ids := h.w.createdIDs("acct_"); len(ids) != 1 {
		t.Fatalf("Stripe made accounts %v, want one", ids)
	}
	a := got[0]
	if a.Status != AccountOnboarding || a.CanTakeCharges() {
		t.Fatalf("new account %+v", a)
	}
	if ok, _ := h.svc.CanTakeCharges(h.ctx, "op-a"); ok {
		t.Fatal("charges before onboarding")
	}

	url, _, err := h.svc.OnboardingLink(h.ctx, scopeA, adminA, "op-a", "https://fuju.example/operator/stripe/refresh", "https://fuju.example/operator/stripe/done")
	if err != nil || !strings.HasPrefix(url, "https://") {
		t.Fatalf("link %q, %v", url, err)
	}
	link := h.w.posts("/v1/account_links")
	if len(link) != 1 || link[0].Form.Get("account") != a.StripeID || link[0].Form.Get("type") != "account_onboarding" ||
		link[0].Form.Get("return_url") != "https://fuju.example/operator/stripe/done" || link[0].Key == "" {
		t.Fatalf("link call %+v", link)
	}
	if _, _, err := h.svc.OnboardingLink(h.ctx, scopeA, adminA, "op-a", "ftp://x", "https://fuju.example/ok"); err == nil {
		t.Fatal("bad refresh URL accepted")
	}

	// The operator submitted details but Stripe wants a bank account.
	h.w.set(a.StripeID, map[string]any{"details_submitted": true, "charges_enabled": false,
		"requirements": map[string]any{"currently_due": []any{"external_account"}, "disabled_reason": "requirements.past_due"}})
	h.mustDeliver("account.updated", "account", a.StripeID)
	a, err = h.svc.AccountStatus(h.ctx, scopeA, "op-a")
	if err != nil || a.Status != AccountRestricted || !slices.Equal(a.CurrentlyDue, []string{"external_account"}) || a.DisabledReason != "requirements.past_due" {
		t.Fatalf("restricted account %+v, %v", a, err)
	}
	h.w.set(a.StripeID, map[string]any{"charges_enabled": true, "payouts_enabled": true,
		"requirements": map[string]any{"currently_due": []any{}, "disabled_reason": nil}})
	h.mustDeliver("account.updated", "account", a.StripeID)
	if ok, err := h.svc.CanTakeCharges(h.ctx, "op-a"); !ok || err != nil {
		t.Fatalf("enabled account cannot take charges: %v", err)
	}
	// The same status again appends nothing.
	before, _ := h.svc.accountHead(h.ctx, "op-a")
	h.mustDeliver("account.updated", "account", a.StripeID)
	if after, _ := h.svc.accountHead(h.ctx, "op-a"); after.Seq != before.Seq {
		t.Fatalf("unchanged account appended: %d → %d", before.Seq, after.Seq)
	}
	acts := h.audit.actions()
	if !slices.Equal(acts, []string{"payments.account_create", "payments.account_link"}) {
		t.Fatalf("audit %v", acts)
	}
	for _, e := range h.audit.entries {
		if raw, _ := json.Marshal(e); e.Actor.ID != adminA.ID || adminA.Name != "" && strings.Contains(string(raw), adminA.Name) {
			t.Fatalf("audit entry names a person: %s", raw)
		}
	}
	if _, err := h.svc.ConnectAccount(h.ctx, scopeB, adminA, "op-a"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("operator B connected A's account: %v", err)
	}
	if _, err := h.svc.AccountStatus(h.ctx, tenancy.Scope{}, "op-a"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("zero scope sees an account: %v", err)
	}
}
