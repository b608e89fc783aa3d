package web

import (
	"cmp"
	"context"
	"crypto/hmac"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"fuju/accounts"
	"fuju/internal/tenancy"
	"fuju/messages"
	online "fuju/payments"
	"fuju/rentals"
)

// Paying an open balance online (docs/payments.md "Paying a balance online
// and payment links"): a returned lease that still owes (a late fee,
// damage) is paid on Stripe's Checkout, from the family's rental page or
// through a payment link the desk sends by text message. Both are one
// payment: its ledger entry id is rentals.BalanceRef, derived from the
// lease's ledger, so the family's button and the link open the same
// Checkout Session, and a balance that changed since is a new payment.

// Why a balance is paid at the station (balanceOffer.Why).
const (
	balanceWhyNothing = "nothing"    // nothing owed
	balanceWhySmall   = "small"      // below Stripe's minimum for CNY
	balanceWhyOffline = "offline"    // online payment off, or the operator cannot take charges
	balanceWhyPending = "processing" // paid with a method that confirms later
	balanceWhyPaid    = "paid"       // paid online; the ledger hears it in a moment
)

// balanceOffer is what a lease's family may pay online now and, when it
// cannot, why.
type balanceOffer struct {
	AmountFen int64  `json:"amount_fen"`
	Ref       string `json:"payment_id,omitempty"`
	Online    bool   `json:"online"`
	Why       string `json:"why,omitempty"`
	// bal is the balance the offer is for; stale are earlier balances of
	// the lease still payable on an open Checkout page.
	bal   rentals.OpenBalance
	stale []string
}

// balanceOf decides what lease l's family may pay online now. A lease
// that owes nothing is ErrNothingOwed.
func (s *Server) balanceOf(ctx context.Context, l rentals.Lease) (balanceOffer, error) {
	b, err := l.Balance()
	if err != nil {
		return balanceOffer{Why: balanceWhyNothing}, err
	}
	o := balanceOffer{AmountFen: b.AmountFen, Ref: b.Ref, bal: b}
	switch {
	case b.AmountFen < online.MinChargeFen:
		o.Why = balanceWhySmall
		return o, nil
	case s.payments == nil:
		o.Why = balanceWhyOffline
		return o, nil
	}
	t, err := s.payments.Tab(ctx, tenancy.OperatorScope(l.OperatorID), b.TabID)
	switch {
	case errors.Is(err, online.ErrNotFound):
	case err != nil:
		return o, err
	default:
		for _, p := range t.Payments {
			if p.ID != b.Ref && p.Purpose == online.Balance && p.State == online.Open && rentals.IsBalanceRef(l.ID, p.ID) {
				o.stale = append(o.stale, p.ID)
			}
			if p.ID == b.Ref && p.State == online.Paid {
				o.Why = balanceWhyPaid
				return o, nil
			}
			if p.ID == b.Ref && p.State == online.Processing {
				o.Why = balanceWhyPending
				return o, nil
			}
		}
	}
	ok, err := s.payments.CanTakeCharges(ctx, l.OperatorID)
	if err != nil {
		return o, err
	}
	if !ok {
		o.Why = balanceWhyOffline
		return o, nil
	}
	o.Online = true
	return o, nil
}

// startBalance opens (or finds) the Checkout Session paying lease l's open
// balance. by is who asked: the family, the desk, or nobody in particular
// (a payment link followed). Stripe sends the payer back to the link's
// page, which says whether it was paid, so the family's button and the
// link can share one session.
func (s *Server) startBalance(c *gin.Context, by tenancy.Actor, l rentals.Lease) (online.Page, balanceOffer, error) {
	o, err := s.balanceOf(c.Request.Context(), l)
	if err != nil {
		return online.Page{}, o, err
	}
	switch {
	case o.Why == balanceWhyPaid:
		return online.Page{}, o, fmt.Errorf("web: lease %s balance: %w", l.ID, online.ErrAlreadyPaid)
	case o.Why == balanceWhyPending:
		return online.Page{}, o, fmt.Errorf("web: lease %s balance is being confirmed: %w", l.ID, online.ErrConflict)
	case !o.Online:
		return online.Page{}, o, fmt.Errorf("web: lease %s balance (%s): %w", l.ID, o.Why, online.ErrPayAtStation)
	}
	// A page still open for an earlier amount is closed first, so the
	// family cannot pay what is no longer owed.
	for _, ref := range o.stale {
		if err := s.payments.Withdraw(c.Request.Context(), o.bal.TabID, ref); err != nil {
			return online.Page{}, o, err
		}
	}
	lang := langOf(c) // "zh" or "en", as Stripe's page takes it
	back := s.siteURL(c) + "/pay/" + s.payLinkToken(o.bal)
	page, err := s.startPayment(c, by, online.PaymentRequest{
		Ref: o.Ref, LeaseID: o.bal.TabID, OperatorID: l.OperatorID, Purpose: online.Balance, AmountFen: o.AmountFen,
		SuccessURL: back + "?paid=1", CancelURL: back + "?cancelled=1", Lang: lang,
	})
	return page, o, err
}

// payMyBalance is the rental page's "pay online" button: 303 to Stripe's
// Checkout. Another family's lease is 404.
func (s *Server) payMyBalance(c *gin.Context) error {
	u, _ := userOf(c)
	if s.rentals == nil || u.Role != accounts.Renter {
		return errNotFound
	}
	l, _, _, err := s.rentals.AccountLease(c.Request.Context(), u.ID, c.Param("id"))
	if err != nil {
		return err
	}
	page, _, err := s.startBalance(c, actorOf(c), l)
	if err != nil {
		return err
	}
	c.Redirect(http.StatusSeeOther, page.URL)
	return nil
}

// Payment links. The text message carries /pay/<token>, a link of ours
// that stays valid while Stripe's Checkout pages expire: following it asks
// payments for the balance's session (the same one, or a fresh one once the
// last expired) and answers 303 to it. The token names the lease and the
// ledger entry the balance stood after, signed with the server's secret
// (an HMAC, 128 bits), so it cannot be guessed or altered; a token whose
// balance has changed since says so instead of charging another amount.

// payLinkToken is the token of balance b's payment link.
func (s *Server) payLinkToken(b rentals.OpenBalance) string {
	payload := base64.RawURLEncoding.EncodeToString([]byte(b.LeaseID + "/" + strconv.FormatInt(b.LedgerSeq, 10)))
	return payload + "." + s.mac("paylink:" + payload)[:32]
}

// readPayLink returns the lease id and ledger entry a token names; a token
// we did not sign is errNotFound.
func (s *Server) readPayLink(token string) (leaseID string, seq int64, err error) {
	payload, sig, ok := strings.Cut(token, ".")
	if !ok || len(token) > 200 || !hmac.Equal([]byte(sig), []byte(s.mac("paylink:" + payload)[:32])) {
		return "", 0, errNotFound
	}
	raw, err := base64.RawURLEncoding.DecodeString(payload)
	if err != nil {
		return "", 0, errNotFound
	}
	id, n, ok := strings.Cut(string(raw), "/")
	seq, err = strconv.ParseInt(n, 10, 64)
	if !ok || err != nil || id == "" {
		return "", 0, errNotFound
	}
	return id, seq, nil
}

// payLinkPage is what a payment link shows when it does not send the payer
// on to Stripe.
type payLinkPage struct {
	base
	// State: ready (payable online), paid, confirming (back from Stripe,
	// not confirmed yet), changed (the balance is not the one the link was
	// sent for), station (cannot be paid online: Why), cancelled (back
	// from Stripe unpaid).
	State string
	// Device and Station say what the balance is for.
	Device, Station string
	Why             string
	AmountFen       int64
	Token           string
}

// followPayLink is GET /pay/<token>: the balance the link was sent for,
// with a button that pays it online, or a page saying it is paid, changed,
// or paid at the station. A GET asks nothing of Stripe and writes nothing:
// phones and chat apps open links to preview them, and a preview must not
// open payments (payByLink does, on the button).
func (s *Server) followPayLink(c *gin.Context) error {
	p, _, err := s.payLinkState(c)
	if err != nil {
		return err
	}
	return s.render(c, http.StatusOK, "pay_link", &p)
}

// payByLink is the link page's button (POST /pay/<token>): 303 to the
// Checkout page of the balance, the same one the family's own button
// opens. Throttled per client address: the token is the only credential.
func (s *Server) payByLink(c *gin.Context) error {
	_, client := throttleKeys(c, "")
	if _, err := s.payLinksByIP.take(c, client); err != nil {
		return err
	}
	p, l, err := s.payLinkState(c)
	if err != nil {
		return err
	}
	if p.State != "ready" && p.State != "cancelled" {
		return s.render(c, http.StatusConflict, "pay_link", &p)
	}
	page, _, err := s.startBalance(c, tenancy.System, l)
	if err != nil {
		return err
	}
	c.Redirect(http.StatusSeeOther, page.URL)
	return nil
}

// payLinkState reads what the payment link in c says now: ready (payable
// online), or paid, confirming, changed, station or cancelled.
func (s *Server) payLinkState(c *gin.Context) (payLinkPage, rentals.Lease, error) {
	id, seq, err := s.readPayLink(c.Param("token"))
	if err != nil || s.rentals == nil {
		return payLinkPage{}, rentals.Lease{}, errNotFound
	}
	ctx := c.Request.Context()
	l, err := s.rentals.Lease(ctx, tenancy.PlatformScope, id)
	if err != nil {
		return payLinkPage{}, rentals.Lease{}, err
	}
	p := payLinkPage{base: s.base(c, "paylink.title", ""), Token: c.Param("token")}
	p.Private = true
	if prod, ok := s.catalog.Lookup(l.ProductID); ok {
		p.Device = prod.Name.In(p.Lang)
	}
	if st, err := s.stations.Station(ctx, l.StationID); err == nil {
		p.Station = st.Name.In(p.Lang)
	}
	ref := rentals.BalanceRef(id, seq)
	if s.payments != nil {
		t, err := s.payments.Tab(ctx, tenancy.OperatorScope(l.OperatorID), cmp.Or(l.OnlineTab, l.ID))
		if err != nil && !errors.Is(err, online.ErrNotFound) {
			return p, l, err
		}
		for _, pay := range t.Payments {
			if pay.ID == ref && (pay.State == online.Paid || pay.State == online.Processing) {
				p.State, p.AmountFen = "paid", pay.AmountFen
				if pay.State == online.Processing {
					p.State = "confirming"
				}
				return p, l, nil
			}
		}
	}
	o, err := s.balanceOf(ctx, l)
	switch {
	case errors.Is(err, rentals.ErrNothingOwed):
		p.State = "paid"
		return p, l, nil
	case err != nil:
		return p, l, err
	}
	p.AmountFen = o.AmountFen
	switch {
	case o.Ref != ref:
		p.State = "changed"
	case c.Query("paid") != "":
		p.State = "confirming"
	case !o.Online:
		p.State, p.Why = "station", o.Why
	case c.Query("cancelled") != "":
		p.State = "cancelled"
	default:
		p.State = "ready"
	}
	return p, l, nil
}

// payLinkResult is what sending a payment link did.
type payLinkResult struct {
	LeaseID   string `json:"lease_id"`
	PaymentID string `json:"payment_id"`
	AmountFen int64  `json:"amount_fen"`
	// URL is the link in the message (ours; it leads to Stripe's page).
	URL string `json:"url"`
	// MessageID is the outbox message; Sent is false when the same
	// balance's link had gone to the same person already (nothing new).
	MessageID string `json:"message_id"`
	Sent      bool   `json:"sent"`
	// Recipient is who it went to: "renter" (the renter's own number) or
	// "account" (the linked account's), never the number.
	Recipient string `json:"recipient"`
}

// sendPaymentLink opens the Checkout Session for lease id's open balance
// (the same one the family's own button opens) and writes one payment
// link message to the renter's mobile number, or the linked account's when
// the renter has none, once per (balance, recipient).
func (s *Server) sendPaymentLink(c *gin.Context, id string) (payLinkResult, error) {
	ctx := c.Request.Context()
	if s.messages == nil {
		return payLinkResult{}, errNotFound
	}
	l, b, who, err := s.rentals.BalanceToCollect(ctx, scopeOf(c), id)
	if err != nil {
		return payLinkResult{}, err
	}
	if _, _, err := s.startBalance(c, actorOf(c), l); err != nil {
		return payLinkResult{}, err
	}
	family := ""
	if who.UserID != "" {
		family = messages.UserKey(who.UserID)
	}
	to := messages.Recipient{Key: messages.RenterKey(who.RenterID), Phone: who.RenterPhone,
		Lang: s.messages.LangOf(ctx, messages.RenterKey(who.RenterID), family)}
	res := payLinkResult{LeaseID: l.ID, PaymentID: b.Ref, AmountFen: b.AmountFen, URL: s.siteURL(c) + "/pay/" + s.payLinkToken(b), Recipient: "renter"}
	if to.Phone == "" && who.UserID != "" {
		u, err := s.auth.User(ctx, who.UserID)
		if err != nil && !errors.Is(err, accounts.ErrNotFound) {
			return payLinkResult{}, err
		}
		if err == nil && u.Status == accounts.Active && u.Phone != "" {
			to, res.Recipient = messages.Recipient{Key: messages.UserKey(u.ID), Phone: u.Phone, Lang: s.messages.LangOf(ctx, messages.UserKey(u.ID))}, "account"
		}
	}
	if to.Phone == "" {
		return payLinkResult{}, fmt.Errorf("web: lease %s: %w", l.ID, rentals.ErrNoMobile)
	}
	res.MessageID = messages.ID(b.Ref, to.Key)
	if _, err := s.messages.Message(ctx, res.MessageID); err == nil {
		return res, nil
	} else if !errors.Is(err, messages.ErrNotFound) {
		return payLinkResult{}, err
	}
	if _, err := s.messages.Enqueue(ctx, messages.NewMessage{Event: b.Ref, Kind: messages.PaymentLink, To: to,
		OperatorID: l.OperatorID, StationID: l.StationID, Params: messages.Params{AmountFen: b.AmountFen, URL: res.URL}}); err != nil {
		return payLinkResult{}, err
	}
	res.Sent = true
	s.rentals.RecordPaymentLink(ctx, actorOf(c), b, to.Key)
	return res, nil
}

// sendPaymentLinkAPI is POST /api/v1/staff/leases/{id}/payment-link.
func (s *Server) sendPaymentLinkAPI(c *gin.Context) error {
	res, err := s.sendPaymentLink(c, c.Param("id"))
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, res)
	return nil
}

// sendPaymentLinkPage is the lease page's "send payment link" button.
func (s *Server) sendPaymentLinkPage(c *gin.Context) error {
	res, err := s.sendPaymentLink(c, c.Param("id"))
	if err != nil {
		return err
	}
	if res.Sent {
		s.flash(c, "staff.done.paylink")
	} else {
		s.flash(c, "staff.done.paylink.again")
	}
	c.Redirect(http.StatusSeeOther, "/staff/leases/"+c.Param("id"))
	return nil
}
