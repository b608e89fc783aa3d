package web

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"fuju/stations"
)

// An operator's reservation settings for a station
// (/operator/stations/:id/reservations): how many pickups one 30-minute
// slot takes, how long a hold outlives its slot, and whether, where, when
// and for how much the station delivers. The stations service checks the
// input, the tenancy and writes the audit entries.

type opReservationsPage struct {
	opConsole
	Station  stations.Station
	Settings stations.ReservationSettings
	Form     form
	Windows  []stations.Window
}

// Checked reports whether a checkbox of the form is on: the submitted form's
// when there is one, else the saved settings'.
func (p *opReservationsPage) Checked(name, value string) bool {
	if p.Form.Values != nil {
		for _, v := range p.Form.Values[name] {
			if v == value {
				return true
			}
		}
		return false
	}
	switch name {
	case "districts":
		for _, d := range p.Settings.Delivery.Districts {
			if d == value {
				return true
			}
		}
	case "windows":
		for _, w := range p.Settings.Delivery.Windows {
			if string(w) == value {
				return true
			}
		}
	case "delivery":
		return p.Settings.Delivery.Enabled
	case "prepay":
		return string(p.Settings.Prepay) == value
	}
	return false
}

// PrepayModes are the choices of online prepayment.
func (p *opReservationsPage) PrepayModes() []stations.Prepay {
	return []stations.Prepay{stations.PrepayOff, stations.PrepayOptional, stations.PrepayRequired}
}

func (s *Server) opReservationsPage(c *gin.Context, status int, f form) error {
	st, err := s.opStation(c.Param("id"))
	if err != nil {
		return err
	}
	set, err := s.stations.ReservationSettingsIn(c.Request.Context(), scopeOf(c), st.ID)
	if err != nil {
		return err
	}
	p := opReservationsPage{opConsole: s.opConsole(c, "opres.title", "stations"), Station: st, Settings: set, Form: f, Windows: stations.Windows}
	p.Title = p.T("opres.heading", p.Tx(st.Name))
	if f.Values == nil {
		p.Form.Values = map[string][]string{
			"capacity":      {strconv.Itoa(set.Slots.Capacity)},
			"grace_minutes": {strconv.Itoa(set.Slots.GraceMinutes)},
			"fee":           {strings.TrimPrefix(yuan(set.Delivery.FeeFen), "¥")},
		}
		p.Form.Values["districts"] = set.Delivery.Districts
		for _, w := range set.Delivery.Windows {
			p.Form.Values.Add("windows", string(w))
		}
		if set.Delivery.Enabled {
			p.Form.Values.Set("delivery", "on")
		}
		p.Form.Values.Set("prepay", string(set.Prepay))
	}
	return s.render(c, status, "operator_station_reservations", &p)
}

func (s *Server) showOpReservations(c *gin.Context) error {
	return s.opReservationsPage(c, http.StatusOK, form{})
}

func (s *Server) saveOpReservations(c *gin.Context) error {
	f := newForm(c)
	st, err := s.opStation(c.Param("id"))
	if err != nil {
		return err
	}
	capacity, _ := strconv.Atoi(f.Get("capacity"))
	grace, gerr := strconv.Atoi(f.Get("grace_minutes"))
	if gerr != nil {
		grace = -1
	}
	fee, err := amountFen("fee", f.Get("fee"))
	if err != nil {
		f.fail(err, "fee")
		return s.opReservationsPage(c, http.StatusBadRequest, f)
	}
	d := stations.DeliverySettings{Enabled: f.Get("delivery") == "on", Districts: f.Values["districts"], FeeFen: fee}
	for _, w := range f.Values["windows"] {
		d.Windows = append(d.Windows, stations.Window(w))
	}
	ctx, scope, by := c.Request.Context(), scopeOf(c), actorOf(c)
	if _, err := s.stations.SetSlotSettings(ctx, scope, st.ID, stations.SlotSettings{Capacity: capacity, GraceMinutes: grace}, by); err != nil {
		if f.fail(err, "capacity", "grace_minutes") {
			return s.opReservationsPage(c, http.StatusBadRequest, f)
		}
		return err
	}
	if _, err := s.stations.SetDeliverySettings(ctx, scope, st.ID, d, by); err != nil {
		if f.fail(err, "districts", "windows", "fee_fen") {
			f.rename("fee_fen", "fee")
			return s.opReservationsPage(c, http.StatusBadRequest, f)
		}
		return err
	}
	if mode := stations.Prepay(f.Get("prepay")); mode != "" {
		cur, err := s.stations.ReservationSettingsIn(ctx, scope, st.ID)
		if err != nil {
			return err
		}
		if cur.Prepay != mode {
			if _, err := s.stations.SetPrepay(ctx, scope, st.ID, mode, by); err != nil {
				if f.fail(err, "prepay") {
					return s.opReservationsPage(c, http.StatusBadRequest, f)
				}
				return err
			}
		}
	}
	s.flash(c, "flash.saved")
	c.Redirect(http.StatusSeeOther, "/operator/stations/"+st.ID+"/reservations")
	return nil
}
