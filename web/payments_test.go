package web

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76/webhook"

	"fuju/internal/tenancy"
	online "fuju/payments"
	"fuju/rentals"
)

// testWebhookSecret signs the test servers' Stripe webhooks.
const testWebhookSecret = "whsec_fuju_test"

// testLedger tells the lease ledger what Stripe did, routed by the
// reservations service as the wiring's leaseLedger does
// (cmd/internal/app/payments.go).
type testLedger struct{ r *rentals.Reservations }

func onlineOutcome(o online.Outcome) rentals.OnlineOutcome {
	return rentals.OnlineOutcome{Key: o.Key, Ref: o.Ref, PaymentID: o.PaymentID, LeaseID: o.LeaseID, TabID: o.LeaseID, OperatorID: o.OperatorID,
		AmountFen: o.AmountFen, FeeFen: o.FeeFen, StripeRef: o.StripeRef, Reason: o.Reason}
}

func (l testLedger) PaidOnline(ctx context.Context, o online.Outcome) error {
	return l.r.OnlinePaid(ctx, onlineOutcome(o))
}
func (l testLedger) RefundedOnline(ctx context.Context, o online.Outcome) error {
	return l.r.OnlineRefunded(ctx, onlineOutcome(o))
}
func (l testLedger) RefundFailed(ctx context.Context, o online.Outcome) error {
	return l.r.OnlineRefundFailed(ctx, onlineOutcome(o))
}
func (l testLedger) Disputed(ctx context.Context, o online.Outcome) error {
	return l.r.OnlineDisputed(ctx, onlineOutcome(o))
}

// testPrepaid is the wiring's PrepaidMoney (cmd/internal/app/payments.go).
type testPrepaid struct{ pay *online.Service }

func (p testPrepaid) Prepaid(ctx context.Context, id string) ([]rentals.OnlineOutcome, error) {
	paid, err := p.pay.PaidOutcomes(ctx, id)
	out := make([]rentals.OnlineOutcome, len(paid))
	for i, o := range paid {
		out[i] = onlineOutcome(o)
	}
	return out, err
}

func (p testPrepaid) RefundPrepaid(ctx context.Context, x rentals.Reservation) error {
	paid, err := p.pay.PaidOutcomes(ctx, x.ID)
	if err != nil || len(paid) == 0 {
		return err
	}
	_, err = p.pay.Refund(ctx, tenancy.OperatorScope(x.OperatorID), tenancy.System, online.RefundRequest{
		Ref: "reservation/" + x.ID + "/refund", LeaseID: x.ID, Full: true, Reason: "reservation_" + string(x.State)})
	if errors.Is(err, online.ErrStripeUnavailable) || errors.Is(err, online.ErrStripeRefused) {
		return nil
	}
	return err
}

// stripeEvent is a Stripe event about an object, signed with secret at at.
func stripeEvent(t *testing.T, id, typ, objectType, objectID, apiVersion, secret string, at time.Time) ([]byte, string) {
	t.Helper()
	ev := map[string]any{"id": id, "object": "event", "api_version": apiVersion, "created": at.Unix(), "type": typ,
		"livemode": false, "pending_webhooks": 1, "request": map[string]any{"id": nil, "idempotency_key": nil},
		"data": map[string]any{"object": map[string]any{"id": objectID, "object": objectType}}}
	payload, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	signed := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: payload, Secret: secret, Timestamp: at})
	return signed.Payload, signed.Header
}

// postWebhook posts a body to the webhook route as Stripe does: no session,
// no CSRF token, no Origin.
func postWebhook(s *Server, body []byte, signature string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, "/api/v1/payments/stripe/webhook", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if signature != "" {
		req.Header.Set("Stripe-Signature", signature)
	}
	rec := httptest.NewRecorder()
	s.handler.ServeHTTP(rec, req)
	return rec
}

// The webhook route takes Stripe's signed events without a session: a
// genuine event is acknowledged however often it comes (the same id five
// times, 200 each, applied once), forged, stale, unsigned and wrong-version
// events are 400 naming bad_webhook, an oversized body is 413, and with
// online payment off the route is 404.
func TestStripeWebhookRoute(t *testing.T) {
	s := newTestServer(t)
	now := time.Now()
	const version = "2023-10-16"
	good, goodSig := stripeEvent(t, "evt_web_1", "checkout.session.completed", "checkout.session", "cs_test_web", version, testWebhookSecret, now)
	for i := range 5 {
		rec := postWebhook(s, good, goodSig)
		if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"received":true`) {
			t.Fatalf("delivery %d: %d %s", i+1, rec.Code, rec.Body)
		}
	}
	unused, unusedSig := stripeEvent(t, "evt_web_2", "customer.created", "customer", "cus_1", version, testWebhookSecret, now)
	if rec := postWebhook(s, unused, unusedSig); rec.Code != http.StatusOK {
		t.Fatalf("unused event type: %d %s", rec.Code, rec.Body)
	}
	_, forged := stripeEvent(t, "evt_web_1", "checkout.session.completed", "checkout.session", "cs_test_web", version, "whsec_attacker", now)
	old, oldSig := stripeEvent(t, "evt_web_3", "checkout.session.completed", "checkout.session", "cs_test_web", version, testWebhookSecret, now.Add(-10*time.Minute))
	ver, verSig := stripeEvent(t, "evt_web_4", "checkout.session.completed", "checkout.session", "cs_test_web", "2020-08-27", testWebhookSecret, now)
	for name, c := range map[string]struct {
		body []byte
		sig  string
	}{
		"forged signature":  {good, forged},
		"tampered body":     {bytes.Replace(good, []byte("completed"), []byte("expired"), 1), goodSig},
		"no signature":      {good, ""},
		"outside tolerance": {old, oldSig},
		"wrong api version": {ver, verSig},
	} {
		rec := postWebhook(s, c.body, c.sig)
		if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), `"bad_webhook"`) {
			t.Errorf("%s: %d %s, want 400 bad_webhook", name, rec.Code, rec.Body)
		}
	}
	big, _ := json.Marshal(map[string]string{"pad": strings.Repeat("x", maxWebhookBytes)})
	if rec := postWebhook(s, big, goodSig); rec.Code != http.StatusRequestEntityTooLarge {
		t.Errorf("oversized body: %d, want 413", rec.Code)
	}
	s.payments = nil
	if rec := postWebhook(s, good, goodSig); rec.Code != http.StatusNotFound {
		t.Errorf("online payment off: %d %s, want 404", rec.Code, rec.Body)
	}
}

// RefundDeposit refunds the deposit a renter paid online at check-in
// (docs/payments.md "Refunds at check-in"). Once payments has recorded the
// refund it owns it: Stripe unreachable is made later by its reconciler,
// Stripe refusing lands in the operator's queue.
func (p testPrepaid) RefundDeposit(ctx context.Context, r rentals.DepositRefund) error {
	_, err := p.pay.Refund(ctx, tenancy.OperatorScope(r.OperatorID), tenancy.System, online.RefundRequest{
		Ref: r.Ref, LeaseID: r.TabID, AmountFen: r.AmountFen, Reason: "deposit_return"})
	if errors.Is(err, online.ErrStripeUnavailable) || errors.Is(err, online.ErrStripeRefused) {
		return nil
	}
	return err
}
