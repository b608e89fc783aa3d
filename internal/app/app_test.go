package app

import (
	"context"
	"io"
	"log/slog"
	"os"
	"testing"

	"fuju/internal/config"
	"fuju/internal/testenv"
	"fuju/stations"
	"fuju/web/auth"
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
	by := stations.Actor{ID: "u-1", Name: "王经理", Role: "operator_admin"}
	acct, err := a.Payments.ConnectAccount(ctx, stations.OperatorScope("op-a"), by, "op-a")
	if err != nil || acct.StripeID == "" {
		t.Fatalf("connect through the wired service: %+v, %v", acct, err)
	}
	entries, _, err := a.Auth.Audit(ctx, auth.AuditFilter{OperatorID: "op-a"})
	if err != nil || len(entries) != 1 || entries[0].Action != "payments.account_create" || entries[0].Actor.ID != "u-1" || entries[0].Actor.Name != "" {
		t.Fatalf("audit %+v, %v", entries, err)
	}
	if len(entries[0].Changes) != 1 || entries[0].Changes[0].Field != "stripe_account" || entries[0].Changes[0].After != acct.StripeID {
		t.Fatalf("audit changes %+v", entries[0].Changes)
	}
}
