package web

import (
	"cmp"
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"fuju/accounts"
	"fuju/internal/valid"
	online "fuju/payments"
	"fuju/rentals"
)

// A family extends a rental from the account (docs/payments.md, "Extending
// online"): /account/rentals/:id/extend shows the desk's quote for the days
// chosen; confirming applies an extension that costs nothing at once, or
// sends the family to Stripe's Checkout for the renter's share, and the
// extension is applied when the money arrives (rentals/extend_online.go).
// The API: GET /api/v1/me/rentals/:id/extension-quote,
// POST /api/v1/me/rentals/:id/extensions (free ones) and
// POST /api/v1/me/payments with lease_id, purpose "extension" and days.

// What confirming an extension does (extendOffer.Action).
const (
	extendFree    = "free"    // nothing to pay: applied at once
	extendOnline  = "online"  // paid online first
	extendStation = "station" // only at the station (extendOffer.Why)
)

// Why an extension is only possible at the station (extendOffer.Why).
const (
	extendWhySmall   = "small"   // below Stripe's minimum for CNY
	extendWhyOffline = "offline" // online payment off, or the operator cannot take charges
)

// extendOffer is what the family is shown for extending a lease by Days.
type extendOffer struct {
	LeaseID string `json:"lease_id"`
	Days    int    `json:"days"`
	// DueOn is the due date now, NewDueOn after the extension.
	DueOn    string `json:"due_on"`
	NewDueOn string `json:"new_due_on"`
	// AmountFen is what the renter pays (their share, and the late fee of
	// an overdue lease); SubsidyFen what the city pays on top.
	AmountFen   int64         `json:"amount_fen"`
	StandardFen int64         `json:"standard_fen"`
	SubsidyFen  int64         `json:"subsidy_fen"`
	LateFeeFen  int64         `json:"late_fee_fen"`
	Quote       rentals.Quote `json:"quote"`
	Action      string        `json:"action"`
	Why         string        `json:"why,omitempty"`

	ref   string
	lease rentals.Lease
}

// extendOfferOf prices extending lease leaseID of the account userID by
// days and decides how it is confirmed.
func (s *Server) extendOfferOf(ctx context.Context, userID, leaseID string, days int) (extendOffer, error) {
	x, err := s.rentals.ExtensionOffer(ctx, userID, leaseID, days)
	if err != nil {
		return extendOffer{}, err
	}
	if s.stations.Index().OperatorSuspended(x.Lease.OperatorID) {
		// Its desks may not extend either (tenancy.Scope.MayChange).
		return extendOffer{}, fmt.Errorf("web: lease %s: operator %s is suspended: %w", x.Lease.ID, x.Lease.OperatorID,
			valid.Because(rentals.ErrConflict, "extend_suspended", "due_on", x.Lease.DueOn))
	}
	q := x.Quote
	o := extendOffer{LeaseID: x.Lease.ID, Days: days, DueOn: x.Lease.DueOn, NewDueOn: x.DueOn, AmountFen: q.DueNowFen,
		StandardFen: q.StandardFen, SubsidyFen: q.SubsidyFen, LateFeeFen: q.LateFeeFen, Quote: q, ref: x.Ref, lease: x.Lease}
	switch {
	case q.DueNowFen == 0:
		o.Action = extendFree
	case q.DueNowFen < online.MinChargeFen:
		o.Action, o.Why = extendStation, extendWhySmall
	case s.payments == nil:
		o.Action, o.Why = extendStation, extendWhyOffline
	default:
		ok, err := s.payments.CanTakeCharges(ctx, x.Lease.OperatorID)
		if err != nil {
			return o, err
		}
		o.Action, o.Why = extendOnline, ""
		if !ok {
			o.Action, o.Why = extendStation, extendWhyOffline
		}
	}
	return o, nil
}

// confirmExtension does what confirming offer o does: applies a free
// extension (the lease, no page), or opens the Checkout page of the
// renter's share. expectFen, when not negative, is the amount the family
// was shown: a quote that changed since is refused (409
// extension_quote_changed), so nobody pays or gets what they did not see.
func (s *Server) confirmExtension(c *gin.Context, o extendOffer, expectFen int64) (rentals.Lease, online.Page, error) {
	ctx := c.Request.Context()
	if expectFen >= 0 && expectFen != o.AmountFen {
		return rentals.Lease{}, online.Page{}, fmt.Errorf("web: extension of lease %s now costs %d fen, not %d: %w", o.LeaseID, o.AmountFen, expectFen,
			valid.Because(rentals.ErrConflict, "extension_quote_changed", "amount_fen", o.AmountFen))
	}
	switch o.Action {
	case extendFree:
		u, _ := userOf(c)
		l, err := s.rentals.ExtendForAccount(ctx, u.ID, o.LeaseID, o.Days, actorOf(c))
		return l, online.Page{}, err
	case extendStation:
		return rentals.Lease{}, online.Page{}, fmt.Errorf("web: extension of lease %s (%s): %w", o.LeaseID, o.Why, online.ErrPayAtStation)
	}
	lang := langOf(c) // "zh" or "en", as Stripe's page takes it
	back := s.siteURL(c) + "/account/rentals/" + o.LeaseID
	page, err := s.startPayment(c, actorOf(c), online.PaymentRequest{
		Ref: o.ref, LeaseID: cmp.Or(o.lease.OnlineTab, o.lease.ID), OperatorID: o.lease.OperatorID, Purpose: online.Extension,
		AmountFen: o.AmountFen, SuccessURL: back + "/extend?paid=1", CancelURL: back + "/extend?days=" + strconv.Itoa(o.Days), Lang: lang,
	})
	return rentals.Lease{}, page, err
}

// parseDays reads a number of days as a form or query sends it.
func parseDays(v string) (int, error) {
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || n < 1 || n > rentals.MaxDays {
		return 0, valid.Field("days", "range", fmt.Sprintf("must be between 1 and %d", rentals.MaxDays), "min", 1, "max", rentals.MaxDays)
	}
	return n, nil
}

// extendPage is /account/rentals/:id/extend.
type extendPage struct {
	base
	Lease   rentals.Lease
	Form    form
	MaxDays int
	// Offer is the quote for the days asked, when they were.
	Offer *extendOffer
	// Changed: the quote moved since the family saw it; this is the new one.
	Changed bool
	// Refused is why the lease cannot be extended now (a reason's text).
	Refused string
	// Paid: back from Stripe's Checkout; the extension follows the money.
	Paid bool
}

// familyUser is the logged-in family account, or not found.
func (s *Server) familyUser(c *gin.Context) (accounts.User, error) {
	u, ok := userOf(c)
	if !ok || u.Role != accounts.Renter || s.rentals == nil {
		return accounts.User{}, errNotFound
	}
	return u, nil
}

// showExtendLease is the extension page: choose the days, see the quote.
// A GET only reads.
func (s *Server) showExtendLease(c *gin.Context) error {
	u, err := s.familyUser(c)
	if err != nil {
		return err
	}
	p := &extendPage{Form: form{Values: c.Request.URL.Query()}, Paid: c.Query("paid") == "1"}
	if c.Query("days") == "" {
		return s.extendPageFor(c, http.StatusOK, u, p, 0)
	}
	days, err := parseDays(c.Query("days"))
	if err != nil {
		p.Form.fail(err, "days")
		return s.extendPageFor(c, http.StatusBadRequest, u, p, 0)
	}
	return s.extendPageFor(c, http.StatusOK, u, p, days)
}

// extendPageFor renders the page for the lease in the route, with the
// quote for days (0: none asked). A lease that cannot be extended says why.
func (s *Server) extendPageFor(c *gin.Context, status int, u accounts.User, p *extendPage, days int) error {
	ctx := c.Request.Context()
	l, _, _, err := s.rentals.AccountLease(ctx, u.ID, c.Param("id"))
	if err != nil {
		return err
	}
	p.base = s.base(c, "extend.title", "account")
	p.Lease, p.MaxDays = l, rentals.MaxDays
	if !l.State.Out() {
		p.Refused = s.words(langOf(c)).Error(fmt.Errorf("web: %w", valid.Because(rentals.ErrConflict, "lease_state", "lease_state", string(l.State))), "conflict", "")
		return s.render(c, http.StatusConflict, "account_extend", p)
	}
	if days > 0 {
		o, err := s.extendOfferOf(ctx, u.ID, l.ID, days)
		switch {
		case err == nil:
			p.Offer = &o
		case p.Form.fail(err, "days"):
			status = http.StatusBadRequest
		default:
			st, code := s.status(err)
			if st >= http.StatusInternalServerError {
				return err
			}
			p.Refused, status = s.words(langOf(c)).Error(err, code, ""), st
		}
	}
	return s.render(c, status, "account_extend", p)
}

// extendLease is the confirm button: a free extension is applied (303 to
// the account), a paid one goes to Stripe's Checkout (303); a quote that
// changed since it was shown is shown again (409).
func (s *Server) extendLease(c *gin.Context) error {
	u, err := s.familyUser(c)
	if err != nil {
		return err
	}
	f := newForm(c)
	p := &extendPage{Form: f}
	days, err := parseDays(f.Get("days"))
	if err != nil {
		p.Form.fail(err, "days")
		return s.extendPageFor(c, http.StatusBadRequest, u, p, 0)
	}
	expect, err := strconv.ParseInt(f.Get("expect_fen"), 10, 64)
	if err != nil || expect < 0 {
		expect = -2 // no amount shown: refuse as changed, show the quote
	}
	o, err := s.extendOfferOf(c.Request.Context(), u.ID, c.Param("id"), days)
	if err != nil {
		if _, bad := problemsOf(err); bad {
			p.Form.fail(err, "days")
			return s.extendPageFor(c, http.StatusBadRequest, u, p, 0)
		}
		return err
	}
	if expect != o.AmountFen {
		p.Changed = true
		return s.extendPageFor(c, http.StatusConflict, u, p, days)
	}
	_, page, err := s.confirmExtension(c, o, expect)
	if err != nil {
		return err
	}
	if page.URL != "" {
		c.Redirect(http.StatusSeeOther, page.URL)
		return nil
	}
	s.flash(c, "flash.extended")
	c.Redirect(http.StatusSeeOther, "/account#current")
	return nil
}

// showExtensionQuoteAPI is GET /api/v1/me/rentals/:id/extension-quote?days=N.
func (s *Server) showExtensionQuoteAPI(c *gin.Context) error {
	u, err := s.familyUser(c)
	if err != nil {
		return err
	}
	days, err := parseDays(c.Query("days"))
	if err != nil {
		return fmt.Errorf("web: extension quote: %w", err)
	}
	o, err := s.extendOfferOf(c.Request.Context(), u.ID, c.Param("id"), days)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, o)
	return nil
}

// familyExtendRequest asks for an extension through the API. ExpectFen, when
// given, is the amount the client showed: a quote that moved since is 409.
type familyExtendRequest struct {
	Days      int    `json:"days"`
	ExpectFen *int64 `json:"expect_fen"`
}

func (r familyExtendRequest) expect() int64 {
	if r.ExpectFen == nil {
		return -1
	}
	return max(*r.ExpectFen, -2)
}

// createExtensionAPI is POST /api/v1/me/rentals/:id/extensions: an
// extension that costs nothing, applied at once. One that costs something
// is 409 extension_pay_online (POST /api/v1/me/payments) or
// pay_at_station.
func (s *Server) createExtensionAPI(c *gin.Context) error {
	u, err := s.familyUser(c)
	if err != nil {
		return err
	}
	var req familyExtendRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	if _, err := parseDays(strconv.Itoa(req.Days)); err != nil {
		return fmt.Errorf("web: extend: %w", err)
	}
	o, err := s.extendOfferOf(c.Request.Context(), u.ID, c.Param("id"), req.Days)
	if err != nil {
		return err
	}
	if o.Action != extendFree {
		return fmt.Errorf("web: extension of lease %s costs %d fen: %w", o.LeaseID, o.AmountFen,
			valid.Because(rentals.ErrConflict, "extension_pay_online", "amount_fen", o.AmountFen))
	}
	l, _, err := s.confirmExtension(c, o, req.expect())
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, l)
	return nil
}

// extensionPayResponse is where to pay for an extension.
type extensionPayResponse struct {
	payResponse
	Extension extendOffer `json:"extension"`
}

// payExtensionAPI is POST /api/v1/me/payments for purpose "extension": the
// Checkout page of the renter's share of extending lease_id by days. Free
// extensions are 409 extension_free (POST .../extensions applies them);
// below Stripe's minimum or an operator that cannot take charges is 409
// pay_at_station.
func (s *Server) payExtensionAPI(c *gin.Context, userID string, req payRequest) error {
	if _, err := parseDays(strconv.Itoa(req.Days)); err != nil {
		return fmt.Errorf("web: pay: %w", err)
	}
	o, err := s.extendOfferOf(c.Request.Context(), userID, req.LeaseID, req.Days)
	if err != nil {
		return err
	}
	if o.Action == extendFree {
		return fmt.Errorf("web: extension of lease %s costs nothing: %w", o.LeaseID, valid.Because(rentals.ErrConflict, "extension_free"))
	}
	expect := int64(-1)
	if req.ExpectFen != nil {
		expect = max(*req.ExpectFen, -2)
	}
	_, page, err := s.confirmExtension(c, o, expect)
	if err != nil {
		return err
	}
	c.JSON(http.StatusCreated, extensionPayResponse{payResponse: newPayResponse(c, page, o.AmountFen), Extension: o})
	return nil
}
