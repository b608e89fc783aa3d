package reports

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"fuju/internal/l10n"
	"fuju/internal/tenancy"
	"fuju/rentals"
)

var (
	platform = tenancy.Actor{ID: "u-city", Name: "City", Role: "platform_admin"}
	nov5     = time.Date(2026, 11, 5, 10, 0, 0, 0, l10n.Local)
)

// october builds a month with each tier, a cap reached mid-month and a lease
// extended after the month's end: subsistence 30 days (¥90 subsidy), low
// income 30 days at a2 (¥72 of ¥90), standard 10 days (no subsidy), and a
// subsistence renter whose second 30 days meet the ¥100 cap (¥10 granted,
// ¥80 left out).
func octoberLeases(t *testing.T, c *city) (sub, low, capped2 rentals.Lease) {
	t.Helper()
	sub = c.checkout(c.a1, c.renter(c.a1, "张秀英", rentals.Subsistence), 30)
	low = c.checkout(c.a2, c.renter(c.a2, "李桂兰", rentals.LowIncome), 30)
	c.checkout(c.a1, c.renter(c.a1, "王建国", rentals.Standard), 10)
	capper := c.renter(c.a1, "赵德明", rentals.Subsistence)
	c.checkout(c.a1, capper, 30)
	c.clk.set(time.Date(2026, 10, 20, 10, 0, 0, 0, l10n.Local))
	capped2 = c.checkout(c.a1, capper, 30)
	c.checkout(c.b1, c.renter(c.b1, "孙丽", rentals.Subsistence), 30) // operator B's, not A's
	return sub, low, capped2
}

func TestStatementLinesAndTotals(t *testing.T) {
	c := newCity(t)
	ctx := context.Background()
	_, low, _ := octoberLeases(t, c)
	c.clk.set(time.Date(2026, 11, 3, 10, 0, 0, 0, l10n.Local))
	c.extend(low, 10) // across the month's end: November's line, capped at ¥100 − ¥72

	st, err := c.svc.Statement(ctx, c.adminA, "op-a", "2026-10")
	if err != nil {
		t.Fatal(err)
	}
	if st.Status != Draft || !st.Submittable {
		t.Fatalf("status %s submittable %v, want a submittable draft", st.Status, st.Submittable)
	}
	got := []string{}
	for _, l := range st.Content.Lines {
		got = append(got, strings.Join([]string{l.Day, string(l.Tier), l.RenterName, l.ProofType, l.StationID, Yuan(l.StandardFen), Yuan(l.RenterFen), Yuan(l.SubsidyFen), Yuan(l.CappedFen)}, " "))
	}
	want := []string{
		"2026-10-05 subsistence 张** dibao_card st-a1 90.00 0.00 90.00 0.00",
		"2026-10-05 low_income 李** low_income_certificate st-a2 90.00 18.00 72.00 0.00",
		"2026-10-05 subsistence 赵** dibao_card st-a1 90.00 0.00 90.00 0.00",
		"2026-10-20 subsistence 赵** dibao_card st-a1 90.00 80.00 10.00 80.00",
	}
	if strings.Join(sortedCopy(got[:3]), "\n")+"\n"+got[3] != strings.Join(sortedCopy(want[:3]), "\n")+"\n"+want[3] {
		t.Fatalf("lines:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if st.Content.Lines[3].YearTotalFen != 10000 || st.Content.Lines[3].CapFen != 10000 {
		t.Fatalf("capped line: year total %d cap %d, want 10000 10000", st.Content.Lines[3].YearTotalFen, st.Content.Lines[3].CapFen)
	}
	tot := st.Content.Total
	if tot.Lines != 4 || tot.SubsidyFen != 26200 || tot.StandardFen != 36000 || tot.RenterFen != 9800 || tot.CappedFen != 8000 {
		t.Fatalf("total %+v", tot)
	}
	byKey := func(ts []Total) map[string]int64 {
		m := map[string]int64{}
		for _, x := range ts {
			m[x.Key] = x.SubsidyFen
		}
		return m
	}
	if m := byKey(st.Content.ByTier); m["subsistence"] != 19000 || m["low_income"] != 7200 || len(m) != 2 {
		t.Fatalf("by tier %v", m)
	}
	if m := byKey(st.Content.ByStation); m["st-a1"] != 19000 || m["st-a2"] != 7200 {
		t.Fatalf("by station %v", m)
	}
	if m := byKey(st.Content.ByDistrict); m["jiefang"] != 19000 || m["shanyang"] != 7200 {
		t.Fatalf("by district %v", m)
	}
	nov, err := c.svc.Statement(ctx, c.adminA, "op-a", "2026-11")
	if err != nil {
		t.Fatal(err)
	}
	if nov.Submittable || len(nov.Content.Lines) != 1 || nov.Content.Lines[0].Charge != "extend" || nov.Content.Lines[0].Days != 10 ||
		nov.Content.Lines[0].SubsidyFen != 2800 || nov.Content.Lines[0].CappedFen != 1200 || nov.Content.Lines[0].LeaseID != low.ID {
		t.Fatalf("November (open month) %+v", nov.Content.Lines)
	}
}

func sortedCopy(s []string) []string {
	out := append([]string(nil), s...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

// A submitted statement's bytes never change while the desk goes on; a
// release after submission is an adjustment line of the next month.
func TestSubmittedStatementIsFrozen(t *testing.T) {
	c := newCity(t)
	ctx := context.Background()
	sub, low, capped2 := octoberLeases(t, c)
	c.clk.set(nov5)
	sent, err := c.svc.Submit(ctx, c.adminA, "op-a", "2026-10", c.clerk)
	if err != nil {
		t.Fatal(err)
	}
	if sent.Status != Submitted || sent.Hash != Hash(sent.Content.Canonical()) {
		t.Fatalf("submitted %s hash %s", sent.Status, sent.Hash)
	}
	csv0, pdf0 := CSV(sent, "zh"), sent.Content.Canonical()
	if _, err := c.svc.Submit(ctx, c.adminA, "op-a", "2026-10", c.clerk); !errors.Is(err, ErrConflict) {
		t.Fatalf("second submit: %v, want conflict", err)
	}

	// The desk goes on: extensions, new leases, a release of an October
	// grant and of a November one.
	c.extend(low, 10)
	c.extend(sub, 30)
	c.checkout(c.a2, c.renter(c.a2, "周敏", rentals.LowIncome), 30)
	c.release(capped2, 0)
	later := c.checkout(c.a1, c.renter(c.a1, "吴芳", rentals.Subsistence), 5)
	c.release(later, 0)
	for i := 0; i < 3; i++ {
		got, err := c.svc.Statement(ctx, c.adminA, "op-a", "2026-10")
		if err != nil {
			t.Fatal(err)
		}
		if got.Hash != sent.Hash || !bytes.Equal(got.Content.Canonical(), pdf0) || !bytes.Equal(CSV(got, "zh"), csv0) {
			t.Fatalf("frozen statement changed: hash %s, was %s", got.Hash, sent.Hash)
		}
	}
	nov, err := c.svc.Statement(ctx, c.adminA, "op-a", "2026-11")
	if err != nil {
		t.Fatal(err)
	}
	var adj []Line
	for _, l := range nov.Content.Lines {
		if l.LeaseID == later.ID {
			t.Fatalf("a grant released in its own month is listed: %+v", l)
		}
		if l.Adjustment {
			adj = append(adj, l)
		}
	}
	if len(adj) != 1 || adj[0].LeaseID != capped2.ID || adj[0].SubsidyFen != -1000 || adj[0].Kind != "release" || adj[0].GrantDay != "2026-10-20" {
		t.Fatalf("adjustments %+v, want the release of ¥10 granted on 2026-10-20", adj)
	}
	// Capped: 2800 (low +10 days: ¥40 of which ¥28 fit) + 1000 (sub +30
	// days: ¥10 fit), then 7200 (new low income) − 1000 (the release).
	if nov.Content.Total.SubsidyFen != 10000 || len(nov.Content.Lines) != 4 {
		t.Fatalf("November total %d over %d lines", nov.Content.Total.SubsidyFen, len(nov.Content.Lines))
	}
	if a := c.audit.actions(); len(a) != 1 || a[0] != "statement.submit statement/op-a/2026-10" {
		t.Fatalf("audit %v", a)
	}
}

// A move a frozen statement does not list (in flight while it was
// submitted) goes to the next month that is still a draft.
func TestMissedMoveGoesToNextDraft(t *testing.T) {
	moves := []rentals.SubsidyMove{
		{Key: "p-2026/1", Kind: rentals.MoveGrant, Day: "2026-09-30", OnDay: "2026-09-30", AmountFen: 100},
		{Key: "p-2026/2", Kind: rentals.MoveGrant, Day: "2026-09-30", OnDay: "2026-09-30", AmountFen: 200},
		{Key: "p-2026/3", Kind: rentals.MoveGrant, Day: "2026-10-02", OnDay: "2026-10-02", AmountFen: 300},
	}
	fr := map[string]frozen{
		"2026-09": {keys: map[string]bool{lineKey("p-2026/1"): true}},
		"2026-10": {keys: map[string]bool{lineKey("p-2026/3"): true}},
	}
	got := assign(moves, fr)
	if len(got["2026-09"]) != 1 || len(got["2026-10"]) != 1 || len(got["2026-11"]) != 1 || got["2026-11"][0].Key != "p-2026/2" {
		t.Fatalf("assigned %v", got)
	}
	c := build("op-a", "2026-11", got["2026-11"], nil, nil)
	if !c.Lines[0].Adjustment || c.Total.SubsidyFen != 200 {
		t.Fatalf("missed grant in November: %+v", c.Lines)
	}
}

func TestStatementLifecycleAndRaces(t *testing.T) {
	c := newCity(t)
	ctx := context.Background()
	octoberLeases(t, c)
	c.clk.set(nov5)
	if _, err := c.svc.Submit(ctx, c.adminA, "op-a", "2026-11", c.clerk); err == nil {
		t.Fatal("submitted a month that is not over")
	}
	// Two admins of the operator submit at once: one wins.
	var wg sync.WaitGroup
	errs := make([]error, 6)
	for i := range errs {
		wg.Add(1)
		go func() { defer wg.Done(); _, errs[i] = c.svc.Submit(ctx, c.adminA, "op-a", "2026-10", c.clerk) }()
	}
	wg.Wait()
	if won := countWins(t, errs); won != 1 {
		t.Fatalf("%d submits won", won)
	}
	st, err := c.svc.Statement(ctx, tenancy.PlatformScope, "op-a", "2026-10")
	if err != nil {
		t.Fatal(err)
	}
	// The city approves and returns at once: exactly one outcome.
	errs = make([]error, 6)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d := Decision{To: Approved, Hash: st.Hash}
			if i%2 == 1 {
				d = Decision{To: Returned, Hash: st.Hash, Reasons: "第3行证明已过期"}
			}
			_, errs[i] = c.svc.Decide(ctx, tenancy.PlatformScope, "op-a", "2026-10", d, platform)
		}()
	}
	wg.Wait()
	if won := countWins(t, errs); won != 1 {
		t.Fatalf("%d decisions won", won)
	}
	st, err = c.svc.Statement(ctx, c.adminA, "op-a", "2026-10")
	if err != nil {
		t.Fatal(err)
	}
	if st.Status == Returned {
		if st.Reasons != "第3行证明已过期" || !st.Submittable {
			t.Fatalf("returned: reasons %q submittable %v", st.Reasons, st.Submittable)
		}
		if _, err := c.svc.Submit(ctx, c.adminA, "op-a", "2026-10", c.clerk); err != nil {
			t.Fatal(err)
		}
		// A decision on the content seen before is still the same content.
		if _, err := c.svc.Decide(ctx, tenancy.PlatformScope, "op-a", "2026-10", Decision{To: Approved, Hash: st.Hash}, platform); err != nil {
			t.Fatal(err)
		}
	} else if st.Status != Approved {
		t.Fatalf("after the race: %s", st.Status)
	}
	if _, err := c.svc.Decide(ctx, tenancy.PlatformScope, "op-a", "2026-10", Decision{To: Paid}, platform); err == nil {
		t.Fatal("paid without date and reference")
	}
	paid, err := c.svc.Decide(ctx, tenancy.PlatformScope, "op-a", "2026-10", Decision{To: Paid, PaidOn: "2026-11-20", Reference: "JZCZ-2026-1120-01"}, platform)
	if err != nil {
		t.Fatal(err)
	}
	if paid.Status != Paid || paid.PaidOn != "2026-11-20" || paid.Hash != st.Hash {
		t.Fatalf("paid %+v", paid)
	}
	q, err := c.svc.Queue(ctx, tenancy.PlatformScope, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(q) != 1 || q[0].Status != Paid || q[0].SubsidyFen != 26200 {
		t.Fatalf("queue %+v", q)
	}
	list, err := c.svc.Statements(ctx, c.adminA, "op-a")
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].Month != "2026-11" || list[1].Status != Paid || list[1].Hash != st.Hash {
		t.Fatalf("operator's list %+v", list)
	}
}

func countWins(t *testing.T, errs []error) int {
	t.Helper()
	won := 0
	for _, err := range errs {
		switch {
		case err == nil:
			won++
		case !errors.Is(err, ErrConflict):
			t.Fatalf("loser got %v, want a conflict", err)
		}
	}
	return won
}

func TestStatementTenancy(t *testing.T) {
	c := newCity(t)
	ctx := context.Background()
	octoberLeases(t, c)
	c.clk.set(nov5)
	if _, err := c.svc.Statement(ctx, c.adminB, "op-a", "2026-10"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("B reads A's statement: %v", err)
	}
	if _, err := c.svc.Statements(ctx, c.adminB, "op-a"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("B lists A's statements: %v", err)
	}
	if _, err := c.svc.Submit(ctx, c.adminB, "op-a", "2026-10", c.clerk); !errors.Is(err, ErrNotFound) {
		t.Fatalf("B submits A's statement: %v", err)
	}
	if _, err := c.svc.Submit(ctx, tenancy.PlatformScope, "op-a", "2026-10", platform); !errors.Is(err, ErrForbidden) {
		t.Fatalf("the city submits for A: %v", err)
	}
	suspended := c.adminA
	suspended.Suspended = true
	if _, err := c.svc.Submit(ctx, suspended, "op-a", "2026-10", c.clerk); !errors.Is(err, tenancy.ErrSuspended) {
		t.Fatalf("suspended operator submits: %v", err)
	}
	if _, err := c.svc.Statement(ctx, suspended, "op-a", "2026-10"); err != nil {
		t.Fatalf("suspended operator reads: %v", err)
	}
	if _, err := c.svc.Submit(ctx, c.adminA, "op-a", "2026-10", c.clerk); err != nil {
		t.Fatal(err)
	}
	if _, err := c.svc.Decide(ctx, c.adminA, "op-a", "2026-10", Decision{To: Approved}, c.clerk); !errors.Is(err, ErrForbidden) {
		t.Fatalf("the operator approves its own: %v", err)
	}
	if _, err := c.svc.Queue(ctx, c.adminA, ""); !errors.Is(err, ErrForbidden) {
		t.Fatalf("the operator reads the city's queue: %v", err)
	}
	b, err := c.svc.Statement(ctx, c.adminB, "op-b", "2026-10")
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Content.Lines) != 1 || b.Content.Lines[0].StationID != "st-b1" {
		t.Fatalf("B's statement %+v", b.Content.Lines)
	}
}

func TestCSVNeutralisesFormulas(t *testing.T) {
	st := Statement{Status: Submitted, Hash: "abc", Content: build("op-a", "2026-10", []rentals.SubsidyMove{
		{Key: "k/1", Kind: rentals.MoveGrant, Day: "2026-10-05", OnDay: "2026-10-05", StationID: "s", RenterID: "r", LeaseID: "-2+3",
			Tier: rentals.Subsistence, Days: 30, StandardFen: 9000, AmountFen: 9000},
	}, map[string]Renter{"r": {MaskedName: "=HYPERLINK(\"http://x\")", ProofType: "@SUM(A1)", ProofExpires: "\tx"}},
		map[string]Place{"s": {Name: "+cmd|' /C calc'!A0", District: "\rd"}})}
	out := CSV(st, "zh")
	if !bytes.HasPrefix(out, []byte("\ufeff")) {
		t.Fatal("no byte order mark")
	}
	text := string(out)
	for _, want := range []string{`"'=HYPERLINK(""http://x"")"`, "'@SUM(A1)", "'+cmd|' /C calc'!A0", "'-2+3", "'\tx", ",90.00,0.00,90.00,"} {
		if !strings.Contains(text, want) {
			t.Errorf("CSV lacks %q:\n%s", want, text)
		}
	}
	for _, bad := range []string{",=HYPERLINK", ",@SUM", ",+cmd", ",-2+3"} {
		if strings.Contains(text, bad) {
			t.Errorf("CSV has a live formula %q", bad)
		}
	}
}

// The PDF reads back: the hash and the totals are text, every page renders.
func TestStatementPDFReadsBack(t *testing.T) {
	c := newCity(t)
	ctx := context.Background()
	octoberLeases(t, c)
	c.clk.set(nov5)
	st, err := c.svc.Submit(ctx, c.adminA, "op-a", "2026-10", c.clerk)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, lang := range []string{"zh", "en"} {
		pdf, err := PDF(st, lang)
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, lang+".pdf")
		if err := os.WriteFile(path, pdf, 0o600); err != nil {
			t.Fatal(err)
		}
		text, err := exec.Command("pdftotext", "-layout", path, "-").Output()
		if err != nil {
			t.Fatalf("pdftotext: %v", err)
		}
		for _, want := range []string{st.Hash, "262.00", "2026-10-20", "10.00"} {
			if !strings.Contains(string(text), want) {
				t.Errorf("%s PDF text lacks %q", lang, want)
			}
		}
		if lang == "en" && !strings.Contains(string(text), "Subsidy statement") {
			t.Errorf("English PDF has no title")
		}
		if err := exec.Command("pdftoppm", "-r", "50", "-png", path, filepath.Join(dir, lang)).Run(); err != nil {
			t.Fatalf("pdftoppm: %v", err)
		}
		pages, _ := filepath.Glob(filepath.Join(dir, lang+"-*.png"))
		if len(pages) < 2 {
			t.Fatalf("%s PDF rendered %d pages, want a summary and the lines", lang, len(pages))
		}
		for _, p := range pages {
			if fi, err := os.Stat(p); err != nil || fi.Size() < 1000 {
				t.Fatalf("page %s did not render", p)
			}
		}
	}
}

// TestDraftMovesKeptForAWhile: with SetFresh, a statement draft and the
// statements list reuse the operator's subsidy moves within the window (a
// grant made since does not show yet), the submission reads them anew
// (what is frozen is what the logs say at that moment), and after the
// window the draft shows every grant.
func TestDraftMovesKeptForAWhile(t *testing.T) {
	c := newCity(t)
	ctx := context.Background()
	octoberLeases(t, c)
	c.svc.SetFresh(time.Minute)
	c.clk.set(nov5)
	seen, err := c.svc.Statement(ctx, c.adminA, "op-a", "2026-10")
	if err != nil {
		t.Fatal(err)
	}
	// A grant of October recorded now (a desk's clock behind, a late
	// entry): the draft within the window is the one seen.
	c.clk.set(time.Date(2026, 10, 30, 15, 0, 0, 0, l10n.Local))
	late := c.checkout(c.a2, c.renter(c.a2, "郑秀兰", rentals.LowIncome), 10)
	c.clk.set(nov5.Add(20 * time.Second))
	again, err := c.svc.Statement(ctx, c.adminA, "op-a", "2026-10")
	if err != nil {
		t.Fatal(err)
	}
	if again.Hash != seen.Hash {
		t.Fatalf("draft within the window changed: %s, was %s", again.Hash, seen.Hash)
	}
	if _, err := c.svc.Statements(ctx, c.adminA, "op-a"); err != nil {
		t.Fatal(err)
	}
	sent, err := c.svc.Submit(ctx, c.adminA, "op-a", "2026-10", c.clerk)
	if err != nil {
		t.Fatal(err)
	}
	listed := func(s Statement) bool {
		for _, l := range s.Content.Lines {
			if l.LeaseID == late.ID {
				return true
			}
		}
		return false
	}
	if !listed(sent) || sent.Hash == seen.Hash {
		t.Fatalf("the submission did not read the moves anew: %d lines, hash %s", len(sent.Content.Lines), sent.Hash)
	}
	// November's draft after the window has the moves as they are now.
	c.clk.set(time.Date(2026, 11, 20, 10, 0, 0, 0, l10n.Local))
	nov := c.checkout(c.a1, c.renter(c.a1, "钱玉梅", rentals.Subsistence), 5)
	c.clk.set(time.Date(2026, 11, 20, 10, 1, 1, 0, l10n.Local))
	draft, err := c.svc.Statement(ctx, c.adminA, "op-a", "2026-11")
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, l := range draft.Content.Lines {
		found = found || l.LeaseID == nov.ID
	}
	if !found {
		t.Fatal("November's draft after the window misses the grant made before it")
	}
}
