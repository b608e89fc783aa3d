package messages

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"fuju/internal/db"
)

// BenchmarkOutbox measures the outbox on the embedded engine as the service
// runs it (with db.Tune's _id index): enqueueing, and delivering through the
// http sender to a gateway on 127.0.0.1 that answers at once or after 20 ms,
// with the default 4 workers and with one. Each op is one message; msgs/s is the figure to read. (Several instances
// need MongoDB, so one instance is what the embedded engine serves.)
// Run: go test ./messages -run '^$' -bench Outbox -benchtime 400x
func BenchmarkOutbox(b *testing.B) {
	ctx := context.Background()
	d, err := db.Open(ctx, db.Config{DataDir: b.TempDir(), Name: "bench", Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	defer d.Close(ctx)
	var latency atomic.Int64
	var received atomic.Int64
	gw := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		time.Sleep(time.Duration(latency.Load()))
		received.Add(1)
		w.WriteHeader(http.StatusAccepted)
	}))
	defer gw.Close()
	sender, err := NewHTTPSender(HTTPConfig{URL: gw.URL, Token: "bench", Timeout: 10 * time.Second})
	if err != nil {
		b.Fatal(err)
	}
	// A daytime clock, so quiet hours never hold the benchmark's reminders.
	start, base := time.Now(), cityTime("2026-03-02 10:00")
	now := func() time.Time { return base.Add(time.Since(start)) }
	newService := func(workers int) *Service {
		s, err := NewService(d.Database, sender, nil, Options{Workers: workers, Now: now, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		if err != nil {
			b.Fatal(err)
		}
		if err := s.Init(ctx); err != nil {
			b.Fatal(err)
		}
		return s
	}
	first := newService(0)
	if err := d.Tune(ctx); err != nil {
		b.Fatal(err)
	}
	run := 0
	enqueue := func(b *testing.B, s *Service, n int) {
		run++
		for i := range n {
			in := reminder(fmt.Sprintf("lease/b%d-%d/due-3d", run, i), fmt.Sprintf("r-%d", i%50))
			in.StationID = fmt.Sprintf("st-%d", i%5)
			if _, err := s.Enqueue(ctx, in); err != nil {
				b.Fatal(err)
			}
		}
	}
	perSecond := func(b *testing.B) {
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
	}

	b.Run("enqueue", func(b *testing.B) {
		enqueue(b, first, b.N)
		perSecond(b)
		// Leave nothing due for the delivery runs.
		b.StopTimer()
		for {
			if n, err := first.Deliver(ctx); err != nil || n == 0 {
				break
			}
		}
	})
	for _, c := range []struct {
		workers int
		latency time.Duration
	}{{4, 0}, {1, 0}, {4, 20 * time.Millisecond}, {1, 20 * time.Millisecond}} {
		b.Run(fmt.Sprintf("deliver/workers=%d/gateway=%s", c.workers, c.latency), func(b *testing.B) {
			latency.Store(int64(c.latency))
			s := newService(c.workers)
			enqueue(b, first, b.N)
			before := received.Load()
			b.ResetTimer()
			for {
				n, err := s.Deliver(ctx)
				if err != nil {
					b.Fatal(err)
				}
				if n == 0 {
					break
				}
			}
			b.StopTimer()
			if got := received.Load() - before; got != int64(b.N) {
				b.Fatalf("gateway got %d of %d messages", got, b.N)
			}
			perSecond(b)
		})
	}
}
