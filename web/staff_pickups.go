package web

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"fuju/internal/l10n"
	"fuju/internal/valid"
	"fuju/rentals"
	"fuju/stations"
)

// The desk's side of reservations (tablet first):
//
//	GET  /staff/pickups                     today's pickups and deliveries, a scan box
//	GET  /staff/pickups/find?code=          a reservation code or a reserved unit's tag
//	GET  /staff/reservations/:id            check-out prefilled with the renter and the quote
//	POST /staff/reservations/:id/fulfil     → the lease
//	POST /staff/reservations/:id/substitute another available unit of the product
//	POST /staff/reservations/:id/cancel     with a reason
//	GET  /staff/deliveries                  the day's delivery run list, printable

type pickupsPage struct {
	deskBase
	Day     time.Time
	Pickups []rentals.Reservation
	// Waiting are who wait for a device here or in the station's district.
	Waiting []rentals.WaitEntry
	// Code is what was scanned; NotFound says it matched nothing.
	Code     string
	NotFound bool
}

// pickupDay reads ?day=YYYY-MM-DD (today when absent).
func (s *Server) pickupDay(c *gin.Context) (time.Time, error) {
	v := c.Query("day")
	if v == "" {
		return s.now(), nil
	}
	t, err := time.ParseInLocation(time.DateOnly, v, l10n.Local)
	if err != nil {
		return time.Time{}, valid.Field("day", "date", "must be a date like 2026-01-31")
	}
	return t.Add(12 * time.Hour), nil
}

func (s *Server) pickups(c *gin.Context) (*pickupsPage, error) {
	if s.reserve == nil {
		return nil, errNotFound
	}
	d, err := s.deskBase(c, "pickups.title")
	if err != nil {
		return nil, err
	}
	p := &pickupsPage{deskBase: d}
	if p.Day, err = s.pickupDay(c); err != nil {
		return nil, err
	}
	if p.Pickups, err = s.reserve.Pickups(c.Request.Context(), scopeOf(c), d.Station.ID, p.Day); err != nil {
		return nil, err
	}
	if p.Waiting, err = s.reserve.StationWaitlist(c.Request.Context(), scopeOf(c), d.Station.ID); err != nil {
		return nil, err
	}
	return p, nil
}

func (s *Server) showPickups(c *gin.Context) error {
	p, err := s.pickups(c)
	if err != nil {
		return err
	}
	return s.render(c, http.StatusOK, "staff_pickups", p)
}

// findPickup takes what was scanned or typed: a reservation code, or the
// tag of a unit held for one of the station's open reservations.
func (s *Server) findPickup(c *gin.Context) error {
	p, err := s.pickups(c)
	if err != nil {
		return err
	}
	p.Code = c.Query("code")
	ctx := c.Request.Context()
	x, err := s.reserve.ReservationByCode(ctx, scopeOf(c), p.Station.ID, rentals.NormalizeCode(p.Code))
	if err == nil {
		c.Redirect(http.StatusSeeOther, "/staff/reservations/"+x.ID)
		return nil
	}
	if !errors.Is(err, rentals.ErrNotFound) && !errors.Is(err, valid.ErrInvalid) {
		return err
	}
	if tag := stations.NormalizeTag(p.Code); tag != "" {
		// A held unit's reservation is for today or one of the days a
		// family may book ahead.
		for d := range stations.SlotDays + 1 {
			day := s.now().AddDate(0, 0, d)
			open, err := s.reserve.Pickups(ctx, scopeOf(c), p.Station.ID, day)
			if err != nil {
				return err
			}
			for _, x := range open {
				if x.UnitTag == tag {
					c.Redirect(http.StatusSeeOther, "/staff/reservations/"+x.ID)
					return nil
				}
			}
		}
	}
	p.NotFound = true
	return s.render(c, http.StatusNotFound, "staff_pickups", p)
}

type staffReservationPage struct {
	deskBase
	R      rentals.Reservation
	Renter rentals.Renter
	Form   form
	// Units are the product's other units available at the station, for a
	// substitution.
	Units []stations.Unit
	// Pay is what the family paid online in advance (prepay.go).
	Pay prepayOffer
}

func (s *Server) staffReservationPage(c *gin.Context, status int, f form) error {
	if s.reserve == nil {
		return errNotFound
	}
	ctx := c.Request.Context()
	x, err := s.reserve.Reservation(ctx, scopeOf(c), c.Param("id"))
	if err != nil {
		return err
	}
	d, err := s.deskBase(c, "pickups.res.title")
	if err != nil {
		return err
	}
	if st, ok := s.stations.Index().Station(x.StationID); ok {
		d.Station = st
	}
	p := staffReservationPage{deskBase: d, R: x, Form: f}
	if p.Pay, err = s.prepayOf(ctx, x); err != nil {
		return err
	}
	if p.Renter, err = s.rentals.Renter(ctx, scopeOf(c), x.RenterID); err != nil {
		return err
	}
	if p.Form.Values == nil {
		p.Form.Values = map[string][]string{"days": {strconv.Itoa(x.Days)}, "accepted_name": {p.Renter.Name}}
	}
	units, err := s.stations.UnitsAt(ctx, x.StationID)
	if err != nil {
		return err
	}
	for _, u := range units {
		if u.ProductID == x.ProductID && u.State == stations.Available {
			p.Units = append(p.Units, u)
		}
	}
	return s.render(c, status, "staff_reservation", &p)
}

// DueNow is what the renter pays at handover: the quoted rent and deposit,
// and the delivery fee, less what the family paid online in advance (that
// becomes the lease's paid_online entry at the check-out).
func (p *staffReservationPage) DueNow() int64 {
	return max(p.R.Quote.DueNowFen+p.R.FeeFen-p.Pay.PaidFen, 0)
}

func (s *Server) showStaffReservation(c *gin.Context) error {
	return s.staffReservationPage(c, http.StatusOK, form{})
}

func (s *Server) fulfilReservation(c *gin.Context) error {
	f := newForm(c)
	days, _ := strconv.Atoi(f.Get("days"))
	pays, err := payments(f)
	if err == nil && f.Get("accept") == "" {
		err = valid.Field("accept", "required", "the renter must accept the rental terms")
	}
	var l rentals.Lease
	if err == nil {
		_, l, err = s.reserve.Fulfil(c.Request.Context(), scopeOf(c), c.Param("id"), rentals.FulfilRequest{Days: days, Payments: pays,
			TermsVersion: TermsVersion, AcceptedName: f.Get("accepted_name")}, actorOf(c))
	}
	if err != nil {
		if f.fail(err, "days", "pay_method", "pay_amount", "payments", "pay_reference", "accept", "accepted_name") {
			return s.staffReservationPage(c, http.StatusBadRequest, f)
		}
		return err
	}
	s.flash(c, "pickups.flash.out")
	c.Redirect(http.StatusSeeOther, "/staff/leases/"+l.ID)
	return nil
}

func (s *Server) substituteReservation(c *gin.Context) error {
	if s.reserve == nil {
		return errNotFound
	}
	f := newForm(c)
	if _, err := s.reserve.Substitute(c.Request.Context(), scopeOf(c), c.Param("id"), stations.NormalizeTag(f.Get("unit")), actorOf(c)); err != nil {
		if f.fail(err, "unit") {
			return s.staffReservationPage(c, http.StatusBadRequest, f)
		}
		return err
	}
	s.flash(c, "pickups.flash.moved")
	c.Redirect(http.StatusSeeOther, "/staff/reservations/"+c.Param("id"))
	return nil
}

func (s *Server) cancelReservationStaff(c *gin.Context) error {
	if s.reserve == nil {
		return errNotFound
	}
	f := newForm(c)
	if _, err := s.reserve.CancelByStaff(c.Request.Context(), scopeOf(c), c.Param("id"), f.Get("reason"), actorOf(c)); err != nil {
		if f.fail(err, "reason") {
			return s.staffReservationPage(c, http.StatusBadRequest, f)
		}
		return err
	}
	s.flash(c, "pickups.flash.cancelled")
	c.Redirect(http.StatusSeeOther, "/staff/pickups")
	return nil
}

type deliveriesPage struct {
	deskBase
	Day  time.Time
	Runs []rentals.DeliveryRun
}

func (s *Server) showDeliveries(c *gin.Context) error {
	if s.reserve == nil {
		return errNotFound
	}
	d, err := s.deskBase(c, "pickups.runs.title")
	if err != nil {
		return err
	}
	p := deliveriesPage{deskBase: d}
	if p.Day, err = s.pickupDay(c); err != nil {
		return err
	}
	if p.Runs, err = s.reserve.DeliveryRuns(c.Request.Context(), scopeOf(c), d.Station.ID, p.Day); err != nil {
		return err
	}
	return s.render(c, http.StatusOK, "staff_deliveries", &p)
}

// DayParam is a day as ?day= takes it.
func (b *base) DayParam(t time.Time) string { return t.In(l10n.Local).Format(time.DateOnly) }

// NextDay and PrevDay are the neighbouring days.
func (b *base) NextDay(t time.Time) time.Time { return t.AddDate(0, 0, 1) }

// PrevDay is the day before t.
func (b *base) PrevDay(t time.Time) time.Time { return t.AddDate(0, 0, -1) }

// Collect is what a delivery collects at the door: the quote's due now and
// the fee.
func (p *deliveriesPage) Collect(x rentals.Reservation) int64 { return x.Quote.DueNowFen + x.FeeFen }

// DeskMethods are the payment methods a handover takes.
func (p *staffReservationPage) DeskMethods() []string {
	return []string{rentals.PayCash, rentals.PayOfflineMobile, rentals.PayWaived}
}
