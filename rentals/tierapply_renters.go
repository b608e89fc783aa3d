package rentals

import (
	"context"
	"errors"
	"fmt"

	"fuju/internal/audit"
	"fuju/internal/tenancy"
	"fuju/internal/valid"
)

// FamilyRenter is a renter profile a family makes from its account: itself,
// or the elder it cares for. It becomes an ordinary renter record (the ID
// number sealed, one person one record by the keyed ID hash), registered at
// the home station the family picks and linked to the account.
type FamilyRenter struct {
	Name          string
	Phone         string
	IDNumber      string
	MobilityNeeds string
	HomeStationID string
	Relation      Relation
}

// CreateFamilyRenter registers in for account userID (whose mobile number
// is userPhone, used when in has none) and links it to the account.
//
// One person, one record: when the ID number is already registered — at a
// desk, or by another family — nothing is made and the answer is a conflict
// on "id_number" (reason id_registered) naming the station that holds the
// record; the family then shows the link code from its account page at that
// desk, and staff join the record to the account (LinkAccount). The one
// exception is this account's own registration stopped half-way (made, not
// yet linked): it is linked now, so a retry after a crash converges.
func (s *Service) CreateFamilyRenter(ctx context.Context, userID, userPhone string, in FamilyRenter, by tenancy.Actor) (LinkedRenter, error) {
	if !in.Relation.Valid() {
		return LinkedRenter{}, fmt.Errorf("rentals: %w", valid.Field("relation", "oneof", "is not a relation this service knows"))
	}
	if in.Phone == "" {
		in.Phone = userPhone
	}
	st, err := s.units.Station(ctx, in.HomeStationID)
	if err != nil || !st.Active {
		return LinkedRenter{}, fmt.Errorf("rentals: %w", valid.Field("home_station_id", "not_found", "is not a station"))
	}
	scope := tenancy.OperatorScope(st.OperatorID)
	outer := ctx
	// Registering, linking and naming the relation are one change for the
	// family: one audit entry says so, written below.
	ctx = context.WithValue(ctx, oneEntryKey{}, true)
	r, err := s.RegisterRenter(ctx, scope, Renter{Name: in.Name, Phone: in.Phone, IDNumber: in.IDNumber,
		MobilityNeeds: in.MobilityNeeds, HomeStationID: st.ID}, by)
	if reason, ok := valid.ReasonOf(err); ok && errors.Is(err, ErrConflict) {
		switch reason.Code {
		case "id_registered":
			if own, ok := s.ownUnlinked(ctx, in.IDNumber, userID); ok {
				r, err = own, nil
				break
			}
			station, _ := reason.Params["station"].(string)
			return LinkedRenter{}, fmt.Errorf("rentals: %w: %w", valid.Field("id_number", "id_registered_family",
				"this person is already registered at station "+station+"; show the link code on your account page at that station's desk to join them to your account",
				"station", station), ErrConflict)
		case "phone_registered":
			return LinkedRenter{}, fmt.Errorf("rentals: %w: %w", valid.Field("phone", "phone_registered_family",
				"this mobile number is already a renter's; give the elder's own number, or ask a station's desk to link that renter to your account"), ErrConflict)
		}
	}
	if err != nil {
		return LinkedRenter{}, err
	}
	if _, err := s.LinkUser(ctx, r.ID, userID, by); err != nil {
		return LinkedRenter{}, err
	}
	if in.Relation != RelationFamily {
		if err := s.SetRelation(ctx, userID, r.ID, in.Relation); err != nil {
			return LinkedRenter{}, err
		}
	}
	linked, err := s.LinkedRenters(ctx, userID)
	if err != nil {
		return LinkedRenter{}, err
	}
	for _, l := range linked {
		if l.ID == r.ID {
			s.writeAudit(outer, by, st.OperatorID, "renter.create_online", "renter/"+r.ID,
				append(audit.Diff(nil, map[string]string{"home_station_id": st.ID, "user_id": userID}),
					audit.Fields("name", "phone", "id_number", "mobility_needs", "relation")...))
			return l, nil
		}
	}
	return LinkedRenter{}, fmt.Errorf("rentals: renter %s: %w", r.ID, ErrNotFound)
}

type oneEntryKey struct{}

// inOneEntry reports whether ctx belongs to a flow that writes its own one
// audit entry for several steps.
func inOneEntry(ctx context.Context) bool { v, _ := ctx.Value(oneEntryKey{}).(bool); return v }

// ownUnlinked returns the renter holding idNumber when userID registered it
// and it is linked to no account yet.
func (s *Service) ownUnlinked(ctx context.Context, idNumber, userID string) (Renter, bool) {
	head, err := s.people.Head(ctx, s.personKey(NormalizeIDNumber(idNumber)), 0)
	if err != nil || head.Seq == 0 || head.Event.Kind != personClaimed {
		return Renter{}, false
	}
	d, err := s.currentRenter(ctx, head.Event.RenterID)
	if err != nil || d.UserID != "" || d.CreatedBy.ID != userID {
		return Renter{}, false
	}
	return present(d, ViewFull), true
}
