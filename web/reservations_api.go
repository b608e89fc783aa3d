package web

import (
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"fuju/internal/l10n"
	"fuju/internal/valid"
	"fuju/rentals"
	"fuju/stations"
)

// The JSON API of reservations and the waitlist (docs/reservations.md):
// public slots and delivery options, a family's reservations and waitlist
// places under /api/v1/me, the desk's pickups and reservations under
// /api/v1/staff, and the operator's slot and delivery settings. Each handler
// binds, calls one method of rentals.Reservations (or stations for the
// settings) and answers; the rules and the audit entries are the services'.

// ---- Public

func (s *Server) listSlotsAPI(c *gin.Context) error {
	if err := onlyParams(c); err != nil {
		return err
	}
	slots, err := s.reserve.Slots(c.Request.Context(), c.Param("id"))
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, whole(slots))
	return nil
}

func (s *Server) showDeliveryOptionsAPI(c *gin.Context) error {
	if err := onlyParams(c); err != nil {
		return err
	}
	d, err := s.reserve.DeliveryOptions(c.Request.Context(), c.Param("id"))
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, d)
	return nil
}

// onlyParams refuses any query parameter but allowed.
func onlyParams(c *gin.Context, allowed ...string) error {
	p := newParams(c)
	p.only(allowed...)
	return p.err()
}

// ---- Families

// familyOf is the signed-in account's id.
func familyOf(c *gin.Context) (string, error) {
	u, ok := userOf(c)
	if !ok {
		return "", errUnauthorized
	}
	return u.ID, nil
}

type reserveRequest struct {
	RenterID  string           `json:"renter_id" binding:"required,limit=id"`
	ProductID string           `json:"product_id" binding:"required,limit=id"`
	StationID string           `json:"station_id" binding:"required,limit=id"`
	Mode      rentals.Mode     `json:"mode" binding:"required,oneof=pickup delivery"`
	Slot      *time.Time       `json:"slot"`
	Day       string           `json:"day" binding:"limit=id"`
	Window    stations.Window  `json:"window" binding:"omitempty,oneof=am pm"`
	Delivery  *deliveryAddress `json:"delivery"`
	Days      int              `json:"days"`
}

type deliveryAddress struct {
	District string `json:"district" binding:"limit=id"`
	Address  string `json:"address" binding:"limit=text"`
	Phone    string `json:"phone" binding:"limit=phone"`
}

func (s *Server) createReservationAPI(c *gin.Context) error {
	user, err := familyOf(c)
	if err != nil {
		return err
	}
	var req reserveRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	in := rentals.ReserveRequest{RenterID: req.RenterID, ProductID: req.ProductID, StationID: req.StationID, Mode: req.Mode,
		Day: req.Day, Window: req.Window, Days: req.Days}
	if req.Delivery != nil {
		in.Ship = (*rentals.DeliveryAddress)(req.Delivery)
	}
	if req.Mode == rentals.Pickup {
		if req.Slot == nil {
			return valid.Field("slot", "required", "is required for a pickup")
		}
		in.Slot = *req.Slot
	}
	in.Lang = langOf(c)
	x, err := s.reserve.Reserve(c.Request.Context(), user, in)
	if err != nil {
		return err
	}
	c.JSON(http.StatusCreated, x)
	return nil
}

func (s *Server) listMyReservationsAPI(c *gin.Context) error {
	user, err := familyOf(c)
	if err != nil {
		return err
	}
	if err := onlyParams(c); err != nil {
		return err
	}
	xs, err := s.reserve.MyReservations(c.Request.Context(), user)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, whole(xs))
	return nil
}

func (s *Server) showMyReservationAPI(c *gin.Context) error {
	user, err := familyOf(c)
	if err != nil {
		return err
	}
	x, err := s.reserve.MyReservation(c.Request.Context(), user, c.Param("id"))
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, x)
	return nil
}

func (s *Server) cancelMyReservationAPI(c *gin.Context) error {
	user, err := familyOf(c)
	if err != nil {
		return err
	}
	x, err := s.reserve.CancelMine(c.Request.Context(), user, c.Param("id"))
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, x)
	return nil
}

type joinWaitlistRequest struct {
	RenterID  string `json:"renter_id" binding:"required,limit=id"`
	ProductID string `json:"product_id" binding:"required,limit=id"`
	StationID string `json:"station_id" binding:"limit=id"`
	District  string `json:"district" binding:"limit=id"`
}

func (s *Server) joinWaitlistAPI(c *gin.Context) error {
	user, err := familyOf(c)
	if err != nil {
		return err
	}
	var req joinWaitlistRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	w, err := s.reserve.JoinWaitlist(c.Request.Context(), user, rentals.JoinRequest{RenterID: req.RenterID, ProductID: req.ProductID,
		StationID: req.StationID, District: req.District, Lang: langOf(c)})
	if err != nil {
		return err
	}
	c.JSON(http.StatusCreated, w)
	return nil
}

func (s *Server) listMyWaitlistAPI(c *gin.Context) error {
	user, err := familyOf(c)
	if err != nil {
		return err
	}
	if err := onlyParams(c); err != nil {
		return err
	}
	ws, err := s.reserve.MyWaitlist(c.Request.Context(), user)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, whole(ws))
	return nil
}

func (s *Server) leaveWaitlistAPI(c *gin.Context) error {
	user, err := familyOf(c)
	if err != nil {
		return err
	}
	w, err := s.reserve.LeaveWaitlist(c.Request.Context(), user, c.Param("id"))
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, w)
	return nil
}

func (s *Server) acceptOfferAPI(c *gin.Context) error {
	user, err := familyOf(c)
	if err != nil {
		return err
	}
	w, err := s.reserve.AcceptOffer(c.Request.Context(), user, c.Param("id"))
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, w)
	return nil
}

// ---- The desk

// deskDay reads the desk's station and day (YYYY-MM-DD, default today) from
// the query.
func (s *Server) deskDay(c *gin.Context) (stations.Station, time.Time, error) {
	p := newParams(c)
	p.only("station", "day")
	day := s.now()
	if d := p.str("day", 10); d != "" {
		t, err := time.ParseInLocation(time.DateOnly, d, l10n.Local)
		if err != nil {
			p.errs.Add("day", "date", "must be a date like 2026-01-31")
		} else {
			day = t.Add(12 * time.Hour)
		}
	}
	if err := p.err(); err != nil {
		return stations.Station{}, time.Time{}, err
	}
	st, err := s.deskStation(c, c.Query("station"))
	return st, day, err
}

func (s *Server) listPickupsAPI(c *gin.Context) error {
	st, day, err := s.deskDay(c)
	if err != nil {
		return err
	}
	xs, err := s.reserve.Pickups(c.Request.Context(), scopeOf(c), st.ID, day)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, whole(xs))
	return nil
}

func (s *Server) listDeliveryRunsAPI(c *gin.Context) error {
	st, day, err := s.deskDay(c)
	if err != nil {
		return err
	}
	runs, err := s.reserve.DeliveryRuns(c.Request.Context(), scopeOf(c), st.ID, day)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, whole(runs))
	return nil
}

func (s *Server) listStationWaitlistAPI(c *gin.Context) error {
	if err := onlyParams(c, "station"); err != nil {
		return err
	}
	st, err := s.deskStation(c, c.Query("station"))
	if err != nil {
		return err
	}
	ws, err := s.reserve.StationWaitlist(c.Request.Context(), scopeOf(c), st.ID)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, whole(ws))
	return nil
}

func (s *Server) showStaffReservationAPI(c *gin.Context) error {
	x, err := s.reserve.Reservation(c.Request.Context(), scopeOf(c), c.Param("id"))
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, x)
	return nil
}

func (s *Server) showReservationByCodeAPI(c *gin.Context) error {
	if err := onlyParams(c, "station"); err != nil {
		return err
	}
	st, err := s.deskStation(c, c.Query("station"))
	if err != nil {
		return err
	}
	x, err := s.reserve.ReservationByCode(c.Request.Context(), scopeOf(c), st.ID, c.Param("code"))
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, x)
	return nil
}

type fulfilRequest struct {
	Days         int               `json:"days"`
	Payments     []rentals.Payment `json:"payments" binding:"limit=payments"`
	TermsVersion string            `json:"terms_version" binding:"limit=code"`
	AcceptedName string            `json:"accepted_name" binding:"limit=person_name"`
	Substitute   string            `json:"substitute" binding:"limit=tag"`
}

// fulfilResult is a fulfilled reservation and the lease it became.
type fulfilResult struct {
	Reservation rentals.Reservation `json:"reservation"`
	Lease       rentals.Lease       `json:"lease"`
}

func (s *Server) fulfilReservationAPI(c *gin.Context) error {
	var req fulfilRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	x, l, err := s.reserve.Fulfil(c.Request.Context(), scopeOf(c), c.Param("id"), rentals.FulfilRequest(req), actorOf(c))
	if err != nil {
		return err
	}
	c.JSON(http.StatusCreated, fulfilResult{Reservation: x, Lease: l})
	return nil
}

type substituteRequest struct {
	Unit string `json:"unit" binding:"required,limit=tag"`
}

func (s *Server) substituteUnitAPI(c *gin.Context) error {
	var req substituteRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	x, err := s.reserve.Substitute(c.Request.Context(), scopeOf(c), c.Param("id"), req.Unit, actorOf(c))
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, x)
	return nil
}

type reasonRequest struct {
	Reason string `json:"reason" binding:"required,limit=note"`
}

func (s *Server) cancelStaffReservationAPI(c *gin.Context) error {
	var req reasonRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	x, err := s.reserve.CancelByStaff(c.Request.Context(), scopeOf(c), c.Param("id"), req.Reason, actorOf(c))
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, x)
	return nil
}

// noShowBlock says whether a renter may reserve online.
type noShowBlock struct {
	Blocked bool       `json:"blocked"`
	Until   *time.Time `json:"until,omitempty"`
}

func (s *Server) showNoShowBlockAPI(c *gin.Context) error {
	until, err := s.reserve.NoShowBlock(c.Request.Context(), scopeOf(c), c.Param("id"))
	if err != nil {
		return err
	}
	b := noShowBlock{Blocked: !until.IsZero()}
	if b.Blocked {
		b.Until = &until
	}
	c.JSON(http.StatusOK, b)
	return nil
}

func (s *Server) liftNoShowBlockAPI(c *gin.Context) error {
	var req reasonRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	if err := s.reserve.LiftNoShowBlock(c.Request.Context(), scopeOf(c), c.Param("id"), req.Reason, actorOf(c)); err != nil {
		return err
	}
	c.JSON(http.StatusOK, noShowBlock{})
	return nil
}

// ---- Operators

func (s *Server) showSlotSettingsAPI(c *gin.Context) error {
	set, err := s.stations.ReservationSettingsIn(c.Request.Context(), scopeOf(c), c.Param("id"))
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, set)
	return nil
}

type slotSettingsRequest struct {
	Capacity     int `json:"capacity" binding:"required"`
	GraceMinutes int `json:"grace_minutes"`
}

func (s *Server) putSlotSettingsAPI(c *gin.Context) error {
	var req slotSettingsRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	set, err := s.stations.SetSlotSettings(c.Request.Context(), scopeOf(c), c.Param("id"), stations.SlotSettings(req), actorOf(c))
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, set)
	return nil
}

type deliverySettingsRequest struct {
	Enabled   bool              `json:"enabled"`
	Districts []string          `json:"districts" binding:"limit=districts"`
	FeeFen    int64             `json:"fee_fen"`
	Windows   []stations.Window `json:"windows" binding:"limit=windows"`
}

func (s *Server) putDeliverySettingsAPI(c *gin.Context) error {
	var req deliverySettingsRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	if req.Districts == nil {
		req.Districts = []string{}
	}
	if req.Windows == nil {
		req.Windows = []stations.Window{}
	}
	set, err := s.stations.SetDeliverySettings(c.Request.Context(), scopeOf(c), c.Param("id"), stations.DeliverySettings(req), actorOf(c))
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, set)
	return nil
}

// prepayRequest is the operator's choice of online prepayment for a station.
type prepayRequest struct {
	Prepay stations.Prepay `json:"prepay"`
}

// putPrepayAPI sets whether the station's reservations are paid online in
// advance (off, optional, required).
func (s *Server) putPrepayAPI(c *gin.Context) error {
	var req prepayRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	set, err := s.stations.SetPrepay(c.Request.Context(), scopeOf(c), c.Param("id"), req.Prepay, actorOf(c))
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, set)
	return nil
}
