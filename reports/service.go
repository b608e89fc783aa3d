package reports

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"go.mongodb.org/mongo-driver/v2/mongo"

	"fuju/internal/audit"
	"fuju/internal/eventlog"
	"fuju/internal/l10n"
	"fuju/internal/tenancy"
	"fuju/internal/valid"
	"fuju/rentals"
	"fuju/stations"
)

// moveSource is where statements come from: the subsidy logs and the renter
// records. *rentals.Service satisfies it.
type moveSource interface {
	SubsidyMoves(ctx context.Context, operatorID, before string) ([]rentals.SubsidyMove, error)
	RenterFacts(ctx context.Context, id string) (rentals.RenterFacts, error)
}

// placeSource names stations and their districts; *stations.Service
// satisfies it.
type placeSource interface {
	Station(ctx context.Context, id string) (stations.Station, error)
}

// rentalsSource is all reports reads of the rentals: statements' moves and
// dashboards' ledgers. *rentals.Service satisfies it.
type rentalsSource interface {
	moveSource
	ledgerSource
}

// stationsSource is all reports reads of the stations. *stations.Service
// satisfies it.
type stationsSource interface {
	placeSource
	fleetSource
}

// recorder writes the audit log (the accounts store satisfies it through the
// wiring). Each step of a statement (statement.submit, statement.approve,
// statement.return, statement.paid; target statement/<operator>/<yyyy-mm>)
// writes one entry, field names only, never a renter's data.
type recorder interface {
	Record(ctx context.Context, e audit.Entry) error
}

// event is one step of a statement's log (entity
// "statement/<operator>/<yyyy-mm>").
type event struct {
	Status Status        `bson:"status"`
	By     tenancy.Actor `bson:"by"`
	// Body is, for a submission, the canonical content as submitted, and
	// Hash its SHA-256; the later steps name the hash they decided on.
	Body      string `bson:"body,omitempty"`
	Hash      string `bson:"hash,omitempty"`
	Why       string `bson:"why,omitempty"`
	PaidOn    string `bson:"paid_on,omitempty"`
	Reference string `bson:"reference,omitempty"`
}

// Service makes, freezes and decides statements.
type Service struct {
	log    *eventlog.Log[event]
	store  *store
	moves  moveSource
	places placeSource
	// ledgers and fleet feed the dashboards (the same services as moves
	// and places).
	ledgers ledgerSource
	fleet   fleetSource
	audit   recorder
	now     func() time.Time
	// rolls is the daily roll-up the dashboards read.
	rolls *rollStore
	// demand is the reservations' and waitlist's logs (nil: no demand).
	demand demandSource
	// keptToday and keptMoves keep today's figures and the subsidy moves
	// a short while (SetFresh).
	keptToday *keptFor[[]rollDay]
	keptMoves *keptFor[[]rentals.SubsidyMove]
}

// NewService returns the statements service storing in d.
func NewService(d *mongo.Database, rent rentalsSource, st stationsSource, audit recorder) *Service {
	return &Service{log: eventlog.New[event](d, "statement"), store: newStore(d), moves: rent, places: st, ledgers: rent, fleet: st,
		audit: audit, now: time.Now, rolls: newRollStore(d)}
}

// Init creates the collections.
func (s *Service) Init(ctx context.Context) error {
	if err := s.log.Init(ctx); err != nil {
		return fmt.Errorf("reports: %w", err)
	}
	if err := s.rolls.init(ctx); err != nil {
		return err
	}
	return s.store.init(ctx)
}

// SetFresh sets how long what the reports compute from the logs serves
// further requests (0, the default: computed for every request): today's
// dashboard figures, per operator and for the city (Dashboard.AsOf says
// when they were made), and an operator's subsidy moves for its statement
// drafts and list. Submitting a statement always reads the moves anew.
func (s *Service) SetFresh(d time.Duration) {
	s.keptToday, s.keptMoves = newKept(d, cloneDays), newKept(d, cloneMoves)
}

// SetClock replaces the clock (tests, the demo city).
func (s *Service) SetClock(now func() time.Time) { s.now = now }

func entity(operatorID, month string) string { return "statement/" + operatorID + "/" + month }

// state is a statement's log read from the start: its status and, when
// frozen or returned, the content last submitted.
type state struct {
	head    eventlog.Entry[event]
	history []eventlog.Entry[event]
	body    string // the last submission's canonical content
	hash    string
}

func (st state) status() Status {
	if st.head.Seq == 0 {
		return Draft
	}
	return st.head.Event.Status
}

// isFrozen: submitted, approved or paid. A returned statement is a draft
// again until it is submitted anew.
func (st state) isFrozen() bool {
	switch st.status() {
	case Submitted, Approved, Paid:
		return true
	}
	return false
}

func (st state) content() (Content, error) {
	var c Content
	if err := json.Unmarshal([]byte(st.body), &c); err != nil {
		return Content{}, fmt.Errorf("reports: stored statement does not read: %w", err)
	}
	if Hash([]byte(st.body)) != st.hash {
		return Content{}, fmt.Errorf("reports: stored statement %s/%s does not match its hash", c.OperatorID, c.Month)
	}
	return c, nil
}

func (s *Service) read(ctx context.Context, operatorID, month string, known int64) (state, error) {
	ent := entity(operatorID, month)
	head, err := s.log.Head(ctx, ent, known)
	if err != nil {
		return state{}, fmt.Errorf("reports: %w", err)
	}
	st := state{head: head}
	if head.Seq == 0 {
		return st, nil
	}
	if st.history, err = s.log.History(ctx, ent, head.Seq); err != nil {
		return state{}, fmt.Errorf("reports: %w", err)
	}
	for _, e := range st.history {
		if e.Event.Status == Submitted {
			st.body, st.hash = e.Event.Body, e.Event.Hash
		}
	}
	return st, nil
}

// states reads every statement of the operator that has a log.
func (s *Service) states(ctx context.Context, operatorID string) (map[string]state, error) {
	docs, err := s.store.list(ctx, operatorID)
	if err != nil {
		return nil, err
	}
	out := make(map[string]state, len(docs))
	for _, d := range docs {
		st, err := s.read(ctx, d.OperatorID, d.Month, d.Seq)
		if err != nil {
			return nil, err
		}
		if st.head.Seq > d.Seq {
			s.project(ctx, d.OperatorID, d.Month, st) // a crash left it behind
		}
		out[d.Month] = st
	}
	return out, nil
}

// frozenMonths returns the settled keys of each frozen month.
func frozenMonths(states map[string]state) (map[string]frozen, error) {
	out := map[string]frozen{}
	for m, st := range states {
		if !st.isFrozen() {
			continue
		}
		c, err := st.content()
		if err != nil {
			return nil, err
		}
		out[m] = frozen{keys: c.keys()}
	}
	return out, nil
}

// monthOver reports whether month has ended in the city.
func (s *Service) monthOver(month string) bool {
	t, _ := ParseMonth(month)
	return !s.now().Before(t.AddDate(0, 1, 0))
}

// checkMonth validates a month parameter.
func checkMonth(month string) error {
	if _, ok := ParseMonth(month); !ok {
		return valid.Field("month", "month", "must be a month like 2026-10")
	}
	return nil
}

// see checks that scope may read operatorID's statements: its own, or the
// platform. Another operator's are not found.
func see(scope tenancy.Scope, operatorID string) error {
	if !scope.Operator(operatorID) {
		return fmt.Errorf("reports: operator %s: %w", operatorID, ErrNotFound)
	}
	return nil
}

// assigned computes which moves belong to each not-frozen month up to
// month's end (every month up to the current one when month is "").
func (s *Service) assigned(ctx context.Context, operatorID, month string, anew bool) (map[string][]rentals.SubsidyMove, map[string]state, error) {
	states, err := s.states(ctx, operatorID)
	if err != nil {
		return nil, nil, err
	}
	fr, err := frozenMonths(states)
	if err != nil {
		return nil, nil, err
	}
	before := ""
	if month != "" {
		before = nextMonth(month) + "-01"
	}
	var moves []rentals.SubsidyMove
	if anew {
		moves, err = s.moves.SubsidyMoves(ctx, operatorID, before)
	} else {
		// Every move, kept a while (SetFresh), then those before month's
		// end: a release counts on the day it was made, never before
		// its grant's day, so this is what SubsidyMoves(before) returns.
		moves, _, err = s.keptMoves.get(operatorID, "", s.now(), func() ([]rentals.SubsidyMove, error) {
			return s.moves.SubsidyMoves(ctx, operatorID, "")
		})
		if before != "" {
			moves = slices.DeleteFunc(moves, func(m rentals.SubsidyMove) bool { return m.OnDay >= before })
		}
	}
	if err != nil {
		return nil, nil, fmt.Errorf("reports: %w", err)
	}
	return assign(moves, fr), states, nil
}

// draft builds month's content from its moves, with the renters and
// stations they name.
func (s *Service) draft(ctx context.Context, operatorID, month string, moves []rentals.SubsidyMove) (Content, error) {
	renters, places := map[string]Renter{}, map[string]Place{}
	for _, m := range moves {
		if _, ok := renters[m.RenterID]; !ok && m.RenterID != "" {
			r, err := s.moves.RenterFacts(ctx, m.RenterID)
			if err != nil && !errors.Is(err, rentals.ErrNotFound) {
				return Content{}, fmt.Errorf("reports: %w", err)
			}
			renters[m.RenterID] = r
		}
		if _, ok := places[m.StationID]; !ok {
			st, err := s.places.Station(ctx, m.StationID)
			if err != nil && !errors.Is(err, stations.ErrNotFound) {
				return Content{}, fmt.Errorf("reports: %w", err)
			}
			places[m.StationID] = Place{Name: st.Name.Zh, NameEn: st.Name.En, District: st.District}
		}
	}
	return build(operatorID, month, moves, renters, places), nil
}

// Statement returns operatorID's statement for month: frozen as submitted,
// or the draft as the logs say now.
func (s *Service) Statement(ctx context.Context, scope tenancy.Scope, operatorID, month string) (Statement, error) {
	if err := checkMonth(month); err != nil {
		return Statement{}, err
	}
	if err := see(scope, operatorID); err != nil {
		return Statement{}, err
	}
	byMonth, states, err := s.assigned(ctx, operatorID, month, false)
	if err != nil {
		return Statement{}, err
	}
	st := states[month]
	if st.head.Seq == 0 {
		if st, err = s.read(ctx, operatorID, month, 0); err != nil {
			return Statement{}, err
		}
	}
	out := s.describe(operatorID, month, st)
	if st.isFrozen() {
		if out.Content, err = st.content(); err != nil {
			return Statement{}, err
		}
		out.Hash = st.hash
		return out, nil
	}
	if out.Content, err = s.draft(ctx, operatorID, month, byMonth[month]); err != nil {
		return Statement{}, err
	}
	out.Hash = Hash(out.Content.Canonical())
	return out, nil
}

// describe fills a statement's status and history from its log.
func (s *Service) describe(operatorID, month string, st state) Statement {
	out := Statement{OperatorID: operatorID, Month: month, Status: st.status(), Seq: st.head.Seq, History: []Change{}}
	out.Submittable = s.monthOver(month) && (out.Status == Draft || out.Status == Returned)
	for _, e := range st.history {
		at := e.At
		out.History = append(out.History, Change{Seq: e.Seq, At: at, Status: e.Event.Status, By: e.Event.By, Hash: e.Event.Hash, Why: e.Event.Why})
		switch e.Event.Status {
		case Submitted:
			by := e.Event.By
			out.SubmittedAt, out.SubmittedBy, out.Reasons = &at, &by, ""
		case Approved, Returned:
			out.DecidedAt = &at
			if e.Event.Status == Returned {
				out.Reasons = e.Event.Why
			}
		case Paid:
			out.PaidOn, out.PaidReference = e.Event.PaidOn, e.Event.Reference
		}
	}
	return out
}

// Statements lists operatorID's months: every month with subsidy or a
// statement, and always the last month and this one, newest first.
func (s *Service) Statements(ctx context.Context, scope tenancy.Scope, operatorID string) ([]Summary, error) {
	if err := see(scope, operatorID); err != nil {
		return nil, err
	}
	byMonth, states, err := s.assigned(ctx, operatorID, "", false)
	if err != nil {
		return nil, err
	}
	now := s.now().In(l10n.Local)
	months := map[string]bool{now.Format("2006-01"): true, time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, l10n.Local).AddDate(0, -1, 0).Format("2006-01"): true}
	for m := range byMonth {
		months[m] = true
	}
	for m := range states {
		months[m] = true
	}
	out := make([]Summary, 0, len(months))
	for m := range months {
		st := states[m]
		sum := Summary{OperatorID: operatorID, Month: m, Status: st.status(), Seq: st.head.Seq}
		sum.Submittable = s.monthOver(m) && (sum.Status == Draft || sum.Status == Returned)
		var c Content
		if st.isFrozen() {
			if c, err = st.content(); err != nil {
				return nil, err
			}
			sum.Hash = st.hash
		} else {
			c = build(operatorID, m, byMonth[m], nil, nil)
		}
		sum.Lines, sum.SubsidyFen = len(c.Lines), c.Total.SubsidyFen
		if d := s.describe(operatorID, m, st); d.SubmittedAt != nil {
			sum.SubmittedAt = d.SubmittedAt
		}
		out = append(out, sum)
	}
	slices.SortFunc(out, func(a, b Summary) int { return cmpStr(b.Month, a.Month) })
	return out, nil
}

// Queue lists every operator's statements that were ever submitted, for
// the platform: newest month first. status narrows it ("" for all).
func (s *Service) Queue(ctx context.Context, scope tenancy.Scope, status Status) ([]Summary, error) {
	if !scope.Platform {
		return nil, fmt.Errorf("reports: statements of every operator: %w", ErrForbidden)
	}
	docs, err := s.store.list(ctx, "")
	if err != nil {
		return nil, err
	}
	out := []Summary{}
	for _, d := range docs {
		st, err := s.read(ctx, d.OperatorID, d.Month, d.Seq)
		if err != nil {
			return nil, err
		}
		if st.head.Seq == 0 || status != "" && st.status() != status {
			continue
		}
		if st.head.Seq > d.Seq {
			s.project(ctx, d.OperatorID, d.Month, st)
		}
		c, err := st.content()
		if err != nil {
			return nil, err
		}
		sum := Summary{OperatorID: d.OperatorID, Month: d.Month, Status: st.status(), Seq: st.head.Seq, Hash: st.hash,
			Lines: len(c.Lines), SubsidyFen: c.Total.SubsidyFen}
		sum.SubmittedAt = s.describe(d.OperatorID, d.Month, st).SubmittedAt
		out = append(out, sum)
	}
	return out, nil
}

// project writes the list's document of a statement from its log state. A
// failure leaves it behind; the next list reads the log and writes it again.
func (s *Service) project(ctx context.Context, operatorID, month string, st state) {
	d := statementDoc{ID: operatorID + "/" + month, OperatorID: operatorID, Month: month, Status: st.status(), Seq: st.head.Seq, Hash: st.hash}
	if c, err := st.content(); err == nil && st.body != "" {
		d.Lines, d.SubsidyFen = len(c.Lines), c.Total.SubsidyFen
	}
	for _, e := range st.history {
		if e.Event.Status == Submitted {
			d.SubmittedAt = e.At
		}
	}
	_ = s.store.put(context.WithoutCancel(ctx), d)
}

// append records ev as the statement's next event after head. Two people
// acting on the same head insert the same _id: one wins, the other gets
// ErrConflict (409). Before the first event the list's document is written
// as a draft, so a crash between the two leaves nothing a list misses.
func (s *Service) append(ctx context.Context, operatorID, month string, st state, ev event) (state, error) {
	if st.head.Seq == 0 {
		if err := s.store.put(ctx, statementDoc{ID: operatorID + "/" + month, OperatorID: operatorID, Month: month, Status: Draft}); err != nil {
			return state{}, err
		}
	}
	e, err := s.log.Append(ctx, entity(operatorID, month), st.head.Seq+1, ev)
	if errors.Is(err, eventlog.ErrTaken) {
		return state{}, fmt.Errorf("reports: statement %s %s changed meanwhile; reload it: %w", operatorID, month,
			valid.Because(ErrConflict, "statement_changed"))
	}
	if err != nil {
		return state{}, fmt.Errorf("reports: %w", err)
	}
	st.head = e
	st.history = append(st.history, e)
	if ev.Status == Submitted {
		st.body, st.hash = ev.Body, ev.Hash
	}
	s.project(ctx, operatorID, month, st)
	return st, nil
}

func (s *Service) record(ctx context.Context, by tenancy.Actor, operatorID, month, action string, fields ...string) {
	audit.Write(ctx, s.audit, nil, audit.Entry{Actor: tenancy.AuditActor(by), OperatorID: operatorID, Action: action,
		Target: "statement/" + operatorID + "/" + month, Changes: audit.Fields(fields...)})
}

// Submit freezes operatorID's statement for month as it is now: its
// content and hash are stored in the submission and never change. Only the
// operator's own people submit (the platform decides, it does not claim),
// only a month that is over, and only a draft or a returned statement.
func (s *Service) Submit(ctx context.Context, scope tenancy.Scope, operatorID, month string, by tenancy.Actor) (Statement, error) {
	if err := checkMonth(month); err != nil {
		return Statement{}, err
	}
	if err := see(scope, operatorID); err != nil {
		return Statement{}, err
	}
	if scope.Platform {
		return Statement{}, fmt.Errorf("reports: the platform does not submit an operator's statement: %w", ErrForbidden)
	}
	if err := scope.MayChange(tenancy.ChangeOther); err != nil {
		return Statement{}, err
	}
	if !s.monthOver(month) {
		return Statement{}, fmt.Errorf("reports: %w", valid.Field("month", "month_open", "can be submitted once the month is over"))
	}
	byMonth, states, err := s.assigned(ctx, operatorID, month, true)
	if err != nil {
		return Statement{}, err
	}
	st, ok := states[month]
	if !ok {
		if st, err = s.read(ctx, operatorID, month, 0); err != nil {
			return Statement{}, err
		}
	}
	if st.status() != Draft && st.status() != Returned {
		return Statement{}, fmt.Errorf("reports: statement %s %s is %s: %w", operatorID, month, st.status(),
			valid.Because(ErrConflict, "statement_state", "status", string(st.status())))
	}
	c, err := s.draft(ctx, operatorID, month, byMonth[month])
	if err != nil {
		return Statement{}, err
	}
	body := c.Canonical()
	if st, err = s.append(ctx, operatorID, month, st, event{Status: Submitted, By: by, Body: string(body), Hash: Hash(body)}); err != nil {
		return Statement{}, err
	}
	s.record(ctx, by, operatorID, month, "statement.submit", "status", "hash")
	out := s.describe(operatorID, month, st)
	out.Content, out.Hash = c, st.hash
	return out, nil
}

// Decision is the platform's step on a submitted statement.
type Decision struct {
	// To is approved, returned or paid.
	To Status `json:"to"`
	// Hash, when given, is the content the decider reviewed: a statement
	// submitted again since (with other content) is refused with 409.
	Hash string `json:"hash,omitempty"`
	// Reasons are required to return a statement.
	Reasons string `json:"reasons,omitempty"`
	// PaidOn (YYYY-MM-DD) and Reference (the transfer's) record a payment.
	PaidOn    string `json:"paid_on,omitempty"`
	Reference string `json:"reference,omitempty"`
}

// MaxReasons bounds the reasons for returning a statement.
const MaxReasons = valid.MaxNote

// Validate checks a decision's fields.
func (d Decision) Validate() error {
	e := &valid.Error{}
	switch d.To {
	case Approved:
	case Returned:
		if strings.TrimSpace(d.Reasons) == "" {
			e.Add("reasons", "required", "say why the statement is returned")
		}
	case Paid:
		if _, err := time.ParseInLocation(time.DateOnly, d.PaidOn, l10n.Local); err != nil {
			e.Add("paid_on", "date", "must be a date like 2026-11-20")
		}
		if strings.TrimSpace(d.Reference) == "" {
			e.Add("reference", "required", "the payment's reference is required")
		}
	default:
		e.Add("to", "oneof", "must be one of: approved, returned, paid")
	}
	e.Text("hash", d.Hash, valid.MaxCode)
	e.Text("paid_on", d.PaidOn, valid.MaxCode)
	if utf8.RuneCountInString(d.Reasons) > MaxReasons {
		e.Add("reasons", "max_length", fmt.Sprintf("must be at most %d characters", MaxReasons), "max", MaxReasons)
	}
	if utf8.RuneCountInString(d.Reference) > valid.MaxReference {
		e.Add("reference", "max_length", fmt.Sprintf("must be at most %d characters", valid.MaxReference), "max", valid.MaxReference)
	}
	return e.Err()
}

// Decide records the platform's approval, return or payment of a statement.
// Approve and return need a submitted statement, paid an approved one; two
// admins deciding at once: one wins, the other gets 409.
func (s *Service) Decide(ctx context.Context, scope tenancy.Scope, operatorID, month string, d Decision, by tenancy.Actor) (Statement, error) {
	if err := checkMonth(month); err != nil {
		return Statement{}, err
	}
	if err := d.Validate(); err != nil {
		return Statement{}, err
	}
	if !scope.Platform {
		return Statement{}, fmt.Errorf("reports: only the platform decides statements: %w", ErrForbidden)
	}
	st, err := s.read(ctx, operatorID, month, 0)
	if err != nil {
		return Statement{}, err
	}
	if st.head.Seq == 0 {
		return Statement{}, fmt.Errorf("reports: statement %s %s was never submitted: %w", operatorID, month, ErrNotFound)
	}
	need := Submitted
	if d.To == Paid {
		need = Approved
	}
	if st.status() != need {
		return Statement{}, fmt.Errorf("reports: statement %s %s is %s: %w", operatorID, month, st.status(),
			valid.Because(ErrConflict, "statement_state", "status", string(st.status())))
	}
	if d.Hash != "" && d.Hash != st.hash {
		return Statement{}, fmt.Errorf("reports: statement %s %s was submitted again since: %w", operatorID, month,
			valid.Because(ErrConflict, "statement_changed"))
	}
	ev := event{Status: d.To, By: by, Hash: st.hash, Why: strings.TrimSpace(d.Reasons), PaidOn: d.PaidOn, Reference: strings.TrimSpace(d.Reference)}
	if st, err = s.append(ctx, operatorID, month, st, ev); err != nil {
		return Statement{}, err
	}
	action := map[Status]string{Approved: "statement.approve", Returned: "statement.return", Paid: "statement.paid"}[d.To]
	fields := []string{"status"}
	if d.To == Returned {
		fields = append(fields, "reasons")
	} else if d.To == Paid {
		fields = append(fields, "paid_on", "reference")
	}
	s.record(ctx, by, operatorID, month, action, fields...)
	out := s.describe(operatorID, month, st)
	if out.Content, err = st.content(); err != nil {
		return Statement{}, err
	}
	out.Hash = st.hash
	return out, nil
}
