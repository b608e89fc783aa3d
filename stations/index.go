package stations

import (
	"reflect"
	"sort"
	"sync"
)

// Index is the in-process read model of stations and unit availability that
// public pages read (DESIGN.md, "Reads that must be fast"). It is built at start
// and kept current by applying each changed station or unit, never by rescans.
type Index struct {
	mu       sync.RWMutex
	stations map[string]Station
	units    map[string]unitLite
	avail    map[string]map[string]int // station → product → available units
	total    map[string]map[string]int // station → product → units not retired or lost
	// suspended operators' stations are left out of every public answer
	// (operators.go).
	suspended map[string]bool

	// Versions, so a cache of what was read from the index knows exactly
	// what changed (web/pagecache.go): seq counts changes; each change
	// stamps what it touched with the new seq. A full rebuild stamps
	// everything at once (epoch), since it may have changed anything.
	seq, epoch uint64
	listing    uint64            // any station's listing: its text, hours, switch, operator's suspension
	suspension uint64            // which operators are suspended
	stationVer map[string]uint64 // a station's listing or its stock
	productVer map[string]uint64 // a product's stock at any station
}

type unitLite struct {
	product, station string
	state            State
}

func newIndex() *Index {
	return &Index{
		stations:   map[string]Station{},
		units:      map[string]unitLite{},
		avail:      map[string]map[string]int{},
		total:      map[string]map[string]int{},
		suspended:  map[string]bool{},
		stationVer: map[string]uint64{},
		productVer: map[string]uint64{},
	}
}

func (ix *Index) replace(fresh *Index) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	ix.stations, ix.units, ix.avail, ix.total = fresh.stations, fresh.units, fresh.avail, fresh.total
	ix.suspended = fresh.suspended
	ix.seq++
	ix.epoch, ix.listing, ix.suspension = ix.seq, ix.seq, ix.seq
	ix.stationVer, ix.productVer = map[string]uint64{}, map[string]uint64{}
}

func (ix *Index) setStation(st Station) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	if old, ok := ix.stations[st.ID]; ok && reflect.DeepEqual(old, st) {
		return // the change feed re-applying this instance's own write
	}
	ix.stations[st.ID] = st
	ix.stampStationLocked(st.ID)
}

func (ix *Index) removeStation(id string) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	if _, ok := ix.stations[id]; !ok {
		return
	}
	delete(ix.stations, id)
	ix.stampStationLocked(id)
}

func (ix *Index) stampStationLocked(id string) {
	ix.seq++
	ix.listing = ix.seq
	ix.stationVer[id] = ix.seq
}

func (ix *Index) setUnit(u Unit) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	l := unitLite{product: u.ProductID, station: u.StationID, state: u.State}
	if old, ok := ix.units[u.Tag]; ok && old.shown() == l.shown() {
		// Rented → returned → cleaning changes no count a reader sees.
		ix.units[u.Tag] = l
		return
	}
	ix.dropLocked(u.Tag)
	ix.units[u.Tag] = l
	ix.countLocked(l, 1)
}

func (ix *Index) removeUnit(tag string) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	ix.dropLocked(tag)
}

func (ix *Index) dropLocked(tag string) {
	if old, ok := ix.units[tag]; ok {
		ix.countLocked(old, -1)
		delete(ix.units, tag)
	}
}

// shown is what readers of the index see of a unit: where it counts, and
// whether as available and as in service.
func (l unitLite) shown() unitLite {
	switch l.state {
	case Available:
	case Retired, Lost:
		l.state = Lost
	default:
		l.state = Rented
	}
	return l
}

func (ix *Index) countLocked(l unitLite, d int) {
	ix.seq++
	ix.stationVer[l.station], ix.productVer[l.product] = ix.seq, ix.seq
	bump := func(m map[string]map[string]int) {
		if m[l.station] == nil {
			m[l.station] = map[string]int{}
		}
		m[l.station][l.product] += d
		if m[l.station][l.product] == 0 {
			delete(m[l.station], l.product)
		}
	}
	if l.state == Available {
		bump(ix.avail)
	}
	if l.state != Retired && l.state != Lost {
		bump(ix.total)
	}
}

// Station returns a station by id; a suspended operator's stations are not
// found.
func (ix *Index) Station(id string) (Station, bool) {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	st, ok := ix.stations[id]
	if ok && ix.suspended[st.OperatorID] {
		return Station{}, false
	}
	return st, ok
}

// Stations returns the active stations ordered by id.
func (ix *Index) Stations() []Station {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	out := make([]Station, 0, len(ix.stations))
	for _, st := range ix.stations {
		if ix.listedLocked(st) {
			out = append(out, st)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// OperatorStations returns the operator's active stations ordered by id,
// whether the operator is suspended or not: where its people work (a
// suspended operator's desks still take devices back). Desks pick their
// station from it on every action, so it is served from memory rather than
// by a scan of the stations collection.
func (ix *Index) OperatorStations(operatorID string) []Station {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	var out []Station
	for _, st := range ix.stations {
		if st.Active && st.OperatorID == operatorID {
			out = append(out, st)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Stock is how many units of one product a station has.
type Stock struct {
	Available int `json:"available"`
	// Total counts units in service there (any state but retired and lost).
	Total int `json:"total"`
}

// Inventory returns the stock per product at an active station.
func (ix *Index) Inventory(stationID string) map[string]Stock {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	out := map[string]Stock{}
	if st, ok := ix.stations[stationID]; !ok || !ix.listedLocked(st) {
		return out
	}
	for p, n := range ix.total[stationID] {
		out[p] = Stock{Available: ix.avail[stationID][p], Total: n}
	}
	return out
}

// AvailableAt returns, for one product, the number of available units at each
// active station that has at least one.
func (ix *Index) AvailableAt(productID string) map[string]int {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	out := map[string]int{}
	for st, byProduct := range ix.avail {
		if n := byProduct[productID]; n > 0 && ix.listedLocked(ix.stations[st]) {
			out[st] = n
		}
	}
	return out
}

// Stock returns product → station → stock for every product at active
// stations. Search uses it to filter and sort in one pass.
func (ix *Index) Stock() map[string]map[string]Stock {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	out := map[string]map[string]Stock{}
	for st, byProduct := range ix.total {
		if !ix.listedLocked(ix.stations[st]) {
			continue
		}
		for p, n := range byProduct {
			if out[p] == nil {
				out[p] = map[string]Stock{}
			}
			out[p][st] = Stock{Available: ix.avail[st][p], Total: n}
		}
	}
	return out
}

// UnitCount returns how many units the index knows, for the status log.
func (ix *Index) UnitCount() int {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return len(ix.units)
}

// Version changes whenever anything in the index changes.
func (ix *Index) Version() uint64 {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return ix.seq
}

// ListingVersion changes when any station's listing changes (its text,
// hours or switch, its operator's suspension), not when stock moves.
func (ix *Index) ListingVersion() uint64 {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return ix.listing
}

// SuspensionVersion changes when an operator is suspended or resumed (its
// products leave or return to the catalog).
func (ix *Index) SuspensionVersion() uint64 {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return ix.suspension
}

// StationVersion changes when the station's listing or its stock changes.
func (ix *Index) StationVersion(id string) uint64 {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return max(ix.epoch, ix.stationVer[id])
}

// ProductVersion changes when the product's stock changes at any station.
func (ix *Index) ProductVersion(id string) uint64 {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return max(ix.epoch, ix.productVer[id])
}
