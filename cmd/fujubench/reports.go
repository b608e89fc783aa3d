package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"fuju/cmd/internal/app"
	"fuju/cmd/internal/demo"
	"fuju/internal/config"
	"fuju/internal/eventlog"
	"fuju/internal/l10n"
	"fuju/internal/tenancy"
	"fuju/rentals"
	"fuju/reports"
	"fuju/stations"
)

// The reports measurement (-reports): the dashboards and statements of the
// demo city with its year of history, then of a generated year with 100
// times its leases in a 200-station city, before the roll-up (every day
// computed from the logs), the roll-up's rebuild, and after it.

// measureReports runs the reports measurement and writes its tables.
func measureReports(ctx context.Context, out io.Writer, k keys, times int) error {
	a, stop, err := openApp(ctx, k)
	if err != nil {
		return err
	}
	t0 := time.Now()
	if err := demo.Seed(ctx, a, 1, true); err != nil {
		stop()
		return err
	}
	fmt.Fprintf(out, "demo city seeded in %s\n", short(time.Since(t0)))
	leases, err := yearLeases(ctx, a)
	if err != nil {
		stop()
		return err
	}
	fmt.Fprintf(out, "\n## demo city: 20 stations, %d leases in the last 12 months\n\n", leases)
	if err := reportFigures(ctx, out, a, "op-kangning", true); err != nil {
		stop()
		return err
	}
	stop()

	if times <= 0 {
		return nil
	}
	a, stop, err = openApp(ctx, k)
	if err != nil {
		return err
	}
	defer stop()
	t0 = time.Now()
	n, docs, err := generateYear(ctx, a, 10, 20, leases*times)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "\n## generated city: 200 stations, %d units, %d leases in 12 months (%d× the demo's), %d events written in %s\n\n",
		200*unitsPerStation, n, times, docs, short(time.Since(t0)))
	return reportFigures(ctx, out, a, benchOperator(0), true)
}

func openApp(ctx context.Context, k keys) (*app.App, func(), error) {
	dir, err := os.MkdirTemp("", "fujubench-reports-")
	if err != nil {
		return nil, nil, err
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	cfg := config.Config{DataDir: dir, Database: "fujubench_reports", PollInterval: time.Second,
		SecretKey: k.secret, MediaSigningKey: k.signing, IDKey: k.id, SMSTimeout: 10 * time.Second, SMSClaim: 2 * time.Minute}
	a, err := app.Open(ctx, cfg, logger)
	if err != nil {
		os.RemoveAll(dir)
		return nil, nil, err
	}
	return a, func() { a.Close(); os.RemoveAll(dir) }, nil
}

// yearLeases counts the leases that started in the last 12 months (their
// rent entries).
func yearLeases(ctx context.Context, a *app.App) (int, error) {
	entries, err := a.Rentals.LedgerEntries(ctx, tenancy.PlatformScope, "")
	if err != nil {
		return 0, err
	}
	since := rentals.Date(time.Now().AddDate(-1, 0, 0))
	n := 0
	for _, e := range entries {
		if e.Kind == rentals.EntryRent && e.Day >= since {
			n++
		}
	}
	return n, nil
}

// reportFigures times the dashboards of one operator and of the city over
// three ranges, computed from the logs, then the roll-up's rebuild, then
// the dashboards again; and, when statements, last month's statement.
func reportFigures(ctx context.Context, out io.Writer, a *app.App, op string, statements bool) error {
	now := time.Now()
	var ranges []reports.Range
	for _, name := range []string{reports.RangeLastMonth, reports.RangeThisMonth, reports.RangeLast12Months} {
		r, err := reports.ParseRange(now, name, "", "")
		if err != nil {
			return err
		}
		ranges = append(ranges, r)
	}
	scope := tenancy.OperatorScope(op)
	timeAll := func() (map[string]time.Duration, error) {
		got := map[string]time.Duration{}
		for _, r := range ranges {
			for _, name := range reports.DashboardNames {
				t0 := time.Now()
				d, err := a.Reports.Dashboard(ctx, scope, op, name, r)
				if err != nil {
					return nil, err
				}
				_ = reports.DashboardCSV(d, plainWords{})
				got[r.Name+"/"+name] = time.Since(t0)
			}
			t0 := time.Now()
			if _, err := a.Reports.Dashboard(ctx, tenancy.PlatformScope, "", reports.DashMoney, r); err != nil {
				return nil, err
			}
			got[r.Name+"/city money"] = time.Since(t0)
		}
		return got, nil
	}
	before, err := timeAll()
	if err != nil {
		return err
	}
	t0 := time.Now()
	st, err := a.Reports.RebuildRollup(ctx, "")
	if err != nil {
		return err
	}
	first := time.Since(t0)
	t0 = time.Now()
	if _, err := a.Reports.Roll(ctx); err != nil {
		return err
	}
	idle := time.Since(t0)
	fmt.Fprintf(out, "roll-up: rebuild from the logs %s (%d operator-days and months stored); the 30-second roll with nothing due %s\n\n",
		short(first), st.Stored, short(idle))
	after, err := timeAll()
	if err != nil {
		return err
	}
	// Then as `fuju serve` runs them: today's figures kept a minute per
	// scope (FUJU_REPORTS_FRESH), so the first dashboard ending today of
	// the operator and of the city computes them and the others reuse them.
	a.Reports.SetFresh(time.Minute)
	kept, err := timeAll()
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "| %s | from the logs | from the roll-up | from the roll-up, today kept a minute |\n|---|---|---|---|\n", op)
	for _, r := range ranges {
		for _, name := range append(append([]string{}, reports.DashboardNames...), "city money") {
			key := r.Name + "/" + name
			fmt.Fprintf(out, "| %s, %s | %s | %s | %s |\n", name, r.Name, short(before[key]), short(after[key]), short(kept[key]))
		}
	}
	if !statements {
		return nil
	}
	month := now.In(l10n.Local).AddDate(0, 0, -now.In(l10n.Local).Day()).Format("2006-01")
	t0 = time.Now()
	s, err := a.Reports.Statement(ctx, scope, op, month)
	if err != nil {
		return err
	}
	draft := time.Since(t0)
	t0 = time.Now()
	pdf, err := reports.PDF(s, "zh")
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "\nstatement %s %s: draft %s (%d lines), PDF %s (%d bytes)\n", op, month, short(draft), len(s.Content.Lines),
		short(time.Since(t0)), len(pdf))
	return nil
}

// plainWords names dashboard columns by their keys.
type plainWords struct{}

func (plainWords) Word(key string) string { return key }
func (plainWords) Name(_ string, r reports.Row) string {
	if r.Name != "" {
		return r.Name
	}
	return r.Key
}

const unitsPerStation = 20

func benchOperator(i int) string { return fmt.Sprintf("bench-op-%02d", i+1) }

// generateYear writes a year of history straight into the units' and the
// ledgers' logs (and the units' documents, as projected from their last
// events; no event after now): ops operators with perOp stations each, unitsPerStation
// units per station lent about leases times in all, each lease a check-out
// (rent, and subsidy or deposit by tier), a return (deposit back, late
// fees now and then), cleaning or a repair, and available again; each
// subsidised check-out also grants its subsidy in the renter's subsidy
// log, as the desk does, so the statements have their lines. It is a
// benchmark's city: no lease documents or renters.
func generateYear(ctx context.Context, a *app.App, ops, perOp, leases int) (int, int, error) {
	districts := []string{"jiefang", "shanyang", "zhongzhan", "macun", "shifan", "wuzhi", "wenxian", "boai", "xiuwu", "qinyang", "mengzhou"}
	unitLog := eventlog.New[stations.UnitEvent](a.DB.Database, "unit")
	ledger := eventlog.New[rentals.LedgerEntry](a.DB.Database, "ledger")
	subsidy := eventlog.New[benchGrant](a.DB.Database, "subsidy")
	rng := rand.New(rand.NewPCG(13, 100))
	end := time.Now()
	start := end.AddDate(-1, 0, 0)
	units := ops * perOp * unitsPerStation
	// A unit's cycle: lent for 7–45 days, back, a day of cleaning, then
	// waiting; the wait makes the year's leases come out near leases.
	cycleHours := 365 * 24 * float64(units) / float64(max(leases, 1))
	wait := max(time.Duration(cycleHours-28*24)*time.Hour, 6*time.Hour)
	var uItems []eventlog.Item[stations.UnitEvent]
	var lItems []eventlog.Item[rentals.LedgerEntry]
	var gItems []eventlog.Item[benchGrant]
	var projections []any // the units' documents, as their last events left them
	docs, n := 0, 0
	flush := func(force bool) error {
		if len(uItems) >= 2000 || force && len(uItems) > 0 {
			if _, err := unitLog.AppendMany(ctx, uItems); err != nil {
				return err
			}
			docs += len(uItems)
			uItems = uItems[:0]
		}
		if len(projections) >= 2000 || force && len(projections) > 0 {
			if _, err := a.DB.Database.Collection("units").InsertMany(ctx, projections); err != nil {
				return err
			}
			docs += len(projections)
			projections = projections[:0]
		}
		if len(gItems) >= 2000 || force && len(gItems) > 0 {
			if _, err := subsidy.AppendMany(ctx, gItems); err != nil {
				return err
			}
			docs += len(gItems)
			gItems = gItems[:0]
		}
		if len(lItems) >= 2000 || force && len(lItems) > 0 {
			if _, err := ledger.AppendMany(ctx, lItems); err != nil {
				return err
			}
			docs += len(lItems)
			lItems = lItems[:0]
		}
		return nil
	}
	for o := range ops {
		op := benchOperator(o)
		if _, err := a.Stations.CreateOperator(ctx, stations.Operator{ID: op, Name: l10n.Text{Zh: op, En: op}}, tenancy.System); err != nil {
			return 0, 0, err
		}
		for si := range perOp {
			st := fmt.Sprintf("%s-st%02d", op, si+1)
			if _, err := a.Stations.CreateStation(ctx, stations.Station{ID: st, OperatorID: op, Name: l10n.Text{Zh: st, En: st},
				Address: l10n.Text{Zh: "路", En: "Road"}, District: districts[(o*perOp+si)%len(districts)], Lat: 35.2, Lng: 113.2,
				Hours: stations.StandardHours(), Active: true}); err != nil {
				return 0, 0, err
			}
			for ui := range unitsPerStation {
				tag := fmt.Sprintf("B-%s-%02d", st, ui+1)
				product := fmt.Sprintf("%s-p%d", op, ui%8+1)
				seq := int64(0)
				ev := func(at time.Time, kind string, from, to stations.State) {
					seq++
					uItems = append(uItems, eventlog.Item[stations.UnitEvent]{Entity: tag, Seq: seq, At: at,
						Event: stations.UnitEvent{Kind: kind, From: from, To: to, ProductID: product, OperatorID: op, StationID: st, By: tenancy.System}})
				}
				t := start.Add(-time.Duration(rng.IntN(30*24)) * time.Hour)
				created := t
				ev(t, "created", "", stations.Available)
				t = start.Add(time.Duration(rng.Int64N(int64(wait) + 1)))
				for t.Before(end) {
					n++
					lease := fmt.Sprintf("BL-%07d", n)
					days := 7 + rng.IntN(39)
					tier := []rentals.Tier{rentals.Subsistence, rentals.LowIncome, rentals.Standard}[rng.IntN(3)]
					rent := int64(days) * 500
					lseq := int64(0)
					entry := func(at time.Time, kind rentals.EntryKind, fen int64) {
						lseq++
						lItems = append(lItems, eventlog.Item[rentals.LedgerEntry]{Entity: lease, Seq: lseq, At: at,
							Event: rentals.LedgerEntry{Kind: kind, AmountFen: fen, LeaseID: lease, OperatorID: op, StationID: st,
								Tier: tier, PolicyVersion: 1, Day: rentals.Date(at), By: tenancy.System}})
					}
					ev(t, "checkout", stations.Available, stations.Rented)
					entry(t, rentals.EntryRent, rent)
					grant := func(fen int64) {
						entry(t, rentals.EntrySubsidy, fen)
						// One renter per lease, each its own log: the
						// statement's lines, without a yearly cap reached.
						gItems = append(gItems, eventlog.Item[benchGrant]{Entity: "bench-person-" + lease + "/" + t.Format("2006"), Seq: 1, At: t,
							Event: benchGrant{Kind: "grant", LeaseID: lease, AmountFen: fen, TotalFen: fen, Day: rentals.Date(t), OperatorID: op,
								StationID: st, Tier: tier, PolicyVersion: 1, Charge: "checkout", RenterID: "bench-renter-" + lease, Days: days,
								StandardFen: rent, RenterFen: rent - fen, CapFen: 360000}})
					}
					switch tier {
					case rentals.Subsistence:
						grant(rent)
					case rentals.LowIncome:
						grant(rent * 8 / 10)
					default:
						entry(t, rentals.EntryDeposit, 30000)
					}
					back := t.Add(time.Duration(days)*24*time.Hour + time.Duration(rng.IntN(48)-12)*time.Hour)
					if !back.Before(end) {
						break // still out
					}
					ev(back, "checkin", stations.Rented, stations.Returned)
					if tier == rentals.Standard {
						entry(back, rentals.EntryDepositReturn, 30000)
					}
					if back.Sub(t) > time.Duration(days)*24*time.Hour && tier == rentals.Standard {
						entry(back, rentals.EntryLateFee, 500)
					}
					ready := back.Add(2 * time.Hour)
					if !ready.Before(end) {
						break
					}
					if rng.IntN(20) == 0 {
						ev(ready, "repair", stations.Returned, stations.Repair)
						ready = ready.Add(48 * time.Hour)
						if !ready.Before(end) {
							break
						}
						ev(ready, "repaired", stations.Repair, stations.Cleaning)
					} else {
						ev(ready, "cleaning", stations.Returned, stations.Cleaning)
					}
					ready = ready.Add(20 * time.Hour)
					if !ready.Before(end) {
						break
					}
					ev(ready, "cleaned", stations.Cleaning, stations.Available)
					t = ready.Add(time.Duration(rng.Int64N(2*int64(wait) + 1)))
				}
				last := uItems[len(uItems)-1]
				projections = append(projections, bson.D{{Key: "_id", Value: tag}, {Key: "product_id", Value: product},
					{Key: "operator_id", Value: op}, {Key: "station_id", Value: st}, {Key: "state", Value: string(last.Event.To)},
					{Key: "seq", Value: last.Seq}, {Key: "created_at", Value: created}, {Key: "updated_at", Value: last.At}})
				if err := flush(false); err != nil {
					return 0, 0, err
				}
			}
		}
	}
	if err := flush(true); err != nil {
		return 0, 0, err
	}
	return n, docs, nil
}

// benchGrant is a subsidy grant as the rentals service logs it (the fields
// a statement reads), for the generated city.
type benchGrant struct {
	Kind          string       `bson:"kind"`
	LeaseID       string       `bson:"lease_id"`
	AmountFen     int64        `bson:"amount_fen"`
	TotalFen      int64        `bson:"total_fen"`
	Day           string       `bson:"day"`
	OperatorID    string       `bson:"operator_id"`
	StationID     string       `bson:"station_id"`
	Tier          rentals.Tier `bson:"tier"`
	PolicyVersion int          `bson:"policy_version"`
	Charge        string       `bson:"charge"`
	RenterID      string       `bson:"renter_id"`
	Days          int          `bson:"days"`
	StandardFen   int64        `bson:"standard_fen"`
	RenterFen     int64        `bson:"renter_fen"`
	CapFen        int64        `bson:"cap_fen"`
}
