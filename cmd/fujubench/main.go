// Command fujubench measures how fast Fuju serves its public reads and its
// station desks, next to two references on the same machine: a bare Gin
// handler returning a constant body (the ceiling) and a Gin handler doing one
// FindOne by _id on the same database (the floor of any request that touches
// the database). It measures, in one run, the embedded default (FerretDB with
// SQLite in the process, one instance), then a database server shared by one
// and by several instances: PostgreSQL with a FerretDB server in front of it,
// both started here (Debian's postgresql package), or the MongoDB deployment
// named by -mongodb-uri. The embedded reads are repeated with 10× and 100×
// the demo city's units.
//
//	go run ./cmd/fujubench [-clients 50] [-requests 4000] [-scales 1,10,100]
//	                       [-backends embedded,server] [-instances 2] [-mongodb-uri URI]
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gin-gonic/gin"
	"go.mongodb.org/mongo-driver/v2/bson"

	"fuju/cmd/internal/app"
	"fuju/cmd/internal/demo"
	"fuju/internal/config"
	"fuju/internal/tenancy"
	"fuju/internal/testenv"
	"fuju/stations"
	"fuju/web"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "fujubench:", err)
		os.Exit(1)
	}
}

type result struct {
	name     string
	n        int
	errors   int64
	elapsed  time.Duration
	p50, p99 time.Duration
}

func (r result) rps() float64 { return float64(r.n) / r.elapsed.Seconds() }

// setup is one database arrangement measured.
type setup struct {
	name string
	// uri of the database server; empty is the embedded engine.
	uri       string
	instances int
}

// figures are one setup's results at the demo city's own size.
type figures struct {
	setup   setup
	reads   []result // ceiling, floor, then the pages
	desk    deskResult
	hasDesk bool
}

func run(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("fujubench", flag.ContinueOnError)
	clients := fs.Int("clients", 50, "concurrent clients")
	requests := fs.Int("requests", 4000, "requests per measurement")
	scalesFlag := fs.String("scales", "1,10,100", "unit multipliers of the demo city to measure on the embedded engine")
	desks := fs.Int("desks", 20, "concurrent station desks in the check-out/check-in measurement (0 skips it)")
	cycles := fs.Int("cycles", 400, "check-out + check-in + cleaning cycles in all")
	deskRate := fs.Float64("desk-rate", 0, "cycles per second the desks start, in all, on a fixed schedule (0: each desk starts its next cycle as soon as the last is done)")
	families := fs.Int("families", 50, "concurrent families in the reservation measurement (0 skips it)")
	reserveCycles := fs.Int("reservations", 400, "reserve + cancel cycles in all, per round")
	backends := fs.String("backends", "embedded,server", "what to measure: embedded (SQLite in the process), server (a database server shared by the instances)")
	mongoURI := fs.String("mongodb-uri", "", "the database server to measure: a MongoDB deployment or a FerretDB server (empty: start PostgreSQL and FerretDB here)")
	instances := fs.Int("instances", 2, "instances sharing the database server, measured after one instance")
	reads := fs.Bool("reads", true, "measure the pages and the references (false: only the desks, on the demo city's own size)")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile of the whole run to this file")
	reportsRun := fs.Bool("reports", false, "measure only the dashboards, statements and the daily roll-up: on the demo city, then on a generated year with -reports-times its leases")
	reportsTimes := fs.Int("reports-times", 100, "with -reports: the generated year's leases as a multiple of the demo city's (0: the demo city only)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	var scales []int
	for _, s := range strings.Split(*scalesFlag, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 {
			return fmt.Errorf("-scales: %q is not a positive number", s)
		}
		scales = append(scales, n)
	}
	if *deskRate < 0 {
		return fmt.Errorf("-desk-rate: want 0 or more cycles per second, got %g", *deskRate)
	}
	if *instances < 1 || *instances > 8 {
		return fmt.Errorf("-instances: want 1 to 8, got %d", *instances)
	}
	var setups []setup
	for _, b := range strings.Split(*backends, ",") {
		switch strings.TrimSpace(b) {
		case "embedded":
			setups = append(setups, setup{name: "embedded SQLite, 1 instance", instances: 1})
		case "server":
			setups = append(setups, setup{name: "server", instances: 1})
			if *instances > 1 {
				setups = append(setups, setup{name: "server", instances: *instances})
			}
		default:
			return fmt.Errorf("-backends: %q is neither embedded nor server", b)
		}
	}
	gin.SetMode(gin.ReleaseMode)
	ctx := context.Background()
	// The collector as `fuju serve` sets it (GOGC and GOMEMLIMIT in the
	// environment win, as there).
	gc := config.TuneGC(os.Getenv)
	gcs := fmt.Sprintf("GOGC=%d GOMEMLIMIT=%dMiB", gc.Percent, gc.MemoryLimit>>20)
	if *reportsRun {
		fmt.Fprintf(out, "Fuju reports benchmark: GOMAXPROCS=%d %s, %s, load average %s\n\n", runtime.GOMAXPROCS(0), gcs, time.Now().Format(time.DateOnly), loadAverage())
		return measureReports(ctx, out, newKeys(), *reportsTimes)
	}
	fmt.Fprintf(out, "Fuju benchmark: %d clients, %d requests each, GOMAXPROCS=%d %s, %s, load average %s\n\n",
		*clients, *requests, runtime.GOMAXPROCS(0), gcs, time.Now().Format(time.DateOnly), loadAverage())

	server := *mongoURI
	serverName := "MongoDB at -mongodb-uri"
	for i, st := range setups {
		if st.name != "server" {
			continue
		}
		if server == "" {
			t0 := time.Now()
			pg, err := testenv.StartPostgresFerretDB(ctx, testenv.PostgresOptions{Durable: true,
				Logf: func(f string, a ...any) { fmt.Fprintf(os.Stderr, f+"\n", a...) }})
			if err != nil {
				return err
			}
			defer pg.Stop()
			server, serverName = pg.FerretDB.URI, "FerretDB on PostgreSQL"
			fmt.Fprintf(out, "started PostgreSQL (%s) and FerretDB in %s\n\n", pg.Postgres.Dir, time.Since(t0).Round(time.Millisecond))
		}
		setups[i].uri = server
		setups[i].name = fmt.Sprintf("%s, %d instance", serverName, st.instances)
		if st.instances > 1 {
			setups[i].name += "s"
		}
	}

	if !*reads {
		scales = scales[:1]
	}
	keys := newKeys()
	var all []figures
	var scaling []string
	for _, st := range setups {
		sizes := []int{1}
		if st.uri == "" {
			sizes = scales
		}
		for i, scale := range sizes {
			c, err := startCity(ctx, st, scale, keys)
			if err != nil {
				return err
			}
			units := c.apps[0].Stations.Index().UnitCount()
			fmt.Fprintf(out, "== %s, demo city ×%d: %d units (seeded in %s)\n", st.name, scale, units, c.seedTime.Round(time.Millisecond))
			targets := []struct{ name, path string }{
				{"API product search", "/api/v1/products?category=manual_wheelchair&available=1&near=35.215,113.242&sort=distance&tier=low_income"},
				{"API text search 轮椅", "/api/v1/products?q=%E8%BD%AE%E6%A4%85&tier=low_income"},
				{"API text search 助行器 折叠", "/api/v1/products?q=%E5%8A%A9%E8%A1%8C%E5%99%A8+%E6%8A%98%E5%8F%A0"},
				{"API text search zxq", "/api/v1/products?q=zxq"},
				{"product page", "/products/wc-alu-light"},
				{"station list page", "/stations"},
				{"station page", "/stations/jf-minzhu"},
			}
			var results []result
			if !*reads {
				targets = nil
			}
			if i == 0 && *reads {
				ceiling, floor, stop, err := references(c)
				if err != nil {
					return err
				}
				results = append(results,
					measure("ref: constant JSON (ceiling)", []string{ceiling}, "/", *clients, *requests),
					measure("ref: FindOne by _id (floor)", []string{floor}, "/", *clients, *requests))
				stop()
			}
			for _, t := range targets {
				results = append(results, measure(t.name, c.urls, t.path, *clients, *requests))
			}
			if *reads {
				fmt.Fprintf(out, "%-30s %10s %10s %10s %8s\n", "", "req/s", "p50", "p99", "errors")
				for _, r := range results {
					fmt.Fprintf(out, "%-30s %10.0f %10s %10s %8d\n", r.name, r.rps(), r.p50.Round(10*time.Microsecond), r.p99.Round(10*time.Microsecond), r.errors)
				}
				fmt.Fprintf(out, "page cache: %s\n", pageCacheCounts(c.urls))
			}
			if i == 0 {
				f := figures{setup: st, reads: results}
				if *desks > 0 {
					if f.desk, err = measureDesk(out, c, *desks, *cycles, *deskRate); err != nil {
						return err
					}
					f.hasDesk = true
				}
				if *families > 0 {
					if err := measureReservations(out, c, *families, *reserveCycles); err != nil {
						return err
					}
				}
				all = append(all, f)
				if *reads {
					ceil, floor := results[0].rps(), results[1].rps()
					fmt.Fprintln(out, "\nthroughput relative to the references:")
					for _, r := range results[2:] {
						fmt.Fprintf(out, "  %-28s %5.1f%% of the ceiling, %5.1f× the floor\n", r.name, 100*r.rps()/ceil, r.rps()/floor)
					}
				}
			}
			if st.uri == "" {
				for _, r := range results {
					if r.name == "API product search" || r.name == "API text search 轮椅" || strings.HasSuffix(r.name, " page") {
						scaling = append(scaling, fmt.Sprintf("  ×%-4d %7d units  %-20s %8.0f req/s  p99 %s", scale, units, r.name, r.rps(), r.p99.Round(10*time.Microsecond)))
					}
				}
			}
			fmt.Fprintln(out)
			c.stop()
		}
	}
	if len(scaling) > 1 {
		fmt.Fprintln(out, "== embedded: scaling with the number of units")
		for _, s := range scaling {
			fmt.Fprintln(out, s)
		}
		fmt.Fprintln(out)
	}
	summary(out, all, *desks, *deskRate)
	fmt.Fprintf(out, "\nload average at the end: %s\n", loadAverage())
	return nil
}

// summary prints the figures of every setup side by side, as a Markdown
// table for the README: throughput, p99 and the ratios to the ceiling and
// the floor measured in the same setup.
func summary(out io.Writer, all []figures, desks int, rate float64) {
	if len(all) == 0 {
		return
	}
	fmt.Fprintln(out, "== summary (req/s, p99; pages as % of the ceiling and × the floor of the same setup)")
	fmt.Fprint(out, "\n| |")
	for _, f := range all {
		fmt.Fprintf(out, " %s |", f.setup.name)
	}
	fmt.Fprint(out, "\n|---|")
	for range all {
		fmt.Fprint(out, "---|")
	}
	fmt.Fprintln(out)
	for i, r := range all[0].reads {
		fmt.Fprintf(out, "| %s |", strings.TrimPrefix(r.name, "ref: "))
		for _, f := range all {
			x := f.reads[i]
			cell := fmt.Sprintf("%s/s, p99 %s", thousands(x.rps()), short(x.p99))
			if i >= 2 {
				cell += fmt.Sprintf(" (%.0f%%, %.1f×)", 100*x.rps()/f.reads[0].rps(), x.rps()/f.reads[1].rps())
			}
			if x.errors > 0 {
				cell += fmt.Sprintf(", %d errors", x.errors)
			}
			fmt.Fprintf(out, " %s |", cell)
		}
		fmt.Fprintln(out)
	}
	if all[0].hasDesk {
		pace := "flat out"
		if rate > 0 {
			pace = fmt.Sprintf("started at %g cycles/s", rate)
		}
		fmt.Fprintf(out, "| desk: %d desks, check-out → check-in → cleaning, %s |", desks, pace)
		for _, f := range all {
			d := f.desk
			fmt.Fprintf(out, " %.1f cycles/s (p99 check-out %s, check-in %s, cleaning %s", d.cyclesPerSec, short(d.outP99), short(d.inP99), short(d.cleanP99))
			if rate > 0 {
				fmt.Fprintf(out, "; p99 start delay %s", short(d.lagP99))
			}
			fmt.Fprint(out, ") |")
		}
		fmt.Fprintln(out)
	}
}

func thousands(v float64) string {
	n := int64(v + 0.5)
	s := strconv.FormatInt(n, 10)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// short rounds a latency for the table: 2.5 ms, 54 ms, 1.4 s.
func short(d time.Duration) string {
	switch {
	case d >= time.Second:
		return fmt.Sprintf("%.1f s", d.Seconds())
	case d >= 10*time.Millisecond:
		return fmt.Sprintf("%.0f ms", float64(d)/float64(time.Millisecond))
	}
	return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond))
}

// loadAverage is the machine's 1, 5 and 15 minute load, for judging a run.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

// keys are the secrets every instance of a setup shares, as in production.
type keys struct{ secret, signing, id []byte }

func newKeys() keys {
	k := keys{secret: make([]byte, 32), signing: make([]byte, 32), id: make([]byte, 32)}
	for _, b := range [][]byte{k.secret, k.signing, k.id} {
		_, _ = rand.Read(b)
	}
	return k
}

type city struct {
	apps     []*app.App
	urls     []string
	seedTime time.Duration
	stop     func()
}

var cityCount atomic.Int64

// startCity opens the setup's database (the embedded engine in a temporary
// directory, or a new database on the server), seeds the demo city at scale
// and serves it from the setup's instances on loopback ports. Instances are
// in this process, each with its own services, read models, jobs and HTTP
// server, sharing nothing but the database and the keys.
func startCity(ctx context.Context, st setup, scale int, k keys) (*city, error) {
	// Errors only, so a failing request in the run is explained.
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	name := fmt.Sprintf("fujubench_%d_%d", os.Getpid(), cityCount.Add(1))
	c := &city{}
	var stops []func()
	c.stop = func() {
		for i := len(stops) - 1; i >= 0; i-- {
			stops[i]()
		}
	}
	for i := range st.instances {
		dir, err := os.MkdirTemp("", "fujubench-")
		if err != nil {
			c.stop()
			return nil, err
		}
		stops = append(stops, func() { os.RemoveAll(dir) })
		cfg := config.Config{DataDir: dir, MongoURI: st.uri, Database: name, PollInterval: time.Second,
			SecretKey: k.secret, MediaSigningKey: k.signing, IDKey: k.id, SMSTimeout: 10 * time.Second, SMSClaim: 2 * time.Minute}
		a, err := app.Open(ctx, cfg, logger)
		if err != nil {
			c.stop()
			return nil, err
		}
		stops = append(stops, func() {
			if i == 0 && st.uri != "" {
				_ = a.DB.Database.Drop(context.Background())
			}
			a.Close()
		})
		if i == 0 {
			t0 := time.Now()
			if err := demo.Seed(ctx, a, scale, scale == 1); err != nil {
				c.stop()
				return nil, err
			}
			c.seedTime = time.Since(t0)
			// A city that has been running has its past days rolled up.
			// A new one rolls up the demo history at its jobs' first run,
			// 30 s after the start, which holds one of the embedded
			// engine's two connections for seconds: measured, not waited
			// for, it would land in the middle of whatever is measured then.
			if _, err := a.Reports.Roll(ctx); err != nil {
				c.stop()
				return nil, err
			}
		}
		// Later instances open after the seed and load the city from the
		// database, like an instance started next to a running one.
		srv, err := web.NewServer(web.Config{Catalog: a.Catalog, Stations: a.Stations, Policies: a.Policies, Rentals: a.Rentals, Media: a.Media, DB: a.DB,
			Auth: a.Auth, SecretKey: a.SecretKey, Throttle: a.Throttle, Logger: logger, Reports: a.Reports, Reservations: a.Reservations})
		if err != nil {
			c.stop()
			return nil, err
		}
		url, stopHTTP, err := serve(srv)
		if err != nil {
			c.stop()
			return nil, err
		}
		bg, cancel := context.WithCancel(ctx)
		a.Background(bg, cfg)
		stops = append(stops, func() { cancel(); stopHTTP() })
		c.apps, c.urls = append(c.apps, a), append(c.urls, url)
	}
	return c, nil
}

func serve(h http.Handler) (string, func(), error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	hs := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go hs.Serve(ln)
	return "http://" + ln.Addr().String(), func() { hs.Close() }, nil
}

// references serves the two reference handlers: the ceiling and the floor.
func references(c *city) (ceiling, floor string, stop func(), err error) {
	body := []byte(`{"items":[],"total":0,"page":1,"per_page":20}`)
	ce := gin.New()
	ce.GET("/", func(ctx *gin.Context) { ctx.Data(http.StatusOK, "application/json", body) })
	units := c.apps[0].DB.Database.Collection("units")
	fl := gin.New()
	fl.GET("/", func(ctx *gin.Context) {
		var doc bson.M
		if err := units.FindOne(ctx.Request.Context(), bson.D{{Key: "_id", Value: "JZ-WC-0001"}}).Decode(&doc); err != nil {
			ctx.Status(http.StatusInternalServerError)
			return
		}
		ctx.JSON(http.StatusOK, doc)
	})
	u1, s1, err := serve(ce)
	if err != nil {
		return "", "", nil, err
	}
	u2, s2, err := serve(fl)
	if err != nil {
		return "", "", nil, err
	}
	return u1, u2, func() { s1(); s2() }, nil
}

// measure sends n GET requests for path from clients goroutines, to the
// instances at bases in turn, and reports throughput and latency
// percentiles.
func measure(name string, bases []string, path string, clients, n int) result {
	tr := &http.Transport{MaxIdleConns: clients, MaxIdleConnsPerHost: clients}
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	defer tr.CloseIdleConnections()
	// Warm up connections and caches.
	for i := 0; i < clients; i++ {
		if resp, err := client.Get(bases[i%len(bases)] + path); err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	}
	lat := make([]time.Duration, n)
	var next, errs atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= int64(n) {
					return
				}
				t0 := time.Now()
				resp, err := client.Get(bases[i%int64(len(bases))] + path)
				if err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != http.StatusOK {
						errs.Add(1)
					}
				} else {
					errs.Add(1)
				}
				lat[i] = time.Since(t0)
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	slices.Sort(lat)
	return result{name: name, n: n, errors: errs.Load(), elapsed: elapsed, p50: lat[n/2], p99: lat[n*99/100]}
}

// deskResult is the station desks' throughput and latencies.
type deskResult struct {
	cyclesPerSec                    float64
	outP99, inP99, cleanP99, lagP99 time.Duration
}

// measureDesk runs check-out → check-in → cleaning cycles from desks
// concurrent desks, each lending its own unit to its own renter through the
// HTTP API of one of the instances (in turn), and reports cycles per second
// and the latency of each step.
//
// With rate 0 each desk starts its next cycle as soon as its last is done:
// the machine's capacity, where every step also waits for the other desks'
// work queued before it. With a rate, cycle n is due at n/rate seconds after
// the start (one cycle a second per desk at 20 desks and 20 cycles/s, which
// is a very busy desk) and a free desk starts it then: the latency of each
// step at that load. A cycle that starts after it was due (every desk busy)
// is counted as its start delay, so a rate above the capacity shows.
func measureDesk(out io.Writer, c *city, desks, cycles int, rate float64) (deskResult, error) {
	ctx := context.Background()
	a := c.apps[0]
	secret, _, err := a.Auth.CreateToken(ctx, "op-kangning", "bench", []string{"desk"}, tenancy.System)
	if err != nil {
		return deskResult{}, err
	}
	units, _, err := a.Stations.Units(ctx, stations.UnitFilter{OperatorID: "op-kangning", State: stations.Available}, 0, int64(desks))
	if err != nil {
		return deskResult{}, err
	}
	if len(units) < desks {
		return deskResult{}, fmt.Errorf("only %d available units for %d desks", len(units), desks)
	}
	tr := &http.Transport{MaxIdleConns: desks, MaxIdleConnsPerHost: desks}
	client := &http.Client{Transport: tr, Timeout: 60 * time.Second}
	defer tr.CloseIdleConnections()
	call := func(desk int, method, path string, body any, into any) (time.Duration, error) {
		b, _ := json.Marshal(body)
		req, _ := http.NewRequest(method, c.urls[desk%len(c.urls)]+path, bytes.NewReader(b))
		req.Header.Set("Authorization", "Bearer "+secret)
		req.Header.Set("Content-Type", "application/json")
		t0 := time.Now()
		resp, err := client.Do(req)
		if err != nil {
			return 0, err
		}
		defer resp.Body.Close()
		d := time.Since(t0)
		if resp.StatusCode >= 300 {
			msg, _ := io.ReadAll(resp.Body)
			return d, fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, msg)
		}
		if into != nil {
			return d, json.NewDecoder(resp.Body).Decode(into)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		return d, nil
	}
	type deskSetup struct {
		unit   stations.Unit
		renter string
		due    int64
	}
	setups := make([]deskSetup, desks)
	cycle := func(i int) (d1, d2, d3 time.Duration, err error) {
		st := setups[i]
		d1, err = call(i, "POST", "/api/v1/staff/checkouts", map[string]any{"unit": st.unit.Tag, "renter_id": st.renter, "days": 30,
			"station_id": st.unit.StationID, "payments": []map[string]any{{"method": "cash", "amount_fen": st.due}},
			"terms_version": "bench", "accepted_name": "测试"}, nil)
		if err == nil {
			d2, err = call(i, "POST", "/api/v1/staff/checkins", map[string]any{"unit": st.unit.Tag, "outcome": "ok",
				"station_id": st.unit.StationID, "refund_method": "cash"}, nil)
		}
		if err == nil {
			d3, err = call(i, "POST", "/api/v1/staff/units/"+st.unit.Tag+"/clean", map[string]any{"method": "uv",
				"checklist": a.Stations.CleaningChecklist(st.unit.ProductID), "station_id": st.unit.StationID}, nil)
		}
		return d1, d2, d3, err
	}
	for i := range setups {
		u := units[i]
		var r struct {
			ID string `json:"id"`
		}
		phone := fmt.Sprintf("1370000%04d", i)
		if _, err := call(i, "POST", "/api/v1/staff/renters", map[string]any{"name": "测试", "phone": phone,
			"id_number": deskIDNumber(i), "station_id": u.StationID}, &r); err != nil {
			return deskResult{}, err
		}
		var q struct {
			DueNowFen int64 `json:"due_now_fen"`
		}
		if _, err := call(i, "GET", "/api/v1/staff/quote?unit="+u.Tag+"&renter="+r.ID+"&days=30", nil, &q); err != nil {
			return deskResult{}, err
		}
		setups[i] = deskSetup{unit: u, renter: r.ID, due: q.DueNowFen}
		// One cycle per desk before the clock starts, one desk after the
		// other: a desk's first check-out also writes its renter's lease
		// index, and twenty desks starting within the same millisecond
		// on a cold process is not how a day at the desks begins.
		if _, _, _, err := cycle(i); err != nil {
			return deskResult{}, fmt.Errorf("warm-up cycle: %w", err)
		}
	}
	var (
		mu                      sync.Mutex
		outLat, inLat, cleanLat []time.Duration
		lags                    []time.Duration
		next, failures          atomic.Int64
		firstErr                error
	)
	var wg sync.WaitGroup
	cpu0 := cpuTime()
	start := time.Now()
	for i := range setups {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				n := next.Add(1)
				if n > int64(cycles) {
					return
				}
				var lag time.Duration
				if rate > 0 {
					due := start.Add(time.Duration(float64(n-1) / rate * float64(time.Second)))
					if wait := time.Until(due); wait > 0 {
						time.Sleep(wait)
					} else {
						lag = -wait
					}
				}
				d1, d2, d3, err := cycle(i)
				mu.Lock()
				if err != nil {
					failures.Add(1)
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					return
				}
				outLat, inLat, cleanLat = append(outLat, d1), append(inLat, d2), append(cleanLat, d3)
				lags = append(lags, lag)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	cpu := cpuTime() - cpu0
	if firstErr != nil {
		fmt.Fprintf(out, "desk cycles failed (%d desks stopped): %v\n", failures.Load(), firstErr)
	}
	pct := func(l []time.Duration, p int) time.Duration {
		if len(l) == 0 {
			return 0
		}
		slices.Sort(l)
		return l[len(l)*p/100].Round(100 * time.Microsecond)
	}
	pace := "each desk's next as soon as its last is done"
	if rate > 0 {
		pace = fmt.Sprintf("started at %g cycles/s", rate)
	}
	fmt.Fprintf(out, "\nstation desk: %d desks, %d check-out → check-in → cleaning cycles (%s) in %s = %.1f cycles/s\n",
		desks, len(outLat), pace, elapsed.Round(time.Millisecond), float64(len(outLat))/elapsed.Seconds())
	if len(outLat) > 0 {
		fmt.Fprintf(out, "  this process's CPU time: %s per cycle (server, engine and client; %.2f cores)\n",
			(cpu / time.Duration(len(outLat))).Round(100*time.Microsecond), cpu.Seconds()/elapsed.Seconds())
	}
	fmt.Fprintf(out, "  %-10s p50 %8s  p99 %8s\n", "check-out", pct(outLat, 50), pct(outLat, 99))
	fmt.Fprintf(out, "  %-10s p50 %8s  p99 %8s\n", "check-in", pct(inLat, 50), pct(inLat, 99))
	fmt.Fprintf(out, "  %-10s p50 %8s  p99 %8s\n", "cleaning", pct(cleanLat, 50), pct(cleanLat, 99))
	if rate > 0 {
		late := 0
		for _, l := range lags {
			if l > 10*time.Millisecond {
				late++
			}
		}
		fmt.Fprintf(out, "  %-10s p50 %8s  p99 %8s  (%d of %d cycles started over 10 ms after they were due)\n",
			"start delay", pct(lags, 50), pct(lags, 99), late, len(lags))
	}
	return deskResult{cyclesPerSec: float64(len(outLat)) / elapsed.Seconds(),
		outP99: pct(outLat, 99), inP99: pct(inLat, 99), cleanP99: pct(cleanLat, 99), lagP99: pct(lags, 99)}, nil
}

// cpuTime is the CPU time this process has used, user and system: what a
// desk cycle costs the machine, whatever else runs on it.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// deskIDNumber is a valid resident ID number (with its check character) for
// the renter of desk i: one person may be registered only once in a city.
func deskIDNumber(i int) string {
	body := fmt.Sprintf("41081119491231%03d", i)
	weights := []int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}
	sum := 0
	for j, w := range weights {
		sum += int(body[j]-'0') * w
	}
	return body + string("10X98765432"[sum%11])
}

// pageCacheCounts sums what the instances' page caches did in the run (their
// fuju_page_cache_total counters), so a run shows whether pages came from
// memory or were rendered.
func pageCacheCounts(urls []string) string {
	counts := map[string]float64{}
	for _, u := range urls {
		resp, err := http.Get(u + "/metrics")
		if err != nil {
			return err.Error()
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return err.Error()
		}
		for _, line := range strings.Split(string(b), "\n") {
			rest, ok := strings.CutPrefix(line, `fuju_page_cache_total{result="`)
			if !ok {
				continue
			}
			result, value, _ := strings.Cut(rest, `"} `)
			n, _ := strconv.ParseFloat(value, 64)
			counts[result] += n
		}
	}
	return fmt.Sprintf("%.0f served from memory, %.0f rendered and kept, %.0f rendered for one visitor", counts["hit"], counts["miss"], counts["bypass"])
}
