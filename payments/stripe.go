package payments

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/client"
	"github.com/stripe/stripe-go/v76/webhook"
)

// apiVersion is the Stripe API version stripe-go v76 speaks; webhook
// endpoints must send events of this version.
const apiVersion = stripe.APIVersion

// gateway is every Stripe call the service makes, and the only code in Fuju
// that knows stripe-go: it sends our types as Stripe's parameters and turns
// Stripe's objects into ours (the to… converters). Every call that creates or
// changes something carries the idempotency key the caller recorded before
// the call; stripe-go retries network failures and 409/429/5xx answers with
// that same key.
type gateway struct {
	api *client.API
}

// newGateway returns a gateway using key. base, when set, replaces
// https://api.stripe.com (stripe-mock); hc, when set, is the HTTP client.
func newGateway(key, base string, hc *http.Client) *gateway {
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	backend := func(t stripe.SupportedBackend) stripe.Backend {
		cfg := &stripe.BackendConfig{
			HTTPClient: hc,
			// Our own logs say what failed, without Stripe's request dumps.
			LeveledLogger:     &stripe.LeveledLogger{Level: stripe.LevelNull},
			MaxNetworkRetries: stripe.Int64(2),
		}
		if base != "" {
			cfg.URL = stripe.String(base)
		}
		return stripe.GetBackendWithConfig(t, cfg)
	}
	return &gateway{api: client.New(key, &stripe.Backends{
		API: backend(stripe.APIBackend), Connect: backend(stripe.ConnectBackend), Uploads: backend(stripe.UploadsBackend),
	})}
}

// params fills what every call carries: the context and, for writes, our key.
func params(ctx context.Context, p *stripe.Params, key string) {
	p.Context = ctx
	if key != "" {
		p.SetIdempotencyKey(key)
	}
}

// fail turns a stripe-go error into ours: below the minimum, unavailable
// (worth trying again with the same key) or refused (with Stripe's code).
func fail(op string, err error) error {
	var se *stripe.Error
	if !errors.As(err, &se) {
		return fmt.Errorf("payments: stripe %s: %v: %w", op, err, ErrStripeUnavailable)
	}
	switch {
	case se.Code == stripe.ErrorCodeAmountTooSmall:
		return fmt.Errorf("payments: stripe %s: %w", op, ErrBelowMinimum)
	case se.HTTPStatusCode == http.StatusTooManyRequests, se.HTTPStatusCode >= 500,
		se.HTTPStatusCode == http.StatusConflict, se.Type == stripe.ErrorTypeAPI:
		return fmt.Errorf("payments: stripe %s (request %s): %s: %w", op, se.RequestID, se.Msg, ErrStripeUnavailable)
	}
	code := string(se.Code)
	if code == "" {
		code = string(se.Type)
	}
	return &refusal{op: op, code: code, msg: se.Msg, status: se.HTTPStatusCode}
}

// refusal is a call Stripe refused; code is Stripe's error code (for
// example charge_disputed, resource_missing).
type refusal struct {
	op, code, msg string
	status        int
}

func (r *refusal) Error() string {
	return fmt.Sprintf("payments: stripe %s refused (%s): %s", r.op, r.code, r.msg)
}

func (r *refusal) Is(target error) bool { return target == ErrStripeRefused }

// refusalCode returns Stripe's error code when err is a refusal.
func refusalCode(err error) (string, bool) {
	var r *refusal
	if errors.As(err, &r) {
		return r.code, true
	}
	return "", false
}

// paymentMetadata names our payment, lease, operator and attempt on every
// object made for it.
func paymentMetadata(p Payment, a Attempt) map[string]string {
	return map[string]string{mdPayment: p.ID, mdLease: p.LeaseID, mdOperator: p.OperatorID, mdAttempt: a.Key}
}

func (g *gateway) createSession(ctx context.Context, p Payment, a Attempt) (sessionInfo, error) {
	md := paymentMetadata(p, a)
	pid := &stripe.CheckoutSessionPaymentIntentDataParams{
		TransferData: &stripe.CheckoutSessionPaymentIntentDataTransferDataParams{Destination: stripe.String(p.Destination)},
		Metadata:     md,
		Description:  stripe.String(p.Description),
	}
	if p.FeeFen > 0 {
		pid.ApplicationFeeAmount = stripe.Int64(p.FeeFen)
	}
	locale := "zh"
	if a.Lang == "en" {
		locale = "en"
	}
	sp := &stripe.CheckoutSessionParams{
		Mode:              stripe.String(string(stripe.CheckoutSessionModePayment)),
		SuccessURL:        stripe.String(a.SuccessURL),
		CancelURL:         stripe.String(a.CancelURL),
		ClientReferenceID: stripe.String(p.ID),
		ExpiresAt:         stripe.Int64(a.ExpiresAt.Unix()),
		Locale:            stripe.String(locale),
		LineItems: []*stripe.CheckoutSessionLineItemParams{{
			Quantity: stripe.Int64(1),
			PriceData: &stripe.CheckoutSessionLineItemPriceDataParams{
				Currency:    stripe.String(Currency),
				UnitAmount:  stripe.Int64(p.AmountFen),
				ProductData: &stripe.CheckoutSessionLineItemPriceDataProductDataParams{Name: stripe.String(p.Description)},
			},
		}},
		PaymentMethodTypes: stripe.StringSlice(Methods),
		PaymentMethodOptions: &stripe.CheckoutSessionPaymentMethodOptionsParams{
			WeChatPay: &stripe.CheckoutSessionPaymentMethodOptionsWeChatPayParams{Client: stripe.String("web")},
		},
		PaymentIntentData: pid,
		Metadata:          md,
	}
	params(ctx, &sp.Params, a.Key)
	s, err := g.api.CheckoutSessions.New(sp)
	if err != nil {
		return sessionInfo{}, fail("create checkout session", err)
	}
	return toSession(s), nil
}

func (g *gateway) session(ctx context.Context, id string) (sessionInfo, error) {
	sp := &stripe.CheckoutSessionParams{}
	sp.AddExpand("payment_intent")
	params(ctx, &sp.Params, "")
	s, err := g.api.CheckoutSessions.Get(id, sp)
	if err != nil {
		return sessionInfo{}, fail("read checkout session", err)
	}
	return toSession(s), nil
}

func (g *gateway) expireSession(ctx context.Context, id, key string) (sessionInfo, error) {
	sp := &stripe.CheckoutSessionExpireParams{}
	sp.AddExpand("payment_intent")
	params(ctx, &sp.Params, key)
	s, err := g.api.CheckoutSessions.Expire(id, sp)
	if err != nil {
		return sessionInfo{}, fail("expire checkout session", err)
	}
	return toSession(s), nil
}

func (g *gateway) createIntent(ctx context.Context, p Payment, a Attempt) (intentInfo, error) {
	ip := &stripe.PaymentIntentParams{
		Amount:             stripe.Int64(p.AmountFen),
		Currency:           stripe.String(Currency),
		PaymentMethodTypes: stripe.StringSlice(Methods),
		TransferData:       &stripe.PaymentIntentTransferDataParams{Destination: stripe.String(p.Destination)},
		Metadata:           paymentMetadata(p, a),
		Description:        stripe.String(p.Description),
	}
	if p.FeeFen > 0 {
		ip.ApplicationFeeAmount = stripe.Int64(p.FeeFen)
	}
	params(ctx, &ip.Params, a.Key)
	pi, err := g.api.PaymentIntents.New(ip)
	if err != nil {
		return intentInfo{}, fail("create payment intent", err)
	}
	return toIntent(pi), nil
}

func (g *gateway) intent(ctx context.Context, id string) (intentInfo, error) {
	ip := &stripe.PaymentIntentParams{}
	params(ctx, &ip.Params, "")
	pi, err := g.api.PaymentIntents.Get(id, ip)
	if err != nil {
		return intentInfo{}, fail("read payment intent", err)
	}
	return toIntent(pi), nil
}

func (g *gateway) cancelIntent(ctx context.Context, id, key string) (intentInfo, error) {
	cp := &stripe.PaymentIntentCancelParams{CancellationReason: stripe.String("abandoned")}
	params(ctx, &cp.Params, key)
	pi, err := g.api.PaymentIntents.Cancel(id, cp)
	if err != nil {
		return intentInfo{}, fail("cancel payment intent", err)
	}
	return toIntent(pi), nil
}

// createRefund refunds part of a destination charge: the transfer to the
// operator is reversed in proportion (the platform never pays the
// operator's refunds) and so is the platform's application fee.
func (g *gateway) createRefund(ctx context.Context, t Tab, r Refund, part RefundPart) (refundInfo, error) {
	rp := &stripe.RefundParams{
		PaymentIntent:        stripe.String(part.IntentID),
		Amount:               stripe.Int64(part.AmountFen),
		ReverseTransfer:      stripe.Bool(true),
		RefundApplicationFee: stripe.Bool(true),
		Metadata: map[string]string{mdRefund: r.ID, mdPart: part.Key, mdPayment: part.PaymentID,
			mdLease: t.LeaseID, mdOperator: t.OperatorID},
	}
	if r.Duplicate {
		rp.Reason = stripe.String(string(stripe.RefundReasonDuplicate))
	} else {
		rp.Reason = stripe.String(string(stripe.RefundReasonRequestedByCustomer))
	}
	params(ctx, &rp.Params, part.Key)
	re, err := g.api.Refunds.New(rp)
	if err != nil {
		return refundInfo{}, fail("create refund", err)
	}
	return toRefund(re), nil
}

func (g *gateway) refund(ctx context.Context, id string) (refundInfo, error) {
	rp := &stripe.RefundParams{}
	params(ctx, &rp.Params, "")
	re, err := g.api.Refunds.Get(id, rp)
	if err != nil {
		return refundInfo{}, fail("read refund", err)
	}
	return toRefund(re), nil
}

func (g *gateway) dispute(ctx context.Context, id string) (disputeInfo, error) {
	dp := &stripe.DisputeParams{}
	params(ctx, &dp.Params, "")
	d, err := g.api.Disputes.Get(id, dp)
	if err != nil {
		return disputeInfo{}, fail("read dispute", err)
	}
	out := disputeInfo{ID: d.ID, Status: string(d.Status), Reason: string(d.Reason), Amount: d.Amount}
	if d.PaymentIntent != nil {
		out.IntentID = d.PaymentIntent.ID
	}
	if d.Charge != nil {
		out.ChargeID = d.Charge.ID
	}
	return out, nil
}

// chargeIntent returns the PaymentIntent of a charge.
func (g *gateway) chargeIntent(ctx context.Context, id string) (string, error) {
	cp := &stripe.ChargeParams{}
	params(ctx, &cp.Params, "")
	c, err := g.api.Charges.Get(id, cp)
	if err != nil {
		return "", fail("read charge", err)
	}
	if c.PaymentIntent == nil {
		return "", nil
	}
	return c.PaymentIntent.ID, nil
}

// createAccount makes an Express connected account for an operator: Stripe
// hosts its onboarding and dashboard, and it receives destination charges
// (the transfers capability).
func (g *gateway) createAccount(ctx context.Context, operatorID, key string) (accountInfo, error) {
	ap := &stripe.AccountParams{
		Type: stripe.String(string(stripe.AccountTypeExpress)),
		Capabilities: &stripe.AccountCapabilitiesParams{
			Transfers: &stripe.AccountCapabilitiesTransfersParams{Requested: stripe.Bool(true)},
		},
		Metadata: map[string]string{mdOperator: operatorID},
	}
	params(ctx, &ap.Params, key)
	a, err := g.api.Accounts.New(ap)
	if err != nil {
		return accountInfo{}, fail("create connected account", err)
	}
	return toAccount(a), nil
}

func (g *gateway) account(ctx context.Context, id string) (accountInfo, error) {
	ap := &stripe.AccountParams{}
	params(ctx, &ap.Params, "")
	a, err := g.api.Accounts.GetByID(id, ap)
	if err != nil {
		return accountInfo{}, fail("read connected account", err)
	}
	return toAccount(a), nil
}

// accountLink returns a one-time onboarding link (Stripe's hosted forms).
func (g *gateway) accountLink(ctx context.Context, accountID, refreshURL, returnURL, key string) (string, time.Time, error) {
	lp := &stripe.AccountLinkParams{
		Account:    stripe.String(accountID),
		RefreshURL: stripe.String(refreshURL),
		ReturnURL:  stripe.String(returnURL),
		Type:       stripe.String(string(stripe.AccountLinkTypeAccountOnboarding)),
	}
	params(ctx, &lp.Params, key)
	l, err := g.api.AccountLinks.New(lp)
	if err != nil {
		return "", time.Time{}, fail("create account link", err)
	}
	return l.URL, time.Unix(l.ExpiresAt, 0).UTC(), nil
}

func toSession(s *stripe.CheckoutSession) sessionInfo {
	out := sessionInfo{ID: s.ID, Status: string(s.Status), PaymentStatus: string(s.PaymentStatus), URL: s.URL,
		AmountTotal: s.AmountTotal, Currency: string(s.Currency), Metadata: s.Metadata}
	if s.ExpiresAt > 0 {
		out.ExpiresAt = time.Unix(s.ExpiresAt, 0).UTC()
	}
	if s.PaymentIntent != nil {
		out.IntentID = s.PaymentIntent.ID
		if s.PaymentIntent.Status != "" { // expanded
			pi := toIntent(s.PaymentIntent)
			out.Intent = &pi
		}
	}
	return out
}

func toIntent(pi *stripe.PaymentIntent) intentInfo {
	out := intentInfo{ID: pi.ID, Status: string(pi.Status), Amount: pi.Amount, AmountReceived: pi.AmountReceived,
		FeeFen: pi.ApplicationFeeAmount, Currency: string(pi.Currency), ClientSecret: pi.ClientSecret, Metadata: pi.Metadata}
	if pi.LatestCharge != nil {
		out.ChargeID = pi.LatestCharge.ID
	}
	if pi.TransferData != nil && pi.TransferData.Destination != nil {
		out.Destination = pi.TransferData.Destination.ID
	}
	return out
}

func toRefund(r *stripe.Refund) refundInfo {
	out := refundInfo{ID: r.ID, Status: string(r.Status), FailureReason: string(r.FailureReason), Amount: r.Amount,
		Currency: string(r.Currency), Metadata: r.Metadata}
	if r.PaymentIntent != nil {
		out.IntentID = r.PaymentIntent.ID
	}
	if r.Charge != nil {
		out.ChargeID = r.Charge.ID
	}
	return out
}

func toAccount(a *stripe.Account) accountInfo {
	out := accountInfo{ID: a.ID, ChargesEnabled: a.ChargesEnabled, PayoutsEnabled: a.PayoutsEnabled,
		DetailsSubmitted: a.DetailsSubmitted, Metadata: a.Metadata}
	if a.Requirements != nil {
		out.CurrentlyDue = a.Requirements.CurrentlyDue
		out.DisabledReason = string(a.Requirements.DisabledReason)
	}
	return out
}

// eventInfo is a verified webhook event: which object it is about.
type eventInfo struct {
	ID, Type, Account, APIVersion string
	ObjectID, ObjectType          string
	Created                       time.Time
}

// webhookError says why a webhook request was refused; it is ErrBadWebhook.
type webhookError struct {
	reason     string // signature, timestamp, header, api_version, payload
	apiVersion string
	err        error
}

func (e *webhookError) Error() string {
	if e.reason == "api_version" {
		return fmt.Sprintf("payments: webhook event has API version %s; the endpoint must send %s", e.apiVersion, stripe.APIVersion)
	}
	return fmt.Sprintf("payments: webhook %s: %v", e.reason, e.err)
}

func (e *webhookError) Is(target error) bool { return target == ErrBadWebhook }

// verify checks a webhook's signature against each secret, its timestamp
// against tolerance and its API version (ConstructEvent), and returns the
// event.
func verify(payload []byte, header string, secrets []string, tolerance time.Duration) (eventInfo, error) {
	err := error(webhook.ErrNoValidSignature)
	for _, secret := range secrets {
		var ev stripe.Event
		ev, err = webhook.ConstructEventWithTolerance(payload, header, secret, tolerance)
		if err == nil {
			return toEvent(ev)
		}
		if !errors.Is(err, webhook.ErrNoValidSignature) {
			break
		}
	}
	switch {
	case errors.Is(err, webhook.ErrNoValidSignature):
		return eventInfo{}, &webhookError{reason: "signature", err: err}
	case errors.Is(err, webhook.ErrTooOld):
		return eventInfo{}, &webhookError{reason: "timestamp", err: err}
	case errors.Is(err, webhook.ErrNotSigned), errors.Is(err, webhook.ErrInvalidHeader):
		return eventInfo{}, &webhookError{reason: "header", err: err}
	}
	// The signature held, so the body is Stripe's: either not JSON or of
	// another API version.
	var peek struct {
		APIVersion string `json:"api_version"`
	}
	if json.Unmarshal(payload, &peek) == nil && peek.APIVersion != stripe.APIVersion {
		return eventInfo{}, &webhookError{reason: "api_version", apiVersion: peek.APIVersion, err: err}
	}
	return eventInfo{}, &webhookError{reason: "payload", err: err}
}

func toEvent(ev stripe.Event) (eventInfo, error) {
	out := eventInfo{ID: ev.ID, Type: string(ev.Type), Account: ev.Account, APIVersion: ev.APIVersion, Created: time.Unix(ev.Created, 0).UTC()}
	if ev.Data != nil && ev.Data.Object != nil {
		out.ObjectID, _ = ev.Data.Object["id"].(string)
		out.ObjectType, _ = ev.Data.Object["object"].(string)
	}
	if out.ID == "" || out.ObjectID == "" {
		return eventInfo{}, &webhookError{reason: "payload", err: errors.New("event without an id or an object id")}
	}
	return out, nil
}
