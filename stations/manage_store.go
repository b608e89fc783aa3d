package stations

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"fuju/internal/ids"
	"fuju/internal/tenancy"
)

// listUnitsIn is listUnits for a scope: when stationIDs is not nil (staff),
// only units at those stations. Listings scan the collection on the embedded
// engine (DESIGN.md); they are operator pages, paged, not hot paths.
func (s *store) listUnitsIn(ctx context.Context, f UnitFilter, stationIDs []string, skip, limit int64) ([]Unit, int64, error) {
	filter := f.bson()
	if stationIDs != nil {
		filter = append(filter, bson.E{Key: "station_id", Value: bson.D{{Key: "$in", Value: stationIDs}}})
	}
	total, err := s.units.CountDocuments(ctx, filter)
	if err != nil {
		return nil, 0, translate(err, "count units")
	}
	opts := options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}).SetSkip(skip)
	if limit > 0 {
		opts.SetLimit(limit)
	}
	cur, err := s.units.Find(ctx, filter, opts)
	if err != nil {
		return nil, 0, translate(err, "list units")
	}
	var docs []unitDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, 0, translate(err, "list units")
	}
	out := make([]Unit, len(docs))
	for i, d := range docs {
		out[i] = d.toUnit()
	}
	return out, total, nil
}

// Import job statuses. A job whose instance stopped stays "running" in the
// database; ImportJob.Interrupted tells it apart by its stale heartbeat.
const (
	ImportRunning = "running"
	ImportDone    = "done"
	ImportFailed  = "failed"
)

// ImportStale is how long a running import may go without a heartbeat before
// it is considered interrupted (its instance stopped or crashed). Progress is
// saved at least every ImportBatch rows, which takes seconds.
const ImportStale = 3 * time.Minute

// ImportJob is one unit import: its progress while it runs on the instance
// that received the file, then its result. Jobs live in the small
// unit_imports collection and are only ever read by _id.
type ImportJob struct {
	ID string `json:"id"`
	// OperatorID is the importing operator; empty for the platform, whose
	// imports only the platform sees.
	OperatorID  string        `json:"operator_id,omitempty"`
	By          tenancy.Actor `json:"by"`
	Status      string        `json:"status"`
	Total       int           `json:"total"`
	Done        int           `json:"done"`
	Result      ImportResult  `json:"result"`
	Error       string        `json:"error,omitempty"`
	StartedAt   time.Time     `json:"started_at"`
	HeartbeatAt time.Time     `json:"heartbeat_at"`
	FinishedAt  *time.Time    `json:"finished_at,omitempty"`
}

// Interrupted reports whether the job stopped without finishing: it is still
// marked running but its instance has not reported progress for ImportStale.
// Imports are idempotent, so the advice is to run the file again.
func (j ImportJob) Interrupted(now time.Time) bool {
	return j.Status == ImportRunning && now.Sub(j.HeartbeatAt) > ImportStale
}

type importJobDoc struct {
	ID          string          `bson:"_id"`
	OperatorID  string          `bson:"operator_id"`
	By          tenancy.Actor   `bson:"by"`
	Status      string          `bson:"status"`
	Total       int             `bson:"total"`
	Done        int             `bson:"done"`
	Created     int             `bson:"created"`
	Updated     int             `bson:"updated"`
	Unchanged   int             `bson:"unchanged"`
	Failed      []importProblem `bson:"failed"`
	Tags        []string        `bson:"tags"`
	Error       string          `bson:"error,omitempty"`
	StartedAt   time.Time       `bson:"started_at"`
	HeartbeatAt time.Time       `bson:"heartbeat_at"`
	FinishedAt  *time.Time      `bson:"finished_at,omitempty"`
}

type importProblem struct {
	Line    int            `bson:"line"`
	Tag     string         `bson:"tag"`
	Field   string         `bson:"field"`
	Code    string         `bson:"code,omitempty"`
	Params  map[string]any `bson:"params,omitempty"`
	Message string         `bson:"message"`
}

func toImportJobDoc(j ImportJob) importJobDoc {
	d := importJobDoc{ID: j.ID, OperatorID: j.OperatorID, By: j.By, Status: j.Status, Total: j.Total, Done: j.Done,
		Created: j.Result.Created, Updated: j.Result.Updated, Unchanged: j.Result.Unchanged, Tags: j.Result.Tags,
		Error: j.Error, StartedAt: j.StartedAt, HeartbeatAt: j.HeartbeatAt, FinishedAt: j.FinishedAt,
		Failed: make([]importProblem, len(j.Result.Failed))}
	for i, p := range j.Result.Failed {
		d.Failed[i] = importProblem(p)
	}
	return d
}

func (d importJobDoc) toImportJob() ImportJob {
	j := ImportJob{ID: d.ID, OperatorID: d.OperatorID, By: d.By, Status: d.Status, Total: d.Total, Done: d.Done,
		Result: ImportResult{Created: d.Created, Updated: d.Updated, Unchanged: d.Unchanged,
			Failed: make([]ImportProblem, len(d.Failed)), Tags: d.Tags},
		Error: d.Error, StartedAt: d.StartedAt, HeartbeatAt: d.HeartbeatAt, FinishedAt: d.FinishedAt}
	for i, p := range d.Failed {
		j.Result.Failed[i] = ImportProblem(p)
	}
	return j
}

func (s *store) imports() *mongo.Collection { return s.units.Database().Collection("unit_imports") }

func (s *store) saveImport(ctx context.Context, j ImportJob) error {
	_, err := s.imports().ReplaceOne(ctx, byID(j.ID), toImportJobDoc(j), options.Replace().SetUpsert(true))
	return translate(err, "import "+j.ID)
}

func (s *store) importJob(ctx context.Context, id string) (ImportJob, error) {
	var d importJobDoc
	if err := s.imports().FindOne(ctx, byID(id)).Decode(&d); err != nil {
		return ImportJob{}, translate(err, "import "+id)
	}
	return d.toImportJob(), nil
}

// StartImport records a new running import of total rows for the scope's
// operator, before any row is applied, so its page can be shown at once.
func (s *Service) StartImport(ctx context.Context, scope tenancy.Scope, total int, by tenancy.Actor) (ImportJob, error) {
	if err := scope.MayChange(tenancy.ChangeOther); err != nil {
		return ImportJob{}, err
	}
	if !scope.Platform && !scope.Manages(scope.OperatorID) {
		return ImportJob{}, fmt.Errorf("stations: import: %w", ErrNotFound)
	}
	now := s.now()
	j := ImportJob{ID: ids.New("imp"), OperatorID: scope.OperatorID, By: by, Status: ImportRunning, Total: total,
		StartedAt: now, HeartbeatAt: now, Result: ImportResult{Failed: []ImportProblem{}}}
	if scope.Platform {
		j.OperatorID = ""
	}
	if _, err := s.store.imports().InsertOne(ctx, toImportJobDoc(j)); err != nil {
		return ImportJob{}, translate(err, "import "+j.ID)
	}
	return j, nil
}

// RunImport applies the rows of job (started with StartImport) and records its
// progress and result; problems found while parsing the file are part of the
// report. It returns the finished job. The job's own context should outlive
// the request that uploaded the file when it runs in the background.
func (s *Service) RunImport(ctx context.Context, scope tenancy.Scope, job ImportJob, rows []ImportRow, parsed []ImportProblem, owner ProductOwner, by tenancy.Actor) (ImportJob, error) {
	if err := scope.MayChange(tenancy.ChangeOther); err != nil {
		return ImportJob{}, err
	}
	lastSave := time.Time{}
	progress := func(done int) {
		job.Done = len(parsed) + done
		// Progress is saved at most every second: the page polls every two.
		if now := s.now(); now.Sub(lastSave) >= time.Second {
			lastSave = now
			job.HeartbeatAt = now
			if err := s.store.saveImport(ctx, job); err != nil {
				s.logger.Warn("save import progress", "import", job.ID, "err", err)
			}
		}
	}
	res, err := s.ImportUnits(ctx, scope, rows, owner, by, progress)
	now := s.now()
	job.HeartbeatAt, job.FinishedAt = now, &now
	if err != nil {
		job.Status, job.Error = ImportFailed, err.Error()
	} else {
		job.Status, job.Done = ImportDone, job.Total
	}
	res.Failed = append(append([]ImportProblem{}, parsed...), res.Failed...)
	sortProblems(res.Failed)
	job.Result = res
	serr := s.store.saveImport(context.WithoutCancel(ctx), job)
	s.auditImport(ctx, job, by)
	if serr != nil {
		return job, errors.Join(err, serr)
	}
	return job, err
}

// ImportJob returns an import the scope may see.
func (s *Service) ImportJob(ctx context.Context, scope tenancy.Scope, id string) (ImportJob, error) {
	j, err := s.store.importJob(ctx, id)
	if err != nil {
		return ImportJob{}, err
	}
	visible := scope.Platform || j.OperatorID != "" && scope.Manages(j.OperatorID)
	if !visible {
		return ImportJob{}, fmt.Errorf("stations: import %s: %w", id, ErrNotFound)
	}
	return j, nil
}
