package web

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"fuju/internal/input"
	"fuju/internal/l10n"
	"fuju/internal/tenancy"
	"fuju/internal/valid"
	online "fuju/payments"
	"fuju/rentals"
	"fuju/stations"
)

// ---- Pages

type deskBase struct {
	base
	Station  stations.Station
	Stations []stations.Station
}

func (s *Server) deskBase(c *gin.Context, title string) (deskBase, error) {
	d := deskBase{base: s.base(c, title, "console"), Stations: s.deskStations(c)}
	st, err := s.deskStation(c, c.Query("station"))
	if err != nil {
		return d, err
	}
	if c.Query("station") != "" {
		s.setCookie(c, deskCookie, st.ID, 30*24*3600)
	}
	d.Station = st
	return d, nil
}

// StationName names a station of the city.
func (b *base) StationName(id string) string {
	if st, ok := b.srv.stations.Index().Station(id); ok {
		return b.Tx(st.Name)
	}
	return id
}

// ProductName names a product.
func (b *base) ProductName(id string) string { return b.srv.productName(b, id) }

// Date formats a time as a city date and time.
func (b *base) Date(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(l10n.Local).Format("2006-01-02 15:04")
}

type staffHome struct {
	deskBase
	Queues rentals.Queues
	// Out are the station's devices with renters now, soonest due first.
	Out []rentals.OpenLease
	// ScanError says why the last scanned tag was not found.
	ScanError string
	Tag       string
}

func (s *Server) showStaffHome(c *gin.Context) error {
	d, err := s.deskBase(c, "staff.title")
	if err != nil {
		return err
	}
	p := staffHome{deskBase: d}
	if p.Queues, err = s.rentals.Queues(c.Request.Context(), scopeOf(c), d.Station.ID, s.now()); err != nil {
		return err
	}
	open, err := s.rentals.OpenLeases(c.Request.Context(), scopeOf(c), d.Station.ID)
	if err != nil {
		return err
	}
	for _, l := range open {
		if l.State.Out() {
			p.Out = append(p.Out, l)
		}
	}
	sort.Slice(p.Out, func(i, j int) bool { return p.Out[i].DueOn < p.Out[j].DueOn })
	status := http.StatusOK
	if code := c.Query("scan_error"); code != "" {
		p.ScanError, p.Tag, status = p.T("staff.scan.notfound"), c.Query("unit"), http.StatusNotFound
	}
	return s.render(c, status, "staff_home", &p)
}

// scan takes a typed or scanned tag to the unit's page.
func (s *Server) scan(c *gin.Context) error {
	tag := stations.NormalizeTag(c.Query("unit"))
	if _, err := s.stations.UnitInScope(c.Request.Context(), scopeOf(c), tag); err != nil {
		if errors.Is(err, stations.ErrNotFound) || errors.Is(err, valid.ErrInvalid) {
			c.Redirect(http.StatusSeeOther, "/staff?scan_error=1&unit="+url.QueryEscape(tag))
			return nil
		}
		return err
	}
	c.Redirect(http.StatusSeeOther, "/staff/units/"+url.PathEscape(tag))
	return nil
}

type staffUnitPage struct {
	deskBase
	Unit     unitView
	Timeline []timelineEntry
	// LostWith is the lease a lost unit was lost on.
	LostWith  *rentals.Lease
	Form      form
	Action    string
	Methods   []string
	Checklist []string
	Targets   []stations.Station
}

func (s *Server) staffUnitPage(c *gin.Context, status int, p *staffUnitPage) error {
	d, err := s.deskBase(c, "staff.unit.title")
	if err != nil {
		return err
	}
	p.deskBase = d
	if p.Unit, err = s.unitView(c.Request.Context(), scopeOf(c), c.Param("tag")); err != nil {
		return err
	}
	p.Title = p.Unit.Tag
	if p.Unit.State == stations.Lost {
		if p.LostWith, err = s.rentals.LostWith(c.Request.Context(), scopeOf(c), p.Unit.Tag); err != nil {
			return err
		}
	}
	p.Timeline = s.timeline(c.Request.Context(), scopeOf(c), &p.base, p.Unit.History)
	p.Methods, p.Checklist = stations.CleaningMethods, s.stations.CleaningChecklist(p.Unit.ProductID)
	for _, st := range s.stations.Index().Stations() {
		if st.OperatorID == p.Unit.OperatorID && st.ID != p.Unit.StationID {
			p.Targets = append(p.Targets, st)
		}
	}
	return s.render(c, status, "staff_unit", p)
}

func (s *Server) showStaffUnit(c *gin.Context) error {
	return s.staffUnitPage(c, http.StatusOK, &staffUnitPage{})
}

// unitActionPage runs a desk action from the unit page's forms.
func (s *Server) unitActionPage(c *gin.Context) error {
	f := newForm(c)
	action := c.Param("action")
	cost, err := amountFen("cost", f.Get("cost"))
	if err == nil {
		_, err = s.unitAction(c, action, c.Param("tag"), unitActionRequest{Method: f.Get("method"),
			Checklist: f.Values["checklist"], Notes: f.Get("notes"), Issue: f.Get("issue"), CostFen: cost,
			Reason: f.Get("reason"), ToStation: f.Get("to_station"), StationID: f.Get("station_id")})
	}
	if err != nil {
		if f.fail(err, "method", "checklist", "issue", "cost", "reason", "to_station") {
			return s.staffUnitPage(c, http.StatusBadRequest, &staffUnitPage{Form: f, Action: action})
		}
		return err
	}
	s.flash(c, "staff.done."+action)
	c.Redirect(http.StatusSeeOther, "/staff/units/"+url.PathEscape(stations.NormalizeTag(c.Param("tag"))))
	return nil
}

type checkoutPage struct {
	deskBase
	// lookup is what was posted to the find form: looking a renter up is a
	// POST because it is logged, and for another operator's renter found by
	// phone it records the link.
	lookup  string
	Unit    unitView
	Renter  *rentals.Renter
	Quote   *rentals.Quote
	Days    int
	DueOn   string
	Form    form
	Search  renterSearchBox
	Methods []string
	Terms   string
	// Tiers and ProofTypes fill the inline tier verification; TierOpen
	// shows it unfolded (after a failed verification).
	Tiers      []rentals.Tier
	ProofTypes []string
	TierOpen   bool
	// done is the message key of what the last button did, shown on top.
	done string
	// Tiers for a renter registered here now.
	RegisterForm form
}

// checkoutPage builds the check-out screens: 1) find or register the renter,
// 2) term, quote, tier verification, payment and acceptance, all one form
// (every button of it posts what was typed and ticked, so nothing is lost);
// the third is the lease's receipt (receiptPage).
func (s *Server) checkoutPage(c *gin.Context, status int, p *checkoutPage) error {
	ctx, scope := c.Request.Context(), scopeOf(c)
	d, err := s.deskBase(c, "staff.checkout.title")
	if err != nil {
		return err
	}
	if id := p.Form.Get("station_id"); id != "" {
		if d.Station, err = s.deskStation(c, id); err != nil {
			return err
		}
	}
	p.deskBase = d
	if p.done != "" {
		p.Flash = p.T(p.done)
	}
	tag := c.Query("unit")
	if tag == "" {
		tag = p.Form.Get("unit")
	}
	if p.Unit, err = s.unitView(ctx, scope, tag); err != nil {
		return err
	}
	p.Methods = []string{rentals.PayCash, rentals.PayOfflineMobile, rentals.PayWaived}
	p.Terms = TermsVersion
	renterID := c.Query("renter")
	if renterID == "" {
		renterID = p.Form.Get("renter_id")
	}
	if renterID != "" {
		r, err := s.rentals.Renter(ctx, scope, renterID)
		if err != nil {
			return err
		}
		p.Renter = &r
		p.Tiers, p.ProofTypes = rentals.VerifiedTiers, rentals.ProofTypes
		if p.Days == 0 {
			p.Days = 30
			if d, err := strconv.Atoi(c.Query("days")); err == nil && d > 0 && d <= rentals.MaxDays {
				p.Days = d
			}
		}
		if q, err := s.rentals.QuoteFor(ctx, scope, rentals.QuoteRequest{RenterID: r.ID, ProductID: p.Unit.ProductID, Days: p.Days, Day: s.now()}); err == nil {
			p.Quote = &q
		}
	} else if p.lookup != "" {
		var err error
		if p.Search, err = s.renterSearchBox(c, &p.base, p.lookup); err != nil {
			return err
		}
		if p.Search.Missing && p.RegisterForm.Values == nil {
			p.RegisterForm.Values = p.Search.register
		}
		if p.Search.Error != "" {
			status = http.StatusBadRequest
			if p.Search.limited {
				status = http.StatusTooManyRequests
			}
		}
	}
	p.Search.Action, p.Search.Unit = "/staff/checkout/find", p.Unit.Tag
	return s.render(c, status, "staff_checkout", p)
}

func (s *Server) showCheckout(c *gin.Context) error {
	return s.checkoutPage(c, http.StatusOK, &checkoutPage{})
}

// findCheckoutRenter looks the renter up on the check-out screen.
func (s *Server) findCheckoutRenter(c *gin.Context) error {
	f := newForm(c)
	c.Request.URL.RawQuery = url.Values{"unit": {f.Get("unit")}}.Encode()
	return s.checkoutPage(c, http.StatusOK, &checkoutPage{lookup: lookupOf(f)})
}

// lookupOf is what a find form asks for: the search box "find" (older forms
// post it as "phone").
func lookupOf(f form) string {
	if q := f.Get("find"); q != "" {
		return q
	}
	return f.Get("phone")
}

// renterSearchBox is the desk's renter search, as the "rentersearch"
// template shows it: the box, what it found or why it could not, and, when
// nothing was found, what the registration form starts with.
type renterSearchBox struct {
	Action, Unit string
	Query        string
	Error        string
	Result       *rentals.RenterSearch
	Missing      bool
	register     url.Values
	limited      bool
}

func (s *Server) renterSearchBox(c *gin.Context, b *base, query string) (renterSearchBox, error) {
	box := renterSearchBox{Query: query}
	res, err := s.searchRenters(c, query)
	switch {
	case err == nil:
		box.Result = &res
		if len(res.Items) == 0 {
			box.Missing = true
			box.register = url.Values{}
			switch res.By {
			case rentals.SearchPhone:
				box.register.Set("phone", input.Normalize(input.Search, query))
			case rentals.SearchName:
				box.register.Set("name", input.Normalize(input.Search, query))
			}
		}
	case errors.Is(err, valid.ErrInvalid):
		texts, _ := b.fieldTexts(err)
		box.Error = texts["query"]
	case errors.Is(err, errRateLimited):
		box.Error, box.limited = b.words().Error(err, "rate_limited", requestID(c)), true
	default:
		return box, err
	}
	return box, nil
}

// registerRenterPage registers a walk-in renter from the check-out screen and
// goes back to it with the renter chosen.
func (s *Server) registerRenterPage(c *gin.Context) error {
	f := newForm(c)
	st, err := s.deskStation(c, f.Get("station_id"))
	if err != nil {
		return err
	}
	age, _ := strconv.Atoi(f.Get("age"))
	r, err := s.rentals.RegisterRenter(c.Request.Context(), scopeOf(c), rentals.Renter{Name: f.Get("name"), Phone: f.Get("phone"),
		IDNumber: f.Get("id_number"), Address: f.Get("address"), Age: age, MobilityNeeds: f.Get("mobility_needs"),
		EmergencyContact: rentals.Contact{Name: f.Get("emergency_name"), Phone: f.Get("emergency_phone")},
		HomeStationID:    st.ID, HomeOperatorID: st.OperatorID}, actorOf(c))
	next := f.Get("next")
	if err != nil {
		if f.fail(err, "name", "phone", "id_number", "age", "address", "mobility_needs", "emergency_contact.name", "emergency_contact.phone") {
			f.rename("emergency_contact.name", "emergency_name")
			f.rename("emergency_contact.phone", "emergency_phone")
			if unit := f.Get("unit"); unit != "" {
				c.Request.URL.RawQuery = url.Values{"unit": {unit}}.Encode()
				return s.checkoutPage(c, http.StatusBadRequest, &checkoutPage{RegisterForm: f})
			}
			return s.rentersPage(c, http.StatusBadRequest, &rentersPage{Register: f})
		}
		return err
	}
	s.flash(c, "staff.renter.registered")
	if unit := f.Get("unit"); unit != "" {
		c.Redirect(http.StatusSeeOther, "/staff/checkout?"+url.Values{"unit": {unit}, "renter": {r.ID}}.Encode())
		return nil
	}
	if next == "" {
		next = "/staff/renters/" + r.ID
	}
	c.Redirect(http.StatusSeeOther, localPath(next))
	return nil
}

// payments reads the payment rows of a desk form: method, amount in yuan,
// reference (one row is enough at the desk). A row left at 0 is no payment
// (the method select always sends a value), except "waived", which is how a
// free lease is accepted.
func payments(f form) ([]rentals.Payment, error) {
	method := f.Get("pay_method")
	if method == "" {
		return nil, nil
	}
	amount, err := amountFen("pay_amount", f.Get("pay_amount"))
	if err != nil {
		return nil, err
	}
	if amount == 0 && method != rentals.PayWaived {
		return nil, nil
	}
	return []rentals.Payment{{Method: method, AmountFen: amount, Reference: f.Get("pay_reference")}}, nil
}

func (s *Server) checkout(c *gin.Context) error {
	f := newForm(c)
	st, err := s.deskStation(c, f.Get("station_id"))
	if err != nil {
		return err
	}
	days, _ := strconv.Atoi(f.Get("days"))
	pays, err := payments(f)
	if err == nil && f.Get("accept") == "" {
		err = valid.Field("accept", "required", "the renter must accept the rental terms")
	}
	var l rentals.Lease
	if err == nil {
		l, err = s.rentals.Checkout(c.Request.Context(), scopeOf(c), rentals.CheckoutRequest{UnitTag: f.Get("unit"),
			RenterID: f.Get("renter_id"), Days: days, DueOn: f.Get("due_on"), Payments: pays, TermsVersion: TermsVersion,
			AcceptedName: f.Get("accepted_name"), StationID: st.ID}, actorOf(c))
	}
	if err != nil {
		if f.fail(err, "days", "due_on", "pay_method", "pay_amount", "payments", "pay_reference", "accept", "accepted_name") {
			c.Request.URL.RawQuery = url.Values{"unit": {f.Get("unit")}, "renter": {f.Get("renter_id")}, "days": {f.Get("days")}}.Encode()
			return s.checkoutPage(c, http.StatusBadRequest, &checkoutPage{Form: f, Days: max(days, 1)})
		}
		return err
	}
	c.Redirect(http.StatusSeeOther, "/staff/leases/"+l.ID+"/receipt")
	return nil
}

// checkinPage is the check-in in two steps on one address: the inspection
// (GET /staff/checkin?unit=…), then, with review=1, the settlement of that
// inspection exactly as the service will write it, to confirm (POST).
type checkinPage struct {
	deskBase
	Unit  unitView
	Lease rentals.Lease
	// Plain is the settlement of a return in good condition today, shown
	// with the lease before anything is entered.
	Plain rentals.Settlement
	// Review is the settlement of the inspection entered (second step).
	Review   *rentals.Settlement
	Outcomes []rentals.Outcome
	Methods  []string
	Form     form
	// EditURL goes back to the inspection with what was entered.
	EditURL string
	// Changed says the settlement changed between the review and the
	// confirmation, so it is shown again.
	Changed bool
}

// inspectionFields are the first step's fields, in the page's order.
var inspectionFields = []string{"outcome", "notes", "damage", "damage_fen"}

// checkinRequest reads a check-in form (query or post): the inspection,
// and on the second step the payment, refund and the settlement shown.
func checkinRequest(f form, station string) (rentals.CheckinRequest, error) {
	req := rentals.CheckinRequest{UnitTag: f.Get("unit"), StationID: station, Outcome: rentals.Outcome(f.Get("outcome")),
		Notes: f.Get("notes"), RefundMethod: f.Get("refund_method"), RefundReference: f.Get("refund_reference")}
	var err error
	if req.DamageFen, err = amountFen("damage", f.Get("damage")); err != nil {
		return req, err
	}
	if req.Payments, err = payments(f); err != nil {
		return req, err
	}
	if v := f.Get("expect_owed"); v != "" {
		owed, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return req, valid.Field("expect_owed", "integer", "must be a whole number of fen")
		}
		req.ExpectOwedFen = &owed
	}
	return req, nil
}

func (s *Server) checkinPage(c *gin.Context, status int, p *checkinPage) error {
	ctx, scope := c.Request.Context(), scopeOf(c)
	d, err := s.deskBase(c, "staff.checkin.title")
	if err != nil {
		return err
	}
	if id := p.Form.Get("station_id"); id != "" {
		if d.Station, err = s.deskStation(c, id); err != nil {
			return err
		}
	}
	p.deskBase = d
	if p.Unit, err = s.unitView(ctx, scope, p.Form.Get("unit")); err != nil {
		return err
	}
	if p.Unit.Lease == nil || !p.Unit.Lease.State.Out() {
		return fmt.Errorf("web: unit %s is not rented out: %w", p.Unit.Tag, stations.ErrUnavailable)
	}
	p.Lease = *p.Unit.Lease
	if p.Plain, err = s.rentals.PreviewCheckin(ctx, scope, rentals.CheckinRequest{UnitTag: p.Unit.Tag, StationID: d.Station.ID,
		Outcome: rentals.OutcomeOK}); err != nil {
		return err
	}
	p.Outcomes = rentals.Outcomes
	p.Methods = []string{rentals.PayCash, rentals.PayOfflineMobile}
	back := url.Values{"unit": {p.Unit.Tag}, "station_id": {d.Station.ID}}
	for _, k := range []string{"outcome", "notes", "damage"} {
		if v := p.Form.Get(k); v != "" {
			back.Set(k, v)
		}
	}
	p.EditURL = "/staff/checkin?" + back.Encode()
	return s.render(c, status, "staff_checkin", p)
}

// showCheckin shows the inspection form, or with review=1 the settlement of
// the inspection entered. Both only read, so they are GETs.
func (s *Server) showCheckin(c *gin.Context) error {
	f := form{Values: c.Request.URL.Query()}
	p := &checkinPage{Form: f}
	if f.Get("review") == "" {
		return s.checkinPage(c, http.StatusOK, p)
	}
	set, err := s.previewCheckin(c, f)
	if err != nil {
		if p.Form.fail(err, inspectionFields...) {
			p.Form.rename("damage_fen", "damage")
			return s.checkinPage(c, http.StatusBadRequest, p)
		}
		return err
	}
	p.Review = &set
	return s.checkinPage(c, http.StatusOK, p)
}

// previewCheckin is the settlement of the check-in form f.
func (s *Server) previewCheckin(c *gin.Context, f form) (rentals.Settlement, error) {
	st, err := s.deskStation(c, f.Get("station_id"))
	if err != nil {
		return rentals.Settlement{}, err
	}
	req, err := checkinRequest(f, st.ID)
	if err != nil {
		return rentals.Settlement{}, err
	}
	return s.rentals.PreviewCheckin(c.Request.Context(), scopeOf(c), req)
}

// checkin confirms a reviewed check-in. A wrong inspection goes back to the
// first step, a wrong payment or refund to the second; a settlement that
// changed since the review (a day passed) is shown again to confirm.
func (s *Server) checkin(c *gin.Context) error {
	f := newForm(c)
	st, err := s.deskStation(c, f.Get("station_id"))
	if err != nil {
		return err
	}
	req, err := checkinRequest(f, st.ID)
	var l rentals.Lease
	if err == nil {
		l, err = s.rentals.Checkin(c.Request.Context(), scopeOf(c), req, actorOf(c))
	}
	if err != nil {
		p := &checkinPage{Form: f}
		status := http.StatusBadRequest
		switch {
		case errors.Is(err, rentals.ErrSettlementChanged):
			p.Changed, status = true, http.StatusConflict
			p.Form.Values.Del("expect_owed")
			p.Form.Values.Del("pay_amount")
		case p.Form.fail(err, append(inspectionFields, "pay_method", "pay_amount", "payments", "pay_reference", "refund_method", "refund_reference")...):
			p.Form.rename("damage_fen", "damage")
			if slices.Contains(inspectionFields, p.Form.First) {
				return s.checkinPage(c, status, p)
			}
		default:
			return err
		}
		set, perr := s.previewCheckin(c, f)
		if perr != nil {
			return perr
		}
		p.Review = &set
		return s.checkinPage(c, status, p)
	}
	s.flash(c, s.checkinDone(c.Request.Context(), l))
	c.Redirect(http.StatusSeeOther, "/staff/leases/"+l.ID)
	return nil
}

// checkinDone is the message after check-in l: with a deposit refunded
// through Stripe, whether Stripe refunded it, is still at it, or refused
// (then it is in the operator's online payment to-do list and the desk
// refunds it).
func (s *Server) checkinDone(ctx context.Context, l rentals.Lease) string {
	if l.Return == nil || l.Return.RefundOnlineFen <= 0 || s.payments == nil {
		return "staff.done.checkin"
	}
	t, err := s.payments.Tab(ctx, tenancy.OperatorScope(l.OperatorID), cmp.Or(l.OnlineTab, l.ID))
	if err != nil {
		return "staff.done.checkin.refund_pending"
	}
	for _, r := range t.Refunds {
		if r.ID != l.Return.RefundOnlineRef {
			continue
		}
		switch r.State() {
		case online.RefundSucceeded:
			return "staff.done.checkin.refunded"
		case online.RefundFailed:
			return "staff.done.checkin.refund_failed"
		}
	}
	return "staff.done.checkin.refund_pending"
}

type leasePage struct {
	deskBase
	Lease       leaseView
	Form        form
	Methods     []string
	CanLose     bool
	DaysOverdue int
	// The rules of the day (staff_rules.go): late fees at today's tier,
	// the lease's waivers and what staff may still waive on it.
	Late        rentals.LateCharge
	Waivers     []rentals.Waiver
	WaiverLimit int64
	WaiverLeft  int64
	Reasons     []string
	// Balance is a returned lease's open balance and whether a payment
	// link can be sent for it (nil when nothing is owed).
	Balance *balanceOffer
}

func (s *Server) leasePage(c *gin.Context, status int, p *leasePage) error {
	d, err := s.deskBase(c, "staff.lease.title")
	if err != nil {
		return err
	}
	p.deskBase = d
	if p.Lease, err = s.leaseView(c.Request.Context(), scopeOf(c), c.Param("id")); err != nil {
		return err
	}
	p.Methods = []string{rentals.PayCash, rentals.PayOfflineMobile}
	p.DaysOverdue = p.Lease.DaysOverdue(s.now())
	p.CanLose = p.Lease.State == rentals.LeaseOverdue && p.DaysOverdue >= p.Lease.LostAfterDays
	if err := s.leaseRules(c, p); err != nil {
		return err
	}
	if o, err := s.balanceOf(c.Request.Context(), p.Lease.Lease); err == nil {
		p.Balance = &o
	} else if !errors.Is(err, rentals.ErrNothingOwed) {
		return err
	}
	return s.render(c, status, "staff_lease", p)
}

func (s *Server) showLease(c *gin.Context) error { return s.leasePage(c, http.StatusOK, &leasePage{}) }

func (s *Server) leaseActionPage(c *gin.Context) error {
	f := newForm(c)
	ctx, scope, by, id := c.Request.Context(), scopeOf(c), actorOf(c), c.Param("id")
	pays, err := payments(f)
	if err == nil {
		switch c.Param("action") {
		case "extend":
			days, _ := strconv.Atoi(f.Get("days"))
			_, err = s.rentals.Extend(ctx, scope, id, days, pays, by)
		case "settle":
			_, err = s.rentals.SettleLease(ctx, scope, id, pays, by)
		case "lost":
			_, err = s.rentals.DeclareLost(ctx, scope, id, by)
		default:
			return errNotFound
		}
	}
	if err != nil {
		if f.fail(err, "days", "pay_method", "pay_amount", "payments", "pay_reference") {
			return s.leasePage(c, http.StatusBadRequest, &leasePage{Form: f})
		}
		return err
	}
	s.flash(c, "staff.done."+c.Param("action"))
	c.Redirect(http.StatusSeeOther, "/staff/leases/"+id)
	return nil
}

type rentersPage struct {
	deskBase
	// lookup is what was posted to the find form (see checkoutPage).
	lookup   string
	Search   renterSearchBox
	Register form
}

func (s *Server) rentersPage(c *gin.Context, status int, p *rentersPage) error {
	d, err := s.deskBase(c, "staff.renters.title")
	if err != nil {
		return err
	}
	p.deskBase = d
	if p.lookup != "" {
		if p.Search, err = s.renterSearchBox(c, &p.base, p.lookup); err != nil {
			return err
		}
		if p.Search.Missing && p.Register.Values == nil {
			p.Register.Values = p.Search.register
		}
		if p.Search.Error != "" {
			status = http.StatusBadRequest
			if p.Search.limited {
				status = http.StatusTooManyRequests
			}
		}
	}
	p.Search.Action = "/staff/renters/find"
	return s.render(c, status, "staff_renters", p)
}

func (s *Server) showRenters(c *gin.Context) error {
	return s.rentersPage(c, http.StatusOK, &rentersPage{})
}

// findRenter looks a renter up by phone number, name or ID number's tail.
func (s *Server) findRenter(c *gin.Context) error {
	return s.rentersPage(c, http.StatusOK, &rentersPage{lookup: lookupOf(newForm(c))})
}

type renterPage struct {
	deskBase
	Renter     rentals.Renter
	History    []rentals.TierChange
	Revealed   string
	Form       form
	Tiers      []rentals.Tier
	ProofTypes []string
	ProofURL   string
}

func (s *Server) renterPage(c *gin.Context, status int, p *renterPage) error {
	ctx, scope := c.Request.Context(), scopeOf(c)
	d, err := s.deskBase(c, "staff.renter.title")
	if err != nil {
		return err
	}
	p.deskBase = d
	if p.Renter, err = s.rentals.Renter(ctx, scope, c.Param("id")); err != nil {
		return err
	}
	p.Title = p.Renter.Name
	if p.Renter.View == rentals.ViewFull {
		if p.History, err = s.rentals.TierHistory(ctx, scope, p.Renter.ID); err != nil {
			return err
		}
	}
	p.Tiers, p.ProofTypes = rentals.VerifiedTiers, rentals.ProofTypes
	c.Header("Cache-Control", "no-store")
	return s.render(c, status, "staff_renter", p)
}

func (s *Server) showRenter(c *gin.Context) error {
	return s.renterPage(c, http.StatusOK, &renterPage{})
}

// revealRenter shows the full ID number or the proof photo once, after the
// service checked the caller may and logged the access with the reason.
func (s *Server) revealRenter(c *gin.Context) error {
	f := newForm(c)
	ctx, scope, by, id := c.Request.Context(), scopeOf(c), actorOf(c), c.Param("id")
	p := &renterPage{Form: f}
	switch f.Get("what") {
	case "id_number":
		v, err := s.rentals.RevealIDNumber(ctx, scope, id, f.Get("reason"), by)
		if err != nil {
			if f.fail(err, "reason") {
				return s.renterPage(c, http.StatusBadRequest, p)
			}
			return err
		}
		p.Revealed = v
	case "proof_photo":
		key, err := s.rentals.ProofPhotoKey(ctx, scope, id, f.Get("reason"), by)
		if err != nil {
			if f.fail(err, "reason") {
				return s.renterPage(c, http.StatusBadRequest, p)
			}
			return err
		}
		if p.ProofURL, err = s.media.SignedURL(ctx, key, 2*time.Minute); err != nil {
			return err
		}
	default:
		return fmt.Errorf("web: %w", valid.Field("what", "oneof", "must be id_number or proof_photo"))
	}
	return s.renterPage(c, http.StatusOK, p)
}

func (s *Server) verifyTierPage(c *gin.Context) error {
	if _, err := s.verifyTier(c, c.Param("id")); err != nil {
		f := postedForm(c)
		if f.fail(err, tierFields...) {
			return s.renterPage(c, http.StatusBadRequest, &renterPage{Form: f})
		}
		return err
	}
	s.flash(c, "staff.done.tier")
	c.Redirect(http.StatusSeeOther, "/staff/renters/"+c.Param("id"))
	return nil
}

type leaseList struct {
	B *base
	L []rentals.OpenLease
}

// Leases prepares a desk list of leases.
func (b *base) Leases(l []rentals.OpenLease) leaseList { return leaseList{B: b, L: l} }

type unitList struct {
	B *base
	U []stations.Unit
}

// Units prepares a desk list of units.
func (b *base) Units(u []stations.Unit) unitList { return unitList{B: b, U: u} }

type searchBoxView struct {
	B *base
	S renterSearchBox
}

// SearchBox prepares the renter search for the "rentersearch" template.
func (b *base) SearchBox(s renterSearchBox) searchBoxView { return searchBoxView{B: b, S: s} }

type registerFields struct {
	B       *base
	F       form
	Unit    string
	Station string
}

// RegisterFields prepares the walk-in registration form at the desk's
// station; with unit, it goes back to that unit's check-out.
func (b *base) RegisterFields(f form, unit, station string) registerFields {
	return registerFields{B: b, F: f, Unit: unit, Station: station}
}
