package rentals

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"fuju/internal/audit"
	"fuju/internal/eventlog"
	"fuju/internal/ids"
	"fuju/internal/tenancy"
	"fuju/internal/valid"
	"fuju/stations"
)

// Access is one entry of a renter's access log: someone saw a protected
// field (the ID number, the proof photo) or a desk of another operator
// looked the renter up by phone.
type Access struct {
	Seq      int64         `json:"seq" bson:"-"`
	At       time.Time     `json:"at" bson:"-"`
	RenterID string        `json:"renter_id" bson:"renter_id"`
	What     string        `json:"what" bson:"what"` // id_number, proof_photo, desk_link
	Reason   string        `json:"reason" bson:"reason"`
	By       tenancy.Actor `json:"by" bson:"by"`
	// OperatorID is the caller's operator ("" for the platform).
	OperatorID string `json:"operator_id" bson:"operator_id"`
}

// What an access log entry records.
const (
	AccessIDNumber   = "id_number"
	AccessProofPhoto = "proof_photo"
	AccessDeskLink   = "desk_link"
)

// Tenancy of renters. Renters are people of the whole city, registered once
// at a home station. What a caller sees:
//
//   - full view: the platform, and any scope that covers the home station
//     (its staff, its operator's admins);
//   - desk view: staff of the home operator's other stations, and another
//     operator's desk after it found the renter by exact mobile number
//     (RenterByPhone records that as a link, in the access log, so the walk-in
//     can then be served by id: quotes, tier checks, checkout). The desk view
//     leaves out the address, the online account and the tier proof, and shows
//     only the last four characters of the ID number;
//   - nothing (ErrNotFound) otherwise.
//
// The clear ID number (RevealIDNumber) is only for scopes covering the home
// station; the proof photo (ProofPhotoKey) also for the operator whose desk
// verified it. Both are logged before they are returned.
const (
	viewNone = ""
)

func (s *Service) viewOf(ctx context.Context, scope tenancy.Scope, d renterDoc) (string, error) {
	if scope.Platform || scope.Station(d.HomeOperatorID, d.HomeStationID) {
		return ViewFull, nil
	}
	if scope.OperatorID == "" {
		return viewNone, nil
	}
	if scope.OperatorID == d.HomeOperatorID {
		return ViewDesk, nil
	}
	ok, err := s.renters.linked(ctx, scope.OperatorID, d.ID)
	if err != nil {
		return viewNone, err
	}
	if ok {
		return ViewDesk, nil
	}
	return viewNone, nil
}

func present(d renterDoc, view string) Renter {
	r := d.toRenter()
	if r.TierStatus.Proof != nil {
		// The photo key is handed out only by ProofPhotoKey, which logs it.
		proof := *r.TierStatus.Proof
		proof.ProofPhotoKey = ""
		r.TierStatus.Proof = &proof
	}
	if view == ViewDesk {
		r.View = ViewDesk
		r.Address = ""
		r.UserID = ""
		r.TierStatus.Proof = nil
		r.IDMasked = strings.Repeat("*", 14) + d.IDTail
	}
	return r
}

// currentRenter returns the renter as its log's head says.
func (s *Service) currentRenter(ctx context.Context, id string) (renterDoc, error) {
	if id == "" {
		return renterDoc{}, fmt.Errorf("rentals: renter: %w", ErrNotFound)
	}
	d, err := s.renters.renter(ctx, id)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return renterDoc{}, err
	}
	head, herr := s.renterLg.Head(ctx, id, d.Seq)
	if herr != nil {
		return renterDoc{}, fmt.Errorf("rentals: %w", herr)
	}
	if head.Seq == 0 || head.Event.Kind == "abandoned" {
		return renterDoc{}, fmt.Errorf("rentals: renter %s: %w", id, ErrNotFound)
	}
	if head.Seq > d.Seq || err != nil {
		d = head.Event.Renter
		d.Seq = head.Seq
	}
	return d, nil
}

// visibleRenter returns the renter if scope may see it at all.
func (s *Service) visibleRenter(ctx context.Context, scope tenancy.Scope, id string) (renterDoc, string, error) {
	d, err := s.currentRenter(ctx, id)
	if err != nil {
		return renterDoc{}, viewNone, err
	}
	view, err := s.viewOf(ctx, scope, d)
	if err != nil {
		return renterDoc{}, viewNone, err
	}
	if view == viewNone {
		return renterDoc{}, viewNone, fmt.Errorf("rentals: renter %s: %w", id, ErrNotFound)
	}
	return d, view, nil
}

// RegisterRenter registers a renter at a desk of scope. The person (the
// keyed hash of the ID number, person.go) is claimed first, then the mobile
// number (renter_phones, _id = phone), so two desks registering the same
// person at once, under one phone number or two, cannot both succeed: the
// other gets ErrConflict, with the reason id_registered naming the station
// that holds the person's record, or phone_registered. The registration
// event follows, then the projection.
func (s *Service) RegisterRenter(ctx context.Context, scope tenancy.Scope, r Renter, by tenancy.Actor) (Renter, error) {
	if err := scope.MayChange(tenancy.ChangeOther); err != nil {
		return Renter{}, err
	}
	r.Name = strings.TrimSpace(r.Name)
	r.Phone = NormalizePhone(r.Phone)
	r.IDNumber = NormalizeIDNumber(r.IDNumber)
	r.EmergencyContact.Name = strings.TrimSpace(r.EmergencyContact.Name)
	r.EmergencyContact.Phone = NormalizePhone(r.EmergencyContact.Phone)
	r.Address = strings.TrimSpace(r.Address)
	if err := r.validate(); err != nil {
		return Renter{}, fmt.Errorf("rentals: renter: %w", err)
	}
	st, err := s.units.Station(ctx, r.HomeStationID)
	if errors.Is(err, stations.ErrNotFound) || err == nil && !scope.Station(st.OperatorID, st.ID) {
		return Renter{}, fmt.Errorf("rentals: station %s: %w", r.HomeStationID, ErrNotFound)
	}
	if err != nil {
		return Renter{}, fmt.Errorf("rentals: %w", err)
	}
	now := s.now()
	id := ids.New("r")
	person := s.personKey(r.IDNumber)
	d := renterDoc{
		ID: id, Name: r.Name, Phone: r.Phone, IDSealed: s.seal.seal(id, r.IDNumber),
		IDMasked: MaskIDNumber(r.IDNumber), IDTail: r.IDNumber[len(r.IDNumber)-4:], Person: person,
		Address: r.Address, Age: r.Age, MobilityNeeds: r.MobilityNeeds, EmergencyContact: r.EmergencyContact,
		HomeStationID: st.ID, HomeOperatorID: st.OperatorID, CreatedAt: now, CreatedBy: by, Seq: 1,
	}
	// The marker lists the claims, so the reconciler can release them if
	// the registration dies before its event.
	p, err := s.renterLg.BeginMany(ctx, id, []string{"phone:" + d.Phone, personMarker + person})
	if err != nil {
		return Renter{}, fmt.Errorf("rentals: %w", err)
	}
	if err := s.crashPoint("register:marked"); err != nil {
		return Renter{}, err
	}
	if err := s.claimPerson(ctx, person, id, st.ID); err != nil {
		if errors.Is(err, ErrConflict) {
			// Refused (or busy): this registration claimed nothing.
			_ = s.renterLg.Done(ctx, p)
		}
		// Any other failure may have written the claim: the marker stays,
		// and the reconciler lets it go.
		return Renter{}, err
	}
	if err := s.crashPoint("register:person"); err != nil {
		return Renter{}, err
	}
	if err := claim(ctx, s.renters.phones, d.Phone, id, now); err != nil {
		if !errors.Is(err, ErrConflict) {
			// The phone's claim may have been written: the marker stays,
			// and the reconciler lets go of both claims.
			return Renter{}, err
		}
		// Let the person go before the marker: a crash in between leaves
		// the release to the reconciler.
		if rerr := s.releasePerson(ctx, person, id, "phone already registered"); rerr != nil {
			return Renter{}, rerr
		}
		_ = s.renterLg.Done(ctx, p)
		return Renter{}, fmt.Errorf("rentals: phone %s is already registered to a renter (look it up by phone): %w", d.Phone, valid.Because(ErrConflict, "phone_registered"))
	}
	if err := s.crashPoint("register:claimed"); err != nil {
		return Renter{}, err
	}
	if _, err := s.renterLg.Append(ctx, id, 1, renterEvent{Kind: "registered", Renter: d, By: by}); err != nil {
		if errors.Is(err, eventlog.ErrTaken) {
			// The reconciler gave this registration up as abandoned, maybe
			// before this writer made its claims: they are let go.
			if err := s.releaseClaims(ctx, id, []string{"phone:" + d.Phone, personMarker + person}); err != nil {
				return Renter{}, err
			}
			return Renter{}, fmt.Errorf("rentals: registration of %s took too long and was abandoned; try again: %w", d.Phone, valid.Because(ErrConflict, "abandoned"))
		}
		return Renter{}, fmt.Errorf("rentals: %w", err)
	}
	if err := s.crashPoint("register:event"); err != nil {
		return Renter{}, err
	}
	if err := s.renters.put(ctx, d); err != nil {
		// The event is the truth; the reconciler writes the projection.
		s.logger.Warn("project renter", "renter", id, "err", err)
		return present(d, ViewFull), nil
	}
	if err := s.crashPoint("register:projected"); err != nil {
		return Renter{}, err
	}
	s.auditRenter(ctx, by, "renter.create", nil, present(d, ViewFull))
	if err := s.indexRenter(ctx, d.HomeOperatorID, d); err != nil {
		// The reconciler writes the search keys of a marked registration.
		s.logger.Warn("index renter", "renter", id, "err", err)
		return present(d, ViewFull), nil
	}
	_ = s.renterLg.Done(ctx, p)
	return present(d, ViewFull), nil
}

// Renter returns a renter scope may see, in the view scope gets.
func (s *Service) Renter(ctx context.Context, scope tenancy.Scope, id string) (Renter, error) {
	d, view, err := s.visibleRenter(ctx, scope, id)
	if err != nil {
		return Renter{}, err
	}
	return present(d, view), nil
}

// RenterByPhone finds a renter by exact mobile number: the desk's walk-in
// lookup. A desk of another operator gets the desk view, and from then on may
// serve the renter by id; the lookup is recorded in the access log.
func (s *Service) RenterByPhone(ctx context.Context, scope tenancy.Scope, phone string, by tenancy.Actor) (Renter, error) {
	if err := scope.MayChange(tenancy.ChangeOther); err != nil {
		return Renter{}, err
	}
	phone = NormalizePhone(phone)
	if !ValidMobile(phone) {
		return Renter{}, fmt.Errorf("rentals: %w", valid.Field("phone", "mobile", "must be a mainland mobile number such as 13812345678"))
	}
	c, err := claimed(ctx, s.renters.phones, phone)
	if errors.Is(err, ErrNotFound) {
		return Renter{}, fmt.Errorf("rentals: no renter with phone %s: %w", phone, ErrNotFound)
	}
	if err != nil {
		return Renter{}, err
	}
	d, err := s.currentRenter(ctx, c.RenterID)
	if err != nil {
		return Renter{}, fmt.Errorf("rentals: no renter with phone %s: %w", phone, ErrNotFound)
	}
	view, err := s.viewOf(ctx, scope, d)
	if err != nil {
		return Renter{}, err
	}
	if view == viewNone {
		if scope.OperatorID == "" {
			return Renter{}, fmt.Errorf("rentals: no renter with phone %s: %w", phone, ErrNotFound)
		}
		if err := s.logAccess(ctx, scope, d.ID, AccessDeskLink, "walk-in looked up by phone", by); err != nil {
			return Renter{}, err
		}
		if err := s.renters.link(ctx, linkDoc{ID: scope.OperatorID + "/" + d.ID, OperatorID: scope.OperatorID, RenterID: d.ID, At: s.now(), By: by}); err != nil {
			return Renter{}, err
		}
		// From now on this desk also finds the renter by name or ID tail.
		if err := s.indexRenter(ctx, scope.OperatorID, d); err != nil {
			s.logger.Warn("index linked renter", "renter", d.ID, "err", err)
		}
		view = ViewDesk
	}
	return present(d, view), nil
}

// RenterByUser returns the first renter linked to an online account, for
// the renter's own pages (the caller has authenticated userID).
func (s *Service) RenterByUser(ctx context.Context, userID string) (Renter, error) {
	linked, err := s.LinkedRenters(ctx, userID)
	if err != nil {
		return Renter{}, err
	}
	if len(linked) == 0 {
		return Renter{}, fmt.Errorf("rentals: no renter linked to user %s: %w", userID, ErrNotFound)
	}
	d, err := s.currentRenter(ctx, linked[0].ID)
	if err != nil {
		return Renter{}, err
	}
	return present(d, ViewFull), nil
}

// logAccess appends to the renter's access log; it must succeed before a
// protected field is shown.
func (s *Service) logAccess(ctx context.Context, scope tenancy.Scope, renterID, what, reason string, by tenancy.Actor) error {
	a := Access{RenterID: renterID, What: what, Reason: reason, By: by, OperatorID: scope.OperatorID}
	for range 20 {
		last, err := lastEntry(ctx, s.access, renterID)
		if err != nil {
			return fmt.Errorf("rentals: access log: %w", err)
		}
		_, err = s.access.Append(ctx, renterID, last.Seq+1, a)
		if errors.Is(err, eventlog.ErrTaken) {
			continue
		}
		if err != nil {
			return fmt.Errorf("rentals: access log: %w", err)
		}
		return nil
	}
	return fmt.Errorf("rentals: access log of %s is busy; try again: %w", renterID, valid.Because(ErrConflict, "busy"))
}

func checkReason(reason string) error {
	if n := textLen(strings.TrimSpace(reason)); n < 2 || n > 200 {
		return fmt.Errorf("rentals: %w", valid.Field("reason", "length", "say why you need it (2 to 200 characters)", "min", 2, "max", 200))
	}
	return nil
}

// RevealIDNumber returns a renter's ID number in clear, for scopes covering
// the renter's home station (and the platform). The access is logged first,
// with reason; without the log entry nothing is shown.
func (s *Service) RevealIDNumber(ctx context.Context, scope tenancy.Scope, renterID, reason string, by tenancy.Actor) (string, error) {
	if err := scope.MayChange(tenancy.ChangeOther); err != nil {
		return "", err
	}
	if err := checkReason(reason); err != nil {
		return "", err
	}
	d, err := s.currentRenter(ctx, renterID)
	if err != nil {
		return "", err
	}
	if !scope.Platform && !scope.Station(d.HomeOperatorID, d.HomeStationID) {
		return "", fmt.Errorf("rentals: renter %s's ID number is shown only at their home station: %w", renterID, ErrNotFound)
	}
	if err := s.logAccess(ctx, scope, renterID, AccessIDNumber, reason, by); err != nil {
		return "", err
	}
	return s.seal.open(renterID, d.IDSealed)
}

// ProofPhotoKey returns the private media key of the photo behind the
// renter's tier, for the home station's scope, the operator whose desk
// verified it, and the platform. The access is logged first.
func (s *Service) ProofPhotoKey(ctx context.Context, scope tenancy.Scope, renterID, reason string, by tenancy.Actor) (string, error) {
	if err := scope.MayChange(tenancy.ChangeOther); err != nil {
		return "", err
	}
	if err := checkReason(reason); err != nil {
		return "", err
	}
	d, err := s.currentRenter(ctx, renterID)
	if err != nil {
		return "", err
	}
	allowed := scope.Platform || scope.Station(d.HomeOperatorID, d.HomeStationID) ||
		d.Tier.VerifiedOperatorID != "" && scope.Operator(d.Tier.VerifiedOperatorID)
	if !allowed {
		return "", fmt.Errorf("rentals: renter %s's proof: %w", renterID, ErrNotFound)
	}
	if d.Tier.Proof == nil || d.Tier.Proof.ProofPhotoKey == "" {
		return "", fmt.Errorf("rentals: renter %s has no proof photo: %w", renterID, ErrNotFound)
	}
	if err := s.logAccess(ctx, scope, renterID, AccessProofPhoto, reason, by); err != nil {
		return "", err
	}
	return d.Tier.Proof.ProofPhotoKey, nil
}

// AccessLog returns who saw a renter's protected fields, oldest first, for
// scopes covering the home station.
func (s *Service) AccessLog(ctx context.Context, scope tenancy.Scope, renterID string) ([]Access, error) {
	d, err := s.currentRenter(ctx, renterID)
	if err != nil {
		return nil, err
	}
	if !scope.Platform && !scope.Station(d.HomeOperatorID, d.HomeStationID) {
		return nil, fmt.Errorf("rentals: renter %s: %w", renterID, ErrNotFound)
	}
	last, err := lastEntry(ctx, s.access, renterID)
	if err != nil {
		return nil, fmt.Errorf("rentals: %w", err)
	}
	entries, err := s.access.History(ctx, renterID, last.Seq)
	if err != nil {
		return nil, fmt.Errorf("rentals: %w", err)
	}
	out := make([]Access, len(entries))
	for i, e := range entries {
		out[i] = e.Event
		out[i].Seq, out[i].At = e.Seq, e.At
	}
	return out, nil
}

// mutateRenter applies edit to the renter's latest state and records it as
// the next event; racing writers retry on the new state.
func (s *Service) mutateRenter(ctx context.Context, id, kind, why string, by tenancy.Actor, edit func(*renterDoc) error) (renterDoc, error) {
	for range 5 {
		cur, err := s.currentRenter(ctx, id)
		if err != nil {
			return renterDoc{}, err
		}
		next := cur
		if err := edit(&next); err != nil {
			return renterDoc{}, err
		}
		next.Seq = cur.Seq + 1
		_, err = s.renterLg.Append(ctx, id, next.Seq, renterEvent{Kind: kind, Renter: next, By: by, Why: why})
		if errors.Is(err, eventlog.ErrTaken) {
			continue
		}
		if err != nil {
			return renterDoc{}, fmt.Errorf("rentals: %w", err)
		}
		if err := s.renters.put(ctx, next); err != nil {
			s.logger.Warn("project renter", "renter", id, "err", err)
		}
		return next, nil
	}
	return renterDoc{}, fmt.Errorf("rentals: renter %s is being changed by others; try again: %w", id, valid.Because(ErrConflict, "busy"))
}

// VerifyTier records that staff saw proof of the renter's income tier. Every
// change is an event of the renter's log, so the tier's history is kept.
func (s *Service) VerifyTier(ctx context.Context, scope tenancy.Scope, renterID string, p TierProof, by tenancy.Actor) (Renter, error) {
	if err := scope.MayChange(tenancy.ChangeOther); err != nil {
		return Renter{}, err
	}
	cur, view, err := s.visibleRenter(ctx, scope, renterID)
	if err != nil {
		return Renter{}, err
	}
	p.ProofNumber = strings.TrimSpace(p.ProofNumber)
	now := s.now()
	if err := p.validate(now); err != nil {
		return Renter{}, fmt.Errorf("rentals: tier proof: %w", err)
	}
	d, err := s.mutateRenter(ctx, renterID, "tier_verified", string(p.Tier), by, func(d *renterDoc) error {
		proof := p
		d.Tier = TierStatus{Tier: p.Tier, ExpiresOn: p.ExpiresOn, Proof: &proof, VerifiedAt: now, VerifiedBy: by, VerifiedOperatorID: scope.OperatorID}
		return nil
	})
	if err != nil {
		return Renter{}, err
	}
	before := present(cur, ViewFull)
	s.auditRenter(ctx, by, "renter.tier", &before, present(d, ViewFull), "proof")
	return present(d, view), nil
}

// RevokeTier ends the renter's verified tier now (a proof found false, a
// change of circumstances); later leases are priced at standard.
func (s *Service) RevokeTier(ctx context.Context, scope tenancy.Scope, renterID, reason string, by tenancy.Actor) (Renter, error) {
	if err := scope.MayChange(tenancy.ChangeOther); err != nil {
		return Renter{}, err
	}
	if err := checkReason(reason); err != nil {
		return Renter{}, err
	}
	cur, view, err := s.visibleRenter(ctx, scope, renterID)
	if err != nil {
		return Renter{}, err
	}
	now := s.now()
	d, err := s.mutateRenter(ctx, renterID, "tier_revoked", reason, by, func(d *renterDoc) error {
		if d.Tier.Tier == "" {
			return fmt.Errorf("rentals: renter %s has no verified tier to revoke: %w", renterID, valid.Because(ErrConflict, "no_tier"))
		}
		d.Tier = TierStatus{VerifiedAt: now, VerifiedBy: by, VerifiedOperatorID: scope.OperatorID}
		return nil
	})
	if err != nil {
		return Renter{}, err
	}
	before := present(cur, ViewFull)
	s.auditRenter(ctx, by, "renter.tier_revoke", &before, present(d, ViewFull), "proof")
	return present(d, view), nil
}

// TierChange is one entry of a renter's tier history.
type TierChange struct {
	Seq  int64         `json:"seq"`
	At   time.Time     `json:"at"`
	Kind string        `json:"kind"` // tier_verified, tier_revoked
	Tier Tier          `json:"tier,omitempty"`
	Exp  string        `json:"expires_on,omitempty"`
	By   tenancy.Actor `json:"by"`
	Why  string        `json:"why,omitempty"`
}

// TierHistory lists every tier verification and revocation of a renter.
func (s *Service) TierHistory(ctx context.Context, scope tenancy.Scope, renterID string) ([]TierChange, error) {
	d, _, err := s.visibleRenter(ctx, scope, renterID)
	if err != nil {
		return nil, err
	}
	entries, err := s.renterLg.History(ctx, renterID, d.Seq)
	if err != nil {
		return nil, fmt.Errorf("rentals: %w", err)
	}
	var out []TierChange
	for _, e := range entries {
		if e.Event.Kind != "tier_verified" && e.Event.Kind != "tier_revoked" {
			continue
		}
		out = append(out, TierChange{Seq: e.Seq, At: e.At, Kind: e.Event.Kind, Tier: e.Event.Renter.Tier.Tier,
			Exp: e.Event.Renter.Tier.ExpiresOn, By: e.Event.By, Why: e.Event.Why})
	}
	return out, nil
}

// LinkAccount joins a renter to the online account userID, for a desk of
// scope: only the renter's home operator, which sees the renter in full, may
// (the desk has checked the code on the account's page first).
func (s *Service) LinkAccount(ctx context.Context, scope tenancy.Scope, renterID, userID string, by tenancy.Actor) (Renter, error) {
	if err := scope.MayChange(tenancy.ChangeOther); err != nil {
		return Renter{}, err
	}
	r, err := s.Renter(ctx, scope, renterID)
	if err != nil {
		return Renter{}, err
	}
	if r.View != ViewFull {
		return Renter{}, fmt.Errorf("rentals: renter %s is not this operator's to link: %w", renterID, ErrForbidden)
	}
	return s.LinkUser(ctx, renterID, userID, by)
}

// LinkUser links an online account to a renter (after the web layer checked
// the account holder controls the account). A renter has at most one
// account; an account may look after several renters (family.go). Linking
// the same pair again is a no-op.
//
// The account's log is written first and the renter's record second: two
// accounts racing for one renter both write their log, and the renter's log
// decides which link counts (LinkedRenters checks the renter's side).
func (s *Service) LinkUser(ctx context.Context, renterID, userID string, by tenancy.Actor) (Renter, error) {
	if userID == "" || len(userID) > 100 {
		return Renter{}, fmt.Errorf("rentals: %w", valid.Field("user_id", "required", "is required"))
	}
	d, err := s.currentRenter(ctx, renterID)
	if err != nil {
		return Renter{}, err
	}
	if d.UserID != "" && d.UserID != userID {
		return Renter{}, fmt.Errorf("rentals: renter %s is already linked to another account: %w", renterID, valid.Because(ErrConflict, "account_linked"))
	}
	if err := s.recordAccountLink(ctx, userID, renterID); err != nil {
		return Renter{}, err
	}
	if d.UserID == userID {
		return present(d, ViewFull), nil
	}
	d, err = s.mutateRenter(ctx, renterID, "user_linked", "", by, func(d *renterDoc) error {
		if d.UserID != "" && d.UserID != userID {
			return fmt.Errorf("rentals: renter %s is already linked to another account: %w", renterID, valid.Because(ErrConflict, "account_linked"))
		}
		d.UserID = userID
		return nil
	})
	if err != nil {
		return Renter{}, err
	}
	s.writeAudit(ctx, by, d.HomeOperatorID, "renter.link_account", "renter/"+renterID,
		audit.Diff(nil, map[string]string{"user_id": userID}))
	return present(d, ViewFull), nil
}
