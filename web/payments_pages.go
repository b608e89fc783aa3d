package web

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"fuju/internal/l10n"
	"fuju/internal/tenancy"
	online "fuju/payments"
)

// Online payment's console (docs/payments.md): an operator admin connects
// the operator's Stripe account (Express), goes through Stripe's onboarding,
// sees what was paid online and deals with failed refunds and disputes; the
// platform admin sees every operator's account. Each step is one call of
// the payments service, which keeps tenancy and records the audit entries.
// Without STRIPE_SECRET_KEY online payment is off: the pages say so, the
// API answers 404 payments_off.

// errPaymentsOff: online payment is not configured on this service.
var errPaymentsOff = errors.New("online payment is off (no STRIPE_SECRET_KEY)")

// Account states as the console names them: the payments domain's, plus
// "off" (no Stripe key) and "not_connected" (no account yet).
const (
	payStateOff          = "off"
	payStateNotConnected = "not_connected"
)

// payAccount is an operator's connected account as the API shows it.
type payAccount struct {
	OperatorID string `json:"operator_id"`
	// Status is off, not_connected, requested, onboarding, restricted or
	// enabled.
	Status         string          `json:"status"`
	CanTakeCharges bool            `json:"can_take_charges"`
	Account        *online.Account `json:"account"`
}

// accountOf reads an operator's account; no account is not_connected, not
// an error.
func (s *Server) accountOf(ctx context.Context, sc tenancy.Scope, operatorID string) (payAccount, error) {
	out := payAccount{OperatorID: operatorID, Status: payStateOff}
	if s.payments == nil {
		return out, nil
	}
	a, err := s.payments.AccountStatus(ctx, sc, operatorID)
	if errors.Is(err, online.ErrNotFound) && sc.Operator(operatorID) {
		out.Status = payStateNotConnected
		return out, nil
	}
	if err != nil {
		return payAccount{}, err
	}
	out.Status, out.CanTakeCharges, out.Account = string(a.Status), a.CanTakeCharges(), &a
	return out, nil
}

// onboardingURLs are where Stripe sends the operator back: refresh when the
// link expired (the page offers a new one), return when onboarding ends
// (the status is read from Stripe again).
func (s *Server) onboardingURLs(c *gin.Context) (refresh, back string) {
	site := s.siteURL(c)
	return site + "/operator/payments", site + "/operator/payments/return"
}

// connectAndLink creates the account if needed and makes an onboarding link.
func (s *Server) connectAndLink(c *gin.Context, refresh, back string) (string, time.Time, error) {
	if s.payments == nil {
		return "", time.Time{}, errPaymentsOff
	}
	ctx, sc, by := c.Request.Context(), scopeOf(c), actorOf(c)
	if _, err := s.payments.ConnectAccount(ctx, sc, by, sc.OperatorID); err != nil {
		return "", time.Time{}, err
	}
	return s.payments.OnboardingLink(ctx, sc, by, sc.OperatorID, refresh, back)
}

// ---- The API

func (s *Server) showPayAccountAPI(c *gin.Context) error {
	sc := scopeOf(c)
	a, err := s.accountOf(c.Request.Context(), sc, sc.OperatorID)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, a)
	return nil
}

func (s *Server) createPayAccountAPI(c *gin.Context) error {
	if s.payments == nil {
		return errPaymentsOff
	}
	sc := scopeOf(c)
	if _, err := s.payments.ConnectAccount(c.Request.Context(), sc, actorOf(c), sc.OperatorID); err != nil {
		return err
	}
	a, err := s.accountOf(c.Request.Context(), sc, sc.OperatorID)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, a)
	return nil
}

// payLink is an onboarding link: single-use, valid until ExpiresAt.
type payLink struct {
	URL       string    `json:"url"`
	ExpiresAt time.Time `json:"expires_at"`
}

// createPayLinkAPI returns a link whose way back is the console's payments
// page, as the page's own button does.
func (s *Server) createPayLinkAPI(c *gin.Context) error {
	refresh, back := s.onboardingURLs(c)
	u, exp, err := s.connectAndLink(c, refresh, back)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, payLink{URL: u, ExpiresAt: exp})
	return nil
}

func (s *Server) listPaymentsAPI(c *gin.Context) error {
	if s.payments == nil {
		return errPaymentsOff
	}
	p := newParams(c)
	p.only("page", "per_page")
	page, per := pageParams(p, 50, 200)
	if err := p.err(); err != nil {
		return err
	}
	items, total, err := s.payments.Payments(c.Request.Context(), scopeOf(c), online.PaymentFilter{Limit: int64(per), Skip: int64((page - 1) * per)})
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, list[online.Payment]{Items: items, Total: int(total), Page: page, PerPage: per})
	return nil
}

func (s *Server) listPayQueueAPI(c *gin.Context) error {
	if s.payments == nil {
		return errPaymentsOff
	}
	items, err := s.payments.Queue(c.Request.Context(), scopeOf(c))
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, whole(items))
	return nil
}

// allAccounts is every operator's account, in the operators' order.
func (s *Server) allAccounts(ctx context.Context) ([]payAccount, error) {
	ops, err := s.stations.Operators(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]payAccount, 0, len(ops))
	for _, o := range ops {
		a, err := s.accountOf(ctx, tenancy.PlatformScope, o.ID)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, nil
}

func (s *Server) listPayAccountsAPI(c *gin.Context) error {
	items, err := s.allAccounts(c.Request.Context())
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, whole(items))
	return nil
}

// ---- The operator console

type opPaymentsPage struct {
	opConsole
	Account  payAccount
	Payments []online.Payment
	Total    int64
	Queue    []online.QueueItem
}

// PayState is an account state in words.
func (b *base) PayState(state string) string { return b.T("pay.state." + state) }

// PayWhen shows an instant in the city's time ("—" for none).
func (b *base) PayWhen(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.In(l10n.Local).Format("2006-01-02 15:04")
}

// More reports whether the list shows only the newest payments.
func (p *opPaymentsPage) More() bool { return p.Total > int64(len(p.Payments)) }

// Due lists what Stripe still needs, in Stripe's field names.
func (p *opPaymentsPage) Due() []string {
	if p.Account.Account == nil {
		return nil
	}
	return p.Account.Account.CurrentlyDue
}

func (s *Server) showOpPayments(c *gin.Context) error {
	ctx, sc := c.Request.Context(), scopeOf(c)
	p := opPaymentsPage{opConsole: s.opConsole(c, "pay.title", "payments")}
	a, err := s.accountOf(ctx, sc, sc.OperatorID)
	if err != nil {
		return err
	}
	p.Account = a
	if s.payments != nil {
		if p.Payments, p.Total, err = s.payments.Payments(ctx, sc, online.PaymentFilter{Limit: 50}); err != nil {
			return err
		}
		if p.Queue, err = s.payments.Queue(ctx, sc); err != nil {
			return err
		}
	}
	return s.render(c, http.StatusOK, "operator_payments", &p)
}

// connectOpPayments creates the account when there is none and sends the
// operator to Stripe's onboarding (a new single-use link each time).
func (s *Server) connectOpPayments(c *gin.Context) error {
	refresh, back := s.onboardingURLs(c)
	u, _, err := s.connectAndLink(c, refresh, back)
	if err != nil {
		return err
	}
	c.Redirect(http.StatusSeeOther, u)
	return nil
}

// refreshOpPayments reads the account from Stripe again.
func (s *Server) refreshOpPayments(c *gin.Context) error {
	if s.payments == nil {
		return errPaymentsOff
	}
	sc := scopeOf(c)
	if _, err := s.payments.RefreshAccount(c.Request.Context(), sc, sc.OperatorID); err != nil {
		return err
	}
	s.flash(c, "pay.flash.refreshed")
	c.Redirect(http.StatusSeeOther, "/operator/payments")
	return nil
}

// returnOpPayments is where Stripe's onboarding sends the operator back:
// the status is read from Stripe (a read, recorded as the system's) and the
// page shown. No account yet (a stale link) just shows the page.
func (s *Server) returnOpPayments(c *gin.Context) error {
	if s.payments != nil {
		sc := scopeOf(c)
		_, err := s.payments.RefreshAccount(c.Request.Context(), sc, sc.OperatorID)
		if err != nil && !errors.Is(err, online.ErrNotFound) {
			return err
		}
		if err == nil {
			s.flash(c, "pay.flash.returned")
		}
	}
	c.Redirect(http.StatusSeeOther, "/operator/payments")
	return nil
}

func (s *Server) acknowledgeOpPayQueue(c *gin.Context) error {
	if s.payments == nil {
		return errPaymentsOff
	}
	if err := s.payments.Acknowledge(c.Request.Context(), scopeOf(c), actorOf(c), c.Param("id")); err != nil {
		return err
	}
	s.flash(c, "pay.flash.acknowledged")
	c.Redirect(http.StatusSeeOther, "/operator/payments#queue-h")
	return nil
}

// ---- The platform admin's console

type adminPayRow struct {
	payAccount
	Operator string
}

type adminPaymentsPage struct {
	adminBase
	Off  bool
	Rows []adminPayRow
	// Enabled counts the operators that can take charges.
	Enabled int
}

func (s *Server) showAdminPayments(c *gin.Context) error {
	ctx := c.Request.Context()
	p := adminPaymentsPage{adminBase: s.adminBase(c, "pay.admin.title", "payments"), Off: s.payments == nil}
	accts, err := s.allAccounts(ctx)
	if err != nil {
		return err
	}
	ops, err := s.stations.Operators(ctx)
	if err != nil {
		return err
	}
	names := operatorNames(ops)
	for _, a := range accts {
		name := a.OperatorID
		if n, ok := names[a.OperatorID]; ok {
			name = p.Tx(n)
		}
		if a.CanTakeCharges {
			p.Enabled++
		}
		p.Rows = append(p.Rows, adminPayRow{payAccount: a, Operator: name})
	}
	return s.render(c, http.StatusOK, "admin_payments", &p)
}
