package catalog

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	"go.mongodb.org/mongo-driver/v2/mongo"

	"fuju/internal/ids"
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
}

// Service manages products and answers catalog searches.
type Service struct {
	store  *store
	stock  stockIndex
	feed   Publisher
	logger *slog.Logger
	now    func() time.Time

	mu       sync.RWMutex
	products map[string]Product // every product, active or hidden
	sorted   []Product          // the same, by id, rebuilt on change
}

// NewService returns a catalog service reading availability from stock.
func NewService(db *mongo.Database, stock stockIndex, feed Publisher, logger *slog.Logger) *Service {
	if logger == nil {
		logger = slog.Default()
	}
	return &Service{
		store:    newStore(db),
		stock:    stock,
		feed:     feed,
		logger:   logger,
		now:      func() time.Time { return time.Now().UTC() },
		products: map[string]Product{},
	}
}

// Init creates indexes and loads the read model.
func (s *Service) Init(ctx context.Context) error {
	if err := s.store.ensureIndexes(ctx); err != nil {
		return err
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
	if errors.Is(err, ErrNotFound) {
		delete(s.products, id)
	} else {
		s.products[id] = p
	}
	s.resortLocked()
	return nil
}

func (s *Service) resortLocked() {
	sorted := make([]Product, 0, len(s.products))
	for _, p := range s.products {
		sorted = append(sorted, p)
	}
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].ID < sorted[j].ID })
	s.sorted = sorted
}

func (s *Service) remember(ctx context.Context, p Product) {
	s.mu.Lock()
	s.products[p.ID] = p
	s.resortLocked()
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

// Create adds a product.
func (s *Service) Create(ctx context.Context, p Product) (Product, error) {
	if p.ID == "" {
		p.ID = ids.New("p")
	}
	if p.Status == "" {
		p.Status = Active
	}
	p.Keywords = normalizeKeywords(p.Keywords)
	if p.Photos == nil {
		p.Photos = []Photo{}
	}
	if err := p.Validate(); err != nil {
		return Product{}, fmt.Errorf("catalog: product: %w", err)
	}
	p.CreatedAt = s.now()
	p.UpdatedAt = p.CreatedAt
	if err := s.store.insert(ctx, p); err != nil {
		return Product{}, err
	}
	s.remember(ctx, p)
	return p, nil
}

// Update replaces a product's editable fields. The operator cannot change, and
// a product of another operator is not found.
func (s *Service) Update(ctx context.Context, p Product) (Product, error) {
	old, err := s.store.get(ctx, p.ID)
	if err != nil {
		return Product{}, err
	}
	if old.OperatorID != p.OperatorID {
		return Product{}, fmt.Errorf("catalog: product %s: %w", p.ID, ErrNotFound)
	}
	p.Keywords = normalizeKeywords(p.Keywords)
	if p.Photos == nil {
		p.Photos = old.Photos
	}
	if err := p.Validate(); err != nil {
		return Product{}, fmt.Errorf("catalog: product: %w", err)
	}
	p.CreatedAt = old.CreatedAt
	p.UpdatedAt = s.now()
	if err := s.store.replace(ctx, p); err != nil {
		return Product{}, err
	}
	s.remember(ctx, p)
	return p, nil
}

// Get returns a product from the database, hidden or not.
func (s *Service) Get(ctx context.Context, id string) (Product, error) {
	return s.store.get(ctx, id)
}

// List returns an operator's products (every product when operatorID is "").
func (s *Service) List(ctx context.Context, operatorID string) ([]Product, error) {
	return s.store.list(ctx, operatorID)
}

// Public returns an active product from the read model.
func (s *Service) Public(id string) (Product, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	p, ok := s.products[id]
	if !ok || p.Status != Active {
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
	products := s.sorted
	s.mu.RUnlock()
	sts := map[string]stations.Station{}
	for _, st := range s.stock.Stations() {
		sts[st.ID] = st
	}
	if q.Station != "" {
		if _, ok := sts[q.Station]; !ok {
			return Result{}, fmt.Errorf("catalog: search: %w", fieldErr("station", "not_found", "is not a known station"))
		}
	}
	return search(products, s.stock.Stock(), sts, q), nil
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
		if p.Status == Active {
			n[p.Category]++
		}
	}
	out := make([]CategoryCount, len(Categories))
	for i, c := range Categories {
		out[i] = CategoryCount{Category: c, Products: n[c.ID]}
	}
	return out
}
