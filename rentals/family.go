package rentals

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"time"

	"fuju/internal/audit"
	"fuju/internal/eventlog"
	"fuju/internal/tenancy"
	"fuju/internal/valid"
)

// A family's online account and the renters it looks after.
//
// Elders rarely have the account: a daughter or son does, and looks after a
// father, a mother, or both. An account may be linked to several renters (a
// renter to one account); the desk makes each link with the account's link
// code. The account holder says who each renter is to them (the relation),
// so pages can say "按父亲 王** 的低收入档位".
//
// Storage, every read by _id:
//
//	account_renter_events  the "account_renter" log, one per account (entity =
//	                       user id): renters linked and relations named. A
//	                       linked entry counts only while the renter's own
//	                       record names the account (the renter's log decides
//	                       who won when two accounts race for one renter).
//	renter_lease_events    the "renter_lease" log, one per renter: the id of
//	                       every lease the renter ever had, appended when the
//	                       lease is first listed. The account page reads a
//	                       renter's leases through it instead of scanning
//	                       leases (which grows forever) or open_leases (every
//	                       open lease of the city).
//
// A lease may be indexed twice (a crash between the index and the
// projection, or two instances backfilling); readers skip repeats.

// Relation is who a linked renter is to the account holder.
type Relation string

// Relations, in the order pages offer them. The zero value means the account
// holder did not say ("家人", a family member).
const (
	RelationFamily      Relation = ""
	RelationSelf        Relation = "self"
	RelationFather      Relation = "father"
	RelationMother      Relation = "mother"
	RelationSpouse      Relation = "spouse"
	RelationParentInLaw Relation = "parent_in_law"
	RelationGrandparent Relation = "grandparent"
	RelationRelative    Relation = "relative"
)

// Relations lists the relations an account holder may choose.
var Relations = []Relation{RelationSelf, RelationFather, RelationMother, RelationSpouse, RelationParentInLaw, RelationGrandparent, RelationRelative}

// Valid reports whether r is a known relation (or unsaid).
func (r Relation) Valid() bool { return r == RelationFamily || slices.Contains(Relations, r) }

// LinkedRenter is a renter as the linked account sees them: their name
// masked (王**), their verified tier and its expiry, their home station; not
// their phone, address or ID number.
type LinkedRenter struct {
	ID         string     `json:"id"`
	MaskedName string     `json:"masked_name"`
	Relation   Relation   `json:"relation"`
	TierStatus TierStatus `json:"tier"`
	// HomeStationID is where the renter was registered.
	HomeStationID string    `json:"home_station_id"`
	LinkedAt      time.Time `json:"linked_at"`
}

// TierOn returns the tier in force for the renter on day.
func (r LinkedRenter) TierOn(day time.Time) Tier { return r.TierStatus.On(day) }

// accountRenterEvent is one entry of an account's log.
type accountRenterEvent struct {
	Kind     string   `bson:"kind"` // linked, relation
	RenterID string   `bson:"renter_id"`
	Relation Relation `bson:"relation,omitempty"`
}

// renterLeaseEvent is one entry of a renter's lease index.
type renterLeaseEvent struct {
	LeaseID string `bson:"lease_id"`
}

// appendNext appends ev to entity's log after its last event, retrying when
// another writer took that sequence number first.
func appendNext[E any](ctx context.Context, l *eventlog.Log[E], entity string, ev E) error {
	for range 20 {
		last, err := lastEntry(ctx, l, entity)
		if err != nil {
			return fmt.Errorf("rentals: %w", err)
		}
		_, err = l.Append(ctx, entity, last.Seq+1, ev)
		if errors.Is(err, eventlog.ErrTaken) {
			continue
		}
		if err != nil {
			return fmt.Errorf("rentals: %w", err)
		}
		return nil
	}
	return fmt.Errorf("rentals: %s is being changed by others; try again: %w", entity, ErrConflict)
}

// history reads entity's whole log.
func history[E any](ctx context.Context, l *eventlog.Log[E], entity string) ([]eventlog.Entry[E], error) {
	last, err := lastEntry(ctx, l, entity)
	if err != nil {
		return nil, fmt.Errorf("rentals: %w", err)
	}
	entries, err := l.History(ctx, entity, last.Seq)
	if err != nil {
		return nil, fmt.Errorf("rentals: %w", err)
	}
	return entries, nil
}

// recordAccountLink writes the account's side of a link, unless its log
// already has it.
func (s *Service) recordAccountLink(ctx context.Context, userID, renterID string) error {
	entries, err := history(ctx, s.accountLg, userID)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if e.Event.Kind == "linked" && e.Event.RenterID == renterID {
			return nil
		}
	}
	return appendNext(ctx, s.accountLg, userID, accountRenterEvent{Kind: "linked", RenterID: renterID})
}

// LinkedRenters returns the renters linked to an online account, in the
// order they were linked, with the relation the account holder named.
func (s *Service) LinkedRenters(ctx context.Context, userID string) ([]LinkedRenter, error) {
	if userID == "" {
		return []LinkedRenter{}, nil
	}
	entries, err := history(ctx, s.accountLg, userID)
	if err != nil {
		return nil, err
	}
	var order []string
	linkedAt := map[string]time.Time{}
	relation := map[string]Relation{}
	// Links made before accounts could have several renters are claims in
	// renter_users.
	if c, err := claimed(ctx, s.renters.users, userID); err == nil {
		order, linkedAt[c.RenterID] = append(order, c.RenterID), c.At
	} else if !errors.Is(err, ErrNotFound) {
		return nil, err
	}
	for _, e := range entries {
		id := e.Event.RenterID
		switch e.Event.Kind {
		case "linked":
			if _, seen := linkedAt[id]; !seen {
				order, linkedAt[id] = append(order, id), e.At
			}
		case "relation":
			relation[id] = e.Event.Relation
		}
	}
	out := []LinkedRenter{}
	for _, id := range order {
		d, err := s.currentRenter(ctx, id)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if d.UserID != userID {
			continue // another account won the renter, or the link never finished
		}
		ts := d.Tier
		ts.Proof = nil
		out = append(out, LinkedRenter{ID: d.ID, MaskedName: MaskName(d.Name), Relation: relation[id], TierStatus: ts,
			HomeStationID: d.HomeStationID, LinkedAt: linkedAt[id]})
	}
	return out, nil
}

// SetRelation records who a linked renter is to the account holder.
func (s *Service) SetRelation(ctx context.Context, userID, renterID string, rel Relation) error {
	if !rel.Valid() {
		return fmt.Errorf("rentals: %w", valid.Field("relation", "oneof", "is not a relation this service knows"))
	}
	linked, err := s.LinkedRenters(ctx, userID)
	if err != nil {
		return err
	}
	for _, r := range linked {
		if r.ID == renterID {
			if r.Relation == rel {
				return nil
			}
			if err := appendNext(ctx, s.accountLg, userID, accountRenterEvent{Kind: "relation", RenterID: renterID, Relation: rel}); err != nil {
				return err
			}
			// The family's own words about a person: recorded as changed,
			// without them.
			s.writeAudit(ctx, tenancy.Actor{ID: userID, Role: "renter"}, "", "renter.relation", "renter/"+renterID, audit.Fields("relation"))
			return nil
		}
	}
	return fmt.Errorf("rentals: renter %s is not linked to this account: %w", renterID, ErrNotFound)
}

// indexLease records that the lease belongs to its renter. The projection
// of a new lease calls it before writing the lease, so a listed lease is
// always indexed; a second call for the same lease (two writers projecting
// a new lease at once, or a crash before the projection) adds a repeat that
// readers skip. once first reads the index and adds nothing if the lease is
// in it (the backfill, which may run again after a crash).
func (s *Service) indexLease(ctx context.Context, renterID, leaseID string, once bool) error {
	if renterID == "" {
		return nil
	}
	if once {
		ids, err := s.leaseIDsOf(ctx, renterID)
		if err != nil || slices.Contains(ids, leaseID) {
			return err
		}
	}
	return appendNext(ctx, s.renterLeaseLg, renterID, renterLeaseEvent{LeaseID: leaseID})
}

// leaseIDsOf returns the ids of every lease the renter ever had, oldest
// first, each once.
func (s *Service) leaseIDsOf(ctx context.Context, renterID string) ([]string, error) {
	entries, err := history(ctx, s.renterLeaseLg, renterID)
	if err != nil {
		return nil, err
	}
	var out []string
	seen := map[string]bool{}
	for _, e := range entries {
		if !seen[e.Event.LeaseID] {
			seen[e.Event.LeaseID] = true
			out = append(out, e.Event.LeaseID)
		}
	}
	return out, nil
}

// leaseIndexMigration names the one-time indexing of leases listed before
// the index existed.
const leaseIndexMigration = "renter-lease-index"

// backfillLeaseIndex indexes every listed lease once per database: leases
// written before the index existed. It scans the leases projection, so it
// runs only until its marker is written.
func (s *Service) backfillLeaseIndex(ctx context.Context) error {
	if _, done, err := s.migrations.Get(ctx, leaseIndexMigration, 1); err != nil || done {
		return err
	}
	pairs, err := s.leaseDB.renterLeases(ctx)
	if err != nil {
		return err
	}
	for _, p := range pairs {
		if err := s.indexLease(ctx, p[0], p[1], true); err != nil {
			return err
		}
	}
	_, err = s.migrations.Append(ctx, leaseIndexMigration, 1, migrationEvent{Leases: len(pairs)})
	if err != nil && !errors.Is(err, eventlog.ErrTaken) {
		return fmt.Errorf("rentals: %w", err)
	}
	return nil
}

// migrationEvent records that a one-time migration finished, with what it
// did.
type migrationEvent struct {
	Leases int `bson:"leases"`
	// The backfill of person keys (person_backfill.go): records read,
	// people claimed, records sharing one person (renter ids, earliest
	// first), person-years carried, records whose ID number did not open.
	Renters    int             `bson:"renters,omitempty"`
	People     int             `bson:"people,omitempty"`
	Shared     []sharedRecords `bson:"shared,omitempty"`
	Carried    int             `bson:"carried,omitempty"`
	Unreadable int             `bson:"unreadable,omitempty"`
}

// sharedRecords are renter records of one person.
type sharedRecords struct {
	Renters []string `bson:"renters"`
}

// LeaseTotals sums an account's leases.
type LeaseTotals struct {
	Leases int `json:"leases"`
	Open   int `json:"open"`
	// RenterFen is the family's share of rent and extensions; SubsidyFen
	// what the city paid on top.
	RenterFen  int64 `json:"renter_fen"`
	SubsidyFen int64 `json:"subsidy_fen"`
	// DepositFen is deposits held now; OwedFen what is still to pay.
	DepositFen int64 `json:"deposit_fen"`
	OwedFen    int64 `json:"owed_fen"`
}

// AccountRentals is what an online account sees of its renters' leases.
type AccountRentals struct {
	Renters []LinkedRenter `json:"renters"`
	// Current are open leases (out, or returned with money to settle), due
	// first; Past the closed ones, newest first.
	Current []Lease     `json:"current"`
	Past    []Lease     `json:"past"`
	Totals  LeaseTotals `json:"totals"`
}

// AccountRentals returns the leases of every renter linked to userID. It
// reads only by _id: the account's links, each renter's lease index, each
// lease's projection, so it costs the same in a city of ten leases or a
// million.
func (s *Service) AccountRentals(ctx context.Context, userID string) (AccountRentals, error) {
	out := AccountRentals{Current: []Lease{}, Past: []Lease{}}
	var err error
	if out.Renters, err = s.LinkedRenters(ctx, userID); err != nil {
		return AccountRentals{}, err
	}
	for _, r := range out.Renters {
		ids, err := s.leaseIDsOf(ctx, r.ID)
		if err != nil {
			return AccountRentals{}, err
		}
		for _, id := range ids {
			l, ok, err := s.leaseDB.lease(ctx, id)
			if err != nil {
				return AccountRentals{}, err
			}
			if !ok || !l.Listed || l.RenterID != r.ID {
				continue
			}
			out.Totals.Leases++
			out.Totals.RenterFen += l.RenterFen
			out.Totals.SubsidyFen += l.SubsidyFen
			out.Totals.DepositFen += l.DepositFen
			out.Totals.OwedFen += max(l.BalanceFen, 0)
			if l.State.Open() {
				out.Totals.Open++
				out.Current = append(out.Current, l)
			} else {
				out.Past = append(out.Past, l)
			}
		}
	}
	sort.SliceStable(out.Current, func(i, j int) bool { return out.Current[i].DueOn < out.Current[j].DueOn })
	sort.SliceStable(out.Past, func(i, j int) bool { return out.Past[i].StartedAt.After(out.Past[j].StartedAt) })
	return out, nil
}

// AccountLease returns one lease of a renter linked to userID, as its log
// says it is now, with its ledger: the family's receipt. Any other lease is
// not found.
func (s *Service) AccountLease(ctx context.Context, userID, leaseID string) (Lease, Ledger, LinkedRenter, error) {
	linked, err := s.LinkedRenters(ctx, userID)
	if err != nil {
		return Lease{}, Ledger{}, LinkedRenter{}, err
	}
	l, err := s.Lease(ctx, tenancy.PlatformScope, leaseID)
	if err != nil {
		return Lease{}, Ledger{}, LinkedRenter{}, err
	}
	for _, r := range linked {
		if r.ID == l.RenterID {
			led, err := s.readLedger(ctx, l)
			if err != nil {
				return Lease{}, Ledger{}, LinkedRenter{}, err
			}
			return l, led, r, nil
		}
	}
	return Lease{}, Ledger{}, LinkedRenter{}, fmt.Errorf("rentals: lease %s: %w", leaseID, ErrNotFound)
}
