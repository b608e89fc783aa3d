package web

import (
	"context"
	"image/color"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"fuju/accounts"
	"fuju/catalog"
	"fuju/internal/l10n"
	"fuju/internal/tenancy"
	"fuju/rentals"
	"fuju/stations"
)

// linkedFamily makes a renter account linked to a renter registered at north,
// with a verified tier unless it is standard.
func linkedFamily(t *testing.T, s *Server, phone, elderPhone string, tier rentals.Tier) (accounts.User, rentals.Renter) {
	t.Helper()
	ctx := context.Background()
	u, err := s.auth.CreateUser(ctx, accounts.NewUser{Name: "家属", Phone: phone, Password: pw, Role: accounts.Renter})
	if err != nil {
		t.Fatal(err)
	}
	scope := tenancy.OperatorScope("op-a")
	r, err := s.rentals.RegisterRenter(ctx, scope, rentals.Renter{Name: "王大爷", Phone: elderPhone, IDNumber: idNumberFor(elderPhone),
		HomeStationID: "north"}, tenancy.System)
	if err != nil {
		t.Fatal(err)
	}
	if tier != rentals.Standard {
		if _, err := s.rentals.VerifyTierProof(ctx, scope, r.ID, rentals.TierProof{Tier: tier, ProofType: "low_income_certificate",
			ProofNumber: "JZ-DB-" + phone[7:], ExpiresOn: "2027-06-30"}, testJPEG(t, 400, 300, color.RGBA{10, 200, 30, 255}), tenancy.System); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.rentals.LinkUser(ctx, r.ID, u.ID, tenancy.System); err != nil {
		t.Fatal(err)
	}
	return u, r
}

// reserveWorld is the test city with the reservation clock following the
// server's, a second walker at north (the other is being cleaned), two
// families (one verified low-income) and north's staff.
func reserveWorld(t *testing.T) (*Server, *httptest.Server) {
	t.Helper()
	s := newTestServer(t)
	s.rentals.SetClock(func() time.Time { return s.now() })
	if _, err := s.stations.CreateUnit(context.Background(), stations.Unit{Tag: "JZ-WK-0002", ProductID: "walker", StationID: "north"}, tenancy.System); err != nil {
		t.Fatal(err)
	}
	linkedFamily(t, s, "13700000301", "13900000301", rentals.LowIncome)
	linkedFamily(t, s, "13700000302", "13900000302", rentals.Standard)
	if _, err := s.auth.CreateUser(context.Background(), accounts.NewUser{Name: "张敏", Phone: "13600000303", Password: pw,
		Role: accounts.Staff, OperatorID: "op-a", StationIDs: []string{"north"}}); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return s, srv
}

// phoneTab is a tab at a phone's width.
func phoneTab(t *testing.T, base string) *tab {
	tb := newTab(t, base)
	tb.do("phone width", chromedp.EmulateViewport(390, 844))
	return tb
}

// A family reserves a walker for a slot tomorrow and sees their tier's
// price; a second family joins the waitlist for it there; the next day
// staff see the pickup, scan the code and check it out at the quoted price;
// the other walker is cleaned and the waiting family finds the offer in
// their inbox and accepts it. All through forms, as a browser sends them.
func TestReserveWaitlistAndPickupInBrowser(t *testing.T) {
	s, srv := reserveWorld(t)
	ctx := context.Background()
	css := func(s string) chromedp.CSS { return chromedp.CSS(s) }

	a := phoneTab(t, srv.URL)
	a.login("13700000301", "main h1")
	a.do("open the walker", chromedp.Navigate(srv.URL+"/products/walker"), chromedp.WaitVisible(css(`a[href="/products/walker/reserve"]`)))
	a.do("reserve", chromedp.Click(css(`a[href="/products/walker/reserve"]`)), chromedp.WaitVisible(css(".reserve-stations")))
	a.do("choose north", chromedp.Click(css(`.reserve-stations a[href*="station=north"]`)), chromedp.WaitVisible(css(".quote")))
	// 30 days of a walker (¥30) at the low-income share (20%): ¥6, no deposit.
	if q := a.text(".quote"); !strings.Contains(q, "低收入") || !strings.Contains(q, "¥6") || !strings.Contains(q, "免押金") {
		t.Fatalf("the quote says %q", q)
	}
	a.do("pick 09:00 tomorrow", chromedp.Click(css(`input[name=slot][value="2026-11-27T01:00:00Z"]`)),
		chromedp.Click(css(`form:has(input[name=mode][value=pickup]) button[type=submit]`)), chromedp.WaitVisible(css(".res-code")))
	code := strings.ReplaceAll(a.text(".res-code"), " ", "")
	if len(code) != 8 {
		t.Fatalf("code %q", code)
	}
	if w := a.eval(`String(document.querySelector("img.qr").naturalWidth)`); w == "0" {
		t.Fatal("the QR code did not load")
	}
	if got := a.text("dl.facts"); !strings.Contains(got, "¥6") || !strings.Contains(got, "09:00–09:30") {
		t.Fatalf("the confirmation says %q", got)
	}

	b := phoneTab(t, srv.URL)
	b.login("13700000302", "main h1")
	b.do("none left at north", chromedp.Navigate(srv.URL+"/products/walker/reserve?station=north"), chromedp.WaitVisible(css("#waitlist")))
	b.do("join the waitlist at north", chromedp.Click(css(`#waitlist button[name=station_id]`)), chromedp.WaitVisible(css("p.position")))
	if got := b.text("p.position"); !strings.Contains(got, "排在第 1 位") {
		t.Fatalf("the waitlist says %q", got)
	}

	// The next morning.
	s.cfg.Now = func() time.Time { return time.Date(2026, 11, 27, 9, 5, 0, 0, l10n.Local) }
	desk := newTab(t, srv.URL)
	desk.login("13600000303", ".desk-bar")
	desk.do("today's pickups", chromedp.Navigate(srv.URL+"/staff/pickups"), chromedp.WaitVisible(css("#pickup-code")))
	if n := desk.eval(`String(document.querySelectorAll("table.pickups tbody tr").length)`); n != "1" {
		t.Fatalf("%s pickups today, want 1", n)
	}
	desk.do("scan the code", chromedp.SendKeys(css("#pickup-code"), strings.ToLower(code[:4])+"-"+code[4:]),
		chromedp.Click(css(`form.pickup-scan button[type=submit]`)), chromedp.WaitVisible(css(`form[action$="/fulfil"]`)))
	if got := desk.eval(`document.querySelector("#f-pay_amount").value`); got != "6" {
		t.Fatalf("the handover asks for %q, want the quoted 6", got)
	}
	desk.do("check it out", chromedp.Click(css("#f-accept")), chromedp.Click(css(`form[action$="/fulfil"] button[type=submit]`)),
		chromedp.WaitVisible(css(".flash")))
	url := desk.eval(`location.pathname`)
	leaseID, ok := strings.CutPrefix(url, "/staff/leases/")
	if !ok {
		t.Fatalf("after check-out the desk is at %s", url)
	}
	l, err := s.rentals.Lease(ctx, tenancy.PlatformScope, leaseID)
	if err != nil || l.RenterFen != 600 || l.Tier != rentals.LowIncome || l.UnitTag != "JZ-WK-0002" || l.DepositFen != 0 {
		t.Fatalf("the lease %+v, %v: want ¥6 at the low-income tier on JZ-WK-0002", l, err)
	}

	// The walker in cleaning is cleaned; the job offers it to the family waiting.
	if _, err := s.stations.Clean(ctx, tenancy.OperatorScope("op-a"), "JZ-WK-0001", stations.CleaningRecord{Method: "uv",
		Checklist: catalog.CleaningChecklist("walker")}, tenancy.System); err != nil {
		t.Fatal(err)
	}
	if n, err := s.reserve.OfferFreed(ctx); err != nil || n != 1 {
		t.Fatalf("offers made: %d, %v", n, err)
	}
	b.do("the inbox", chromedp.Navigate(srv.URL+"/account/messages"), chromedp.WaitVisible(css("ul.inbox")))
	if got := b.text("ul.inbox li:first-child"); !strings.Contains(got, "候补到号") || !strings.Contains(got, "助行架") {
		t.Fatalf("the newest message: %q", got)
	}
	b.do("accept the offer", chromedp.Navigate(srv.URL+"/account/reservations"), chromedp.WaitVisible(css(`form[action$="/accept"]`)),
		chromedp.Click(css(`form[action$="/accept"] button`)), chromedp.WaitVisible(css(".res-code")))
	if u, err := s.stations.Unit(ctx, "JZ-WK-0001"); err != nil || u.State != stations.Reserved {
		t.Fatalf("the offered walker is %s (%v), want reserved", u.State, err)
	}
}

// A family cancels a reservation before its slot (the unit is available at
// once); a station that delivers takes a delivery, which the desk's run list
// shows with its address.
func TestReserveCancelAndDeliveryInBrowser(t *testing.T) {
	s, srv := reserveWorld(t)
	ctx := context.Background()
	css := func(s string) chromedp.CSS { return chromedp.CSS(s) }
	a := phoneTab(t, srv.URL)
	a.login("13700000301", "main h1")
	a.do("reserve the wheelchair", chromedp.Navigate(srv.URL+"/products/wc/reserve?station=north"), chromedp.WaitVisible(css(".quote")),
		chromedp.Click(css(`input[name=slot][value="2026-11-27T02:00:00Z"]`)),
		chromedp.Click(css(`form:has(input[name=mode][value=pickup]) button[type=submit]`)), chromedp.WaitVisible(css(".res-code")))
	if u, _ := s.stations.Unit(ctx, "JZ-WC-0001"); u.State != stations.Reserved {
		t.Fatalf("the wheelchair is %s after reserving", u.State)
	}
	// The confirmation shows the reservation's own flash: wait for the list.
	a.do("cancel it", chromedp.Click(css(`form[action$="/cancel"] button`)), chromedp.WaitVisible(css("#waitlist")))
	if u, _ := s.stations.Unit(ctx, "JZ-WC-0001"); u.State != stations.Available {
		t.Fatalf("the wheelchair is %s after cancelling", u.State)
	}

	// The operator turns delivery on at north through the settings form.
	op := newTab(t, srv.URL)
	if _, err := s.auth.CreateUser(ctx, accounts.NewUser{Name: "甲管理", Phone: "13600000304", Password: pw, Role: accounts.OperatorAdmin, OperatorID: "op-a"}); err != nil {
		t.Fatal(err)
	}
	op.login("13600000304", ".op-nav")
	op.do("delivery settings", chromedp.Navigate(srv.URL+"/operator/stations/north/reservations"), chromedp.WaitVisible(css("#f-capacity")),
		chromedp.Click(css(`input[name=delivery]`)), chromedp.Click(css(`input[name=districts][value=shanyang]`)),
		chromedp.Click(css(`input[name=windows][value=am]`)), chromedp.SetValue(css("#f-fee"), "10"),
		chromedp.Click(css(`form.op-form button[type=submit]`)), chromedp.WaitVisible(css(".flash")))
	set, err := s.stations.ReservationSettingsIn(ctx, tenancy.OperatorScope("op-a"), "north")
	if err != nil || !set.Delivery.Enabled || set.Delivery.FeeFen != 1000 || !set.Delivery.Serves("shanyang") {
		t.Fatalf("settings %+v, %v", set, err)
	}

	a.do("reserve a delivery", chromedp.Navigate(srv.URL+"/products/wc/reserve?station=north"), chromedp.WaitVisible(css(`input[name=when]`)),
		chromedp.Click(css(`input[name=when]`)), chromedp.SendKeys(css("#f-address"), "山阳区焦东路 12 号 3 单元"),
		chromedp.SendKeys(css("#f-phone"), "13900000301"),
		chromedp.Click(css(`form:has(input[name=mode][value=delivery]) button[type=submit]`)), chromedp.WaitVisible(css(".res-code")))
	mine, err := s.reserve.MyReservations(ctx, mustUserID(t, s, "13700000301"))
	if err != nil {
		t.Fatal(err)
	}
	var day time.Time
	for _, x := range mine {
		if x.Mode == rentals.Delivery && x.State == rentals.ResHeld {
			day = x.Start
		}
	}
	if day.IsZero() {
		t.Fatalf("no delivery held: %+v", mine)
	}
	desk := newTab(t, srv.URL)
	desk.login("13600000303", ".desk-bar")
	desk.do("the run list", chromedp.Navigate(srv.URL+"/staff/deliveries?day="+day.In(l10n.Local).Format(time.DateOnly)), chromedp.WaitVisible(css("table.run-list")))
	if got := desk.text("table.run-list"); !strings.Contains(got, "焦东路 12 号") || !strings.Contains(got, "¥28") {
		t.Fatalf("the run list says %q", got)
	}
}

func mustUserID(t *testing.T, s *Server, phone string) string {
	t.Helper()
	id, err := s.auth.UserIDByPhone(context.Background(), phone)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// On a 360 px phone the product's price table is wider than the screen: it
// scrolls sideways inside its own box, a line above says so, and the page
// itself does not scroll sideways.
func TestPriceTableScrollsAt360(t *testing.T) {
	_, srv := reserveWorld(t)
	tb := newTab(t, srv.URL)
	tb.do("360 px", chromedp.EmulateViewport(360, 780))
	for _, lang := range []string{"zh-CN", "en"} {
		tb.do("product page "+lang, chromedp.Navigate(srv.URL+"/products/wc?lang="+lang), chromedp.WaitVisible(chromedp.CSS(".table-wrap.scroller")))
		got := tb.eval(`(() => {
			const wrap = document.querySelector(".table-wrap.scroller");
			const hint = wrap.previousElementSibling;
			const wide = wrap.scrollWidth > wrap.clientWidth + 1;
			const scrollable = ["auto", "scroll"].includes(getComputedStyle(wrap).overflowX);
			const cue = hint && hint.classList.contains("scroll-hint") && !hint.hidden && hint.offsetHeight > 0 && hint.textContent.trim() !== "";
			wrap.scrollLeft = 1000;
			const moved = wrap.scrollLeft > 0;
			const page = document.documentElement.scrollWidth <= window.innerWidth;
			return [wide, scrollable, cue, moved, page].join(",");
		})()`)
		if got != "true,true,true,true,true" {
			t.Errorf("%s: the price table at 360 px (wider than its box, scrolls, cue shown, scrolled, page fits): %s", lang, got)
		}
	}
}
