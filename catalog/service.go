package catalog

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"reflect"
	"sort"
	"strings"
	"sync"
	"time"

	"go.mongodb.org/mongo-driver/v2/mongo"

	"fuju/internal/eventlog"
	"fuju/internal/ids"
	"fuju/internal/tenancy"
	"fuju/internal/valid"
	"fuju/stations"
)

// Publisher announces changed entities to every instance's read models.
type Publisher interface {
	Publish(ctx context.Context, kind, id string) error
}

// stockIndex is what search needs from the stations read model.
type stockIndex interface {
	Stock() map[string]map[string]stations.Stock
	Stations() []stations.Station
	// OperatorSuspended hides a suspended operator's listings.
	OperatorSuspended(operatorID string) bool
}

// Service manages products and answers catalog searches.
type Service struct {
	store  *store
	log    *eventlog.Log[productEvent]
	stock  stockIndex
	feed   Publisher
	logger *slog.Logger
	now    func() time.Time
	// auditLog records who changed what (nil records nothing).
	auditLog recorder

	mu       sync.RWMutex
	products map[string]Product // every product, active or hidden
	sorted   []Product          // the same, by id, rebuilt on change
	index    *searchIndex       // search's view of sorted
	// Versions, so a cache of pages knows exactly what changed
	// (web/pagecache.go): seq counts changes of the read model; each stamps
	// the product it changed, a rebuild everything (epoch).
	seq, epoch uint64
	version    map[string]uint64
}

// NewService returns a catalog service reading availability from stock and
// recording who changed what through rec (nil: no audit log).
func NewService(db *mongo.Database, stock stockIndex, feed Publisher, rec recorder, logger *slog.Logger) *Service {
	if logger == nil {
		logger = slog.Default()
	}
	return &Service{
		store:    newStore(db),
		log:      eventlog.New[productEvent](db, "product"),
		stock:    stock,
		feed:     feed,
		logger:   logger,
		now:      func() time.Time { return time.Now().UTC() },
		auditLog: rec,
		products: map[string]Product{},
		index:    newSearchIndex(nil),
		version:  map[string]uint64{},
	}
}

// Init creates indexes and loads the read model.
func (s *Service) Init(ctx context.Context) error {
	if err := s.store.ensureIndexes(ctx); err != nil {
		return err
	}
	if err := s.log.Init(ctx); err != nil {
		return fmt.Errorf("catalog: %w", err)
	}
	return s.Rebuild(ctx)
}

// Rebuild reloads every product into the read model.
func (s *Service) Rebuild(ctx context.Context) error {
	all, err := s.store.list(ctx, "")
	if err != nil {
		return err
	}
	m := make(map[string]Product, len(all))
	for _, p := range all {
		m[p.ID] = p
	}
	s.mu.Lock()
	s.products = m
	s.resortLocked()
	s.seq++
	s.epoch, s.version = s.seq, map[string]uint64{}
	s.mu.Unlock()
	return nil
}

// ApplyProduct re-reads one product into the read model (a change feed handler).
func (s *Service) ApplyProduct(ctx context.Context, id string) error {
	p, err := s.store.get(ctx, id)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	old, had := s.products[id]
	if errors.Is(err, ErrNotFound) {
		if !had {
			return nil
		}
		delete(s.products, id)
	} else {
		if had && reflect.DeepEqual(old, p) {
			return nil // the change feed re-applying this instance's own write
		}
		s.products[id] = p
	}
	s.resortLocked()
	s.stampLocked(id)
	return nil
}

func (s *Service) stampLocked(id string) {
	s.seq++
	s.version[id] = s.seq
}

// Version changes whenever any product in the read model changes.
func (s *Service) Version() uint64 {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.seq
}

// ProductVersion changes when the product changes in the read model.
func (s *Service) ProductVersion(id string) uint64 {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return max(s.epoch, s.version[id])
}

func (s *Service) resortLocked() {
	sorted := make([]Product, 0, len(s.products))
	for _, p := range s.products {
		sorted = append(sorted, p)
	}
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].ID < sorted[j].ID })
	s.sorted = sorted
	s.index = newSearchIndex(sorted)
}

func (s *Service) remember(ctx context.Context, p Product) {
	s.mu.Lock()
	s.products[p.ID] = p
	s.resortLocked()
	s.stampLocked(p.ID)
	s.mu.Unlock()
	if s.feed != nil {
		if err := s.feed.Publish(context.WithoutCancel(ctx), "product", p.ID); err != nil {
			s.logger.Warn("publish change", "kind", "product", "id", p.ID, "err", err)
		}
	}
}

func normalizeKeywords(in []string) []string {
	out := make([]string, 0, len(in))
	seen := map[string]bool{}
	for _, k := range in {
		k = strings.TrimSpace(k)
		if k == "" || seen[strings.ToLower(k)] {
			continue
		}
		seen[strings.ToLower(k)] = true
		out = append(out, k)
	}
	return out
}

// Change is one recorded edit of a product: the product as it was after the
// edit, who made it and what kind of edit it was.
type Change struct {
	Version int64         `json:"version"`
	At      time.Time     `json:"at"`
	Kind    string        `json:"kind"`
	By      tenancy.Actor `json:"by"`
	Product Product       `json:"product"`
}

type productEvent struct {
	Kind    string        `bson:"kind"`
	By      tenancy.Actor `bson:"by"`
	Product productDoc    `bson:"product"`
}

// Create adds a product to an operator in scope.
func (s *Service) Create(ctx context.Context, scope tenancy.Scope, p Product, by tenancy.Actor) (Product, error) {
	if err := scope.MayChange(tenancy.ChangeOther); err != nil {
		return Product{}, err
	}
	readable := p.ID == ""
	if readable {
		p.ID = slugBase(p)
	}
	if p.Status == "" {
		p.Status = Active
	}
	// As typed: duplicates dropped by normalizing still count.
	if err := (&valid.Error{}).List("keywords", len(p.Keywords), valid.MaxKeywords).Err(); err != nil {
		return Product{}, fmt.Errorf("catalog: product: %w", err)
	}
	p.Keywords = normalizeKeywords(p.Keywords)
	if p.Photos == nil {
		p.Photos = []Photo{}
	}
	if err := p.Validate(); err != nil {
		return Product{}, fmt.Errorf("catalog: product: %w", err)
	}
	if !scope.Operator(p.OperatorID) {
		return Product{}, fmt.Errorf("catalog: operator %s: %w", p.OperatorID, ErrNotFound)
	}
	p.CreatedAt = s.now()
	p.UpdatedAt = p.CreatedAt
	p.Version = 1
	// The projection is inserted first: its _id is what makes the id unique.
	// A readable id taken by another product gets a number: walker,
	// walker-2, walker-3…; after that many namesakes, a random tail.
	base := p.ID
	for n := 2; ; n++ {
		err := s.store.insert(ctx, p)
		if err == nil {
			break
		}
		if !readable || !errors.Is(err, ErrConflict) {
			return Product{}, err
		}
		p.ID = fmt.Sprintf("%s-%d", base, n)
		if n > 50 {
			p.ID = ids.New(base)
		}
	}
	if _, err := s.log.Append(ctx, p.ID, 1, productEvent{Kind: "created", By: by, Product: toProductDoc(p)}); err != nil && !errors.Is(err, eventlog.ErrTaken) {
		return Product{}, fmt.Errorf("catalog: %w", err)
	}
	s.remember(ctx, p)
	s.auditProduct(ctx, by, "created", nil, p)
	return p, nil
}

// slugBase is the readable id a new product starts from: its English name as
// a slug ("Folding walker" → folding-walker), else the Latin letters and
// digits of its Chinese name (a model number), else its category
// (manual-wheelchair). It never changes afterwards, so links and CSV files
// that name it keep working when the listing is renamed.
func slugBase(p Product) string {
	for _, name := range []string{p.Name.En, p.Name.Zh} {
		if s := ids.Slug(name, 40); s != "" {
			return s
		}
	}
	if s := ids.Slug(p.Category, 40); s != "" {
		return s
	}
	return "product"
}

// Named returns the ids of operator's products whose name, in either
// language, is name as stations.NameKey compares names: how a CSV file or a
// person names a product. It reads the read model, not the database.
func (s *Service) Named(operatorID, name string) []string {
	key := stations.NameKey(name)
	if key == "" {
		return nil
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []string
	for _, p := range s.sorted {
		if p.OperatorID == operatorID && (stations.NameKey(p.Name.Zh) == key || stations.NameKey(p.Name.En) == key) {
			out = append(out, p.ID)
		}
	}
	return out
}

// current returns the product as its log's head says, or the projection when
// the log has nothing newer.
func (s *Service) current(ctx context.Context, scope tenancy.Scope, id string) (Product, error) {
	p, err := s.store.get(ctx, id)
	if err != nil {
		return Product{}, err
	}
	if !scope.Operator(p.OperatorID) {
		return Product{}, fmt.Errorf("catalog: product %s: %w", id, ErrNotFound)
	}
	head, err := s.log.Head(ctx, id, p.Version)
	if err != nil {
		return Product{}, fmt.Errorf("catalog: %w", err)
	}
	if head.Seq > p.Version {
		p = head.Event.Product.toProduct()
		p.Version = head.Seq
	}
	return p, nil
}

// mutate applies edit to the product's latest version and records the result
// as the next version. Two editors racing append the same version; the loser
// retries on the new version (edit is applied again to it), so concurrent edits
// of different fields both survive. When base is not 0 and the product has
// moved past it, the edit is refused with ErrConflict: the editor saw an old
// version.
func (s *Service) mutate(ctx context.Context, scope tenancy.Scope, id string, base int64, kind string, by tenancy.Actor, edit func(*Product) error) (Product, error) {
	for attempt := 0; attempt < 64; attempt++ {
		if attempt > 0 {
			// Back off a little, randomly, so a crowd of editors spreads out.
			time.Sleep(time.Duration(rand.IntN(attempt*2+1)) * time.Millisecond)
		}
		cur, err := s.current(ctx, scope, id)
		if err != nil {
			return Product{}, err
		}
		if base != 0 && cur.Version != base {
			return Product{}, fmt.Errorf("catalog: product %s was changed by someone else (now version %d, you edited %d): %w", id, cur.Version, base,
				valid.Because(ErrConflict, "stale_version", "current", cur.Version, "edited", base))
		}
		next := cur
		next.Photos = append([]Photo(nil), cur.Photos...)
		if err := edit(&next); err != nil {
			return Product{}, err
		}
		next.ID, next.OperatorID, next.CreatedAt = cur.ID, cur.OperatorID, cur.CreatedAt
		if err := (&valid.Error{}).List("keywords", len(next.Keywords), valid.MaxKeywords).Err(); err != nil {
			return Product{}, fmt.Errorf("catalog: product: %w", err)
		}
		next.Keywords = normalizeKeywords(next.Keywords)
		if next.Photos == nil {
			next.Photos = []Photo{}
		}
		if err := next.Validate(); err != nil {
			return Product{}, fmt.Errorf("catalog: product: %w", err)
		}
		next.UpdatedAt = s.now()
		next.Version = cur.Version + 1
		_, err = s.log.Append(ctx, id, next.Version, productEvent{Kind: kind, By: by, Product: toProductDoc(next)})
		if errors.Is(err, eventlog.ErrTaken) {
			continue
		}
		if err != nil {
			return Product{}, fmt.Errorf("catalog: %w", err)
		}
		if err := s.project(ctx, next); err != nil {
			return Product{}, err
		}
		s.auditProduct(ctx, by, kind, &cur, next)
		return next, nil
	}
	return Product{}, fmt.Errorf("catalog: product %s is being changed by others; try again: %w", id, valid.Because(ErrConflict, "busy"))
}

// project writes p unless the stored projection is already newer.
func (s *Service) project(ctx context.Context, p Product) error {
	stored, err := s.store.get(ctx, p.ID)
	if err != nil {
		return err
	}
	if stored.Version < p.Version {
		if err := s.store.replace(ctx, p); err != nil {
			return err
		}
	}
	s.remember(ctx, p)
	return nil
}

// Update replaces a product's editable fields (everything but its id,
// operator and photos, which have their own operations). p.Version is the
// version the editor started from; 0 skips the check.
func (s *Service) Update(ctx context.Context, scope tenancy.Scope, p Product, by tenancy.Actor) (Product, error) {
	if err := scope.MayChange(tenancy.ChangeOther); err != nil {
		return Product{}, err
	}
	return s.mutate(ctx, scope, p.ID, p.Version, "updated", by, func(cur *Product) error {
		photos := cur.Photos
		*cur = p
		cur.Photos = photos
		return nil
	})
}

// SetStatus shows or hides a product.
func (s *Service) SetStatus(ctx context.Context, scope tenancy.Scope, id string, st Status, by tenancy.Actor) (Product, error) {
	if err := scope.MayChange(tenancy.ChangeOther); err != nil {
		return Product{}, err
	}
	return s.mutate(ctx, scope, id, 0, "status", by, func(p *Product) error {
		p.Status = st
		return nil
	})
}

// AddPhoto appends a photo; adding a photo the product already has changes
// nothing, so a retried or doubled upload does not list it twice.
func (s *Service) AddPhoto(ctx context.Context, scope tenancy.Scope, id string, ph Photo, by tenancy.Actor) (Product, error) {
	if err := scope.MayChange(tenancy.ChangeOther); err != nil {
		return Product{}, err
	}
	e := &valid.Error{}
	if ph.Key == "" {
		e.Add("photo", "required", "is required")
	}
	e.Text("alt.zh", ph.Alt.Zh, valid.MaxText).Text("alt.en", ph.Alt.En, valid.MaxText)
	if err := e.Err(); err != nil {
		return Product{}, fmt.Errorf("catalog: photo: %w", err)
	}
	return s.mutate(ctx, scope, id, 0, "photo_added", by, func(p *Product) error {
		for _, have := range p.Photos {
			if have.Key == ph.Key {
				return nil
			}
		}
		if len(p.Photos) >= MaxPhotos {
			return fmt.Errorf("catalog: photo: %w", valid.Field("photo", "max_items", fmt.Sprintf("a product can have at most %d photos", MaxPhotos), "max", MaxPhotos))
		}
		p.Photos = append(p.Photos, ph)
		return nil
	})
}

// ReorderPhotos puts the product's photos in the order of keys, which must
// list each of its photos once. The first is the primary photo.
func (s *Service) ReorderPhotos(ctx context.Context, scope tenancy.Scope, id string, keys []string, by tenancy.Actor) (Product, error) {
	if err := scope.MayChange(tenancy.ChangeOther); err != nil {
		return Product{}, err
	}
	return s.mutate(ctx, scope, id, 0, "photos_reordered", by, func(p *Product) error {
		byKey := map[string]Photo{}
		for _, ph := range p.Photos {
			byKey[ph.Key] = ph
		}
		if len(keys) != len(p.Photos) {
			return fmt.Errorf("catalog: photos: %w", valid.Field("keys", "mismatch", "must list each of the product's photos exactly once"))
		}
		out := make([]Photo, 0, len(keys))
		for _, k := range keys {
			ph, ok := byKey[k]
			if !ok {
				return fmt.Errorf("catalog: photos: %w", valid.Field("keys", "mismatch", "must list each of the product's photos exactly once"))
			}
			delete(byKey, k)
			out = append(out, ph)
		}
		p.Photos = out
		return nil
	})
}

// SetPhotoAlt changes a photo's text for screen readers.
func (s *Service) SetPhotoAlt(ctx context.Context, scope tenancy.Scope, id, key string, alt Text, by tenancy.Actor) (Product, error) {
	if err := scope.MayChange(tenancy.ChangeOther); err != nil {
		return Product{}, err
	}
	return s.mutate(ctx, scope, id, 0, "photo_alt", by, func(p *Product) error {
		for i := range p.Photos {
			if p.Photos[i].Key == key {
				p.Photos[i].Alt = alt
				return nil
			}
		}
		return fmt.Errorf("catalog: photo %s: %w", key, ErrNotFound)
	})
}

// RemovePhoto removes a photo from the product. It reports whether any
// product still uses the photo, so the caller knows whether the stored
// objects can be deleted.
func (s *Service) RemovePhoto(ctx context.Context, scope tenancy.Scope, id, key string, by tenancy.Actor) (Product, bool, error) {
	if err := scope.MayChange(tenancy.ChangeOther); err != nil {
		return Product{}, false, err
	}
	p, err := s.mutate(ctx, scope, id, 0, "photo_removed", by, func(p *Product) error {
		for i := range p.Photos {
			if p.Photos[i].Key == key {
				p.Photos = append(p.Photos[:i], p.Photos[i+1:]...)
				return nil
			}
		}
		return fmt.Errorf("catalog: photo %s: %w", key, ErrNotFound)
	})
	if err != nil {
		return Product{}, false, err
	}
	// Ask the database, not this instance's read model: another instance may
	// have just given the same photo (same bytes, same key) to a listing of
	// another operator.
	inUse, err := s.store.photoReferenced(ctx, key)
	if err != nil {
		return Product{}, true, err
	}
	return p, inUse, nil
}

// PhotoInUse reports whether any product (in this instance's read model)
// shows the photo with key.
func (s *Service) PhotoInUse(key string) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, p := range s.sorted {
		for _, ph := range p.Photos {
			if ph.Key == key {
				return true
			}
		}
	}
	return false
}

// History returns every recorded version of a product, oldest first.
func (s *Service) History(ctx context.Context, scope tenancy.Scope, id string) ([]Change, error) {
	cur, err := s.current(ctx, scope, id)
	if err != nil {
		return nil, err
	}
	entries, err := s.log.History(ctx, id, cur.Version)
	if err != nil {
		return nil, fmt.Errorf("catalog: %w", err)
	}
	out := make([]Change, len(entries))
	for i, e := range entries {
		p := e.Event.Product.toProduct()
		p.Version = e.Seq
		out[i] = Change{Version: e.Seq, At: e.At, Kind: e.Event.Kind, By: e.Event.By, Product: p}
	}
	return out, nil
}

// Get returns a product of an operator in scope, hidden or not.
func (s *Service) Get(ctx context.Context, scope tenancy.Scope, id string) (Product, error) {
	return s.current(ctx, scope, id)
}

// List returns the products in scope: one operator's, or all for the platform.
func (s *Service) List(ctx context.Context, scope tenancy.Scope) ([]Product, error) {
	if scope.Platform {
		return s.store.list(ctx, "")
	}
	if scope.OperatorID == "" {
		return []Product{}, nil
	}
	return s.store.list(ctx, scope.OperatorID)
}

// Public returns an active product from the read model.
func (s *Service) Public(id string) (Product, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	p, ok := s.products[id]
	if !ok || p.Status != Active || s.stock.OperatorSuspended(p.OperatorID) {
		return Product{}, false
	}
	return p, true
}

// Lookup returns any product from the read model, active or hidden, for
// labelling units and leases.
func (s *Service) Lookup(id string) (Product, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	p, ok := s.products[id]
	return p, ok
}

// Search answers a catalog query from the read model.
func (s *Service) Search(q Query) (Result, error) {
	if err := q.Normalize(); err != nil {
		return Result{}, fmt.Errorf("catalog: search: %w", err)
	}
	s.mu.RLock()
	products, index := s.sorted, s.index
	s.mu.RUnlock()
	sts := map[string]stations.Station{}
	for _, st := range s.stock.Stations() {
		sts[st.ID] = st
	}
	if q.Station != "" {
		if _, ok := sts[q.Station]; !ok {
			return Result{}, fmt.Errorf("catalog: search: %w", valid.Field("station", "not_found", "is not a known station"))
		}
	}
	return search(products, index, s.stock.Stock(), sts, s.stock.OperatorSuspended, q), nil
}

// CategoryCount is a category with how many active products it has.
type CategoryCount struct {
	Category
	Products int `json:"products"`
}

// CategoryCounts returns every category with its number of active products.
func (s *Service) CategoryCounts() []CategoryCount {
	s.mu.RLock()
	defer s.mu.RUnlock()
	n := map[string]int{}
	for _, p := range s.sorted {
		if p.Status == Active && !s.stock.OperatorSuspended(p.OperatorID) {
			n[p.Category]++
		}
	}
	out := make([]CategoryCount, len(Categories))
	for i, c := range Categories {
		out[i] = CategoryCount{Category: c, Products: n[c.ID]}
	}
	return out
}
