package stations

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"golang.org/x/sync/errgroup"

	"fuju/internal/audit"
	"fuju/internal/eventlog"
	"fuju/internal/tenancy"
	"fuju/internal/valid"
)

// This file is the operators' side of stations and units: the console and the
// operator API manage them through these methods, which all take the caller's
// Scope. A record outside the scope answers ErrNotFound, exactly like a record
// that does not exist, so one operator cannot even learn that another
// operator's station or unit exists (DESIGN.md, invariant 4).

// VersionedStation is a station with its edit version, which an editor sends
// back so that an edit made on a stale copy is refused (ErrConflict).
type VersionedStation struct {
	Station
	// Version is the number of recorded edits; 0 for a station created
	// before edits were recorded (demo seeding, older data).
	Version int64 `json:"version"`
}

// stationEvent is one recorded edit of a station: the station as it was made.
// Its sequence in the station's log is the station's version, so two editors
// who saw the same version append the same event id and one of them loses,
// without relying on an update filter (DESIGN.md, "Constraints").
type stationEvent struct {
	Kind    string        `bson:"kind"`
	By      tenancy.Actor `bson:"by"`
	Station stationDoc    `bson:"station"`
}

func (s *Service) stationLog() *eventlog.Log[stationEvent] {
	return eventlog.New[stationEvent](s.store.stations.Database(), "station")
}

func (s *Service) stationVersion(ctx context.Context, id string) (int64, error) {
	head, err := s.stationLog().Head(ctx, id, 0)
	if err != nil {
		return 0, fmt.Errorf("stations: %w", err)
	}
	return head.Seq, nil
}

// StationsIn lists the stations the scope covers, active or not, by id.
func (s *Service) StationsIn(ctx context.Context, scope tenancy.Scope) ([]VersionedStation, error) {
	var all []Station
	var err error
	switch {
	case scope.Platform:
		all, err = s.store.listStations(ctx, "")
	case scope.OperatorID != "":
		all, err = s.store.listStations(ctx, scope.OperatorID)
	}
	if err != nil {
		return nil, err
	}
	out := make([]VersionedStation, 0, len(all))
	for _, st := range all {
		if !scope.Station(st.OperatorID, st.ID) {
			continue
		}
		v, err := s.stationVersion(ctx, st.ID)
		if err != nil {
			return nil, err
		}
		out = append(out, VersionedStation{Station: st, Version: v})
	}
	return out, nil
}

// StationIn returns a station the scope covers.
func (s *Service) StationIn(ctx context.Context, scope tenancy.Scope, id string) (VersionedStation, error) {
	st, err := s.store.station(ctx, id)
	if err != nil {
		return VersionedStation{}, err
	}
	if !scope.Station(st.OperatorID, st.ID) {
		return VersionedStation{}, fmt.Errorf("stations: station %s: %w", id, ErrNotFound)
	}
	v, err := s.stationVersion(ctx, id)
	if err != nil {
		return VersionedStation{}, err
	}
	return VersionedStation{Station: st, Version: v}, nil
}

// CreateStationIn adds a station for an operator the scope manages. An
// operator's people always create for their own operator; the platform must
// name one.
func (s *Service) CreateStationIn(ctx context.Context, scope tenancy.Scope, st Station, by tenancy.Actor) (VersionedStation, error) {
	if err := scope.MayChange(tenancy.ChangeOther); err != nil {
		return VersionedStation{}, err
	}
	if !scope.Platform {
		st.OperatorID = scope.OperatorID
	}
	if st.OperatorID == "" {
		return VersionedStation{}, fmt.Errorf("stations: station: %w", valid.Field("operator_id", "required", "is required: the operator the station belongs to"))
	}
	if !scope.Manages(st.OperatorID) {
		return VersionedStation{}, fmt.Errorf("stations: operator %s: %w", st.OperatorID, ErrNotFound)
	}
	if scope.Platform {
		if _, err := s.store.operator(ctx, st.OperatorID); errors.Is(err, ErrNotFound) {
			return VersionedStation{}, fmt.Errorf("stations: station: %w", valid.Field("operator_id", "not_found", "is not an operator"))
		}
	}
	created, err := s.CreateStation(ctx, st)
	if err != nil {
		return VersionedStation{}, err
	}
	s.writeAudit(ctx, by, created.OperatorID, "station.create", "station/"+created.ID, audit.Diff(nil, created))
	if _, err := s.stationLog().Append(ctx, created.ID, 1, stationEvent{Kind: "created", By: by, Station: toStationDoc(created)}); err != nil {
		// The station exists; only its first version record is missing, and
		// the next edit starts from version 0 instead of 1.
		s.logger.Warn("record station creation", "station", created.ID, "err", err)
		return VersionedStation{Station: created}, nil
	}
	return VersionedStation{Station: created, Version: 1}, nil
}

// UpdateStationIn replaces the details of a station the scope manages. version
// is the version the editor saw; a station edited since is refused with
// ErrConflict. The station's id and operator never change.
func (s *Service) UpdateStationIn(ctx context.Context, scope tenancy.Scope, st Station, version int64, by tenancy.Actor) (VersionedStation, error) {
	if err := scope.MayChange(tenancy.ChangeOther); err != nil {
		return VersionedStation{}, err
	}
	old, err := s.StationIn(ctx, scope, st.ID)
	if err != nil {
		return VersionedStation{}, err
	}
	if !scope.Manages(old.OperatorID) {
		return VersionedStation{}, fmt.Errorf("stations: station %s: %w", st.ID, ErrNotFound)
	}
	if old.Version != version {
		return VersionedStation{}, fmt.Errorf("stations: station %s was changed by someone else (now version %d, you edited %d): %w",
			st.ID, old.Version, version, ErrConflict)
	}
	st.OperatorID, st.CreatedAt = old.OperatorID, old.CreatedAt
	if err := st.Validate(); err != nil {
		return VersionedStation{}, fmt.Errorf("stations: station: %w", err)
	}
	// The version is claimed before the station is written: of two editors
	// who saw the same version, the second one's append fails here.
	st.UpdatedAt = s.now()
	if _, err := s.stationLog().Append(ctx, st.ID, version+1, stationEvent{Kind: "updated", By: by, Station: toStationDoc(st)}); err != nil {
		if errors.Is(err, eventlog.ErrTaken) {
			return VersionedStation{}, fmt.Errorf("stations: station %s was changed by someone else just now: %w", st.ID, ErrConflict)
		}
		return VersionedStation{}, fmt.Errorf("stations: %w", err)
	}
	saved, err := s.UpdateStation(ctx, st)
	if err != nil {
		return VersionedStation{}, err
	}
	action := "station.update"
	if old.Active && !saved.Active {
		action = "station.deactivate"
	}
	s.writeAudit(ctx, by, saved.OperatorID, action, "station/"+saved.ID, audit.Diff(old.Station, saved))
	return VersionedStation{Station: saved, Version: version + 1}, nil
}

// DeactivateStation hides a station the scope manages from families and stops
// new rentals there. Stations are never deleted: units, leases and histories
// name them.
func (s *Service) DeactivateStation(ctx context.Context, scope tenancy.Scope, id string, by tenancy.Actor) (VersionedStation, error) {
	if err := scope.MayChange(tenancy.ChangeOther); err != nil {
		return VersionedStation{}, err
	}
	st, err := s.StationIn(ctx, scope, id)
	if err != nil {
		return VersionedStation{}, err
	}
	if !st.Active {
		return st, nil
	}
	next := st.Station
	next.Active = false
	return s.UpdateStationIn(ctx, scope, next, st.Version, by)
}

// UnitIn returns a unit the scope covers, as its log's head says it is now.
func (s *Service) UnitIn(ctx context.Context, scope tenancy.Scope, tag string) (Unit, error) {
	tag = NormalizeTag(tag)
	if !ValidTag(tag) {
		return Unit{}, fmt.Errorf("stations: unit %s: %w", tag, ErrNotFound)
	}
	u, err := s.Unit(ctx, tag)
	if err != nil {
		return Unit{}, err
	}
	if !scope.Station(u.OperatorID, u.StationID) {
		return Unit{}, fmt.Errorf("stations: unit %s: %w", tag, ErrNotFound)
	}
	return u, nil
}

// UnitsIn lists, page by page, the units the scope covers that match f (whose
// OperatorID is ignored unless the scope is the platform's), with the total.
func (s *Service) UnitsIn(ctx context.Context, scope tenancy.Scope, f UnitFilter, skip, limit int64) ([]Unit, int64, error) {
	if !scope.Platform {
		if scope.OperatorID == "" {
			return []Unit{}, 0, nil
		}
		f.OperatorID = scope.OperatorID
	}
	return s.store.listUnitsIn(ctx, f, scope.StationIDs, skip, limit)
}

// ProductOwner tells which operator owns a product and whether it exists; the
// catalog answers it (stations cannot import catalog).
type ProductOwner func(productID string) (operatorID string, ok bool)

// CreateUnitIn registers a new unit at a station the scope manages. The
// product must be one of the station's operator's.
func (s *Service) CreateUnitIn(ctx context.Context, scope tenancy.Scope, u Unit, owner ProductOwner, by tenancy.Actor) (Unit, error) {
	if err := scope.MayChange(tenancy.ChangeOther); err != nil {
		return Unit{}, err
	}
	u.Tag = NormalizeTag(u.Tag)
	if u.State == "" {
		u.State = Available
	}
	if err := u.Validate(); err != nil {
		return Unit{}, fmt.Errorf("stations: unit: %w", err)
	}
	st, err := s.store.station(ctx, u.StationID)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return Unit{}, err
	}
	// A station or product the caller cannot see is a wrong field of the
	// request, named as such, rather than a 404 of the whole route.
	if err != nil || !scope.Manages(st.OperatorID) {
		return Unit{}, fmt.Errorf("stations: unit: %w", valid.Field("station_id", "not_found", "is not one of your stations"))
	}
	if op, ok := owner(u.ProductID); !ok || op != st.OperatorID {
		return Unit{}, fmt.Errorf("stations: unit: %w", valid.Field("product_id", "not_found", "is not one of your products (of the station's operator)"))
	}
	u.OperatorID = st.OperatorID
	created, err := s.CreateUnit(ctx, u, by)
	return s.auditedUnit(ctx, by, "unit.create", nil, created, err)
}

// UnitEdit changes a unit's notes without moving it. Nil fields stay.
type UnitEdit struct {
	Condition  *string
	AcquiredOn *string
	// Version is the unit's sequence the editor saw; 0 skips the check.
	Version int64
	Why     string
}

// EditUnit records a change of a unit's condition notes or acquisition date as
// an "edited" event that keeps its state, so the change is in the unit's
// history like every other. Nothing changed records nothing.
func (s *Service) EditUnit(ctx context.Context, scope tenancy.Scope, tag string, e UnitEdit, by tenancy.Actor) (Unit, error) {
	if err := scope.MayChange(tenancy.ChangeOther); err != nil {
		return Unit{}, err
	}
	tag = NormalizeTag(tag)
	cur, err := s.current(ctx, tag)
	if err != nil {
		return Unit{}, err
	}
	if !scope.Manages(cur.OperatorID) {
		return Unit{}, fmt.Errorf("stations: unit %s: %w", tag, ErrNotFound)
	}
	if e.Version != 0 && e.Version != cur.Seq {
		return Unit{}, fmt.Errorf("stations: unit %s was changed by someone else (now version %d, you edited %d): %w", tag, cur.Seq, e.Version,
			valid.Because(ErrConflict, "stale_version", "current", cur.Seq, "edited", e.Version))
	}
	next := cur
	if e.Condition != nil {
		next.Condition = strings.TrimSpace(*e.Condition)
	}
	if e.AcquiredOn != nil {
		next.AcquiredOn = strings.TrimSpace(*e.AcquiredOn)
	}
	ve := &valid.Error{}
	ve.Text("condition", next.Condition, valid.MaxNote)
	if next.AcquiredOn != "" {
		if _, err := time.Parse(time.DateOnly, next.AcquiredOn); err != nil {
			ve.Add("acquired_on", "date", "must be a date like 2026-01-31")
		}
	}
	if err := ve.Err(); err != nil {
		return Unit{}, fmt.Errorf("stations: unit: %w", err)
	}
	if next.Condition == cur.Condition && next.AcquiredOn == cur.AcquiredOn {
		return cur, nil
	}
	ev := UnitEvent{
		Kind: "edited", From: cur.State, To: cur.State, ProductID: cur.ProductID, OperatorID: cur.OperatorID,
		StationID: cur.StationID, ToStation: cur.ToStation, LeaseID: cur.LeaseID,
		Condition: next.Condition, AcquiredOn: next.AcquiredOn, By: by, Why: e.Why,
	}
	edited, err := s.record(ctx, tag, cur, ev, ErrConflict, "unit-edited:event")
	return s.auditedUnit(ctx, by, "unit.update", &cur, edited, err)
}

// checkRetireReason is the rule for why a unit leaves service, at the desk
// and in the console alike: said (trimmed), in at most 500 characters.
func checkRetireReason(reason string) error {
	switch n := utf8.RuneCountInString(strings.TrimSpace(reason)); {
	case n == 0:
		return fmt.Errorf("stations: retire: %w", valid.Field("reason", "required", "is required: say why the unit leaves service"))
	case n > valid.MaxNote:
		return fmt.Errorf("stations: retire: %w", (&valid.Error{}).Text("reason", reason, valid.MaxNote))
	}
	return nil
}

// RetireUnitIn takes a unit the scope manages out of service for good, with the
// reason in its history. A unit that is reserved, rented, returned or
// travelling cannot be retired (ErrUnavailable): it must come back first.
func (s *Service) RetireUnitIn(ctx context.Context, scope tenancy.Scope, tag, reason string, version int64, by tenancy.Actor) (Unit, error) {
	if err := scope.MayChange(tenancy.ChangeOther); err != nil {
		return Unit{}, err
	}
	reason = strings.TrimSpace(reason)
	cur, err := s.UnitIn(ctx, scope, tag)
	if err != nil {
		return Unit{}, err
	}
	if !scope.Manages(cur.OperatorID) {
		return Unit{}, fmt.Errorf("stations: unit %s: %w", tag, ErrNotFound)
	}
	if err := checkRetireReason(reason); err != nil {
		return Unit{}, err
	}
	retired, err := s.Move(ctx, cur.Tag, Move{To: Retired, Kind: "retired", Why: reason, By: by, Check: func(u Unit) error {
		if version != 0 && u.Seq != version {
			return fmt.Errorf("stations: unit %s was changed by someone else (now version %d, you edited %d): %w", u.Tag, u.Seq, version,
				valid.Because(ErrConflict, "stale_version", "current", u.Seq, "edited", version))
		}
		return nil
	}})
	return s.auditedUnit(ctx, by, "unit.retire", &cur, retired, err)
}

// Unit imports: an operator registers many units at once from a CSV file.

// ImportColumns are the columns of a unit CSV file; the header row names them
// (in any order). tag, product_id and station_id are required.
var ImportColumns = []string{"tag", "product_id", "station_id", "state", "condition", "acquired_on"}

// ImportRow is one data row of a unit CSV file.
type ImportRow struct {
	// Line is the row's line number in the file (the header is line 1).
	Line int
	Unit Unit
}

// ImportProblem is what is wrong with one field of one row.
type ImportProblem struct {
	Line  int    `json:"line"`
	Tag   string `json:"tag"`
	Field string `json:"field"`
	// Code and Params say what is wrong (see internal/valid); pages show
	// them in the reader's language. Message is the English text.
	Code    string         `json:"code"`
	Params  map[string]any `json:"params,omitempty"`
	Message string         `json:"message"`
}

// importProblemOf is p as the problem of one row.
func importProblemOf(line int, tag, field string, p valid.Problem) ImportProblem {
	return ImportProblem{Line: line, Tag: tag, Field: field, Code: p.Code, Params: p.Params, Message: p.Message}
}

// ImportResult counts what an import did. Rows that fail change nothing; the
// others are applied, so fixing the failed rows and running the whole file
// again finishes the job (an import is idempotent by asset tag).
type ImportResult struct {
	Created   int             `json:"created"`
	Updated   int             `json:"updated"`
	Unchanged int             `json:"unchanged"`
	Failed    []ImportProblem `json:"failed"`
	// Tags are the file's units that now exist as the file says (created,
	// updated or unchanged), in file order: the labels to print.
	Tags []string `json:"-"`
}

// ImportBatch is how many new units are written with one bulk insert (and one
// pending marker).
const ImportBatch = 500

// ParseUnitCSV reads a unit CSV file: a header row naming ImportColumns (or
// their Chinese names, see TemplateHeaders), then one unit per row. The file
// may be UTF-8, UTF-16 or GBK/GB18030 (DecodeCSV), its cells separated by
// commas or, as Excel's "Unicode text" saves them, by tabs; products and stations may
// be named by id, code or name (ImportUnits resolves them); states may be
// written in Chinese and dates as Excel writes them (ImportDate). It returns
// the rows, each row's field problems that need no database to find, and an
// error when the file as a whole is unusable (wrong encoding, no header,
// unknown columns, more than maxRows rows, broken quoting).
func ParseUnitCSV(r io.Reader, maxRows int) ([]ImportRow, []ImportProblem, error) {
	raw, err := io.ReadAll(r)
	if err != nil {
		return nil, nil, fmt.Errorf("stations: import: %w", valid.Field("file", "malformed", "could not be read"))
	}
	text, _, err := DecodeCSV(raw)
	if err != nil {
		return nil, nil, err
	}
	cr := csv.NewReader(strings.NewReader(text))
	cr.Comma = importDelimiter(text)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, nil, fmt.Errorf("stations: import: %w", valid.Field("file", "csv_empty", "is empty; the first row must name the columns: "+strings.Join(ImportColumns, ","), "columns", strings.Join(ImportColumns, ",")))
	}
	if err != nil {
		return nil, nil, fmt.Errorf("stations: import: %w", fileError(err))
	}
	col := map[string]int{}
	for i, h := range header {
		name := importColumn(h)
		if name == "" {
			return nil, nil, fmt.Errorf("stations: import: %w", valid.Field("file", "csv_unknown_column", fmt.Sprintf("column %d of the first row is %q; the columns are: %s (or %s)", i+1, strings.TrimSpace(h), strings.Join(ImportColumns, ","), strings.Join(TemplateHeaders, ",")),
				"column", strings.TrimSpace(h), "columns", strings.Join(TemplateHeaders, "，")))
		}
		if _, dup := col[name]; dup {
			return nil, nil, fmt.Errorf("stations: import: %w", valid.Field("file", "csv_duplicate_column", fmt.Sprintf("the column %q is named twice in the first row", name), "column", name))
		}
		col[name] = i
	}
	for i, req := range ImportColumns[:3] {
		if _, ok := col[req]; !ok {
			return nil, nil, fmt.Errorf("stations: import: %w", valid.Field("file", "csv_missing_column", fmt.Sprintf("the first row lacks the column %q (%s)", req, TemplateHeaders[i]),
				"column", TemplateHeaders[i], "columns", strings.Join(TemplateHeaders, "，")))
		}
	}
	var rows []ImportRow
	var probs []ImportProblem
	firstLine := map[string]int{}
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, nil, fmt.Errorf("stations: import: %w", fileError(err))
		}
		line, _ := cr.FieldPos(0)
		if len(rows) >= maxRows {
			return nil, nil, fmt.Errorf("stations: import: more than %d rows: %w", maxRows, ErrTooManyRows)
		}
		cell := func(name string) string {
			if i, ok := col[name]; ok && i < len(rec) {
				return strings.TrimSpace(rec[i])
			}
			return ""
		}
		u := Unit{Tag: NormalizeTag(cell("tag")), ProductID: cell("product_id"), StationID: cell("station_id"),
			State: importState(cell("state")), Condition: cell("condition"), AcquiredOn: cell("acquired_on")}
		if d, ok := ImportDate(u.AcquiredOn); ok {
			u.AcquiredOn = d
		}
		row := ImportRow{Line: line, Unit: u}
		bad := false
		if fields, ok := valid.Fields(u.Validate()); ok {
			for _, k := range (&valid.Error{Fields: fields}).Keys() {
				p := fields[k]
				if k == "acquired_on" {
					p.Message = "is not a date; write it as 2026-01-31, 2026/1/31 or 2026年1月31日"
				}
				probs = append(probs, importProblemOf(line, u.Tag, k, p))
			}
			bad = true
		}
		if first, dup := firstLine[u.Tag]; dup && u.Tag != "" {
			probs = append(probs, importProblemOf(line, u.Tag, "tag", valid.Problem{Code: "duplicate_line",
				Message: fmt.Sprintf("is also on line %d; each unit once", first), Params: map[string]any{"line": first}}))
			bad = true
		} else if u.Tag != "" {
			firstLine[u.Tag] = line
		}
		if bad {
			row.Line = -line // parsed but failed; kept out of the import
		}
		rows = append(rows, row)
	}
	good := rows[:0]
	for _, r := range rows {
		if r.Line > 0 {
			good = append(good, r)
		}
	}
	return good, probs, nil
}

// importDelimiter returns the character that separates the cells of a unit
// file, read from its header line: Excel's "Unicode text" separates them by
// tabs, its "CSV" formats by commas.
func importDelimiter(text string) rune {
	header, _, _ := strings.Cut(text, "\n")
	if strings.Count(header, "\t") > strings.Count(header, ",") {
		return '\t'
	}
	return ','
}

// ErrTooManyRows means an import file has more rows than allowed.
var ErrTooManyRows = errors.New("too many rows")

func fileError(err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return valid.Field("file", "csv_line", fmt.Sprintf("line %d is not valid CSV: %v", pe.Line, pe.Err), "line", pe.Line)
	}
	return valid.Field("file", "malformed", "could not be read as CSV: "+err.Error())
}

// ImportUnits applies parsed rows in the scope: rows naming new asset tags
// create units (in bulk, ImportBatch at a time); rows naming existing units of
// the scope update their condition notes and acquisition date when those
// differ and are not empty in the file, and are otherwise unchanged. A row
// whose existing unit has another product or station fails: moving a unit is
// a transfer, recorded as such, not an import. State is only used for new
// units; an existing unit's state is the desk's business. progress, when not
// nil, is called after each step with the number of rows done.
func (s *Service) ImportUnits(ctx context.Context, scope tenancy.Scope, rows []ImportRow, owner ProductOwner, by tenancy.Actor, progress func(done int)) (ImportResult, error) {
	if err := scope.MayChange(tenancy.ChangeOther); err != nil {
		return ImportResult{}, err
	}
	res := ImportResult{Failed: []ImportProblem{}}
	report := func(done int) {
		if progress != nil {
			progress(done)
		}
	}
	// fail records a row's problem: code and its parameters as key/value
	// pairs, as for valid.Error.Add. Nothing of another operator (its
	// stations, products) goes into a problem.
	fail := func(r ImportRow, field, code, msg string, kv ...any) {
		p := (&valid.Error{}).Add(field, code, msg, kv...).Fields[field]
		res.Failed = append(res.Failed, importProblemOf(r.Line, r.Unit.Tag, field, p))
	}
	// refused records err's field problems as r's; it reports false when
	// err is not a validation error.
	refused := func(r ImportRow, err error) bool {
		fields, ok := valid.Fields(err)
		for k, p := range fields {
			res.Failed = append(res.Failed, importProblemOf(r.Line, r.Unit.Tag, k, p))
		}
		return ok
	}
	// Every check that needs no unit lookup comes first: stations are read
	// once each by _id, products from the catalog's memory.
	type stationCheck struct {
		st        Station
		ok        bool
		ambiguous bool
	}
	seen := map[string]stationCheck{}
	names, err := s.stationNames(ctx, scope)
	if err != nil {
		return res, err
	}
	var fresh, existing []ImportRow
	for _, r := range rows {
		u := r.Unit
		sc, done := seen[u.StationID]
		if !done {
			st, err := s.store.station(ctx, u.StationID)
			if err != nil && !errors.Is(err, ErrNotFound) {
				return res, err
			}
			sc = stationCheck{st: st, ok: err == nil && scope.Manages(st.OperatorID)}
			if !sc.ok {
				// Not an id: a station's code typed in capitals, or its
				// name in either language.
				if named := names[NameKey(u.StationID)]; len(named) == 1 {
					sc = stationCheck{st: named[0], ok: true}
				} else if len(named) > 1 {
					sc.ambiguous = true
				}
			}
			seen[u.StationID] = sc
		}
		switch {
		case sc.ambiguous:
			fail(r, "station_id", "ambiguous", fmt.Sprintf("several of your stations are named %q; use the station's code instead", u.StationID), "name", u.StationID)
			continue
		case !sc.ok:
			fail(r, "station_id", "not_found", fmt.Sprintf("no station of yours has the code or name %q", u.StationID))
			continue
		}
		r.Unit.StationID = sc.st.ID
		pid, err := s.resolveProduct(owner, sc.st.OperatorID, u.ProductID)
		if err != nil {
			refused(r, err)
			continue
		}
		r.Unit.ProductID = pid
		r.Unit.OperatorID = sc.st.OperatorID
		// The in-process index knows every unit's tag, so new tags (the
		// usual case) need no database lookup at all.
		if _, known := s.index.unit(u.Tag); known {
			existing = append(existing, r)
		} else {
			fresh = append(fresh, r)
		}
	}
	done := len(rows) - len(fresh) - len(existing)
	report(done)
	created := map[string]bool{}
	for start := 0; start < len(fresh); start += ImportBatch {
		batch := fresh[start:min(start+ImportBatch, len(fresh))]
		units := make([]Unit, len(batch))
		for i, r := range batch {
			units[i] = r.Unit
		}
		errs, err := s.CreateUnits(ctx, units, by)
		if err != nil {
			return res, err
		}
		for i, e := range errs {
			switch {
			case e == nil:
				res.Created++
				created[batch[i].Unit.Tag] = true
			case errors.Is(e, ErrConflict):
				// Created meanwhile, or by another instance the index has
				// not heard of yet: treat it as an existing unit.
				existing = append(existing, batch[i])
			default:
				if refused(batch[i], e) {
					continue
				}
				s.logger.WarnContext(ctx, "import unit", "tag", batch[i].Unit.Tag, "err", e)
				fail(batch[i], "tag", "retry", "could not be created; run the import again")
			}
		}
		done += len(batch)
		report(done)
	}
	found, err := s.existingUnits(ctx, scope, existing)
	if err != nil {
		return res, err
	}
	for i, r := range existing {
		if i%100 == 99 {
			report(done + i)
		}
		u, ok := found[r.Unit.Tag]
		if !ok {
			fail(r, "tag", "retry", "could not be created or found; run the import again")
			continue
		}
		switch {
		case !scope.Manages(u.OperatorID):
			fail(r, "tag", "taken", "is already in use by another operator's unit")
		case u.ProductID != r.Unit.ProductID:
			fail(r, "product_id", "product_fixed", fmt.Sprintf("the unit is registered as product %s; a unit's product cannot change (retire it and register a new tag)", u.ProductID), "product", u.ProductID)
		case u.StationID != r.Unit.StationID:
			fail(r, "station_id", "use_transfer", fmt.Sprintf("the unit is at station %s; use a transfer to move it", u.StationID), "station", u.StationID)
		default:
			var e UnitEdit
			if c := r.Unit.Condition; c != "" && c != u.Condition {
				e.Condition = &c
			}
			if a := r.Unit.AcquiredOn; a != "" && a != u.AcquiredOn {
				e.AcquiredOn = &a
			}
			if e.Condition == nil && e.AcquiredOn == nil {
				res.Unchanged++
				continue
			}
			e.Why = "import"
			if _, err := s.EditUnit(ctx, scope, u.Tag, e, by); err != nil {
				if refused(r, err) {
					continue
				}
				if errors.Is(err, ErrConflict) || errors.Is(err, ErrNotFound) {
					fail(r, "tag", "retry", "was changed by someone else during the import; run it again")
					continue
				}
				return res, err
			}
			res.Updated++
		}
	}
	report(len(rows))
	failed := map[int]bool{}
	for _, p := range res.Failed {
		failed[p.Line] = true
	}
	for _, r := range rows {
		if !failed[r.Line] {
			res.Tags = append(res.Tags, r.Unit.Tag)
		}
	}
	sortProblems(res.Failed)
	return res, nil
}

// stationNames indexes the stations the scope manages by NameKey of their
// id and of their names in both languages, for files that name stations as
// people do. Operators have tens of stations, so one listing per import is
// cheap.
func (s *Service) stationNames(ctx context.Context, scope tenancy.Scope) (map[string][]Station, error) {
	var all []Station
	var err error
	switch {
	case scope.Platform:
		all, err = s.store.listStations(ctx, "")
	case scope.OperatorID != "" && scope.Manages(scope.OperatorID):
		all, err = s.store.listStations(ctx, scope.OperatorID)
	}
	if err != nil {
		return nil, err
	}
	out := map[string][]Station{}
	for _, st := range all {
		keys := map[string]bool{NameKey(st.ID): true, NameKey(st.Name.Zh): true, NameKey(st.Name.En): true}
		for k := range keys {
			if k != "" {
				out[k] = append(out[k], st)
			}
		}
	}
	return out, nil
}

// resolveProduct finds the product a row names for operator op: by id (the
// product's code, in any case), or by its name in either language through
// ProductsNamed. It returns the id, or the product_id field's problem. A
// product of another operator is not found, as if it did not exist.
func (s *Service) resolveProduct(owner ProductOwner, op, ref string) (string, error) {
	for _, cand := range []string{ref, strings.ToLower(strings.TrimSpace(ref))} {
		if o, ok := owner(cand); ok {
			if o != op {
				return "", valid.Field("product_id", "not_found", "is not one of your products (of the station's operator)")
			}
			return cand, nil
		}
	}
	var named []string
	if s.ProductsNamed != nil {
		named = s.ProductsNamed(op, ref)
	}
	switch len(named) {
	case 1:
		return named[0], nil
	case 0:
		return "", valid.Field("product_id", "not_found", fmt.Sprintf("no product of the station's operator has the code or name %q", ref))
	}
	return "", valid.Field("product_id", "ambiguous",
		fmt.Sprintf("several products are named %q (%s); use the product's code instead", ref, strings.Join(named, ", ")), "name", ref)
}

// ProductNamer finds an operator's products by name: the ids of those whose
// name, in either language, has the same NameKey as name. The catalog answers
// it (stations cannot import catalog).
type ProductNamer func(operatorID, name string) []string

// NameKey is how a product or station named in a file is compared with the
// names on record: full-width letters and digits as their ASCII twins, case
// and runs of spaces ignored.
func NameKey(s string) string { return refKey(s) }

// sortProblems orders an import's problems by line, keeping each line's
// fields in the order found.
func sortProblems(p []ImportProblem) {
	slices.SortStableFunc(p, func(a, b ImportProblem) int { return a.Line - b.Line })
}

// unitLookupWorkers is how many unit reads by _id run at once during an
// import; see BenchmarkImportUnits for why a few beat one and many.
const unitLookupWorkers = 4

// existingUnits reads the projections of the rows' units, which the index
// says exist. There are two ways, and BenchmarkImportUnits measured both on
// the embedded engine (tuned): reads by _id, four at a time (the only indexed
// lookup there; an $in on _id scans), cost 0.26–0.7 ms a row, while one scan
// of the operator's units costs 0.2–0.35 ms per unit the operator has, since
// decoding dominates. So a file naming at least half of the operator's units
// (re-running an import) is read with one scan, and a few units of a large
// operator by _id.
func (s *Service) existingUnits(ctx context.Context, scope tenancy.Scope, rows []ImportRow) (map[string]Unit, error) {
	if len(rows) == 0 {
		return map[string]Unit{}, nil
	}
	owned := s.unitCount(scope)
	if owned > 2*len(rows) {
		return s.unitsByTag(ctx, rows, unitLookupWorkers)
	}
	f := UnitFilter{}
	if !scope.Platform {
		f.OperatorID = scope.OperatorID
	}
	all, _, err := s.store.listUnitsIn(ctx, f, nil, 0, 0)
	if err != nil {
		return nil, err
	}
	want := make(map[string]bool, len(rows))
	for _, r := range rows {
		want[r.Unit.Tag] = true
	}
	out := make(map[string]Unit, len(rows))
	for _, u := range all {
		if want[u.Tag] {
			out[u.Tag] = u
			delete(want, u.Tag)
		}
	}
	// Units of other operators (a clash of tags) are not in the scan.
	if len(want) > 0 {
		var rest []ImportRow
		for _, r := range rows {
			if want[r.Unit.Tag] {
				rest = append(rest, r)
			}
		}
		more, err := s.unitsByTag(ctx, rest, unitLookupWorkers)
		if err != nil {
			return nil, err
		}
		for tag, u := range more {
			out[tag] = u
		}
	}
	return out, nil
}

// unitCount is how many units the index knows in the scope.
func (s *Service) unitCount(scope tenancy.Scope) int {
	n := 0
	for _, c := range s.UnitCounts(scope) {
		n += c
	}
	return n
}

// unitsByTag reads the projections of the rows' units by _id, workers at a
// time.
func (s *Service) unitsByTag(ctx context.Context, rows []ImportRow, workers int) (map[string]Unit, error) {
	out := make(map[string]Unit, len(rows))
	if len(rows) == 0 {
		return out, nil
	}
	var mu sync.Mutex
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(workers)
	for _, r := range rows {
		tag := r.Unit.Tag
		g.Go(func() error {
			u, err := s.store.unit(gctx, tag)
			if errors.Is(err, ErrNotFound) {
				return nil
			}
			if err != nil {
				return err
			}
			mu.Lock()
			out[tag] = u
			mu.Unlock()
			return nil
		})
	}
	return out, g.Wait()
}

// unit reports whether the index knows the unit with tag.
func (ix *Index) unit(tag string) (unitLite, bool) {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	l, ok := ix.units[tag]
	return l, ok
}

// UnitCounts counts the units the scope covers by state, from the in-process
// index: the console's overview shows them on every visit, and counting in the
// database would scan the units collection each time.
func (s *Service) UnitCounts(scope tenancy.Scope) map[State]int {
	ix := s.index
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	out := map[State]int{}
	for _, u := range ix.units {
		st, ok := ix.stations[u.station]
		if ok && scope.Station(st.OperatorID, st.ID) {
			out[u.state]++
		}
	}
	return out
}
