package rentals

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"fuju/internal/input"
	"fuju/internal/tenancy"
	"fuju/internal/valid"
)

// Renter search. A desk finds a walk-in by mobile number (exact, city-wide:
// see RenterByPhone), or among its own operator's renters by name or by the
// last four characters of the ID number. On the embedded engine only lookups
// by _id are indexed, and ID numbers are sealed, so a renter's searchable
// keys are written when the renter is: for each operator that may serve the
// renter (the home operator, and an operator whose desk met them by phone),
// one small document per key, whose _id is
//
//	<operator>|<keyed hash of the key>|<n>
//
// with n = 1, 2, … for the renters sharing the key. A search reads those
// _ids in turn until one is missing: bounded, indexed lookups, no
// decryption, nothing personal in clear (the hash is keyed with a secret
// derived from the ID number key). The keys of a name are its normalised
// form and every prefix of two characters or more, so "张秀" finds 张秀英;
// the key of an ID number is its last four characters.

// Search limits.
const (
	// MaxSearchResults is how many renters one search returns.
	MaxSearchResults = 20
	// maxPerKey bounds the renters recorded under one key (a common
	// surname and first character): beyond it, the longer keys still find
	// them.
	maxPerKey = 60
	// maxNameKey is the longest name prefix recorded.
	maxNameKey = 12
)

// How a search was read.
const (
	SearchPhone  = "phone"
	SearchIDTail = "id_tail"
	SearchName   = "name"
)

// RenterMatch is one renter a search found, as a desk list shows it: the
// name masked (except after an exact phone match, when the person at the
// desk said the number), the mobile number masked, the last four characters
// of the ID number, the home station and today's tier.
type RenterMatch struct {
	ID            string `json:"id"`
	Name          string `json:"name"`
	PhoneMasked   string `json:"phone_masked"`
	IDTail        string `json:"id_tail"`
	Age           int    `json:"age,omitempty"`
	HomeStationID string `json:"home_station_id"`
	Tier          Tier   `json:"tier"`
	View          string `json:"view"`
}

// RenterSearch is a search's answer.
type RenterSearch struct {
	// By says how the query was read: phone, id_tail or name.
	By    string        `json:"by"`
	Items []RenterMatch `json:"items"`
	// More is true when more renters matched than MaxSearchResults.
	More bool `json:"more"`
}

var (
	idTailRe   = regexp.MustCompile(`^[0-9]{3}[0-9X]$`)
	idNumberRe = regexp.MustCompile(`^[0-9]{17}[0-9X]$`)
)

type searchKeyDoc struct {
	ID       string `bson:"_id"`
	RenterID string `bson:"renter_id"`
}

// nameKey is a name as searches compare it: full-width folded, without
// spaces, lower-case.
func nameKey(name string) string {
	return strings.ToLower(strings.ReplaceAll(input.Normalize(input.Search, name), " ", ""))
}

// searchKeys are the keys a renter is found by.
func searchKeys(d renterDoc) []string {
	keys := []string{"t:" + d.IDTail}
	n := []rune(nameKey(d.Name))
	if len(n) > 0 {
		keys = append(keys, "n:"+string(n))
	}
	for k := 2; k < len(n) && k <= maxNameKey; k++ {
		keys = append(keys, "n:"+string(n[:k]))
	}
	return keys
}

// keyID is the _id prefix of key within operator.
func (s *Service) keyID(operator, key string) string {
	m := hmac.New(sha256.New, s.searchSecret)
	m.Write([]byte(operator + "\x00" + key))
	return operator + "|" + hex.EncodeToString(m.Sum(nil)[:12]) + "|"
}

// indexRenter records d's search keys for operator. It is idempotent: a key
// already pointing at the renter is left alone, so a retry, the reconciler
// and the backfill may all run it.
func (s *Service) indexRenter(ctx context.Context, operator string, d renterDoc) error {
	if operator == "" || d.ID == "" {
		return nil
	}
	for _, key := range searchKeys(d) {
		if err := s.indexKey(ctx, s.keyID(operator, key), d.ID); err != nil {
			return err
		}
	}
	return nil
}

func (s *Service) indexKey(ctx context.Context, prefix, renterID string) error {
	for n := 1; n <= maxPerKey; n++ {
		id := fmt.Sprintf("%s%d", prefix, n)
		for {
			var k searchKeyDoc
			err := s.renters.keys.FindOne(ctx, byID(id)).Decode(&k)
			if err == nil {
				if k.RenterID == renterID {
					return nil
				}
				break // taken by another renter: the next n
			}
			if !errors.Is(err, mongo.ErrNoDocuments) {
				return translate(err, "renter search key")
			}
			_, err = s.renters.keys.InsertOne(ctx, searchKeyDoc{ID: id, RenterID: renterID})
			if err == nil {
				return nil
			}
			if !mongo.IsDuplicateKeyError(err) {
				return translate(err, "renter search key")
			}
			// Another writer took this n just now: look at what it wrote.
		}
	}
	return nil // the key is crowded; longer keys still find the renter
}

// lookupKey returns the renters recorded under key for operator, at most
// limit.
func (s *Service) lookupKey(ctx context.Context, operator, key string, limit int) ([]string, error) {
	prefix := s.keyID(operator, key)
	var out []string
	for n := 1; n <= maxPerKey && len(out) < limit; n++ {
		var k searchKeyDoc
		err := s.renters.keys.FindOne(ctx, byID(fmt.Sprintf("%s%d", prefix, n))).Decode(&k)
		if errors.Is(err, mongo.ErrNoDocuments) {
			break
		}
		if err != nil {
			return nil, translate(err, "renter search key")
		}
		out = append(out, k.RenterID)
	}
	return out, nil
}

// SearchRenters finds renters for a desk of scope. The query is read as a
// mobile number (exact, city-wide, as RenterByPhone: another operator's
// renter found so is linked and the lookup logged), as the last four
// characters of an ID number or a whole ID number, or as a name or the start
// of one; the last two search only renters scope's operator may serve.
func (s *Service) SearchRenters(ctx context.Context, scope tenancy.Scope, query string, by tenancy.Actor) (RenterSearch, error) {
	if err := scope.MayChange(tenancy.ChangeOther); err != nil {
		return RenterSearch{}, err
	}
	q := input.Normalize(input.Search, query)
	switch {
	case textLen(query) > valid.MaxQuery:
		return RenterSearch{}, fmt.Errorf("rentals: search: %w", (&valid.Error{}).Text("query", query, valid.MaxQuery))
	case q == "":
		return RenterSearch{}, fmt.Errorf("rentals: search: %w", valid.Field("query", "required", "is required"))
	case ValidMobile(q):
		res := RenterSearch{By: SearchPhone, Items: []RenterMatch{}}
		r, err := s.RenterByPhone(ctx, scope, q, by)
		if errors.Is(err, ErrNotFound) {
			return res, nil
		}
		if err != nil {
			return RenterSearch{}, err
		}
		d, err := s.currentRenter(ctx, r.ID)
		if err != nil {
			return RenterSearch{}, err
		}
		res.Items = append(res.Items, s.match(d, r.View, false))
		return res, nil
	case idTailRe.MatchString(q) || idNumberRe.MatchString(q):
		return s.searchBy(ctx, scope, SearchIDTail, "t:"+q[len(q)-4:], func(d renterDoc) bool {
			if len(q) == 4 {
				return d.IDTail == q
			}
			// A whole ID number: only the few renters with its tail are
			// opened, to compare.
			clear, err := s.seal.open(d.ID, d.IDSealed)
			return err == nil && clear == q
		})
	case strings.Trim(q, "0123456789") == "":
		return RenterSearch{}, fmt.Errorf("rentals: search: %w", valid.Field("query", "search_digits",
			"must be a whole mobile number, the last 4 characters of an ID number, or a name"))
	}
	key := nameKey(q)
	if utf8.RuneCountInString(key) < 2 {
		return RenterSearch{}, fmt.Errorf("rentals: search: %w", valid.Field("query", "query_short", "must be at least 2 characters", "min", 2))
	}
	if utf8.RuneCountInString(key) > maxNameKey {
		key = string([]rune(key)[:maxNameKey])
	}
	return s.searchBy(ctx, scope, SearchName, "n:"+key, func(d renterDoc) bool {
		return strings.HasPrefix(nameKey(d.Name), nameKey(q))
	})
}

func (s *Service) searchBy(ctx context.Context, scope tenancy.Scope, kind, key string, matches func(renterDoc) bool) (RenterSearch, error) {
	res := RenterSearch{By: kind, Items: []RenterMatch{}}
	if scope.OperatorID == "" {
		return res, nil // the platform looks renters up by id
	}
	ids, err := s.lookupKey(ctx, scope.OperatorID, key, maxPerKey)
	if err != nil {
		return RenterSearch{}, err
	}
	for _, id := range ids {
		d, err := s.currentRenter(ctx, id)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return RenterSearch{}, err
		}
		if !matches(d) {
			continue // a hash collision or a changed record
		}
		view, err := s.viewOf(ctx, scope, d)
		if err != nil {
			return RenterSearch{}, err
		}
		if view == viewNone {
			continue
		}
		if len(res.Items) == MaxSearchResults {
			res.More = true
			break
		}
		res.Items = append(res.Items, s.match(d, view, true))
	}
	return res, nil
}

func (s *Service) match(d renterDoc, view string, maskName bool) RenterMatch {
	name := d.Name
	if maskName {
		name = MaskName(name)
	}
	return RenterMatch{ID: d.ID, Name: name, PhoneMasked: MaskPhone(d.Phone), IDTail: d.IDTail, Age: d.Age,
		HomeStationID: d.HomeStationID, Tier: d.Tier.On(s.now()), View: view}
}

// MaskName shows a name's first character only: 张秀英 → 张**, 李 → 李*.
// The desk's search results, the unit's history and a family's account
// show names so.
func MaskName(name string) string {
	r := []rune(strings.TrimSpace(name))
	if len(r) == 0 {
		return ""
	}
	return string(r[0]) + strings.Repeat("*", max(len(r)-1, 1))
}

// MaskPhone shows a mobile number's first three and last four digits.
func MaskPhone(phone string) string {
	if len(phone) < 8 {
		return strings.Repeat("*", len(phone))
	}
	return phone[:3] + strings.Repeat("*", len(phone)-7) + phone[len(phone)-4:]
}

// IndexRenters writes the search keys of every renter registered before
// search keys existed, once per database: it runs at start and records that
// it finished, so later starts skip it. Renters registered since write their
// own keys (and the reconciler finishes those a crash interrupted).
func (s *Service) IndexRenters(ctx context.Context) (int, error) {
	const done = "backfill|v1"
	err := s.renters.keys.FindOne(ctx, byID(done)).Err()
	if err == nil {
		return 0, nil
	}
	if !errors.Is(err, mongo.ErrNoDocuments) {
		return 0, translate(err, "renter search backfill")
	}
	links := map[string][]string{}
	lc, err := s.renters.links.Find(ctx, bson.D{})
	if err != nil {
		return 0, translate(err, "renter links")
	}
	var ls []linkDoc
	if err := lc.All(ctx, &ls); err != nil {
		return 0, translate(err, "renter links")
	}
	for _, l := range ls {
		links[l.RenterID] = append(links[l.RenterID], l.OperatorID)
	}
	cur, err := s.renters.renters.Find(ctx, bson.D{})
	if err != nil {
		return 0, translate(err, "renters")
	}
	defer cur.Close(ctx)
	n := 0
	for cur.Next(ctx) {
		var d renterDoc
		if err := cur.Decode(&d); err != nil {
			return n, translate(err, "renter")
		}
		for _, op := range append([]string{d.HomeOperatorID}, links[d.ID]...) {
			if err := s.indexRenter(ctx, op, d); err != nil {
				return n, err
			}
		}
		n++
	}
	if err := cur.Err(); err != nil {
		return n, translate(err, "renters")
	}
	_, err = s.renters.keys.InsertOne(ctx, searchKeyDoc{ID: done})
	if err != nil && !mongo.IsDuplicateKeyError(err) {
		return n, translate(err, "renter search backfill")
	}
	return n, nil
}
