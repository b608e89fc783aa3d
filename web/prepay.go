package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/gin-gonic/gin"

	"fuju/internal/tenancy"
	"fuju/internal/valid"
	online "fuju/payments"
	"fuju/rentals"
	"fuju/stations"
)

// Paying a reservation online in advance (docs/payments.md "Prepaying a
// reservation"). The payment's ledger entry id is "reservation/<id>/prepay"
// and its tab is the reservation's id until the desk fulfils it; the
// wiring's ledger moves what was paid onto the lease then.

// prepayRef is the ledger entry id of a reservation's prepayment.
func prepayRef(reservationID string) string { return "reservation/" + reservationID + "/prepay" }

// Why a reservation is paid at the station (prepayOffer.Why).
const (
	prepayWhyOff       = "off"        // the station does not take prepayment
	prepayWhyNothing   = "nothing"    // nothing to pay (subsistence tier, free)
	prepayWhySmall     = "small"      // below Stripe's minimum for CNY
	prepayWhyOffline   = "offline"    // online payment off, or the operator cannot take charges
	prepayWhyClosed    = "closed"     // the reservation no longer holds its unit
	prepayWhyAvailable = ""           // payable online
	prepayWhyPaid      = "paid"       // paid online already
	prepayWhyPending   = "processing" // paid with a method that confirms later
)

// prepayOffer is what a reservation's family may pay online and whether
// they did: the renter's share of the quoted first period and the deposit
// where the tier pays one (prepayAmounts).
type prepayOffer struct {
	Mode       stations.Prepay `json:"mode"`
	RentFen    int64           `json:"rent_fen"`
	DepositFen int64           `json:"deposit_fen"`
	FeeFen     int64           `json:"delivery_fen"`
	AmountFen  int64           `json:"amount_fen"`
	// Online: "pay now" is offered. Why says otherwise why not (or that it
	// was paid).
	Online bool   `json:"online"`
	Why    string `json:"why,omitempty"`
	// Paid is set once Stripe said the money arrived.
	PaidFen int64 `json:"paid_fen"`
	// Required: the station requires prepayment and it is not paid: the
	// hold is unconfirmed.
	Unconfirmed bool `json:"unconfirmed"`
}

// prepayAmounts is what a reservation would prepay: the renter's share of
// the quoted first period and the deposit. The delivery fee is shown but
// still paid at handover: the lease ledger has no entry for it, so paying it
// online would leave the lease in credit.
func prepayAmounts(x rentals.Reservation) (rent, deposit, fee int64) {
	return x.Quote.RenterFen, x.Quote.DepositFen, x.FeeFen
}

// prepayOf decides what the reservation's family may pay online now.
func (s *Server) prepayOf(ctx context.Context, x rentals.Reservation) (prepayOffer, error) {
	rent, deposit, fee := prepayAmounts(x)
	o := prepayOffer{Mode: stations.PrepayOff, RentFen: rent, DepositFen: deposit, FeeFen: fee, AmountFen: rent + deposit}
	set, err := s.stations.ReservationSettings(ctx, x.StationID)
	if err != nil {
		return o, err
	}
	o.Mode = set.Prepay
	if s.payments != nil {
		t, err := s.payments.Tab(ctx, tenancy.OperatorScope(x.OperatorID), x.ID)
		switch {
		case errors.Is(err, online.ErrNotFound):
		case err != nil:
			return o, err
		default:
			for _, p := range t.Payments {
				if p.ID != prepayRef(x.ID) {
					continue
				}
				switch p.State {
				case online.Paid:
					o.PaidFen, o.Why = p.PaidFen, prepayWhyPaid
					return o, nil
				case online.Processing:
					o.Why = prepayWhyPending
					return o, nil
				}
			}
		}
	}
	o.Unconfirmed = o.Mode == stations.PrepayRequired && x.State.Open()
	switch {
	case o.Mode == stations.PrepayOff:
		o.Why, o.Unconfirmed = prepayWhyOff, false
	case !x.State.Open():
		o.Why = prepayWhyClosed
	case o.AmountFen <= 0:
		o.Why, o.Unconfirmed = prepayWhyNothing, false
	case o.AmountFen < online.MinChargeFen:
		o.Why, o.Unconfirmed = prepayWhySmall, false
	case s.payments == nil:
		o.Why, o.Unconfirmed = prepayWhyOffline, false
	default:
		ok, err := s.payments.CanTakeCharges(ctx, x.OperatorID)
		if err != nil {
			return o, err
		}
		if !ok {
			o.Why, o.Unconfirmed = prepayWhyOffline, false
		} else {
			o.Online, o.Why = true, prepayWhyAvailable
		}
	}
	return o, nil
}

// payChannelKey holds, for the request, the way an API client asked to pay
// (payRequest.Channel): the start functions below open a Checkout page
// unless it says intent. Pages never set it.
const payChannelKey = "fuju.pay_channel"

// mobileIntentKey holds the PaymentIntent startPayment made for a client
// that asked for one.
const mobileIntentKey = "fuju.pay_intent"

// startPayment opens (or finds) the payment r: a Checkout page, or, for an
// API client that asked for channel intent, a PaymentIntent whose client
// secret the response carries (intentOf). Both are the same payment (Ref):
// switching closes the other at Stripe first.
func (s *Server) startPayment(c *gin.Context, by tenancy.Actor, r online.PaymentRequest) (online.Page, error) {
	if c.GetString(payChannelKey) == string(online.Intent) {
		r.SuccessURL, r.CancelURL = "", ""
		mi, err := s.payments.StartIntent(c.Request.Context(), by, r)
		if err != nil {
			return online.Page{}, err
		}
		c.Set(mobileIntentKey, mi)
		return online.Page{PaymentID: mi.PaymentID}, nil
	}
	return s.payments.StartCheckout(c.Request.Context(), by, r)
}

// intentOf is the PaymentIntent startPayment made in this request, if any.
func intentOf(c *gin.Context) (id, secret string) {
	if v, ok := c.Get(mobileIntentKey); ok {
		mi := v.(online.MobileIntent)
		return mi.IntentID, mi.ClientSecret
	}
	return "", ""
}

// startPrepay sends the family of reservation x to Stripe's Checkout for
// its prepayment. Asking again (another tab, a double submit) gives the
// same open page: the payment's ledger entry id is the reservation's.
func (s *Server) startPrepay(c *gin.Context, x rentals.Reservation) (online.Page, prepayOffer, error) {
	ctx := c.Request.Context()
	o, err := s.prepayOf(ctx, x)
	if err != nil {
		return online.Page{}, o, err
	}
	if o.Why == prepayWhyPaid {
		return online.Page{}, o, fmt.Errorf("web: reservation %s: %w", x.ID, online.ErrAlreadyPaid)
	}
	if !o.Online {
		return online.Page{}, o, fmt.Errorf("web: reservation %s (%s): %w", x.ID, o.Why, online.ErrPayAtStation)
	}
	lang := langOf(c) // "zh" or "en", as Stripe's page takes it
	back := s.siteURL(c) + "/account/reservations/" + x.ID
	page, err := s.startPayment(c, actorOf(c), online.PaymentRequest{
		Ref: prepayRef(x.ID), LeaseID: x.ID, OperatorID: x.OperatorID, Purpose: online.FirstPeriod, AmountFen: o.AmountFen,
		SuccessURL: back + "?paid=1", CancelURL: back, Lang: lang,
	})
	return page, o, err
}

// payRequest asks to pay something online: a reservation's prepayment
// (reservation_id), a lease's open balance (lease_id with purpose
// "balance") or its extension (lease_id with purpose "extension" and days,
// account_extend.go).
type payRequest struct {
	ReservationID string `json:"reservation_id"`
	LeaseID       string `json:"lease_id"`
	Purpose       string `json:"purpose"`
	Days          int    `json:"days"`
	// ExpectFen is the amount the client showed; a quote that moved
	// since is refused (extension only).
	ExpectFen *int64 `json:"expect_fen"`
	// Channel is "checkout" (default: a hosted page's URL) or "intent" (a
	// PaymentIntent's client secret, for Stripe's mobile SDKs).
	Channel string `json:"channel"`
}

// validate checks that the request names exactly one thing to pay.
func (r payRequest) validate() error {
	e := &valid.Error{}
	switch {
	case r.ReservationID == "" && r.LeaseID == "":
		e.Add("reservation_id", "required", "give reservation_id, or lease_id with purpose balance")
	case r.ReservationID != "" && r.LeaseID != "":
		e.Add("lease_id", "one_of_two", "give reservation_id or lease_id, not both")
	case r.LeaseID != "" && r.Purpose != string(online.Balance) && r.Purpose != string(online.Extension):
		e.Add("purpose", "oneof", "must be balance or extension for a lease")
	case r.ReservationID != "" && r.Purpose != "" && r.Purpose != string(online.FirstPeriod):
		e.Add("purpose", "oneof", "must be first_period (or empty) for a reservation")
	}
	if r.Channel != "" && r.Channel != string(online.Checkout) && r.Channel != string(online.Intent) {
		e.Add("channel", "oneof", "must be checkout or intent")
	}
	e.Text("reservation_id", r.ReservationID, valid.MaxID)
	e.Text("lease_id", r.LeaseID, valid.MaxID)
	return e.Err()
}

// payResponse is where to pay.
type payResponse struct {
	PaymentID string `json:"payment_id"`
	// URL and ExpiresAt are the Checkout page's (channel checkout);
	// IntentID and ClientSecret the PaymentIntent's (channel intent).
	URL          string `json:"url,omitempty"`
	ExpiresAt    string `json:"expires_at,omitempty"`
	IntentID     string `json:"intent_id,omitempty"`
	ClientSecret string `json:"client_secret,omitempty"`
	AmountFen    int64  `json:"amount_fen"`
	// Offer is a reservation's prepayment; Balance a lease's open balance.
	Offer   *prepayOffer  `json:"offer,omitempty"`
	Balance *balanceOffer `json:"balance,omitempty"`
}

// newPayResponse is where to pay amountFen: page, or the PaymentIntent
// startPayment made.
func newPayResponse(c *gin.Context, page online.Page, amountFen int64) payResponse {
	r := payResponse{PaymentID: page.PaymentID, URL: page.URL, AmountFen: amountFen}
	if !page.ExpiresAt.IsZero() {
		r.ExpiresAt = page.ExpiresAt.UTC().Format("2006-01-02T15:04:05Z")
	}
	r.IntentID, r.ClientSecret = intentOf(c)
	return r
}

func (r payResponse) withBalance(o balanceOffer) payResponse {
	r.Balance = &o
	return r
}

// createPaymentAPI is POST /api/v1/me/payments: the Checkout URL for a
// reservation of one of the account's renters, or for the open balance of
// one of their leases, or for extending one (payExtensionAPI). Zero, below Stripe's minimum, a station without
// prepayment or an operator that cannot take charges is 409
// pay_at_station; paid already is 409 already_paid; a lease that owes
// nothing is 409 nothing_owed. Another account's reservation or lease is
// 404.
func (s *Server) createPaymentAPI(c *gin.Context) error {
	user, err := familyOf(c)
	if err != nil {
		return err
	}
	var req payRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	if err := req.validate(); err != nil {
		return fmt.Errorf("web: pay: %w", err)
	}
	c.Set(payChannelKey, req.Channel)
	if req.LeaseID != "" && req.Purpose == string(online.Extension) {
		return s.payExtensionAPI(c, user, req)
	}
	if req.LeaseID != "" {
		if s.rentals == nil {
			return errNotFound
		}
		l, _, _, err := s.rentals.AccountLease(c.Request.Context(), user, req.LeaseID)
		if err != nil {
			return err
		}
		page, o, err := s.startBalance(c, actorOf(c), l)
		if err != nil {
			return err
		}
		c.JSON(http.StatusCreated, newPayResponse(c, page, o.AmountFen).withBalance(o))
		return nil
	}
	if s.reserve == nil {
		return errNotFound
	}
	x, err := s.reserve.MyReservation(c.Request.Context(), user, req.ReservationID)
	if err != nil {
		return err
	}
	page, o, err := s.startPrepay(c, x)
	if err != nil {
		return err
	}
	r := newPayResponse(c, page, o.AmountFen)
	r.Offer = &o
	c.JSON(http.StatusCreated, r)
	return nil
}

// payMyReservation is the "pay now" button: 303 to Stripe's Checkout.
func (s *Server) payMyReservation(c *gin.Context) error {
	if s.reserve == nil {
		return errNotFound
	}
	u, _ := userOf(c)
	x, err := s.reserve.MyReservation(c.Request.Context(), u.ID, c.Param("id"))
	if err != nil {
		return err
	}
	page, _, err := s.startPrepay(c, x)
	if err != nil {
		return err
	}
	c.Redirect(http.StatusSeeOther, page.URL)
	return nil
}
