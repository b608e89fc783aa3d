package rentals

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"fuju/internal/audit"
	"fuju/internal/eventlog"
	"fuju/internal/ids"
	"fuju/internal/l10n"
	"fuju/internal/tenancy"
	"fuju/internal/valid"
)

// Online tier applications. A family applies, from its account, for the
// tier of a renter linked to the account (itself or the elder it cares for),
// with the proof's number, expiry and 1–3 photos kept in private storage.
// The renter's home operator reviews the queue, oldest first, and approves
// with an expiry date — which writes the same tier record as the desk's
// VerifyTier, so quotes and the yearly cap see it at once — or rejects with a
// reason. The family sees the outcome and may apply again.
//
// Each application has an append-only log ("tier_application", the
// transition pattern): submitted, then exactly one of approved, rejected or
// withdrawn (two reviewers racing append the same event id: one wins). What
// follows a decision — the tier written to the renter, the message to the
// family, the projection, the end of the renter's open claim — is finished
// from the log, by the decider or by ReconcileTierApplications after a crash,
// and each step is done once: the tier event is found by its reason
// ("application/<id>"), the message by its id in the outbox.
//
// Storage:
//
//	tier_applications  _id = application id   the projection every list reads
//	tier_app_open      _id = renter id         the one open application of a
//	                                           renter (the insert that makes it
//	                                           exclusive) and the review queue

// Application states.
const (
	AppSubmitted = "submitted"
	AppApproved  = "approved"
	AppRejected  = "rejected"
	AppWithdrawn = "withdrawn"
)

// Application limits.
const (
	// MaxApplicationPhotos is how many photos of the proof an application
	// carries at most (at least one).
	MaxApplicationPhotos = valid.MaxTierPhotos
	// MaxApplicationPhotoBytes is the largest photo accepted (the media
	// pipeline's own limit).
	MaxApplicationPhotoBytes = 10 << 20
)

// RejectReasons are the reasons a reviewer picks from; "other" needs a note.
var RejectReasons = []string{"unreadable", "proof_expired", "mismatch", "not_eligible", "other"}

// TierApplication is one application as the family and the reviewer see it.
// The photos' keys never leave the service: a reviewer gets a short-lived
// signed URL per photo (ApplicationPhotoKey), and every access is logged.
type TierApplication struct {
	ID          string `json:"id"`
	UserID      string `json:"-"`
	RenterID    string `json:"renter_id"`
	RenterName  string `json:"renter_name"`
	OperatorID  string `json:"operator_id"`
	StationID   string `json:"station_id"`
	Tier        Tier   `json:"tier"`
	ProofType   string `json:"proof_type"`
	ProofNumber string `json:"proof_number"`
	// ExpiresOn is the proof's expiry as the family typed it.
	ExpiresOn  string   `json:"expires_on"`
	PhotoCount int      `json:"photo_count"`
	PhotoKeys  []string `json:"-"`
	State      string   `json:"state"`
	// Reason and Note say why it was rejected.
	Reason string `json:"reason,omitempty"`
	Note   string `json:"note,omitempty"`
	// TierExpiresOn is the expiry the reviewer approved the tier until.
	TierExpiresOn string        `json:"tier_expires_on,omitempty"`
	SubmittedAt   time.Time     `json:"submitted_at"`
	DecidedAt     *time.Time    `json:"decided_at,omitempty"`
	DecidedBy     tenancy.Actor `json:"-"`
	Seq           int64         `json:"seq"`
}

// NewTierApplication is what a family fills in.
type NewTierApplication struct {
	RenterID    string
	Tier        Tier
	ProofType   string
	ProofNumber string
	ExpiresOn   string
}

// TierNotice is a message about a tier the wiring sends through the outbox:
// Kind is tier_approved, tier_rejected or tier_expiring; Event makes it
// once per occasion and renter.
type TierNotice struct {
	Event    string
	Kind     string
	RenterID string
	// UserID is the account that looks after the renter ("" when none):
	// the message is written in the language that family uses.
	UserID     string
	Phone      string
	OperatorID string
	StationID  string
	Tier       Tier
	Date       string
	Days       int
	Note       string
}

// UseTierNotifier sets how tier messages are sent (cmd wires the outbox);
// nil sends none.
func (s *Service) UseTierNotifier(f func(ctx context.Context, n TierNotice) error) { s.tierNotify = f }

type appEvent struct {
	Kind string `bson:"kind"` // submitted, approved, rejected, withdrawn
	// App is the application as submitted (on "submitted").
	App       *appDoc       `bson:"app,omitempty"`
	ExpiresOn string        `bson:"expires_on,omitempty"`
	Reason    string        `bson:"reason,omitempty"`
	Note      string        `bson:"note,omitempty"`
	By        tenancy.Actor `bson:"by"`
	At        time.Time     `bson:"at"`
}

type appDoc struct {
	ID            string        `bson:"_id"`
	UserID        string        `bson:"user_id"`
	RenterID      string        `bson:"renter_id"`
	RenterName    string        `bson:"renter_name"`
	OperatorID    string        `bson:"operator_id"`
	StationID     string        `bson:"station_id"`
	Tier          Tier          `bson:"tier"`
	ProofType     string        `bson:"proof_type"`
	ProofNumber   string        `bson:"proof_number"`
	ExpiresOn     string        `bson:"expires_on"`
	PhotoKeys     []string      `bson:"photo_keys"`
	State         string        `bson:"state"`
	Reason        string        `bson:"reason,omitempty"`
	Note          string        `bson:"note,omitempty"`
	TierExpiresOn string        `bson:"tier_expires_on,omitempty"`
	SubmittedAt   time.Time     `bson:"submitted_at"`
	DecidedAt     time.Time     `bson:"decided_at,omitempty"`
	DecidedBy     tenancy.Actor `bson:"decided_by"`
	Seq           int64         `bson:"seq"`
}

func (d appDoc) view() TierApplication {
	a := TierApplication{ID: d.ID, UserID: d.UserID, RenterID: d.RenterID, RenterName: d.RenterName, OperatorID: d.OperatorID,
		StationID: d.StationID, Tier: d.Tier, ProofType: d.ProofType, ProofNumber: d.ProofNumber, ExpiresOn: d.ExpiresOn,
		PhotoCount: len(d.PhotoKeys), PhotoKeys: d.PhotoKeys, State: d.State, Reason: d.Reason, Note: d.Note,
		TierExpiresOn: d.TierExpiresOn, SubmittedAt: d.SubmittedAt, DecidedBy: d.DecidedBy, Seq: d.Seq}
	if !d.DecidedAt.IsZero() {
		at := d.DecidedAt
		a.DecidedAt = &at
	}
	return a
}

// openAppDoc is a renter's one open application: the claim and a queue entry.
type openAppDoc struct {
	ID          string    `bson:"_id"` // renter id
	AppID       string    `bson:"app_id"`
	OperatorID  string    `bson:"operator_id"`
	StationID   string    `bson:"station_id"`
	SubmittedAt time.Time `bson:"submitted_at"`
}

// fold applies the log's events to the application.
func (d appDoc) fold(e eventlog.Entry[appEvent]) appDoc {
	ev := e.Event
	switch ev.Kind {
	case "submitted":
		if ev.App != nil {
			d = *ev.App
		}
	case AppApproved:
		d.State, d.TierExpiresOn, d.DecidedAt, d.DecidedBy = AppApproved, ev.ExpiresOn, ev.At, ev.By
	case AppRejected:
		d.State, d.Reason, d.Note, d.DecidedAt, d.DecidedBy = AppRejected, ev.Reason, ev.Note, ev.At, ev.By
	case AppWithdrawn:
		d.State, d.DecidedAt, d.DecidedBy = AppWithdrawn, ev.At, ev.By
	}
	d.Seq = e.Seq
	return d
}

// appFromLog rebuilds an application from its log (the truth); ErrNotFound
// when it has no events.
func (s *Service) appFromLog(ctx context.Context, id string) (appDoc, error) {
	head, err := s.appLg.Head(ctx, id, 0)
	if err != nil {
		return appDoc{}, fmt.Errorf("rentals: %w", err)
	}
	if head.Seq == 0 {
		return appDoc{}, fmt.Errorf("rentals: tier application %s: %w", id, ErrNotFound)
	}
	hist, err := s.appLg.History(ctx, id, head.Seq)
	if err != nil {
		return appDoc{}, fmt.Errorf("rentals: %w", err)
	}
	var d appDoc
	for _, e := range hist {
		d = d.fold(e)
	}
	return d, nil
}

func (in NewTierApplication) validate(today time.Time, photos [][]byte) error {
	e := &valid.Error{}
	if in.RenterID == "" {
		e.Add("renter_id", "required", "is required")
	}
	p := TierProof{Tier: in.Tier, ProofType: in.ProofType, ProofNumber: in.ProofNumber, ExpiresOn: in.ExpiresOn, ProofPhotoKey: "p/pending.jpg"}
	if err := p.validate(today); err != nil {
		f, _ := valid.Fields(err)
		for k, v := range f {
			e.Put(k, v)
		}
	}
	switch {
	case len(photos) == 0:
		e.Add("photos", "required", "a photo of the proof is required")
	case len(photos) > MaxApplicationPhotos:
		e.Add("photos", "max_photos", fmt.Sprintf("at most %d photos", MaxApplicationPhotos), "max", MaxApplicationPhotos)
	default:
		for _, ph := range photos {
			if len(ph) > MaxApplicationPhotoBytes {
				e.Add("photos", "photo_too_large", fmt.Sprintf("each photo must be at most %d MB", MaxApplicationPhotoBytes>>20), "max_mb", MaxApplicationPhotoBytes>>20)
				break
			}
			if len(ph) == 0 {
				e.Add("photos", "required", "a photo is empty")
				break
			}
		}
	}
	return e.Err()
}

// SubmitTierApplication records userID's application for one of the
// account's renters. Every field and the photos' count and sizes are checked
// before anything is written; the renter's open claim is made next (a second
// open application for the renter is ErrConflict, reason
// application_pending), then the photos are stored (a refused photo
// releases the claim: nothing is left), then the submitted event.
func (s *Service) SubmitTierApplication(ctx context.Context, userID string, in NewTierApplication, photos [][]byte, by tenancy.Actor) (TierApplication, error) {
	in.ProofNumber = strings.TrimSpace(in.ProofNumber)
	now := s.now()
	if err := in.validate(now, photos); err != nil {
		return TierApplication{}, fmt.Errorf("rentals: tier application: %w", err)
	}
	linked, err := s.LinkedRenters(ctx, userID)
	if err != nil {
		return TierApplication{}, err
	}
	if !slices.ContainsFunc(linked, func(r LinkedRenter) bool { return r.ID == in.RenterID }) {
		return TierApplication{}, fmt.Errorf("rentals: %w", valid.Field("renter_id", "not_found", "is not a renter of this account"))
	}
	r, err := s.currentRenter(ctx, in.RenterID)
	if err != nil {
		return TierApplication{}, err
	}
	if s.proofs == nil {
		return TierApplication{}, fmt.Errorf("rentals: tier application: no proof store is set")
	}
	d := appDoc{ID: ids.New("ta"), UserID: userID, RenterID: r.ID, RenterName: MaskName(r.Name),
		OperatorID: r.HomeOperatorID, StationID: r.HomeStationID, Tier: in.Tier, ProofType: in.ProofType,
		ProofNumber: in.ProofNumber, ExpiresOn: in.ExpiresOn, State: AppSubmitted, SubmittedAt: now}
	if err := s.apps.claimOpen(ctx, openAppDoc{ID: r.ID, AppID: d.ID, OperatorID: d.OperatorID, StationID: d.StationID, SubmittedAt: now}); err != nil {
		if errors.Is(err, ErrConflict) {
			return TierApplication{}, fmt.Errorf("rentals: renter %s has an application under review: %w", r.ID,
				valid.Because(ErrConflict, "application_pending"))
		}
		return TierApplication{}, err
	}
	release := func() { _ = s.apps.releaseOpen(context.WithoutCancel(ctx), r.ID, d.ID) }
	if err := s.crashPoint("apply:claimed"); err != nil {
		return TierApplication{}, err
	}
	for _, ph := range photos {
		key, err := s.proofs.SaveProof(ctx, ph)
		if err != nil {
			release()
			return TierApplication{}, err
		}
		d.PhotoKeys = append(d.PhotoKeys, key)
	}
	app := d
	if _, err := s.appLg.Append(ctx, d.ID, 1, appEvent{Kind: "submitted", App: &app, By: by, At: now}); err != nil {
		release()
		return TierApplication{}, fmt.Errorf("rentals: %w", err)
	}
	d.Seq = 1
	if err := s.apps.put(ctx, d); err != nil {
		s.logger.Warn("project tier application", "application", d.ID, "err", err)
	}
	s.writeAudit(ctx, by, d.OperatorID, "tier_application.submit", "tier_application/"+d.ID,
		append(audit.Diff(nil, map[string]any{"tier": string(d.Tier), "renter_id": d.RenterID, "photos": len(d.PhotoKeys)}),
			audit.Fields("proof_type", "proof_number", "expires_on")...))
	return d.view(), nil
}

// TierApplications lists userID's applications, newest first.
func (s *Service) TierApplications(ctx context.Context, userID string) ([]TierApplication, error) {
	docs, err := s.apps.byUser(ctx, userID)
	if err != nil {
		return nil, err
	}
	out := make([]TierApplication, 0, len(docs))
	for _, d := range docs {
		out = append(out, d.view())
	}
	slices.SortFunc(out, func(a, b TierApplication) int { return b.SubmittedAt.Compare(a.SubmittedAt) })
	return out, nil
}

// ReviewQueue lists the applications waiting for scope's operator (the
// platform: every operator's), oldest first.
func (s *Service) ReviewQueue(ctx context.Context, scope tenancy.Scope) ([]TierApplication, error) {
	open, err := s.apps.openFor(ctx, scope.OperatorID)
	if err != nil {
		return nil, err
	}
	out := make([]TierApplication, 0, len(open))
	for _, o := range open {
		if !scope.Operator(o.OperatorID) {
			continue
		}
		d, err := s.apps.get(ctx, o.AppID)
		if errors.Is(err, ErrNotFound) {
			continue // claimed, not yet submitted (or abandoned)
		}
		if err != nil {
			return nil, err
		}
		if d.State == AppSubmitted {
			out = append(out, d.view())
		}
	}
	slices.SortFunc(out, func(a, b TierApplication) int { return a.SubmittedAt.Compare(b.SubmittedAt) })
	return out, nil
}

// ReviewCount is how many applications wait for scope's operator.
func (s *Service) ReviewCount(ctx context.Context, scope tenancy.Scope) (int, error) {
	q, err := s.ReviewQueue(ctx, scope)
	return len(q), err
}

// TierApplication returns one application scope's operator reviews, or one
// of userID's own (scope zero); anything else is ErrNotFound.
func (s *Service) TierApplication(ctx context.Context, scope tenancy.Scope, userID, id string) (TierApplication, error) {
	d, err := s.apps.get(ctx, id)
	if errors.Is(err, ErrNotFound) {
		// The projection may lag its log (a crash): the log decides.
		d, err = s.appFromLog(ctx, id)
	}
	if err != nil {
		return TierApplication{}, err
	}
	if userID != "" && d.UserID != userID || userID == "" && (d.OperatorID == "" || !scope.Operator(d.OperatorID)) {
		return TierApplication{}, fmt.Errorf("rentals: tier application %s: %w", id, ErrNotFound)
	}
	return d.view(), nil
}

// ApplicationPhotoKey returns the private key of photo n (0-based) of an
// application scope's operator reviews, after logging the access in the
// renter's access log; the web layer turns it into a short-lived signed URL.
func (s *Service) ApplicationPhotoKey(ctx context.Context, scope tenancy.Scope, id string, n int, by tenancy.Actor) (string, error) {
	a, err := s.TierApplication(ctx, scope, "", id)
	if err != nil {
		return "", err
	}
	if n < 0 || n >= len(a.PhotoKeys) {
		return "", fmt.Errorf("rentals: tier application %s photo %d: %w", id, n, ErrNotFound)
	}
	if err := s.logAccess(ctx, scope, a.RenterID, "application_photo", "review tier application "+id, by); err != nil {
		return "", err
	}
	return a.PhotoKeys[n], nil
}

// decide appends a decision to a submitted application scope reviews.
func (s *Service) decide(ctx context.Context, scope tenancy.Scope, userID, id string, ev appEvent) (appDoc, error) {
	if scope.OperatorID != "" || scope.Platform {
		if err := scope.MayChange(tenancy.ChangeOther); err != nil {
			return appDoc{}, err
		}
	}
	if _, err := s.TierApplication(ctx, scope, userID, id); err != nil {
		return appDoc{}, err
	}
	for range 5 {
		d, err := s.appFromLog(ctx, id)
		if err != nil {
			return appDoc{}, err
		}
		if d.State != AppSubmitted {
			if d.State == ev.Kind && (ev.Kind != AppApproved || d.TierExpiresOn == ev.ExpiresOn) {
				return d, nil // the same decision again (a retry): finish it
			}
			return appDoc{}, fmt.Errorf("rentals: tier application %s is %s: %w", id, d.State, decidedAlready(d.State))
		}
		e, err := s.appLg.Append(ctx, id, d.Seq+1, ev)
		if errors.Is(err, eventlog.ErrTaken) {
			continue
		}
		if err != nil {
			return appDoc{}, fmt.Errorf("rentals: %w", err)
		}
		return d.fold(e), nil
	}
	return appDoc{}, fmt.Errorf("rentals: tier application %s is busy; try again: %w", id, valid.Because(ErrConflict, "busy"))
}

// decidedAlready is the conflict of acting on an application that is no
// longer under review.
func decidedAlready(state string) error {
	switch state {
	case AppApproved:
		return valid.Because(ErrConflict, "application_approved")
	case AppRejected:
		return valid.Because(ErrConflict, "application_rejected")
	}
	return valid.Because(ErrConflict, "application_withdrawn")
}

// ApproveTierApplication approves an application scope's operator reviews,
// with the tier valid until expiresOn, and records the tier on the renter as
// the desk's VerifyTier does.
func (s *Service) ApproveTierApplication(ctx context.Context, scope tenancy.Scope, id, expiresOn string, by tenancy.Actor) (TierApplication, error) {
	cur, err := s.TierApplication(ctx, scope, "", id)
	if err != nil {
		return TierApplication{}, err
	}
	p := TierProof{Tier: cur.Tier, ProofType: cur.ProofType, ProofNumber: cur.ProofNumber, ExpiresOn: expiresOn, ProofPhotoKey: "p/pending.jpg"}
	if err := p.validate(s.now()); err != nil {
		return TierApplication{}, fmt.Errorf("rentals: approve: %w", err)
	}
	d, err := s.decide(ctx, scope, "", id, appEvent{Kind: AppApproved, ExpiresOn: expiresOn, By: by, At: s.now()})
	if err != nil {
		return TierApplication{}, err
	}
	if err := s.crashPoint("approve:decided"); err != nil {
		return TierApplication{}, err
	}
	if err := s.finishApplication(ctx, d); err != nil {
		return TierApplication{}, err
	}
	s.writeAudit(ctx, by, d.OperatorID, "tier_application.approve", "tier_application/"+d.ID,
		audit.Diff(map[string]string{"state": AppSubmitted}, map[string]string{"state": AppApproved, "tier": string(d.Tier),
			"tier_expires_on": expiresOn, "renter_id": d.RenterID}))
	return d.view(), nil
}

// RejectTierApplication rejects an application with a reason from
// RejectReasons and an optional note (required for "other") the family sees.
func (s *Service) RejectTierApplication(ctx context.Context, scope tenancy.Scope, id, reason, note string, by tenancy.Actor) (TierApplication, error) {
	note = strings.TrimSpace(note)
	e := &valid.Error{}
	if !slices.Contains(RejectReasons, reason) {
		e.Add("reason", "oneof", "must be one of: "+strings.Join(RejectReasons, ", "))
	}
	if reason == "other" && note == "" {
		e.Add("note", "required", "say why when the reason is other")
	}
	e.Text("note", note, 100)
	if anyMobileInText.MatchString(note) {
		e.Add("note", "no_phone", "must not contain a phone number")
	}
	if err := e.Err(); err != nil {
		return TierApplication{}, fmt.Errorf("rentals: reject: %w", err)
	}
	d, err := s.decide(ctx, scope, "", id, appEvent{Kind: AppRejected, Reason: reason, Note: note, By: by, At: s.now()})
	if err != nil {
		return TierApplication{}, err
	}
	if err := s.finishApplication(ctx, d); err != nil {
		return TierApplication{}, err
	}
	s.writeAudit(ctx, by, d.OperatorID, "tier_application.reject", "tier_application/"+d.ID,
		append(audit.Diff(map[string]string{"state": AppSubmitted}, map[string]string{"state": AppRejected, "reason": reason}), audit.Fields("note")...))
	return d.view(), nil
}

// WithdrawTierApplication withdraws one of userID's submitted applications.
func (s *Service) WithdrawTierApplication(ctx context.Context, userID, id string, by tenancy.Actor) (TierApplication, error) {
	d, err := s.decide(ctx, tenancy.Scope{}, userID, id, appEvent{Kind: AppWithdrawn, By: by, At: s.now()})
	if err != nil {
		return TierApplication{}, err
	}
	if err := s.finishApplication(ctx, d); err != nil {
		return TierApplication{}, err
	}
	s.writeAudit(ctx, by, d.OperatorID, "tier_application.withdraw", "tier_application/"+d.ID,
		audit.Diff(map[string]string{"state": AppSubmitted}, map[string]string{"state": AppWithdrawn}))
	return d.view(), nil
}

// finishApplication does what follows a decision, each step once: the tier
// on the renter (approved), the message to the family, the projection, and
// last the end of the renter's open claim, whose presence tells the
// reconciler the work is not done.
func (s *Service) finishApplication(ctx context.Context, d appDoc) error {
	if d.State == AppApproved {
		if err := s.recordApprovedTier(ctx, d); err != nil {
			return err
		}
		if err := s.crashPoint("approve:tier"); err != nil {
			return err
		}
	}
	if d.State == AppApproved || d.State == AppRejected {
		if err := s.notifyDecision(ctx, d); err != nil {
			return err
		}
		if err := s.crashPoint("approve:notified"); err != nil {
			return err
		}
	}
	if err := s.apps.put(ctx, d); err != nil {
		return err
	}
	return s.apps.releaseOpen(ctx, d.RenterID, d.ID)
}

// recordApprovedTier writes the tier on the renter as VerifyTier does,
// unless this application's event is there already.
func (s *Service) recordApprovedTier(ctx context.Context, d appDoc) error {
	why := "application/" + d.ID
	cur, err := s.currentRenter(ctx, d.RenterID)
	if err != nil {
		return err
	}
	hist, err := s.renterLg.History(ctx, d.RenterID, cur.Seq)
	if err != nil {
		return fmt.Errorf("rentals: %w", err)
	}
	for _, e := range hist {
		if e.Event.Kind == "tier_verified" && e.Event.Why == why {
			return nil
		}
	}
	key := ""
	if len(d.PhotoKeys) > 0 {
		key = d.PhotoKeys[0]
	}
	proof := TierProof{Tier: d.Tier, ProofType: d.ProofType, ProofNumber: d.ProofNumber, ProofPhotoKey: key, ExpiresOn: d.TierExpiresOn,
		Note: "online application " + d.ID}
	_, err = s.mutateRenter(ctx, d.RenterID, "tier_verified", why, d.DecidedBy, func(r *renterDoc) error {
		if r.Tier.Proof != nil && r.Tier.Proof.Note == proof.Note {
			// Another finisher recorded it between the history read and
			// now (mutateRenter decides on the latest state).
			return errRecorded
		}
		p := proof
		r.Tier = TierStatus{Tier: d.Tier, ExpiresOn: d.TierExpiresOn, Proof: &p, VerifiedAt: d.DecidedAt, VerifiedBy: d.DecidedBy,
			VerifiedOperatorID: d.OperatorID}
		return nil
	})
	if errors.Is(err, errRecorded) {
		return nil
	}
	// The approval's audit entry (tier_application.approve) names the tier.
	return err
}

var errRecorded = errors.New("rentals: tier already recorded")

func (s *Service) notifyDecision(ctx context.Context, d appDoc) error {
	if s.tierNotify == nil {
		return nil
	}
	r, err := s.currentRenter(ctx, d.RenterID)
	if err != nil {
		return err
	}
	n := TierNotice{Event: "tier-application/" + d.ID + "/" + d.State, RenterID: d.RenterID, UserID: cmp.Or(d.UserID, r.UserID), Phone: r.Phone,
		OperatorID: d.OperatorID, StationID: d.StationID, Tier: d.Tier}
	if d.State == AppApproved {
		n.Kind, n.Date = "tier_approved", d.TierExpiresOn
	} else {
		n.Kind, n.Note = "tier_rejected", d.Note
	}
	if err := s.tierNotify(ctx, n); err != nil {
		return fmt.Errorf("rentals: tell the family: %w", err)
	}
	return nil
}

// ReconcileTierApplications finishes decisions a crash interrupted and lets
// go of open claims whose application was never submitted (older than age).
// Safe on several instances: every step is done once.
func (s *Service) ReconcileTierApplications(ctx context.Context, age time.Duration) (int, error) {
	open, err := s.apps.openFor(ctx, "")
	if err != nil {
		return 0, err
	}
	fixed := 0
	for _, o := range open {
		d, err := s.appFromLog(ctx, o.AppID)
		switch {
		case errors.Is(err, ErrNotFound):
			if s.now().Sub(o.SubmittedAt) > age {
				if err := s.apps.releaseOpen(ctx, o.ID, o.AppID); err != nil {
					return fixed, err
				}
				fixed++
			}
			continue
		case err != nil:
			return fixed, err
		}
		if d.State == AppSubmitted {
			if p, err := s.apps.get(ctx, d.ID); errors.Is(err, ErrNotFound) || err == nil && p.Seq < d.Seq {
				if err := s.apps.put(ctx, d); err != nil {
					return fixed, err
				}
				fixed++
			}
			continue
		}
		if err := s.finishApplication(ctx, d); err != nil {
			return fixed, err
		}
		fixed++
	}
	return fixed, nil
}

// RemindTierExpiring tells the renters whose verified tier ends within 30
// days, once per tier and expiry date (the message's id says so), and
// returns how many were told.
func (s *Service) RemindTierExpiring(ctx context.Context) (int, error) {
	if s.tierNotify == nil {
		return 0, nil
	}
	docs, err := s.renters.withTier(ctx)
	if err != nil {
		return 0, err
	}
	today := s.now().In(l10n.Local)
	n := 0
	for _, d := range docs {
		if d.Tier.Tier == "" || d.Tier.ExpiresOn < Date(today) {
			continue
		}
		days := daysBetween(Date(today), d.Tier.ExpiresOn)
		if days > 30 {
			continue
		}
		err := s.tierNotify(ctx, TierNotice{Event: "renter/" + d.ID + "/tier-expiring/" + d.Tier.ExpiresOn, Kind: "tier_expiring",
			RenterID: d.ID, UserID: d.UserID, Phone: d.Phone, OperatorID: d.HomeOperatorID, StationID: d.HomeStationID,
			Tier: d.Tier.Tier, Date: d.Tier.ExpiresOn, Days: days})
		if err != nil {
			return n, fmt.Errorf("rentals: tier expiring: %w", err)
		}
		n++
	}
	return n, nil
}
