package web

import (
	"math"
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"fuju/accounts"
	"fuju/rentals"
	"fuju/reports"
)

// Receipt PDFs: a lease's money, or one payment or refund of it
// (?entry=<ledger sequence>), drawn from the ledger when asked (reports
// draws it). The family downloads its own from the account page; the desk
// prints any lease of its operator's. Both carry the renter's masked name,
// never the full one.

// receiptEntry reads ?entry=, the payment or refund a receipt is for (0:
// the whole lease).
func receiptEntry(c *gin.Context) (int64, error) {
	p := newParams(c)
	n, _ := p.integer("entry", 1, math.MaxInt32)
	return n, p.err()
}

// sendReceipt fills in the names of a receipt and writes its PDF.
func (s *Server) sendReceipt(c *gin.Context, l rentals.Lease, led rentals.Ledger, renterMasked string) error {
	focus, err := receiptEntry(c)
	if err != nil {
		return err
	}
	r := reports.Receipt{Lease: l, Ledger: led, Focus: focus, RenterMasked: renterMasked, Printed: s.now()}
	if st, ok := s.stations.Index().Station(l.StationID); ok {
		r.Station, r.StationAddress = st.Name, st.Address
	}
	if op, err := s.stations.Operator(c.Request.Context(), l.OperatorID); err == nil {
		r.Operator = op.Name
	}
	if p, ok := s.catalog.Lookup(l.ProductID); ok {
		r.Product = p.Name
	}
	pdf, err := reports.ReceiptPDF(r, langOf(c))
	if err != nil {
		return err
	}
	name := "receipt-" + l.ID
	if focus != 0 {
		name += "-" + strconv.FormatInt(focus, 10)
	}
	c.Header("Content-Disposition", `inline; filename="`+name+`.pdf"`)
	c.Header("Cache-Control", "no-store")
	c.Data(http.StatusOK, "application/pdf", pdf)
	return nil
}

// familyReceiptPDF is a family's receipt of one of its rentals.
func (s *Server) familyReceiptPDF(c *gin.Context) error {
	u, _ := userOf(c)
	if s.rentals == nil || u.Role != accounts.Renter {
		return errNotFound
	}
	l, led, who, err := s.rentals.AccountLease(c.Request.Context(), u.ID, c.Param("id"))
	if err != nil {
		return err
	}
	return s.sendReceipt(c, l, led, who.MaskedName)
}

// deskReceiptPDF is the desk's printout of a lease's receipt (the desk's
// operator only: another operator's lease is 404).
func (s *Server) deskReceiptPDF(c *gin.Context) error {
	ctx := c.Request.Context()
	l, err := s.rentals.Lease(ctx, scopeOf(c), c.Param("id"))
	if err != nil {
		return err
	}
	led, err := s.rentals.Ledger(ctx, scopeOf(c), l.ID)
	if err != nil {
		return err
	}
	masked := ""
	if r, err := s.rentals.Renter(ctx, scopeOf(c), l.RenterID); err == nil {
		masked = rentals.MaskName(r.Name)
	}
	return s.sendReceipt(c, l, led, masked)
}

// Receipted reports whether a ledger entry has a receipt of its own; the
// receipt pages link to it.
func (b *base) Receipted(e rentals.LedgerEntry) bool { return reports.Receipted(e.Kind) }
