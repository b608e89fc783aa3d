package app

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"fuju/accounts"
	"fuju/internal/config"
	"fuju/internal/tenancy"
	"fuju/internal/testenv"
	"fuju/messages"
)

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }

func open(t *testing.T, env map[string]string) *App {
	t.Helper()
	env["DATA_DIR"] = t.TempDir()
	cfg, err := config.Load("fuju", nil, func(k string) string { return env[k] }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	a, err := Open(context.Background(), cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Close)
	return a
}

// Online payment is built only with a Stripe key; then its audit entries
// reach the audit log.
func TestPaymentsOnlyWithAStripeKey(t *testing.T) {
	if a := open(t, map[string]string{}); a.Payments != nil {
		t.Fatal("payments built without STRIPE_SECRET_KEY")
	}
	a := open(t, map[string]string{"STRIPE_SECRET_KEY": "sk_test_fuju", "STRIPE_WEBHOOK_SECRET": "whsec_fuju",
		"STRIPE_API_BASE": testenv.StripeMock(t), "FUJU_PLATFORM_FEE_BP": "100"})
	if a.Payments == nil {
		t.Fatal("no payments with STRIPE_SECRET_KEY")
	}
	ctx := context.Background()
	by := tenancy.Actor{ID: "u-1", Name: "王经理", Role: "operator_admin"}
	acct, err := a.Payments.ConnectAccount(ctx, tenancy.OperatorScope("op-a"), by, "op-a")
	if err != nil || acct.StripeID == "" {
		t.Fatalf("connect through the wired service: %+v, %v", acct, err)
	}
	entries, _, err := a.Auth.Audit(ctx, accounts.AuditFilter{OperatorID: "op-a"})
	if err != nil || len(entries) != 1 || entries[0].Action != "payments.account_create" || entries[0].Actor.ID != "u-1" {
		t.Fatalf("audit %+v, %v", entries, err)
	}
	if len(entries[0].Changes) != 1 || entries[0].Changes[0].Field != "stripe_account" || entries[0].Changes[0].After != acct.StripeID {
		t.Fatalf("audit changes %+v", entries[0].Changes)
	}
}

// With FUJU_SMS_SENDER=http the wired outbox delivers through the gateway
// from the background job, and a family's opt-out lands in the audit log
// without a number.
func TestMessagesAreWired(t *testing.T) {
	got := make(chan messages.Outgoing, 1)
	gw := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var m messages.Outgoing
		if r.Header.Get("Authorization") != "Bearer gw-token" || json.NewDecoder(r.Body).Decode(&m) != nil {
			http.Error(w, "no", http.StatusUnauthorized)
			return
		}
		got <- m
	}))
	defer gw.Close()
	cfg, err := config.Load("fuju", nil, func(k string) string {
		return map[string]string{
			"MONGODB_URI": testenv.MongoURI(t), "FUJU_DB_NAME": testenv.DBName(t.Name()), "DATA_DIR": t.TempDir(),
			"FUJU_SMS_SENDER": "http", "FUJU_SMS_URL": gw.URL + "/send", "FUJU_SMS_TOKEN": "gw-token", "FUJU_POLL_INTERVAL": "200ms",
		}[k]
	}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a, err := Open(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		cancel()
		_ = a.DB.Database.Drop(context.Background())
		a.Close()
	}()
	a.Background(ctx, cfg)

	m, err := a.Messages.Enqueue(ctx, messages.NewMessage{Event: "login/att-1", Kind: messages.PhoneCode,
		To: messages.Recipient{Key: messages.UserKey("u-1"), Phone: "13800000005"}, Params: messages.Params{Code: "123456", Minutes: 5}})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case out := <-got:
		if out.ID != m.ID || out.To != "13800000005" || !strings.Contains(out.Text, "123456") {
			t.Errorf("gateway got %+v", out)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the background job did not deliver the message")
	}

	family := messages.Actor{ID: "u-1", Name: "李家", Role: "renter"}
	if _, err := a.Messages.SetReminders(ctx, family, messages.UserKey("u-1"), false); err != nil {
		t.Fatal(err)
	}
	entries, _, err := a.Auth.Audit(ctx, accounts.AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Action != "messages.reminders_off" || entries[0].Actor.ID != "u-1" ||
		entries[0].Target != "recipient/user-u-1" || len(entries[0].Changes) != 1 || entries[0].Changes[0].Field != "reminders" {
		t.Fatalf("audit log %+v", entries)
	}
	b, _ := json.Marshal(entries)
	if strings.Contains(string(b), "13800000005") {
		t.Errorf("audit log holds the number: %s", b)
	}
}
