package payments

import (
	"context"
	"fmt"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"fuju/internal/db"
)

// BenchmarkWebhook measures webhook events applied per second on the
// embedded database (its own engine, tuned as the service tunes it), with
// stripe-mock as Stripe, two deliveries at a time per core:
//
//	distinct  each event a different payment's checkout.session.completed:
//	          verify, claim, read the session from Stripe, append the paid
//	          tab, project, tell the ledger
//	repeated  one event delivered again and again: verify and find the claim
//
// go test ./payments -run '^$' -bench Webhook
func BenchmarkWebhook(b *testing.B) {
	b.Run("distinct", func(b *testing.B) {
		h := tunedHarness(b)
		h.connect("op-a")
		sids := make([]string, b.N)
		for i := range sids {
			ref, lease := fmt.Sprintf("reservation/r-%d/prepay", i), fmt.Sprintf("l-%d", i)
			h.checkout(ref, lease, "op-a", 39000)
			sids[i] = h.sessionOf(lease, ref)
			h.w.pay(sids[i])
		}
		var next atomic.Int64
		b.SetParallelism(2)
		b.ResetTimer()
		start := time.Now()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if err := h.deliver("checkout.session.completed", "checkout.session", sids[next.Add(1)-1]); err != nil {
					b.Error(err)
				}
			}
		})
		b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "events/s")
		b.StopTimer()
		if got := len(h.ledger.entries()); got != b.N {
			b.Fatalf("%d payments recorded of %d", got, b.N)
		}
	})
	b.Run("repeated", func(b *testing.B) {
		h := tunedHarness(b)
		h.connect("op-a")
		h.checkout("reservation/r-1/prepay", "l-1", "op-a", 39000)
		sid := h.sessionOf("l-1", "reservation/r-1/prepay")
		h.w.pay(sid)
		payload, sig := h.event("evt_repeated", "checkout.session.completed", "checkout.session", sid, time.Now(), nil)
		if err := h.svc.HandleWebhook(h.ctx, payload, sig); err != nil {
			b.Fatal(err)
		}
		b.SetParallelism(2)
		b.ResetTimer()
		start := time.Now()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if err := h.svc.HandleWebhook(h.ctx, payload, sig); err != nil {
					b.Error(err)
				}
			}
		})
		b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "events/s")
		b.StopTimer()
		if n := h.ledger.deliveries("reservation/r-1/prepay"); n != 1 {
			b.Fatalf("applied %d times", n)
		}
	})
}

// tunedHarness is a harness on an embedded engine of its own, with the
// index on _id lookups db.Tune adds in the service.
func tunedHarness(b *testing.B) *harness {
	ctx := context.Background()
	d, err := db.Open(ctx, db.Config{DataDir: b.TempDir(), Name: "bench", Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = d.Close(ctx) })
	h := newHarnessOn(b, d.Database)
	if err := d.Tune(ctx); err != nil {
		b.Fatal(err)
	}
	h.svc.logger = slog.New(slog.DiscardHandler)
	return h
}
