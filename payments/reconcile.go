package payments

import (
	"context"
	"errors"
	"fuju/internal/tenancy"
	"time"
)

// Reconcile repairs what crashes left behind and settles what waits on
// Stripe; it returns how many things it repaired or asked Stripe about.
// Every instance runs it (every 30 s); every step is idempotent.
//
//   - A webhook claim whose marker is older than markerAge (the delivery
//     stopped between claiming the event and applying it): the object is
//     read from Stripe and applied, and every projection and outcome of its
//     tab written again.
//   - A payment or refund flow whose marker is older than markerAge: the
//     tab's projections are rewritten from its log and every outcome is
//     delivered again (the Ledger applies each key once).
//   - An account whose creation stopped: created at Stripe with the same
//     key (Stripe answers with the account it made, if it made one).
//   - A tab waiting on Stripe for longer than pendingAge (30 minutes):
//     an attempt recorded but never answered is made with its key (Stripe
//     returns the session or intent it made before, if any), or ended when
//     its page could no longer be made; open sessions and intents are read
//     and applied (paid, expired, canceled); an intent unpaid for a day is
//     canceled; refund parts without a Stripe refund are made with their
//     key, and pending ones read and applied.
func (s *Service) Reconcile(ctx context.Context, markerAge, pendingAge time.Duration) (int, error) {
	fixed := 0
	var errs []error
	hooks, err := s.hooks.Stale(ctx, markerAge)
	if err != nil {
		return 0, err
	}
	for _, p := range hooks {
		claim, ok, err := s.hooks.Get(ctx, p.Entity, 1)
		if err == nil && ok {
			err = s.apply(ctx, claim.Event, true)
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		done(ctx, s, s.hooks, p)
		fixed++
	}
	tabs, err := s.tabs.Stale(ctx, markerAge)
	if err != nil {
		return fixed, err
	}
	for _, p := range tabs {
		t, err := s.head(ctx, p.Entity)
		if err == nil {
			err = s.finish(ctx, Tab{}, t, true)
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		done(ctx, s, s.tabs, p)
		fixed++
	}
	accts, err := s.accounts.Stale(ctx, markerAge)
	if err != nil {
		return fixed, err
	}
	for _, p := range accts {
		if err := s.repairAccount(ctx, p.Entity); err != nil {
			errs = append(errs, err)
			continue
		}
		done(ctx, s, s.accounts, p)
		fixed++
	}
	n, err := s.settleOpen(ctx, pendingAge)
	fixed += n
	if err != nil {
		errs = append(errs, err)
	}
	return fixed, errors.Join(errs...)
}

// repairAccount finishes an account whose creation stopped.
func (s *Service) repairAccount(ctx context.Context, operatorID string) error {
	a, err := s.accountHead(ctx, operatorID)
	if err != nil || a.Seq == 0 {
		return err
	}
	if a.StripeID == "" {
		info, err := s.gw.createAccount(ctx, operatorID, a.Key)
		if err != nil {
			return err
		}
		_, err = s.applyAccount(ctx, operatorID, info, tenancy.System, "created")
		return err
	}
	return s.projectAccount(ctx, operatorID)
}

// settleOpen asks Stripe about every tab waiting on it for longer than
// pendingAge and not asked within pendingAge.
func (s *Service) settleOpen(ctx context.Context, pendingAge time.Duration) (int, error) {
	docs, err := s.store.openTabs(ctx)
	if err != nil {
		return 0, err
	}
	n := 0
	var errs []error
	for _, d := range docs {
		now := s.now()
		if now.Sub(d.Since) < pendingAge || now.Sub(d.CheckedAt) < pendingAge {
			continue
		}
		if err := s.settleTab(ctx, d.ID, pendingAge); err != nil {
			errs = append(errs, err)
		}
		if err := s.store.checked(ctx, d.ID, now); err != nil {
			errs = append(errs, err)
		}
		n++
	}
	return n, errors.Join(errs...)
}

// settleTab asks Stripe about what of one tab has waited longer than
// pendingAge and records the answers.
func (s *Service) settleTab(ctx context.Context, leaseID string, pendingAge time.Duration) error {
	t, err := s.head(ctx, leaseID)
	if err != nil {
		return err
	}
	now := s.now()
	var errs []error
	for i, p := range t.Payments {
		a := p.current()
		if a == nil || now.Sub(a.RequestedAt) < pendingAge {
			continue
		}
		var err error
		switch {
		case a.State == Requested:
			err = s.create(ctx, tenancy.System, t, i, *a)
		case (a.State == Open || a.State == Processing) && a.Channel == Checkout:
			var si sessionInfo
			if si, err = s.gw.session(ctx, a.SessionID); err == nil {
				_, err = s.settleSessionOf(ctx, leaseID, p.ID, si)
			}
		case a.State == Open || a.State == Processing:
			var pi intentInfo
			if pi, err = s.gw.intent(ctx, a.IntentID); err == nil {
				_, err = s.settleIntentOf(ctx, leaseID, p.ID, pi)
			}
			if err == nil && pi.Status != "succeeded" && pi.Status != "processing" && now.Sub(a.RequestedAt) > intentTTL {
				var cur Tab
				if cur, err = s.head(ctx, leaseID); err == nil {
					k := cur.payment(p.ID)
					if c := cur.Payments[k].current(); c.N == a.N && c.State == Open {
						_, err = s.closeAttempt(ctx, cur, k, *c)
					}
				}
			}
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	for _, r := range t.Refunds {
		for _, part := range r.Parts {
			if part.State.final() || now.Sub(part.UpdatedAt) < pendingAge {
				continue
			}
			var err error
			if part.StripeID == "" {
				err = s.driveRefund(ctx, leaseID, r.ID)
			} else {
				var re refundInfo
				if re, err = s.gw.refund(ctx, part.StripeID); err == nil {
					if re.Metadata == nil {
						re.Metadata = map[string]string{}
					}
					re.Metadata[mdPart] = part.Key
					_, _, err = s.update(ctx, leaseID, tabEvent{Kind: "refund", Ref: r.ID, By: tenancy.System, Why: "refund " + re.Status}, "", func(t *Tab) (bool, error) {
						_, changed := t.applyRefund(re, s.now())
						return changed, nil
					})
				}
			}
			if err != nil && !errors.Is(err, ErrStripeRefused) {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}
