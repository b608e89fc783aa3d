package web

import (
	"fmt"
	"net/http"
	"net/url"

	"github.com/gin-gonic/gin"

	"fuju/rentals"
	"fuju/stations"
)

// The desk's corners of the money rules (docs/pricing.md, rules 12 to 14):
// a lost unit found again, waivers within the operator's limit (above it, a
// request in the operator admin's queue), and refunds of what a lost lease
// owes the renter. Each handler binds, calls one rentals method, records the
// audit entry and renders.

// ---- Found

// found takes back a lost unit and records it in the audit log.
func (s *Server) found(c *gin.Context, req rentals.CheckinRequest) (rentals.FoundResult, error) {
	st, err := s.deskStation(c, req.StationID)
	if err != nil {
		return rentals.FoundResult{}, err
	}
	req.StationID = st.ID
	return s.rentals.Found(c.Request.Context(), scopeOf(c), req, actorOf(c))
}

// foundAPI takes rentals.CheckinRequest as JSON, for a unit that is lost.
func (s *Server) foundAPI(c *gin.Context) error {
	var req rentals.CheckinRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	res, err := s.found(c, req)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, res)
	return nil
}

type foundPage struct {
	deskBase
	Unit unitView
	// Lease is the lease the unit was lost on (nil: lost off any lease).
	Lease *rentals.Lease
	// Late is what the late days cost today at the renter's tier; LostFen
	// the lost charge, which late fee and damage together never exceed.
	Late     rentals.LateCharge
	LostFen  int64
	Outcomes []rentals.Outcome
	Methods  []string
	Form     form
}

func (s *Server) foundPage(c *gin.Context, status int, p *foundPage) error {
	ctx, scope := c.Request.Context(), scopeOf(c)
	d, err := s.deskBase(c, "staff.found.title")
	if err != nil {
		return err
	}
	p.deskBase = d
	tag := c.Query("unit")
	if tag == "" {
		tag = p.Form.Get("unit")
	}
	if p.Unit, err = s.unitView(ctx, scope, tag); err != nil {
		return err
	}
	if p.Unit.State != stations.Lost {
		return fmt.Errorf("web: unit %s is %s, not lost: %w", p.Unit.Tag, p.Unit.State, stations.ErrUnavailable)
	}
	if p.Lease, err = s.rentals.LostWith(ctx, scope, p.Unit.Tag); err != nil {
		return err
	}
	if p.Lease != nil {
		if p.Late, err = s.rentals.LateFees(ctx, scope, p.Lease.ID, s.now()); err != nil {
			return err
		}
		if p.Lease.Loss != nil {
			p.LostFen = p.Lease.Loss.ChargedFen
		}
	}
	p.Outcomes = rentals.Outcomes
	p.Methods = []string{rentals.PayCash, rentals.PayOfflineMobile}
	return s.render(c, status, "staff_found", p)
}

func (s *Server) showFound(c *gin.Context) error {
	return s.foundPage(c, http.StatusOK, &foundPage{})
}

func (s *Server) foundForm(c *gin.Context) error {
	f := newForm(c)
	// The form is the check-in's: the same inspection, damage, payments
	// and refund.
	req, err := checkinRequest(f, f.Get("station_id"))
	var res rentals.FoundResult
	if err == nil {
		res, err = s.found(c, req)
	}
	if err != nil {
		if f.fail(err, "outcome", "notes", "damage", "damage_fen", "pay_method", "pay_amount", "payments", "refund_method", "refund_reference") {
			f.rename("damage_fen", "damage")
			c.Request.URL.RawQuery = url.Values{"unit": {f.Get("unit")}}.Encode()
			return s.foundPage(c, http.StatusBadRequest, &foundPage{Form: f})
		}
		return err
	}
	s.flash(c, "staff.done.found")
	if res.Lease != nil {
		c.Redirect(http.StatusSeeOther, "/staff/leases/"+res.Lease.ID)
		return nil
	}
	c.Redirect(http.StatusSeeOther, "/staff/units/"+url.PathEscape(res.Unit.Tag))
	return nil
}

// ---- Waivers and refunds

// waiverResult is the answer to a waiver: the waiver (applied, or pending
// an operator admin's approval) and the lease as it is now.
type waiverResult struct {
	Waiver rentals.Waiver `json:"waiver"`
	Lease  rentals.Lease  `json:"lease"`
}

func (s *Server) waive(c *gin.Context, leaseID string, req rentals.WaiverRequest) (waiverResult, error) {
	w, l, err := s.rentals.Waive(c.Request.Context(), scopeOf(c), leaseID, req, actorOf(c))
	if err != nil {
		return waiverResult{}, err
	}
	return waiverResult{Waiver: w, Lease: l}, nil
}

// waiveAPI takes rentals.WaiverRequest as JSON: 201 when applied, 202 when
// it waits for an operator admin.
func (s *Server) waiveAPI(c *gin.Context) error {
	var req rentals.WaiverRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	res, err := s.waive(c, c.Param("id"), req)
	if err != nil {
		return err
	}
	status := http.StatusCreated
	if res.Waiver.State == rentals.WaiverPending {
		status = http.StatusAccepted
	}
	c.JSON(status, res)
	return nil
}

func (s *Server) leaseWaiversAPI(c *gin.Context) error {
	ctx, scope, id := c.Request.Context(), scopeOf(c), c.Param("id")
	if _, err := s.rentals.Lease(ctx, scope, id); err != nil {
		return err
	}
	ws, err := s.rentals.Waivers(ctx, scope, "", id)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, whole(ws))
	return nil
}

type refundRequest struct {
	RefundMethod    string `json:"refund_method"`
	RefundReference string `json:"refund_reference" binding:"limit=reference"`
}

func (s *Server) refund(c *gin.Context, id string, req refundRequest) (rentals.Lease, error) {
	return s.rentals.RefundLease(c.Request.Context(), scopeOf(c), id, req.RefundMethod, req.RefundReference, actorOf(c))
}

func (s *Server) refundLeaseAPI(c *gin.Context) error {
	var req refundRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	l, err := s.refund(c, c.Param("id"), req)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, l)
	return nil
}

// waiveLeasePage is the lease page's waiver form: amount in yuan, a reason
// from the list, a note.
func (s *Server) waiveLeasePage(c *gin.Context) error {
	f := newForm(c)
	id := c.Param("id")
	fen, err := amountFen("waiver_amount", f.Get("waiver_amount"))
	var res waiverResult
	if err == nil {
		res, err = s.waive(c, id, rentals.WaiverRequest{AmountFen: fen, Reason: f.Get("waiver_reason"), Note: f.Get("waiver_note")})
	}
	if err != nil {
		if f.fail(err, "waiver_amount", "amount_fen", "waiver_reason", "reason", "waiver_note", "note") {
			f.rename("amount_fen", "waiver_amount")
			f.rename("reason", "waiver_reason")
			f.rename("note", "waiver_note")
			return s.leasePage(c, http.StatusBadRequest, &leasePage{Form: f})
		}
		return err
	}
	if res.Waiver.State == rentals.WaiverPending {
		s.flash(c, "staff.done.waiver_requested")
	} else {
		s.flash(c, "staff.done.waiver")
	}
	c.Redirect(http.StatusSeeOther, "/staff/leases/"+id)
	return nil
}

func (s *Server) refundLeasePage(c *gin.Context) error {
	f := newForm(c)
	id := c.Param("id")
	if _, err := s.refund(c, id, refundRequest{RefundMethod: f.Get("refund_method"), RefundReference: f.Get("refund_reference")}); err != nil {
		if f.fail(err, "refund_method", "refund_reference") {
			return s.leasePage(c, http.StatusBadRequest, &leasePage{Form: f})
		}
		return err
	}
	s.flash(c, "staff.done.refund")
	c.Redirect(http.StatusSeeOther, "/staff/leases/"+id)
	return nil
}

// leaseRules fills what the lease page shows about the rules of the day:
// the renter's tier today and whether late fees apply (rule 11), the
// lease's waivers and the operator's staff limit (rule 12).
func (s *Server) leaseRules(c *gin.Context, p *leasePage) error {
	ctx, scope, l := c.Request.Context(), scopeOf(c), p.Lease.Lease
	var err error
	if l.State.Out() {
		if p.Late, err = s.rentals.LateFees(ctx, scope, l.ID, s.now()); err != nil {
			return err
		}
	}
	if p.Waivers, err = s.rentals.Waivers(ctx, scope, "", l.ID); err != nil {
		return err
	}
	set, err := s.rentals.OperatorSettings(ctx, scope, l.OperatorID)
	if err != nil {
		return err
	}
	p.WaiverLimit = set.WaiverLimitFen
	p.WaiverLeft = max(set.WaiverLimitFen-l.WaivedFen, 0)
	p.Reasons = rentals.WaiverReasons
	return nil
}

// OwedBack is what the operator owes the renter on the lease (a negative
// balance), for the refund form.
func (p *leasePage) OwedBack() int64 { return -p.Lease.Ledger.BalanceFen }
