package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"fuju/accounts"
	"fuju/catalog"
	"fuju/cmd/internal/demo"
	"fuju/internal/l10n"
	"fuju/internal/tenancy"
	"fuju/rentals"
	"fuju/stations"
)

// measureReservations runs reserve → cancel cycles from families
// concurrent families, each signed in with its own session and reserving
// for its own renter through the API (/api/v1/me/reservations), in two
// rounds: spread (each family reserves at its own station and product, so
// the holds fall on distinct units) and one product (every family reserves
// the same product at one station, which has a unit for each, so holds race
// for the same stock). The cancel frees the unit for the next cycle. It
// reports reservations per second and the latency of each step.
func measureReservations(out io.Writer, c *city, families, cycles int) error {
	ctx := context.Background()
	a := c.apps[0]
	by := tenancy.Actor{ID: "bench", Name: "bench", Role: "system"}
	// A product with a unit for every family at Minzhu Road.
	if _, err := a.Catalog.Create(ctx, tenancy.PlatformScope, catalog.Product{ID: "bench-walker", OperatorID: "op-kangning", Category: "walker",
		Name: l10n.Text{Zh: "测试助行架", En: "Bench walker"}, Rate: catalog.RatePlan{DailyFen: 200, Block30Fen: 3000, DepositFen: 10000}}, by); err != nil {
		return err
	}
	var units []stations.Unit
	for i := range families + 10 {
		units = append(units, stations.Unit{Tag: fmt.Sprintf("JZ-BW-%04d", i+1), ProductID: "bench-walker", StationID: "jf-minzhu", State: stations.Available})
	}
	if errs, err := a.Stations.CreateUnits(ctx, units, by); err != nil {
		return err
	} else if e := firstNonNil(errs); e != nil {
		return e
	}
	// Every station takes the most pickups a slot may take.
	for _, st := range a.Stations.Index().Stations() {
		if _, err := a.Stations.SetSlotSettings(ctx, tenancy.PlatformScope, st.ID, stations.SlotSettings{Capacity: stations.MaxSlotCapacity, GraceMinutes: 120}, by); err != nil {
			return err
		}
	}
	// Spread: (station, product) pairs of Kangning with two units free or
	// more, one per family (round robin when there are fewer).
	type pair struct{ station, product string }
	var pairs []pair
	for _, p := range demo.Products {
		if p.P.OperatorID != "op-kangning" {
			continue
		}
		for st, n := range a.Stations.Index().AvailableAt(p.P.ID) {
			if n >= 2 {
				pairs = append(pairs, pair{st, p.P.ID})
			}
		}
	}
	sort.Slice(pairs, func(i, j int) bool { return pairs[i].station+pairs[i].product < pairs[j].station+pairs[j].product })
	if len(pairs) == 0 {
		return fmt.Errorf("no station has two units of a product free")
	}
	type family struct {
		cookie, csrf, renter string
	}
	fams := make([]family, families)
	tr := &http.Transport{MaxIdleConns: families, MaxIdleConnsPerHost: families}
	client := &http.Client{Transport: tr, Timeout: 60 * time.Second}
	defer tr.CloseIdleConnections()
	call := func(i int, f family, method, path string, body, into any) (time.Duration, int, error) {
		b, _ := json.Marshal(body)
		req, _ := http.NewRequest(method, c.urls[i%len(c.urls)]+path, bytes.NewReader(b))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Cookie", "fuju_session="+f.cookie)
		if f.csrf != "" {
			req.Header.Set("X-CSRF-Token", f.csrf)
		}
		t0 := time.Now()
		resp, err := client.Do(req)
		if err != nil {
			return 0, 0, err
		}
		defer resp.Body.Close()
		d := time.Since(t0)
		if resp.StatusCode >= 300 {
			msg, _ := io.ReadAll(resp.Body)
			return d, resp.StatusCode, fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, msg)
		}
		if into != nil {
			return d, resp.StatusCode, json.NewDecoder(resp.Body).Decode(into)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		return d, resp.StatusCode, nil
	}
	for i := range fams {
		u, err := a.Auth.CreateUser(ctx, accounts.NewUser{Name: "测试家属", Phone: fmt.Sprintf("1360000%04d", i), Password: "bench-password-2026", Role: accounts.Renter})
		if err != nil {
			return err
		}
		r, err := a.Rentals.RegisterRenter(ctx, tenancy.OperatorScope("op-kangning"), rentals.Renter{Name: "测试老人", Phone: fmt.Sprintf("1350000%04d", i),
			IDNumber: deskIDNumber(500 + i), HomeStationID: "jf-minzhu", HomeOperatorID: "op-kangning"}, by)
		if err != nil {
			return err
		}
		if _, err := a.Rentals.LinkUser(ctx, r.ID, u.ID, by); err != nil {
			return err
		}
		tok, _, err := a.Auth.NewSession(ctx, u, false, "127.0.0.1", "fujubench")
		if err != nil {
			return err
		}
		fams[i] = family{cookie: tok, renter: r.ID}
		var me struct {
			CSRF string `json:"csrf_token"`
		}
		if _, _, err := call(i, fams[i], "GET", "/api/v1/me", nil, &me); err != nil {
			return err
		}
		fams[i].csrf = me.CSRF
	}
	// Tomorrow's (or the next open day's) slots at each station.
	slotsAt := map[string][]time.Time{}
	slotOf := func(station string, i int) (time.Time, error) {
		if _, ok := slotsAt[station]; !ok {
			ss, err := a.Reservations.Slots(ctx, station)
			if err != nil {
				return time.Time{}, err
			}
			for _, s := range ss {
				if s.Start.After(time.Now().Add(24 * time.Hour)) {
					slotsAt[station] = append(slotsAt[station], s.Start)
				}
			}
			if len(slotsAt[station]) == 0 {
				return time.Time{}, fmt.Errorf("station %s has no slot", station)
			}
		}
		l := slotsAt[station]
		return l[i%len(l)], nil
	}
	for _, round := range []struct {
		name string
		pick func(i int) pair
	}{
		{"spread over stations and products (distinct units)", func(i int) pair { return pairs[i%len(pairs)] }},
		{"one product at one station", func(int) pair { return pair{"jf-minzhu", "bench-walker"} }},
	} {
		bodies := make([]map[string]any, families)
		for i := range fams {
			p := round.pick(i)
			slot, err := slotOf(p.station, i)
			if err != nil {
				return err
			}
			bodies[i] = map[string]any{"renter_id": fams[i].renter, "product_id": p.product, "station_id": p.station, "mode": "pickup", "slot": slot}
		}
		var (
			mu              sync.Mutex
			resLat, canLat  []time.Duration
			next, conflicts atomic.Int64
			firstErr        error
		)
		var wg sync.WaitGroup
		cpu0 := cpuTime()
		start := time.Now()
		for i := range fams {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for next.Add(1) <= int64(cycles) {
					var x struct {
						ID string `json:"id"`
					}
					d1, code, err := call(i, fams[i], "POST", "/api/v1/me/reservations", bodies[i], &x)
					if code == http.StatusConflict {
						conflicts.Add(1)
						continue
					}
					var d2 time.Duration
					if err == nil {
						d2, _, err = call(i, fams[i], "POST", "/api/v1/me/reservations/"+x.ID+"/cancel", nil, nil)
					}
					mu.Lock()
					if err != nil {
						if firstErr == nil {
							firstErr = err
						}
						mu.Unlock()
						return
					}
					resLat, canLat = append(resLat, d1), append(canLat, d2)
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		elapsed := time.Since(start)
		cpu := cpuTime() - cpu0
		if firstErr != nil {
			fmt.Fprintf(out, "reservations failed: %v\n", firstErr)
		}
		pct := func(l []time.Duration, p int) time.Duration {
			if len(l) == 0 {
				return 0
			}
			slices.Sort(l)
			return l[len(l)*p/100].Round(100 * time.Microsecond)
		}
		n := len(resLat)
		fmt.Fprintf(out, "\nreservations, %s: %d families, %d reserve → cancel cycles in %s = %.1f reservations/s (%d answered 409)\n",
			round.name, families, n, elapsed.Round(time.Millisecond), float64(n)/elapsed.Seconds(), conflicts.Load())
		if n > 0 {
			fmt.Fprintf(out, "  this process's CPU time: %s per cycle (%.2f cores)\n", (cpu / time.Duration(n)).Round(100*time.Microsecond), cpu.Seconds()/elapsed.Seconds())
		}
		fmt.Fprintf(out, "  %-10s p50 %8s  p99 %8s\n", "reserve", pct(resLat, 50), pct(resLat, 99))
		fmt.Fprintf(out, "  %-10s p50 %8s  p99 %8s\n", "cancel", pct(canLat, 50), pct(canLat, 99))
	}
	return nil
}

func firstNonNil(errs []error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}
