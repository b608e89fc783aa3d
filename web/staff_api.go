package web

import (
	"context"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"fuju/internal/l10n"
	"fuju/internal/tenancy"
	"fuju/media"
	"fuju/rentals"
	"fuju/stations"
)

// ---- JSON API (staff session, operator admin, or a token with the desk scope)

type deskRenterRequest struct {
	Name             string          `json:"name" binding:"limit=person_name"`
	Phone            string          `json:"phone" binding:"limit=phone"`
	IDNumber         string          `json:"id_number" binding:"limit=id_number"`
	Address          string          `json:"address" binding:"limit=text"`
	Age              int             `json:"age"`
	MobilityNeeds    string          `json:"mobility_needs" binding:"limit=needs"`
	EmergencyContact rentals.Contact `json:"emergency_contact"`
	StationID        string          `json:"station_id" binding:"limit=id"`
}

func (s *Server) registerRenterAPI(c *gin.Context) error {
	var req deskRenterRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	st, err := s.deskStation(c, req.StationID)
	if err != nil {
		return err
	}
	r, err := s.rentals.RegisterRenter(c.Request.Context(), scopeOf(c), rentals.Renter{Name: req.Name, Phone: req.Phone,
		IDNumber: req.IDNumber, Address: req.Address, Age: req.Age, MobilityNeeds: req.MobilityNeeds,
		EmergencyContact: req.EmergencyContact, HomeStationID: st.ID, HomeOperatorID: st.OperatorID}, actorOf(c))
	if err != nil {
		return err
	}
	c.JSON(http.StatusCreated, r)
	return nil
}

// RenterLookupsPerMinute is how many renter searches one desk person or
// token may make in a minute: far more than a desk serves, far fewer than a
// script collecting who is registered.
const RenterLookupsPerMinute = 30

// searchRenters runs a desk's renter search: throttled per actor (429 with
// Retry-After), and logged without what was searched for, which is a phone
// number, a name or part of an ID number. Pages and the API share it.
func (s *Server) searchRenters(c *gin.Context, query string) (rentals.RenterSearch, error) {
	by := actorOf(c)
	a, err := s.renterLookups.Take(c.Request.Context(), by.Role+":"+by.ID)
	if err != nil {
		return rentals.RenterSearch{}, fmt.Errorf("web: renter lookup: %w", err)
	}
	if !a.OK {
		wait := int(a.Wait.Seconds()) + 1
		c.Header("Retry-After", strconv.Itoa(wait))
		s.logger.WarnContext(c.Request.Context(), "renter lookup refused", "request_id", requestID(c),
			"actor", by.ID, "operator", scopeOf(c).OperatorID, "retry_after_s", wait)
		return rentals.RenterSearch{}, fmt.Errorf("web: renter lookup: %w", errRateLimited)
	}
	res, err := s.rentals.SearchRenters(c.Request.Context(), scopeOf(c), query, by)
	if err != nil {
		return rentals.RenterSearch{}, err
	}
	s.logger.InfoContext(c.Request.Context(), "renter lookup", "request_id", requestID(c), "actor", by.ID,
		"role", by.Role, "operator", scopeOf(c).OperatorID, "by", res.By, "found", len(res.Items))
	return res, nil
}

type renterSearchRequest struct {
	Query string `json:"query" binding:"required,limit=query"`
}

// renterSearchList is the API's answer: a list, and how the query was read.
type renterSearchList struct {
	list[rentals.RenterMatch]
	By   string `json:"by"`
	More bool   `json:"more"`
}

// searchRentersAPI finds renters by the query in the body (never in the URL,
// where phone numbers would end up in proxy logs): a mobile number, the last
// four characters of an ID number, or a name.
func (s *Server) searchRentersAPI(c *gin.Context) error {
	var req renterSearchRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	res, err := s.searchRenters(c, req.Query)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, renterSearchList{list: whole(res.Items), By: res.By, More: res.More})
	return nil
}

func (s *Server) showRenterAPI(c *gin.Context) error {
	r, err := s.rentals.Renter(c.Request.Context(), scopeOf(c), c.Param("id"))
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, r)
	return nil
}

// tierForm is a tier verification; the proof photo comes as a multipart file
// "proof_photo" (pages and API) and is stored in the private media area.
type tierForm struct {
	Tier        string `form:"tier"`
	ProofType   string `form:"proof_type"`
	ProofNumber string `form:"proof_number"`
	ExpiresOn   string `form:"expires_on"`
	Note        string `form:"note"`
}

// readTierForm reads a tier verification from a multipart form with the
// proof photo in "proof_photo". A tier is never verified without the photo,
// so a JSON body, which cannot carry it, is refused as the wrong media type.
func (s *Server) readTierForm(c *gin.Context) (rentals.TierProof, []byte, error) {
	var f tierForm
	var photo []byte
	mt, _, _ := mime.ParseMediaType(c.GetHeader("Content-Type"))
	switch mt {
	case "multipart/form-data":
		if err := c.Request.ParseMultipartForm(1 << 20); err != nil {
			return rentals.TierProof{}, nil, uploadReadError(err)
		}
		normalizeValues(c.Request.Form)
		normalizeValues(c.Request.MultipartForm.Value)
		f = tierForm{Tier: c.Request.FormValue("tier"), ProofType: c.Request.FormValue("proof_type"),
			ProofNumber: c.Request.FormValue("proof_number"), ExpiresOn: c.Request.FormValue("expires_on"), Note: c.Request.FormValue("note")}
		if file, _, err := c.Request.FormFile("proof_photo"); err == nil {
			photo, err = io.ReadAll(file)
			file.Close()
			if err != nil {
				return rentals.TierProof{}, nil, uploadReadError(err)
			}
		}
	default:
		return rentals.TierProof{}, nil, fmt.Errorf("web: tier proof: %w", &media.InputError{Field: "proof_photo", Err: media.ErrUnsupportedType,
			Reason: "send the tier proof as multipart/form-data, with the photo of the proof in the field \"proof_photo\"."})
	}
	return rentals.TierProof{Tier: rentals.Tier(f.Tier), ProofType: f.ProofType, ProofNumber: f.ProofNumber,
		ExpiresOn: f.ExpiresOn, Note: f.Note}, photo, nil
}

// verifyTier records a tier with its proof photo (rentals.VerifyTierProof:
// a refused verification stores nothing).
func (s *Server) verifyTier(c *gin.Context, id string) (rentals.Renter, error) {
	ctx, scope := c.Request.Context(), scopeOf(c)
	proof, photo, err := s.readTierForm(c)
	if err != nil {
		return rentals.Renter{}, err
	}
	return s.rentals.VerifyTierProof(ctx, scope, id, proof, photo, actorOf(c))
}

func (s *Server) verifyTierAPI(c *gin.Context) error {
	r, err := s.verifyTier(c, c.Param("id"))
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, r)
	return nil
}

func (s *Server) staffQuoteAPI(c *gin.Context) error {
	p := newParams(c)
	p.only("unit", "renter", "days", "tier")
	tag := p.str("unit", 30)
	renter := p.str("renter", 64)
	days, ok := p.integer("days", 1, rentals.MaxDays)
	if !ok && p.v.Get("days") == "" {
		p.errs.Add("days", "required", "is required")
	}
	if tag == "" {
		p.errs.Add("unit", "required", "is required")
	}
	tier := rentals.Tier(p.str("tier", 20))
	if err := p.err(); err != nil {
		return err
	}
	u, err := s.stations.UnitInScope(c.Request.Context(), scopeOf(c), tag)
	if err != nil {
		return err
	}
	q, err := s.rentals.QuoteFor(c.Request.Context(), scopeOf(c), rentals.QuoteRequest{RenterID: renter, Tier: tier,
		ProductID: u.ProductID, Days: int(days), Day: s.now()})
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, q)
	return nil
}

// checkoutAPI takes rentals.CheckoutRequest as JSON; station_id, when
// given, must be one of the caller's stations.
func (s *Server) checkoutAPI(c *gin.Context) error {
	var req rentals.CheckoutRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	st, err := s.deskStation(c, req.StationID)
	if err != nil {
		return err
	}
	req.StationID = st.ID
	l, err := s.rentals.Checkout(c.Request.Context(), scopeOf(c), req, actorOf(c))
	if err != nil {
		return err
	}
	c.JSON(http.StatusCreated, l)
	return nil
}

// bindCheckin reads a rentals.CheckinRequest from the JSON body, its
// station_id (when given) one of the caller's stations, like checkoutAPI's.
func (s *Server) bindCheckin(c *gin.Context) (rentals.CheckinRequest, error) {
	var req rentals.CheckinRequest
	if err := bindJSON(c, &req); err != nil {
		return req, err
	}
	st, err := s.deskStation(c, req.StationID)
	if err != nil {
		return req, err
	}
	req.StationID = st.ID
	return req, nil
}

// checkinAPI takes rentals.CheckinRequest as JSON (see bindCheckin).
func (s *Server) checkinAPI(c *gin.Context) error {
	req, err := s.bindCheckin(c)
	if err != nil {
		return err
	}
	l, err := s.rentals.Checkin(c.Request.Context(), scopeOf(c), req, actorOf(c))
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, l)
	return nil
}

// previewCheckinAPI takes a check-in like checkinAPI and answers the
// rentals.Settlement it would write now, writing nothing.
func (s *Server) previewCheckinAPI(c *gin.Context) error {
	req, err := s.bindCheckin(c)
	if err != nil {
		return err
	}
	set, err := s.rentals.PreviewCheckin(c.Request.Context(), scopeOf(c), req)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, set)
	return nil
}

// unitView is a unit with its history and open lease, as the desk shows it.
type unitView struct {
	stations.Unit
	ProductName l10n.Text               `json:"product_name"`
	History     []stations.HistoryEntry `json:"history"`
	Lease       *rentals.Lease          `json:"lease,omitempty"`
}

func (s *Server) unitView(ctx context.Context, scope tenancy.Scope, tag string) (unitView, error) {
	u, err := s.stations.UnitInScope(ctx, scope, tag)
	if err != nil {
		return unitView{}, err
	}
	v := unitView{Unit: u}
	if p, ok := s.catalog.Lookup(u.ProductID); ok {
		v.ProductName = p.Name
	}
	if v.History, err = s.stations.History(ctx, u.Tag); err != nil {
		return unitView{}, err
	}
	if u.LeaseID != "" {
		if l, err := s.rentals.Lease(ctx, scope, u.LeaseID); err == nil {
			v.Lease = &l
		}
	}
	return v, nil
}

func (s *Server) showUnitAPI(c *gin.Context) error {
	v, err := s.unitView(c.Request.Context(), scopeOf(c), c.Param("tag"))
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, v)
	return nil
}

type unitActionRequest struct {
	Method    string   `json:"method" binding:"limit=code"`
	Checklist []string `json:"checklist" binding:"limit=checklist,dive,limit=text"`
	Notes     string   `json:"notes" binding:"limit=note"`
	Issue     string   `json:"issue" binding:"limit=note"`
	CostFen   int64    `json:"cost_fen"`
	Reason    string   `json:"reason" binding:"limit=note"`
	ToStation string   `json:"to_station" binding:"limit=id"`
	StationID string   `json:"station_id" binding:"limit=id"`
}

// unitAction runs one desk action on a unit; the same code serves the API
// and the pages.
func (s *Server) unitAction(c *gin.Context, action, tag string, req unitActionRequest) (stations.Unit, error) {
	ctx, scope, by := c.Request.Context(), scopeOf(c), actorOf(c)
	var u stations.Unit
	var err error
	switch action {
	case "clean":
		u, err = s.stations.Clean(ctx, scope, tag, stations.CleaningRecord{Method: req.Method, Checklist: req.Checklist, Notes: req.Notes}, by)
	case "repair":
		u, err = s.stations.SendToRepair(ctx, scope, tag, req.Issue, by)
	case "repaired":
		u, err = s.stations.Repaired(ctx, scope, tag, req.Notes, req.CostFen, by)
	case "retire":
		u, err = s.stations.RetireUnit(ctx, scope, tag, req.Reason, by)
	case "transfer":
		u, err = s.stations.Transfer(ctx, scope, tag, req.ToStation, req.Reason, by)
	case "receive":
		var st stations.Station
		if st, err = s.deskStation(c, req.StationID); err == nil {
			u, err = s.stations.Receive(ctx, scope, tag, st.ID, by)
		}
	default:
		return stations.Unit{}, errNotFound
	}
	return u, err
}

func (s *Server) unitActionAPI(c *gin.Context) error {
	var req unitActionRequest
	if c.Request.ContentLength != 0 {
		if err := bindJSON(c, &req); err != nil {
			return err
		}
	}
	u, err := s.unitAction(c, c.Param("action"), c.Param("tag"), req)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, u)
	return nil
}

// leaseView is a lease with its ledger and history.
type leaseView struct {
	rentals.Lease
	Ledger  rentals.Ledger        `json:"ledger"`
	History []rentals.LeaseChange `json:"history"`
}

func (s *Server) leaseView(ctx context.Context, scope tenancy.Scope, id string) (leaseView, error) {
	l, err := s.rentals.Lease(ctx, scope, id)
	if err != nil {
		return leaseView{}, err
	}
	v := leaseView{Lease: l}
	if v.Ledger, err = s.rentals.Ledger(ctx, scope, id); err != nil {
		return leaseView{}, err
	}
	if v.History, err = s.rentals.LeaseHistory(ctx, scope, id); err != nil {
		return leaseView{}, err
	}
	return v, nil
}

func (s *Server) showLeaseAPI(c *gin.Context) error {
	v, err := s.leaseView(c.Request.Context(), scopeOf(c), c.Param("id"))
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, v)
	return nil
}

type extendRequest struct {
	Days     int               `json:"days"`
	Payments []rentals.Payment `json:"payments" binding:"limit=payments"`
}

func (s *Server) extendLeaseAPI(c *gin.Context) error {
	var req extendRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	l, err := s.rentals.Extend(c.Request.Context(), scopeOf(c), c.Param("id"), req.Days, req.Payments, actorOf(c))
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, l)
	return nil
}

func (s *Server) lostLeaseAPI(c *gin.Context) error {
	l, err := s.rentals.DeclareLost(c.Request.Context(), scopeOf(c), c.Param("id"), actorOf(c))
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, l)
	return nil
}

type settleRequest struct {
	Payments []rentals.Payment `json:"payments" binding:"limit=payments"`
}

func (s *Server) settleLeaseAPI(c *gin.Context) error {
	var req settleRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	l, err := s.rentals.SettleLease(c.Request.Context(), scopeOf(c), c.Param("id"), req.Payments, actorOf(c))
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, l)
	return nil
}

func (s *Server) queuesAPI(c *gin.Context) error {
	p := newParams(c)
	p.only("station")
	if err := p.err(); err != nil {
		return err
	}
	st, err := s.deskStation(c, c.Query("station"))
	if err != nil {
		return err
	}
	q, err := s.rentals.Queues(c.Request.Context(), scopeOf(c), st.ID, s.now())
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, q)
	return nil
}
