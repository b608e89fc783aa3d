package rentals

import (
	"context"
	"time"

	"fuju/internal/audit"
	"fuju/internal/tenancy"
	"fuju/stations"
)

// recorder writes the audit log (the accounts store satisfies it through the
// wiring). Every state-changing method of the service writes one entry
// through it, after its change succeeded.
type recorder interface {
	Record(ctx context.Context, e audit.Entry) error
}

// writeAudit records one entry about a change that has happened; a failure
// is logged, never returned (audit.Write says why).
func (s *Service) writeAudit(ctx context.Context, by tenancy.Actor, operatorID, action, target string, changes []audit.Change) {
	if inOneEntry(ctx) {
		return // a flow recording itself as one entry (tierapply_renters.go)
	}
	audit.Write(ctx, s.auditLog, s.logger, audit.Entry{Actor: tenancy.AuditActor(by), OperatorID: operatorID,
		Action: action, Target: target, Changes: changes})
}

// auditLease records action on a lease that went from before (nil when it
// began) to after. Only the lease's facts are compared (leaseFacts): a lease
// also carries the renter's name and phone, which the log never holds.
func (s *Service) auditLease(ctx context.Context, by tenancy.Actor, action string, before *Lease, after Lease) {
	var b any
	if before != nil {
		b = leaseFacts(*before)
	}
	s.writeAudit(ctx, by, after.OperatorID, action, "lease/"+after.ID, audit.Diff(b, leaseFacts(after)))
}

// leaseFacts is what the audit log keeps of a lease: ids, states, dates and
// money. Not the renter's name or phone, not the notes of a return.
func leaseFacts(l Lease) map[string]any {
	m := map[string]any{
		"state": l.State, "unit_tag": l.UnitTag, "product_id": l.ProductID, "station_id": l.StationID,
		"renter_id": l.RenterID, "tier": l.Tier, "policy_version": l.PolicyVersion, "days": l.Days,
		"start_on": l.StartOn, "due_on": l.DueOn, "standard_fen": l.StandardFen, "renter_fen": l.RenterFen,
		"subsidy_fen": l.SubsidyFen, "deposit_fen": l.DepositFen, "balance_fen": l.BalanceFen,
		"extensions": l.Extensions, "waived_fen": l.WaivedFen, "payments": len(l.Payments),
	}
	if r := l.Return; r != nil {
		m["return"] = map[string]any{"day": r.Day, "station_id": r.StationID, "outcome": r.Outcome,
			"late_days": r.LateDays, "late_fee_fen": r.LateFeeFen, "damage_fen": r.DamageFen}
	}
	if l.Loss != nil {
		m["loss"] = map[string]any{"day": l.Loss.Day, "charged_fen": l.Loss.ChargedFen}
	}
	return m
}

// renterFacts is what the audit log keeps of a renter: ids, the home
// station and the tier's state. Never the name, phone, ID number, address,
// contact or proof.
func renterFacts(r Renter) map[string]any {
	return map[string]any{"home_station_id": r.HomeStationID, "home_operator_id": r.HomeOperatorID, "user_id": r.UserID,
		"tier": r.TierStatus.Tier, "tier_expires_on": r.TierStatus.ExpiresOn}
}

// waiverFacts is what the audit log keeps of a waiver: money, state and
// the lease. Its reason and notes are free text that may be about the
// renter, so they are recorded as changed without their words.
func waiverFacts(w Waiver) map[string]any {
	return map[string]any{"lease_id": w.LeaseID, "amount_fen": w.AmountFen, "applied_fen": w.AppliedFen,
		"state": w.State, "auto": w.Auto, "reason": w.Reason != "", "note": w.Note != "", "decision_note": w.DecisionNote != ""}
}

// auditWaiver records action on waiver w, whose state before was from ("" when
// it was just asked for).
func (s *Service) auditWaiver(ctx context.Context, by tenancy.Actor, action, from string, w Waiver) {
	var b any
	if from != "" {
		b = map[string]any{"state": from}
	}
	s.writeAudit(ctx, by, w.OperatorID, action, "waiver/"+w.ID, audit.Diff(b, waiverFacts(w)))
}

// policyFacts is what the audit log compares of two versions of the tier
// policy.
func policyFacts(p Policy) any {
	return struct {
		Tiers         map[Tier]TierRule `json:"tiers"`
		AnnualCapFen  int64             `json:"annual_cap_fen"`
		LostAfterDays int               `json:"lost_after_days"`
		Note          string            `json:"note"`
		EffectiveFrom time.Time         `json:"effective_from,omitzero"`
		Reservations  ReservationRules  `json:"reservations"`
	}{p.Tiers, p.AnnualCapFen, p.LostAfterDays, p.Note, p.EffectiveFrom, p.Reservations.orDefault()}
}

// auditFound records a lost unit taken back: one entry about the unit, with
// the lease it was lost on when there was one.
func (s *Service) auditFound(ctx context.Context, by tenancy.Actor, res FoundResult) {
	after := map[string]any{"state": res.Unit.State, "station_id": res.Unit.StationID}
	if res.Lease != nil {
		after["lease_id"] = res.Lease.ID
		after["lease_state"] = res.Lease.State
		after["balance_fen"] = res.Lease.BalanceFen
	}
	s.writeAudit(ctx, by, res.Unit.OperatorID, "unit.found", "unit/"+res.Unit.Tag,
		audit.Diff(map[string]any{"state": stations.Lost}, after))
}

// auditRenter records action on a renter that went from before (nil when
// registered) to after: only renterFacts are compared; fields named in also
// (a tier's proof) are recorded as changed without their values.
func (s *Service) auditRenter(ctx context.Context, by tenancy.Actor, action string, before *Renter, after Renter, also ...string) {
	var b any
	if before != nil {
		b = renterFacts(*before)
	}
	changes := audit.Diff(b, renterFacts(after))
	changes = append(changes, audit.Fields(also...)...)
	s.writeAudit(ctx, by, after.HomeOperatorID, action, "renter/"+after.ID, changes)
}
