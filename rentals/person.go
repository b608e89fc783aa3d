package rentals

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"fuju/internal/eventlog"
	"fuju/internal/input"
	"fuju/internal/valid"
)

// One person, one record, one cap.
//
// A person is their resident ID number. The service never stores it in clear
// (it is sealed in the renter's record), so a person is named by a keyed hash
// of the normalised number, the person key: "p-" and 32 hex characters of
// HMAC-SHA256 under a sub-key derived from the ID number key (FUJU_ID_KEY)
// for this purpose only ("fuju person key v1"). Without that key the hash
// cannot be recomputed from a guessed ID number.
//
// The person key is claimed when a renter registers: the "person" log (one
// per person key) records which renter record holds the person ("claimed")
// and, for a registration that never finished, that it let go
// ("released"). Two desks registering the same ID number at once append the
// same sequence number and one wins; the other gets ErrConflict with the
// reason id_registered, naming the station that holds the record, and
// nothing of the person who holds it. The claim is the first write after the
// registration's pending marker, which names it, so the reconciler releases
// it when the registration dies before its event, or keeps it when the event
// was written.
//
// The yearly subsidy total is kept per person ("<person key>-<year>", see
// subsidy.go), so a second record of the same person — registered before
// claims existed — draws on the same cap. See backfillPeople for records
// and totals from before.

// personEvent is one entry of a person's log.
type personEvent struct {
	Kind      string `bson:"kind"` // claimed, released
	RenterID  string `bson:"renter_id"`
	StationID string `bson:"station_id"`
	Why       string `bson:"why,omitempty"`
}

// Kinds of person events.
const (
	personClaimed  = "claimed"
	personReleased = "released"
)

// personPrefix starts every person key; per-record subsidy logs from before
// person keys start with the renter id ("r-…").
const personPrefix = "p-"

// personMarker names a person claim in a registration's pending marker.
const personMarker = "person:"

// personSecret derives the key of person keys from the ID number key.
func personSecret(idKey []byte) []byte {
	m := hmac.New(sha256.New, idKey)
	m.Write([]byte("fuju person key v1"))
	return m.Sum(nil)
}

// personKey returns the person key of an ID number, normalised by the one
// normaliser first (full-width digits, spaces, a lower-case x).
func (s *Service) personKey(idNumber string) string {
	m := hmac.New(sha256.New, s.personSecret)
	m.Write([]byte(input.Normalize(input.IDNumber, idNumber)))
	return personPrefix + hex.EncodeToString(m.Sum(nil)[:16])
}

// personOf returns the person key of a renter record: the one it was
// registered with, or, for records from before person keys, the key of its
// sealed ID number. A number that does not open (a damaged record) leaves
// the record on its own: its key is its renter id, so its cap stays the
// record's, as it was.
func (s *Service) personOf(d renterDoc) string {
	if d.Person != "" {
		return d.Person
	}
	clear, err := s.seal.open(d.ID, d.IDSealed)
	if err != nil {
		s.logger.Warn("renter's ID number does not open; its subsidy cap stays per record", "renter", d.ID)
		return d.ID
	}
	return s.personKey(clear)
}

// personOfRenter returns the person key of a renter by id.
func (s *Service) personOfRenter(ctx context.Context, renterID string) (string, error) {
	d, err := s.currentRenter(ctx, renterID)
	if err != nil {
		return "", err
	}
	return s.personOf(d), nil
}

// abandonedRenter reports whether a registration was given up by the
// reconciler: its log starts with "abandoned", so it never becomes a record.
func (s *Service) abandonedRenter(ctx context.Context, renterID string) (bool, error) {
	e, ok, err := s.renterLg.Get(ctx, renterID, 1)
	if err != nil {
		return false, fmt.Errorf("rentals: %w", err)
	}
	return ok && e.Event.Kind == "abandoned", nil
}

// claimPerson makes renterID, registering at stationID, the holder of
// person. It is idempotent for the same renter. Held by another record, it
// returns ErrConflict with the reason id_registered and the holder's home
// station; a claim left by a registration the reconciler gave up is released
// first and claimed again.
func (s *Service) claimPerson(ctx context.Context, person, renterID, stationID string) error {
	for range 20 {
		head, err := s.people.Head(ctx, person, 0)
		if err != nil {
			return fmt.Errorf("rentals: %w", err)
		}
		if head.Seq > 0 && head.Event.Kind == personClaimed {
			holder := head.Event
			if holder.RenterID == renterID {
				return nil
			}
			gone, err := s.abandonedRenter(ctx, holder.RenterID)
			if err != nil {
				return err
			}
			if !gone {
				// A registration still in flight holds it too: it names the
				// station it is registering at.
				return fmt.Errorf("rentals: this ID number is already registered at station %s: %w", holder.StationID,
					valid.Because(ErrConflict, "id_registered", "station", holder.StationID))
			}
			_, err = s.people.Append(ctx, person, head.Seq+1, personEvent{Kind: personReleased, RenterID: holder.RenterID,
				StationID: holder.StationID, Why: "registration abandoned"})
			if err != nil && !errors.Is(err, eventlog.ErrTaken) {
				return fmt.Errorf("rentals: %w", err)
			}
			continue
		}
		_, err = s.people.Append(ctx, person, head.Seq+1, personEvent{Kind: personClaimed, RenterID: renterID, StationID: stationID})
		if errors.Is(err, eventlog.ErrTaken) {
			continue // someone claimed or released it just now: look again
		}
		if err != nil {
			return fmt.Errorf("rentals: %w", err)
		}
		return nil
	}
	return fmt.Errorf("rentals: the person's claim is busy; try again: %w", valid.Because(ErrConflict, "busy"))
}

// releasePerson lets go of person if renterID holds it: its registration
// did not finish. Releasing is an append, never a delete, so a release can
// never remove a claim someone else made after it.
func (s *Service) releasePerson(ctx context.Context, person, renterID, why string) error {
	for range 20 {
		head, err := s.people.Head(ctx, person, 0)
		if err != nil {
			return fmt.Errorf("rentals: %w", err)
		}
		if head.Seq == 0 || head.Event.Kind != personClaimed || head.Event.RenterID != renterID {
			return nil
		}
		_, err = s.people.Append(ctx, person, head.Seq+1, personEvent{Kind: personReleased, RenterID: renterID,
			StationID: head.Event.StationID, Why: why})
		if errors.Is(err, eventlog.ErrTaken) {
			continue
		}
		if err != nil {
			return fmt.Errorf("rentals: %w", err)
		}
		return nil
	}
	return fmt.Errorf("rentals: the person's claim is busy; try again: %w", valid.Because(ErrConflict, "busy"))
}

// keepPerson makes sure a recorded renter's person is claimed: a
// registration the reconciler completes, or a record from before claims.
// When another record holds the person (two records of one person from
// before claims), both stay and share the person's cap.
func (s *Service) keepPerson(ctx context.Context, d renterDoc) error {
	person := s.personOf(d)
	if !strings.HasPrefix(person, personPrefix) {
		return nil
	}
	err := s.claimPerson(ctx, person, d.ID, d.HomeStationID)
	if errors.Is(err, ErrConflict) {
		return nil
	}
	return err
}
