package web

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/gin-gonic/gin"

	"fuju/internal/valid"
	"fuju/rentals"
	"fuju/stations"
)

// The check-out stays one form from the quote to the lease: asking for a new
// quote and verifying the renter's tier are buttons of that form, so what was
// typed and ticked comes back with the refreshed quote. The flow ends on the
// lease's receipt, a printable agreement.

// tierFields are a tier verification's fields, in the form's order.
var tierFields = []string{"tier", "proof_type", "proof_number", "expires_on", "proof_photo"}

// postedForm is the form posted, urlencoded or multipart.
func postedForm(c *gin.Context) form {
	_ = c.Request.ParseForm()
	f := form{Values: c.Request.PostForm}
	if c.Request.MultipartForm != nil {
		f.Values = url.Values(c.Request.MultipartForm.Value)
	}
	return f
}

// Checked reports whether the box name with value was ticked when the form
// was sent (kept after a validation error).
func (f form) Checked(name, value string) bool {
	for _, v := range f.Values[name] {
		if v == value {
			return true
		}
	}
	return false
}

// requoteCheckout prices the check-out again for the days entered, keeping
// everything else of the form; the payment amount follows the new quote.
func (s *Server) requoteCheckout(c *gin.Context) error {
	f := newForm(c)
	p := &checkoutPage{Form: f}
	days, err := strconv.Atoi(f.Get("days"))
	if err != nil || days < 1 || days > rentals.MaxDays {
		f.fail(fmt.Errorf("web: %w", valid.Field("days", "range", fmt.Sprintf("must be between 1 and %d", rentals.MaxDays), "min", 1, "max", rentals.MaxDays)), "days")
		p.Form, p.Days = f, 30
		return s.checkoutPage(c, http.StatusBadRequest, p)
	}
	f.Values.Del("pay_amount")
	p.Days = days
	return s.checkoutPage(c, http.StatusOK, p)
}

// verifyTierAtCheckout verifies the renter's income tier from the check-out
// form (multipart, with the proof photo) and shows the same check-out again,
// quoted for the new tier, with every other field as it was.
func (s *Server) verifyTierAtCheckout(c *gin.Context) error {
	f := postedForm(c)
	renterID := f.Get("renter_id")
	_, err := s.verifyTier(c, renterID)
	days, _ := strconv.Atoi(f.Get("days"))
	p := &checkoutPage{Form: f, Days: min(max(days, 1), rentals.MaxDays)}
	if err != nil {
		if !p.Form.fail(err, tierFields...) {
			return err
		}
		p.TierOpen = true
		return s.checkoutPage(c, http.StatusBadRequest, p)
	}
	for _, k := range append(tierFields, "pay_amount") {
		p.Form.Values.Del(k)
	}
	p.done = "staff.done.tier"
	return s.checkoutPage(c, http.StatusOK, p)
}

// tierChoice is what the "tierfields" template needs: the tiers staff may
// verify, the one selected (what was sent, else the renter's current tier,
// else none: never the most generous by default).
type tierChoice struct {
	B          *base
	F          form
	Tiers      []rentals.Tier
	ProofTypes []string
	Selected   string
}

// TierChoice prepares the tier verification fields for renter r.
func (b *base) TierChoice(f form, r rentals.Renter, tiers []rentals.Tier, proofTypes []string) tierChoice {
	sel := f.Get("tier")
	if sel == "" && f.Errors == nil {
		if t := r.EffectiveTier(b.srv.now()); t != rentals.Standard {
			sel = string(t)
		}
	}
	return tierChoice{B: b, F: f, Tiers: tiers, ProofTypes: proofTypes, Selected: sel}
}

// receiptPage is the last step of a check-out: the lease as a printable
// agreement and receipt.
type receiptPage struct {
	deskBase
	Lease   rentals.Lease
	At      stations.Station
	PaidFen int64
	// TermsText is shown when the lease was made under today's terms.
	TermsText string
}

func (s *Server) showReceipt(c *gin.Context) error {
	ctx := c.Request.Context()
	d, err := s.deskBase(c, "staff.receipt.title")
	if err != nil {
		return err
	}
	p := &receiptPage{deskBase: d}
	if p.Lease, err = s.rentals.Lease(ctx, scopeOf(c), c.Param("id")); err != nil {
		return err
	}
	if p.At, err = s.stations.Station(ctx, p.Lease.StationID); err != nil {
		return err
	}
	for _, pay := range p.Lease.Payments {
		if pay.Method != rentals.PayWaived {
			p.PaidFen += pay.AmountFen
		}
	}
	if p.Lease.Terms.Version == TermsVersion {
		p.TermsText = p.T("staff.terms.text")
	}
	return s.render(c, http.StatusOK, "staff_receipt", p)
}

// settlementView is what the "settlement" template shows.
type settlementView struct {
	B *base
	S rentals.Settlement
}

// SettlementOf prepares a check-in's settlement for the page.
func (b *base) SettlementOf(s rentals.Settlement) settlementView { return settlementView{B: b, S: s} }

// UnitTo names where the unit goes after an inspection with outcome o.
func (p *checkinPage) UnitTo(o string) string { return string(rentals.Outcome(o).UnitState()) }
