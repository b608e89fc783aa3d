package web

import (
	"encoding/base64"
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	qrcode "github.com/skip2/go-qrcode"

	"fuju/accounts"
	"fuju/catalog"
	"fuju/internal/l10n"
	"fuju/internal/valid"
	"fuju/rentals"
	"fuju/stations"
)

// The family's reservation pages (phone first, no JavaScript needed):
//
//	GET  /products/:id/reserve            choose a station (nearest first), a
//	                                      renter, then a pickup slot or delivery
//	POST /products/:id/reserve            reserve → the confirmation page
//	POST /products/:id/waitlist           join the waitlist (station or district)
//	GET  /account/reservations            my reservations and waitlist entries
//	GET  /account/reservations/:id        one, with its code as text and a QR code
//	POST /account/reservations/:id/cancel until the slot starts
//	POST /account/waitlist/:id/accept     accept an offer
//	POST /account/waitlist/:id/leave      leave the waitlist
//
// Every rule is the reservation service's; these handlers bind and render.

// reserveTerms are the lease lengths a family may ask to be quoted.
var reserveTerms = []int{7, 30, 90}

type reservePage struct {
	base
	Product catalog.Product
	// Stations carry the product, those with one free first, nearest first.
	Stations []stationStock
	Station  *stations.Station
	// Renters are the account's; Renter the one chosen.
	Renters []rentals.LinkedRenter
	Renter  *rentals.LinkedRenter
	Days    int
	Terms   []int
	Quote   rentals.Quote
	// Days of pickup slots, and what delivery the station offers.
	SlotDays []slotDay
	Delivery rentals.DeliveryOptions
	Form     form
	// NoUnit says none is free now: the page offers the waitlist.
	NoUnit bool
	// Blocked is why the renter may not reserve now, in words.
	Blocked  string
	LinkCode string
}

// slotDay is one day of pickup slots.
type slotDay struct {
	Day   time.Time
	Slots []stations.Slot
}

// DayName is a day as families say it: "12月2日 周三" / "Wed, Dec 2".
func (b *base) DayName(t time.Time) string {
	t = t.In(l10n.Local)
	wd := b.T("weekday." + strconv.Itoa(int(t.Weekday())))
	if b.Lang == "en" {
		return wd + ", " + t.Format("Jan 2")
	}
	return t.Format("1月2日") + " " + wd
}

// Clock is a time of day in the city: 09:30.
func (b *base) Clock(t time.Time) string { return t.In(l10n.Local).Format("15:04") }

// SlotValue is how a slot travels in a form.
func (b *base) SlotValue(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// DistrictName names a district by id.
func (b *base) DistrictName(id string) string {
	if d, ok := stations.DistrictByID(id); ok {
		return b.Tx(d.Name)
	}
	return id
}

// WindowName names a delivery window: "上午 9:00–12:00".
func (b *base) WindowName(w stations.Window) string { return b.T("reserve.window." + string(w)) }

// ResState names a reservation's state.
func (b *base) ResState(s rentals.ReservationState) string { return b.T("reserve.state." + string(s)) }

// WaitState names a waitlist entry's state.
func (b *base) WaitState(s rentals.WaitState) string { return b.T("reserve.wait." + string(s)) }

// TierName names a tier.
func (b *base) TierName(t rentals.Tier) string { return b.T("tier." + string(t)) }

// reserveProduct is the listed product of the route.
func (s *Server) reserveProduct(c *gin.Context) (catalog.Product, error) {
	if s.reserve == nil {
		return catalog.Product{}, errNotFound
	}
	prod, ok := s.catalog.Public(c.Param("id"))
	if !ok {
		return catalog.Product{}, errNotFound
	}
	return prod, nil
}

// reservePageFor fills the page for the station and renter asked for
// (query on GET, form on POST).
func (s *Server) reservePageFor(c *gin.Context, prod catalog.Product, stationID, renterID string, days int) (*reservePage, error) {
	ctx := c.Request.Context()
	u, _ := userOf(c)
	p := &reservePage{base: s.base(c, "reserve.title", "products"), Product: prod, Terms: reserveTerms, Days: days}
	p.Title = p.T("reserve.heading", p.Tx(prod.Name))
	s.locate(c, &p.base)
	p.Stations = s.productStock(prod.ID, p.Near)
	if u.Role == accounts.Renter && s.rentals != nil {
		var err error
		if p.Renters, err = s.rentals.LinkedRenters(ctx, u.ID); err != nil {
			return nil, err
		}
		p.LinkCode = s.linkCode(u.ID)
	}
	for i := range p.Renters {
		if p.Renters[i].ID == renterID || len(p.Renters) == 1 {
			p.Renter = &p.Renters[i]
		}
	}
	if stationID == "" {
		return p, nil
	}
	for _, st := range p.Stations {
		if st.Station.ID == stationID {
			x := st.Station
			p.Station = &x
		}
	}
	if p.Station == nil {
		return nil, errNotFound
	}
	if p.Renter != nil {
		q, err := rentals.NewQuote(prod.Rate, days, p.Renter.TierOn(s.now()), s.policies.Current())
		if err != nil {
			return nil, err
		}
		p.Quote = q
	}
	slots, err := s.reserve.Slots(ctx, stationID)
	if err != nil {
		return nil, err
	}
	for _, sl := range slots {
		day := sl.Start.In(l10n.Local).Format(time.DateOnly)
		if n := len(p.SlotDays); n == 0 || p.SlotDays[n-1].Day.In(l10n.Local).Format(time.DateOnly) != day {
			p.SlotDays = append(p.SlotDays, slotDay{Day: sl.Start})
		}
		p.SlotDays[len(p.SlotDays)-1].Slots = append(p.SlotDays[len(p.SlotDays)-1].Slots, sl)
	}
	if p.Delivery, err = s.reserve.DeliveryOptions(ctx, stationID); err != nil {
		return nil, err
	}
	return p, nil
}

// Available is how many of the product the chosen station has free now.
func (p *reservePage) Available() int {
	for _, st := range p.Stations {
		if p.Station != nil && st.Station.ID == p.Station.ID {
			return st.Available
		}
	}
	return 0
}

// StepURL links to the page with the station and renter chosen so far.
func (p *reservePage) StepURL(station, renter string) string {
	q := url.Values{}
	if station != "" {
		q.Set("station", station)
	}
	if renter != "" {
		q.Set("renter", renter)
	}
	if p.Days != rentals.DefaultReserveDays {
		q.Set("days", strconv.Itoa(p.Days))
	}
	return "/products/" + p.Product.ID + "/reserve?" + q.Encode()
}

// DeliveryDays groups the delivery options by day.
func (p *reservePage) DeliveryDays() []slotDay {
	var out []slotDay
	for _, o := range p.Delivery.Options {
		if n := len(out); n == 0 || out[n-1].Day.In(l10n.Local).Format(time.DateOnly) != o.Day {
			out = append(out, slotDay{Day: o.Start})
		}
	}
	return out
}

// DeliveryChoice is a delivery option as a form value: day|window.
func (b *base) DeliveryChoice(o rentals.DeliveryOption) string { return o.Day + "|" + string(o.Window) }

func reserveDays(v string) int {
	if n, err := strconv.Atoi(v); err == nil {
		for _, d := range reserveTerms {
			if d == n {
				return n
			}
		}
	}
	return rentals.DefaultReserveDays
}

func (s *Server) showReserve(c *gin.Context) error {
	prod, err := s.reserveProduct(c)
	if err != nil {
		return err
	}
	p, err := s.reservePageFor(c, prod, strings.TrimSpace(c.Query("station")), strings.TrimSpace(c.Query("renter")), reserveDays(c.Query("days")))
	if err != nil {
		return err
	}
	return s.render(c, http.StatusOK, "reserve", p)
}

// reserve takes the pickup or the delivery form.
func (s *Server) reserveForm(c *gin.Context) error {
	prod, err := s.reserveProduct(c)
	if err != nil {
		return err
	}
	u, _ := userOf(c)
	f := newForm(c)
	req := rentals.ReserveRequest{RenterID: f.Get("renter_id"), ProductID: prod.ID, StationID: f.Get("station_id"),
		Mode: rentals.Mode(f.Get("mode")), Days: reserveDays(f.Get("days"))}
	e := &valid.Error{}
	switch req.Mode {
	case rentals.Pickup:
		if v := f.Get("slot"); v == "" {
			e.Add("slot", "required", "choose a pickup time")
		} else if t, err := time.Parse(time.RFC3339, v); err != nil {
			e.Add("slot", "date", "is not a pickup time")
		} else {
			req.Slot = t
		}
	case rentals.Delivery:
		day, w, ok := strings.Cut(f.Get("when"), "|")
		if !ok {
			e.Add("when", "required", "choose a delivery day and time")
		}
		req.Day, req.Window = day, stations.Window(w)
		req.Ship = &rentals.DeliveryAddress{District: f.Get("district"), Address: f.Get("address"), Phone: f.Get("phone")}
	default:
		e.Add("mode", "oneof", "must be pickup or delivery")
	}
	var res rentals.Reservation
	if err = e.Err(); err == nil {
		req.Lang = langOf(c)
		res, err = s.reserve.Reserve(c.Request.Context(), u.ID, req)
	}
	if err == nil {
		s.flash(c, "reserve.flash.done")
		c.Redirect(http.StatusSeeOther, "/account/reservations/"+res.ID)
		return nil
	}
	p, perr := s.reservePageFor(c, prod, req.StationID, req.RenterID, req.Days)
	if perr != nil {
		if errors.Is(perr, errNotFound) {
			return err
		}
		return perr
	}
	p.Form = f
	switch {
	case errors.Is(err, rentals.ErrNoUnit):
		p.NoUnit = true
		return s.render(c, http.StatusConflict, "reserve", p)
	case errors.Is(err, rentals.ErrBlocked):
		p.Blocked = s.reasonText(&p.base, err)
		return s.render(c, http.StatusConflict, "reserve", p)
	}
	if p.Form.fail(err, "renter_id", "mode", "slot", "when", "district", "address", "phone", "days") {
		return s.render(c, http.StatusBadRequest, "reserve", p)
	}
	return err
}

// reasonText is a refusal's reason in the reader's words ("reserve.why.<code>").
func (s *Server) reasonText(b *base, err error) string {
	r, ok := valid.ReasonOf(err)
	if !ok {
		return b.T("reserve.why.other")
	}
	switch r.Code {
	case "reserve_unpaid":
		if fen, ok := r.Params["owed_fen"].(int64); ok {
			return b.T("reserve.why.reserve_unpaid", yuan(fen))
		}
	case "reserve_limit":
		return b.T("reserve.why.reserve_limit", r.Params["max"])
	case "reserve_no_shows":
		return b.T("reserve.why.reserve_no_shows", r.Params["until"])
	}
	if k := "reserve.why." + r.Code; b.msgs[k] != "" {
		return b.T(k)
	}
	return b.T("reserve.why.other")
}

// joinWaitlist puts the chosen renter on the product's waitlist at a
// station or in a district.
func (s *Server) joinWaitlist(c *gin.Context) error {
	prod, err := s.reserveProduct(c)
	if err != nil {
		return err
	}
	u, _ := userOf(c)
	f := newForm(c)
	req := rentals.JoinRequest{RenterID: f.Get("renter_id"), ProductID: prod.ID, StationID: f.Get("station_id"), District: f.Get("district"), Lang: langOf(c)}
	if _, err := s.reserve.JoinWaitlist(c.Request.Context(), u.ID, req); err != nil {
		if _, ok := problemsOf(err); ok {
			p, perr := s.reservePageFor(c, prod, req.StationID, req.RenterID, rentals.DefaultReserveDays)
			if perr != nil {
				return err
			}
			p.Form, p.NoUnit = f, true
			p.Form.fail(err, "renter_id", "station_id", "district")
			return s.render(c, http.StatusBadRequest, "reserve", p)
		}
		return err
	}
	s.flash(c, "reserve.flash.waiting")
	c.Redirect(http.StatusSeeOther, "/account/reservations#waitlist")
	return nil
}

type myReservationsPage struct {
	base
	Open, Past []rentals.Reservation
	Waitlist   []rentals.WaitEntry
}

func (s *Server) showMyReservations(c *gin.Context) error {
	if s.reserve == nil {
		return errNotFound
	}
	u, _ := userOf(c)
	ctx := c.Request.Context()
	all, err := s.reserve.MyReservations(ctx, u.ID)
	if err != nil {
		return err
	}
	p := myReservationsPage{base: s.base(c, "reserve.mine.title", "account")}
	for _, x := range all {
		if x.State.Open() {
			p.Open = append(p.Open, x)
		} else {
			p.Past = append(p.Past, x)
		}
	}
	wl, err := s.reserve.MyWaitlist(ctx, u.ID)
	if err != nil {
		return err
	}
	for _, w := range wl {
		if w.State.Active() {
			p.Waitlist = append(p.Waitlist, w)
		}
	}
	return s.render(c, http.StatusOK, "account_reservations", &p)
}

// Cancellable reports whether the family may still cancel x (until its slot
// starts).
func (p *myReservationsPage) Cancellable(x rentals.Reservation) bool {
	return x.State == rentals.ResHeld && p.Now().Before(x.Start)
}

type reservationPage struct {
	base
	R rentals.Reservation
	// QR is the code as a PNG data URI (the site's CSP allows data: images).
	QR template.URL
	// Pay is what may be or was paid online in advance (prepay.go).
	Pay prepayOffer
}

// Cancellable reports whether the family may still cancel.
func (p *reservationPage) Cancellable() bool {
	return p.R.State == rentals.ResHeld && p.Now().Before(p.R.Start)
}

// GroupedCode shows the code in two groups of four, easy to read aloud.
func (p *reservationPage) GroupedCode() string {
	if len(p.R.Code) == 8 {
		return p.R.Code[:4] + " " + p.R.Code[4:]
	}
	return p.R.Code
}

func (s *Server) showMyReservation(c *gin.Context) error {
	if s.reserve == nil {
		return errNotFound
	}
	u, _ := userOf(c)
	x, err := s.reserve.MyReservation(c.Request.Context(), u.ID, c.Param("id"))
	if err != nil {
		return err
	}
	p := reservationPage{base: s.base(c, "reserve.confirm.title", "account"), R: x}
	if p.Pay, err = s.prepayOf(c.Request.Context(), x); err != nil {
		return err
	}
	if x.Code != "" {
		png, err := qrcode.Encode(x.Code, qrcode.Medium, 256)
		if err != nil {
			return err
		}
		p.QR = template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(png))
	}
	return s.render(c, http.StatusOK, "account_reservation", &p)
}

func (s *Server) cancelMyReservation(c *gin.Context) error {
	if s.reserve == nil {
		return errNotFound
	}
	u, _ := userOf(c)
	if _, err := s.reserve.CancelMine(c.Request.Context(), u.ID, c.Param("id")); err != nil {
		return err
	}
	s.flash(c, "reserve.flash.cancelled")
	c.Redirect(http.StatusSeeOther, "/account/reservations")
	return nil
}

func (s *Server) acceptOfferPage(c *gin.Context) error {
	if s.reserve == nil {
		return errNotFound
	}
	u, _ := userOf(c)
	w, err := s.reserve.AcceptOffer(c.Request.Context(), u.ID, c.Param("id"))
	if err != nil {
		return err
	}
	s.flash(c, "reserve.flash.accepted")
	c.Redirect(http.StatusSeeOther, "/account/reservations/"+w.ReservationID)
	return nil
}

func (s *Server) leaveWaitlistPage(c *gin.Context) error {
	if s.reserve == nil {
		return errNotFound
	}
	u, _ := userOf(c)
	if _, err := s.reserve.LeaveWaitlist(c.Request.Context(), u.ID, c.Param("id")); err != nil {
		return err
	}
	s.flash(c, "reserve.flash.left")
	c.Redirect(http.StatusSeeOther, "/account/reservations#waitlist")
	return nil
}
