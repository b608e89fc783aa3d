package accounts

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/mongo"

	"fuju/internal/eventlog"
)

// The accounts' index. On the embedded engine only finds by _id are indexed
// (DESIGN.md), so lists of accounts are not queries over the users
// collection: each account is entered, when it is created, under the keys it
// is listed by, one small document per key and account whose _id is
//
//	<key>/<n>
//
// with n = 1, 2, … in the order accounts were entered (inserted, never
// updated: two accounts entered at once race for the same n and the loser
// takes the next). The keys: "all", "role:<role>", "op:<operator>" and
// "name:<prefix>" for every prefix of the lower-cased name of one to
// maxNamePrefix characters. A list reads the _ids of one key: a page of a
// key by its numbers, a count by probing for the last number (about twice
// log₂ n lookups), a filtered list every entry of its most selective key.

const (
	keyAll         = "all"
	maxNamePrefix  = 12
	indexMarkerKey = "indexed/v1"
)

type indexDoc struct {
	ID     string    `bson:"_id"`
	UserID string    `bson:"user_id"`
	At     time.Time `bson:"at"`
}

func roleKey(r Role) string        { return "role:" + string(r) }
func operatorKey(op string) string { return "op:" + op }

// nameKey is the key of names starting with prefix.
func nameKey(prefix string) string {
	p := []rune(strings.ToLower(strings.TrimSpace(prefix)))
	if len(p) > maxNamePrefix {
		p = p[:maxNamePrefix]
	}
	return "name:" + string(p)
}

// indexKeys are the keys account d is listed under.
func indexKeys(d userDoc) []string {
	keys := []string{keyAll, roleKey(d.Role)}
	if d.OperatorID != "" {
		keys = append(keys, operatorKey(d.OperatorID))
	}
	return append(keys, nameKeys(d.Name)...)
}

func nameKeys(name string) []string {
	n := []rune(strings.ToLower(strings.TrimSpace(name)))
	var keys []string
	for i := 1; i <= len(n) && i <= maxNamePrefix; i++ {
		keys = append(keys, "name:"+string(n[:i]))
	}
	return keys
}

func (s *store) indexEntry(ctx context.Context, key string, n int64) (indexDoc, bool, error) {
	var d indexDoc
	err := s.index.FindOne(ctx, byID(eventlog.ID(key, n))).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return indexDoc{}, false, nil
	}
	if err != nil {
		return indexDoc{}, false, translate(err, "account index")
	}
	return d, true, nil
}

// indexCount returns how many entries key has, from n known to exist (0 for
// none): it doubles the step until a number is missing, then halves it.
func (s *store) indexCount(ctx context.Context, key string, known int64) (int64, error) {
	lo, step := known, int64(1)
	for {
		_, ok, err := s.indexEntry(ctx, key, lo+step)
		if err != nil {
			return 0, err
		}
		if !ok {
			break
		}
		lo += step
		step *= 2
	}
	// Entries lo exist; lo+step does not. Numbers have no gaps.
	hi := lo + step
	for hi-lo > 1 {
		mid := lo + (hi-lo)/2
		_, ok, err := s.indexEntry(ctx, key, mid)
		if err != nil {
			return 0, err
		}
		if ok {
			lo = mid
		} else {
			hi = mid
		}
	}
	return lo, nil
}

// enter adds userID under key at the first free number.
func (s *store) enter(ctx context.Context, key, userID string, at time.Time) error {
	n, err := s.indexCount(ctx, key, 0)
	if err != nil {
		return err
	}
	for range 1000 {
		n++
		_, err := s.index.InsertOne(ctx, indexDoc{ID: eventlog.ID(key, n), UserID: userID, At: at})
		if err == nil {
			return nil
		}
		if !mongo.IsDuplicateKeyError(err) {
			return translate(err, "account index")
		}
		// Another account took n: count again from there.
		if n, err = s.indexCount(ctx, key, n); err != nil {
			return err
		}
	}
	return fmt.Errorf("auth: account index %s: too many writers at once: %w", key, ErrConflict)
}

// enterUser lists account d under every key it is listed by.
func (s *store) enterUser(ctx context.Context, d userDoc, keys []string) error {
	for _, k := range keys {
		if err := s.enter(ctx, k, d.ID, d.CreatedAt); err != nil {
			return err
		}
	}
	return nil
}

// indexRange returns the user ids entered under key with numbers from..to.
func (s *store) indexRange(ctx context.Context, key string, from, to int64) ([]string, error) {
	var out []string
	for n := from; n <= to; n++ {
		d, ok, err := s.indexEntry(ctx, key, n)
		if err != nil {
			return nil, err
		}
		if !ok {
			break
		}
		out = append(out, d.UserID)
	}
	return out, nil
}

// indexAll returns every user id entered under key, in order, once each.
func (s *store) indexAll(ctx context.Context, key string) ([]string, error) {
	seen := map[string]bool{}
	var out []string
	for n := int64(1); ; n++ {
		d, ok, err := s.indexEntry(ctx, key, n)
		if err != nil {
			return nil, err
		}
		if !ok {
			return out, nil
		}
		if !seen[d.UserID] {
			seen[d.UserID] = true
			out = append(out, d.UserID)
		}
	}
}

// indexExisting enters the accounts made before the index existed, once: a
// marker entry records that it was done. The users collection is scanned
// this one time.
func (s *store) indexExisting(ctx context.Context, now time.Time) error {
	if _, ok, err := s.indexEntry(ctx, indexMarkerKey, 1); err != nil || ok {
		return err
	}
	cur, err := s.users.Find(ctx, struct{}{})
	if err != nil {
		return translate(err, "index accounts")
	}
	var docs []userDoc
	if err := cur.All(ctx, &docs); err != nil {
		return translate(err, "index accounts")
	}
	for _, d := range docs {
		if d.Status == pending {
			continue
		}
		if err := s.enterUser(ctx, d, indexKeys(d)); err != nil {
			return err
		}
	}
	_, err = s.index.InsertOne(ctx, indexDoc{ID: eventlog.ID(indexMarkerKey, 1), At: now})
	if err != nil && !mongo.IsDuplicateKeyError(err) {
		return translate(err, "account index")
	}
	return nil
}
