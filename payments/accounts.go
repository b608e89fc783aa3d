package payments

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"fuju/internal/eventlog"
	"fuju/internal/tenancy"
	"fuju/internal/valid"
)

// accountKey is the idempotency key of an operator's account creation.
func accountKey(operatorID string) string { return "operator/" + operatorID + "/account" }

func accountOf(e eventlog.Entry[accountEvent]) Account {
	a := e.Event.Account
	a.Seq = e.Seq
	return a
}

// accountHead returns an operator's account as its log says now (zero
// Account when there is none).
func (s *Service) accountHead(ctx context.Context, operatorID string) (Account, error) {
	var known int64
	if d, ok, err := s.store.account(ctx, operatorID); err != nil {
		return Account{}, err
	} else if ok {
		known = d.Seq
	}
	h, err := s.accounts.Head(ctx, operatorID, known)
	if err != nil {
		return Account{}, fmt.Errorf("payments: %w", err)
	}
	return accountOf(h), nil
}

// CanTakeCharges reports whether payments to operatorID may be started: its
// connected account exists and Stripe enabled charges on it.
func (s *Service) CanTakeCharges(ctx context.Context, operatorID string) (bool, error) {
	a, err := s.accountHead(ctx, operatorID)
	return a.CanTakeCharges(), err
}

// AccountStatus returns an operator's connected account, within scope.
func (s *Service) AccountStatus(ctx context.Context, scope tenancy.Scope, operatorID string) (Account, error) {
	if !scope.Operator(operatorID) {
		return Account{}, fmt.Errorf("payments: account of operator %s: %w", operatorID, ErrNotFound)
	}
	a, err := s.accountHead(ctx, operatorID)
	if err != nil {
		return Account{}, err
	}
	if a.Seq == 0 {
		return Account{}, fmt.Errorf("payments: operator %s has no Stripe account: %w", operatorID, ErrNotFound)
	}
	return a, nil
}

// statusOf reads an account's status from what Stripe reports.
func statusOf(info accountInfo) AccountStatus {
	switch {
	case info.ChargesEnabled:
		return AccountEnabled
	case !info.DetailsSubmitted:
		return AccountOnboarding
	}
	return AccountRestricted
}

// withStripe is a with Stripe's view of it applied; ok is false when
// nothing changes.
func (a Account) withStripe(info accountInfo, now time.Time) (Account, bool) {
	next := a
	next.StripeID = info.ID
	next.ChargesEnabled, next.PayoutsEnabled, next.DetailsSubmitted = info.ChargesEnabled, info.PayoutsEnabled, info.DetailsSubmitted
	next.CurrentlyDue = slices.Clone(info.CurrentlyDue)
	if next.CurrentlyDue == nil {
		next.CurrentlyDue = []string{}
	}
	next.DisabledReason = info.DisabledReason
	next.Status = statusOf(info)
	if next.StripeID == a.StripeID && next.Status == a.Status && next.ChargesEnabled == a.ChargesEnabled &&
		next.PayoutsEnabled == a.PayoutsEnabled && next.DetailsSubmitted == a.DetailsSubmitted &&
		slices.Equal(next.CurrentlyDue, a.CurrentlyDue) && next.DisabledReason == a.DisabledReason {
		return a, false
	}
	next.UpdatedAt = now
	return next, true
}

// ConnectAccount creates the operator's Express connected account at Stripe,
// once: the request is recorded with its idempotency key
// ("operator/<id>/account") before the call, so two clicks, two instances or
// a crash and a retry all end with the same account.
func (s *Service) ConnectAccount(ctx context.Context, scope tenancy.Scope, by tenancy.Actor, operatorID string) (Account, error) {
	e := &valid.Error{}
	checkID(e, "operator_id", operatorID)
	if err := e.Err(); err != nil {
		return Account{}, err
	}
	if !scope.Operator(operatorID) {
		return Account{}, fmt.Errorf("payments: operator %s: %w", operatorID, ErrNotFound)
	}
	mark, err := s.accounts.Begin(ctx, operatorID)
	if err != nil {
		return Account{}, fmt.Errorf("payments: %w", err)
	}
	mine := false
	waitUntil := time.Now().Add(inflightWait) // real time, whatever the service clock says
	for range 60 {
		a, err := s.accountHead(ctx, operatorID)
		if err != nil {
			return Account{}, err
		}
		switch {
		case a.Seq == 0:
			now := s.now()
			next := Account{OperatorID: operatorID, Key: accountKey(operatorID), Status: AccountRequested, CurrentlyDue: []string{},
				RequestedAt: now, UpdatedAt: now}
			_, err := s.accounts.Append(ctx, operatorID, 1, accountEvent{Kind: "requested", Account: next, By: by})
			if errors.Is(err, eventlog.ErrTaken) {
				continue
			}
			if err != nil {
				return Account{}, fmt.Errorf("payments: %w", err)
			}
			mine = true
			if err := s.crashed("account:requested"); err != nil {
				return Account{}, err
			}
		case a.StripeID == "":
			if !mine && s.now().Sub(a.RequestedAt) < inflightFor && time.Now().Before(waitUntil) {
				select {
				case <-ctx.Done():
					return Account{}, ctx.Err()
				case <-time.After(50 * time.Millisecond):
				}
				continue
			}
			info, err := s.gw.createAccount(ctx, operatorID, a.Key)
			if err != nil {
				return Account{}, err
			}
			if err := s.crashed("account:stripe"); err != nil {
				return Account{}, err
			}
			if _, err := s.applyAccount(ctx, operatorID, info, by, "created"); err != nil {
				return Account{}, err
			}
		default:
			if err := s.projectAccount(ctx, operatorID); err != nil {
				return Account{}, err
			}
			done(ctx, s, s.accounts, mark)
			if mine {
				s.record(ctx, by, operatorID, "payments.account_create", "operator/"+operatorID, map[string]any{"stripe_account": a.StripeID})
			}
			return a, nil
		}
	}
	return Account{}, fmt.Errorf("payments: account of %s is being changed by others; try again: %w", operatorID, ErrConflict)
}

// applyAccount appends Stripe's view of the operator's account when it
// changes anything, and projects it.
func (s *Service) applyAccount(ctx context.Context, operatorID string, info accountInfo, by tenancy.Actor, kind string) (Account, error) {
	for range 50 {
		a, err := s.accountHead(ctx, operatorID)
		if err != nil {
			return Account{}, err
		}
		if a.Seq == 0 || a.StripeID != "" && a.StripeID != info.ID {
			return a, fmt.Errorf("payments: Stripe account %s is not operator %s's: %w", info.ID, operatorID, ErrConflict)
		}
		next, changed := a.withStripe(info, s.now())
		if !changed {
			return a, s.projectAccount(ctx, operatorID)
		}
		_, err = s.accounts.Append(ctx, operatorID, a.Seq+1, accountEvent{Kind: kind, Account: next, By: by})
		if errors.Is(err, eventlog.ErrTaken) {
			continue
		}
		if err != nil {
			return Account{}, fmt.Errorf("payments: %w", err)
		}
		return next, s.projectAccount(ctx, operatorID)
	}
	return Account{}, fmt.Errorf("payments: account of %s is being changed by others: %w", operatorID, ErrConflict)
}

// projectAccount writes the account's projection and its Stripe id's index
// entry, forward only.
func (s *Service) projectAccount(ctx context.Context, operatorID string) error {
	for range 10 {
		a, err := s.accountHead(ctx, operatorID)
		if err != nil || a.Seq == 0 {
			return err
		}
		d, ok, err := s.store.account(ctx, operatorID)
		if err != nil {
			return err
		}
		if !ok || d.Seq < a.Seq {
			if err := put(ctx, s.store.accounts, operatorID, accountDoc{ID: operatorID, Seq: a.Seq, Account: a}); err != nil {
				return err
			}
		}
		if a.StripeID != "" {
			if err := insert(ctx, s.store.objects, objectDoc{ID: a.StripeID, Kind: "account", OperatorID: operatorID}); err != nil {
				return err
			}
		}
		again, err := s.accountHead(ctx, operatorID)
		if err != nil || again.Seq == a.Seq {
			return err
		}
	}
	return nil
}

// OnboardingLink returns a one-time link to Stripe's hosted onboarding of
// the operator's account (refreshURL is where Stripe sends an expired link,
// returnURL where it sends the operator back).
func (s *Service) OnboardingLink(ctx context.Context, scope tenancy.Scope, by tenancy.Actor, operatorID, refreshURL, returnURL string) (string, time.Time, error) {
	e := &valid.Error{}
	checkURL(e, "refresh_url", refreshURL)
	checkURL(e, "return_url", returnURL)
	if err := e.Err(); err != nil {
		return "", time.Time{}, err
	}
	a, err := s.AccountStatus(ctx, scope, operatorID)
	if err != nil {
		return "", time.Time{}, err
	}
	if a.StripeID == "" {
		return "", time.Time{}, fmt.Errorf("payments: operator %s's Stripe account is still being created; try again: %w", operatorID, ErrConflict)
	}
	// Links are single-use; each request is a new one with its own key.
	key := accountKey(operatorID) + "/link/" + s.now().Format("20060102T150405.000000000")
	url, expires, err := s.gw.accountLink(ctx, a.StripeID, refreshURL, returnURL, key)
	if err != nil {
		return "", time.Time{}, err
	}
	s.record(ctx, by, operatorID, "payments.account_link", "operator/"+operatorID, map[string]any{"stripe_account": a.StripeID})
	return url, expires, nil
}

// RefreshAccount reads the operator's account from Stripe again (after the
// operator comes back from onboarding) and records what changed.
func (s *Service) RefreshAccount(ctx context.Context, scope tenancy.Scope, operatorID string) (Account, error) {
	a, err := s.AccountStatus(ctx, scope, operatorID)
	if err != nil {
		return Account{}, err
	}
	if a.StripeID == "" {
		return a, nil
	}
	info, err := s.gw.account(ctx, a.StripeID)
	if err != nil {
		return Account{}, err
	}
	return s.applyAccount(ctx, operatorID, info, tenancy.System, "updated")
}
