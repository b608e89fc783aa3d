package throttle_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"fuju/internal/testenv"
	"fuju/internal/throttle"
)

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }

var secret = []byte(strings.Repeat("k", 32))

// clock is a settable time shared by the instances of a test.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// instances returns n independent stores on one database, as n processes
// behind a load balancer would have.
func instances(t *testing.T, d *mongo.Database, clk *clock, n int) []*throttle.Store {
	t.Helper()
	out := make([]*throttle.Store, n)
	for i := range out {
		out[i] = throttle.NewStore(d, secret)
		out[i].Now = clk.now
		if err := out[i].Init(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// The limit holds across two instances: parallel attempts on one key, spread
// over both, get exactly Max through per window, and each instance then
// refuses the key even though it counted only part of them itself.
func TestLimitHoldsAcrossInstances(t *testing.T) {
	ctx := context.Background()
	clk := &clock{t: time.Date(2026, 11, 26, 2, 0, 0, 0, time.UTC)}
	st := instances(t, testenv.DB(t), clk, 2)
	limits := []*throttle.Limit{st[0].Limit("login-ip", 5, 15*time.Minute), st[1].Limit("login-ip", 5, 15*time.Minute)}
	for round := range 3 {
		key := fmt.Sprintf("ip:203.0.113.%d", round)
		var wg sync.WaitGroup
		var ok, refused [2]atomic.Int64
		var numbers sync.Map
		errs := make(chan error, 40)
		start := make(chan struct{})
		for i := range 40 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				a, err := limits[i%2].Take(ctx, key)
				if err != nil {
					errs <- err
					return
				}
				if !a.OK {
					refused[i%2].Add(1)
					if a.Wait <= 0 || a.Wait > 15*time.Minute {
						errs <- fmt.Errorf("refused with wait %s", a.Wait)
					}
					return
				}
				ok[i%2].Add(1)
				if _, dup := numbers.LoadOrStore(a.N, i); dup {
					errs <- fmt.Errorf("attempt number %d given twice", a.N)
				}
			}()
		}
		close(start)
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		if got := ok[0].Load() + ok[1].Load(); got != 5 {
			t.Fatalf("round %d: %d attempts let through by two instances (%d + %d), want 5", round, got, ok[0].Load(), ok[1].Load())
		}
		// Whichever instance is asked next refuses.
		for i, l := range limits {
			if a, err := l.Take(ctx, key); err != nil || a.OK {
				t.Errorf("round %d: instance %d let a sixth attempt through (%+v, %v)", round, i, a, err)
			}
		}
	}

	// Sequential attempts alternating between instances, each instance's
	// memory behind the other's counts: still five.
	key, through := "acct:phone:13812345678", 0
	for i := range 12 {
		a, err := limits[i%2].Take(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		if a.OK {
			through++
		}
	}
	if through != 5 {
		t.Errorf("alternating instances let %d through, want 5", through)
	}

	// A new window starts afresh.
	clk.add(15 * time.Minute)
	if a, err := limits[1].Take(ctx, key); err != nil || !a.OK || a.N != 1 {
		t.Errorf("next window: %+v %v", a, err)
	}
}

// A refund on one instance gives the key room on the other.
func TestRefundAcrossInstances(t *testing.T) {
	ctx := context.Background()
	clk := &clock{t: time.Date(2026, 11, 26, 2, 0, 0, 0, time.UTC)}
	st := instances(t, testenv.DB(t), clk, 2)
	a, b := st[0].Limit("login-account", 3, time.Hour), st[1].Limit("login-account", 3, time.Hour)
	key := "acct:phone:13912345678"
	var taken []throttle.Attempt
	for range 3 {
		at, err := a.Take(ctx, key)
		if err != nil || !at.OK {
			t.Fatalf("take: %+v %v", at, err)
		}
		taken = append(taken, at)
	}
	if at, _ := b.Take(ctx, key); at.OK {
		t.Fatal("a fourth attempt got through on the other instance")
	}
	// The second attempt was a good login: refunded on instance b.
	if err := b.Refund(ctx, taken[1]); err != nil {
		t.Fatal(err)
	}
	if at, err := a.Take(ctx, key); err != nil || !at.OK {
		t.Fatalf("after a refund on the other instance: %+v %v", at, err)
	}
	if at, _ := b.Take(ctx, key); at.OK {
		t.Fatal("one refund let two attempts through")
	}
	// A refused attempt refunds nothing.
	refused, _ := a.Take(ctx, key)
	if err := a.Refund(ctx, refused); err != nil {
		t.Fatal(err)
	}
	if at, _ := a.Take(ctx, key); at.OK {
		t.Fatal("refunding a refused attempt made room")
	}
}

// Documents carry no key in clear, and Purge removes ended windows only.
func TestPurgeAndPrivacy(t *testing.T) {
	ctx := context.Background()
	d := testenv.DB(t)
	clk := &clock{t: time.Date(2026, 11, 26, 2, 0, 0, 0, time.UTC)}
	st := instances(t, d, clk, 1)[0]
	short, long := st.Limit("signup-ip", 10, 15*time.Minute), st.Limit("signup-phone", 10, 24*time.Hour)
	for _, l := range []*throttle.Limit{short, long} {
		for range 3 {
			if _, err := l.Take(ctx, "phone:13812345678"); err != nil {
				t.Fatal(err)
			}
		}
	}
	count := func() int64 {
		n, err := d.Collection("throttle").CountDocuments(ctx, bson.D{})
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	cur, err := d.Collection("throttle").Find(ctx, bson.D{})
	if err != nil {
		t.Fatal(err)
	}
	var docs []bson.M
	if err := cur.All(ctx, &docs); err != nil {
		t.Fatal(err)
	}
	for _, doc := range docs {
		if s := fmt.Sprint(doc); strings.Contains(s, "13812345678") {
			t.Fatalf("a phone number is stored: %s", s)
		}
	}
	if n, err := st.Purge(ctx); err != nil || n != 0 || count() != 6 {
		t.Fatalf("purge inside the windows removed %d (%v), %d left", n, err, count())
	}
	clk.add(15 * time.Minute)
	if n, err := st.Purge(ctx); err != nil || n != 3 || count() != 3 {
		t.Fatalf("purge after the short window removed %d (%v), %d left", n, err, count())
	}
	// The long window still counts what it had.
	if a, err := long.Take(ctx, "phone:13812345678"); err != nil || a.N != 4 {
		t.Fatalf("long window after purge: %+v %v", a, err)
	}
}
