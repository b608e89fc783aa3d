package web

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"fuju/internal/valid"
	"fuju/media"
	"fuju/stations"
)

// Unit imports and label sheets.

// Import limits: a file of 20,000 rows of the six columns is about 1.5 MiB,
// so 5 MiB leaves room for long condition notes.
const (
	maxImportBytes = 5 << 20
	maxImportRows  = 20000
	// importTimeout bounds a background import; 20,000 rows take well under
	// a minute.
	importTimeout = 30 * time.Minute
)

// importResponse is what POST /operator/units/import answers.
type importResponse struct {
	ImportID string `json:"import_id"`
	stations.ImportResult
	// LabelsURL prints the labels of the file's units.
	LabelsURL string `json:"labels_url"`
}

// readImport reads and parses a CSV file from r, capped in bytes and rows.
// Too big is a 413 whichever limit is hit.
func readImport(r io.Reader) ([]stations.ImportRow, []stations.ImportProblem, error) {
	b, err := io.ReadAll(io.LimitReader(r, maxImportBytes+1))
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) || len(b) > maxImportBytes {
		return nil, nil, fmt.Errorf("web: import: the file is larger than %d MiB; split it: %w", maxImportBytes>>20, media.ErrTooLarge)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("web: import: %w", valid.Field("file", "malformed", "could not be read"))
	}
	rows, probs, err := stations.ParseUnitCSV(bytes.NewReader(b), maxImportRows)
	if errors.Is(err, stations.ErrTooManyRows) {
		return nil, nil, fmt.Errorf("web: import: the file has more than %d rows; split it: %w", maxImportRows, media.ErrTooLarge)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("web: import: %w", err)
	}
	return rows, probs, nil
}

// importUnitsAPI runs an import synchronously: the client gets the report in
// the response. It is recorded like a console import, so its labels can be
// printed by import id.
func (s *Server) importUnitsAPI(c *gin.Context) error {
	mt, _, _ := mime.ParseMediaType(c.GetHeader("Content-Type"))
	if mt != "text/csv" {
		return fmt.Errorf("web: import: send the file as the body with Content-Type text/csv: %w", media.ErrUnsupportedType)
	}
	c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, maxImportBytes)
	rows, probs, err := readImport(c.Request.Body)
	if err != nil {
		return err
	}
	scope, by := scopeOf(c), actorOf(c)
	job, err := s.stations.StartImport(c.Request.Context(), scope, len(rows)+len(probs), by)
	if err != nil {
		return err
	}
	job, err = s.stations.RunImport(c.Request.Context(), scope, job, rows, probs, s.productOwner, by)
	if err != nil {
		return err
	}
	// Each failed row's message in the client's language, like error messages.
	res, w := job.Result, s.words(apiLang(c))
	res.Failed = slices.Clone(res.Failed)
	for i, p := range res.Failed {
		res.Failed[i].Message = w.ImportProblem(p)
	}
	c.JSON(http.StatusOK, importResponse{ImportID: job.ID, ImportResult: res,
		LabelsURL: "/api/v1/operator/labels.pdf?import=" + job.ID})
	return nil
}

// startImport begins a console import in the background on this instance and
// returns its id at once; the import page follows its progress.
func (s *Server) startImport(c *gin.Context, rows []stations.ImportRow, probs []stations.ImportProblem) (string, error) {
	scope, by, rid := scopeOf(c), actorOf(c), requestID(c)
	job, err := s.stations.StartImport(c.Request.Context(), scope, len(rows)+len(probs), by)
	if err != nil {
		return "", err
	}
	// The Gin context is recycled when the request ends, so the job gets its
	// own context, detached from the request's cancellation.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(c.Request.Context()), importTimeout)
	go func() {
		defer cancel()
		defer func() {
			if v := recover(); v != nil {
				s.logger.Error("import panicked", "import", job.ID, "panic", fmt.Sprint(v), "request_id", rid)
			}
		}()
		if _, err := s.stations.RunImport(ctx, scope, job, rows, probs, s.productOwner, by); err != nil {
			s.logger.Error("import failed", "import", job.ID, "err", err, "request_id", rid)
		}
	}()
	return job.ID, nil
}

// Labels.

// showLabels answers a PDF sheet of QR labels for the units named by exactly
// one of units=TAG,TAG…, station=ID (its units in service) or import=ID (the
// units of an import).
func (s *Server) showLabels(c *gin.Context) error {
	p := newParams(c)
	p.only("units", "station", "import")
	tagList, station, imp := p.str("units", 200_000), p.str("station", 64), p.str("import", 64)
	given := 0
	for _, v := range []string{tagList, station, imp} {
		if v != "" {
			given++
		}
	}
	if given != 1 {
		p.errs.Add("units", "labels_which", "give exactly one of units=TAG,TAG…, station=ID or import=ID")
	}
	if err := p.err(); err != nil {
		return err
	}
	ctx, scope := c.Request.Context(), scopeOf(c)
	var units []stations.Unit
	name := "labels"
	switch {
	case tagList != "":
		seen := map[string]bool{}
		for _, t := range strings.Split(tagList, ",") {
			t = stations.NormalizeTag(t)
			if t == "" || seen[t] {
				continue
			}
			seen[t] = true
			if len(seen) > stations.MaxLabels {
				return fmt.Errorf("web: labels: %w", valid.Field("units", "max_items", fmt.Sprintf("at most %d units per sheet", stations.MaxLabels), "max", stations.MaxLabels))
			}
			u, err := s.stations.UnitIn(ctx, scope, t)
			if err != nil {
				return err
			}
			units = append(units, u)
		}
	case station != "":
		st, err := s.stations.StationIn(ctx, scope, station)
		if err != nil {
			return err
		}
		all, _, err := s.stations.UnitsIn(ctx, scope, stations.UnitFilter{StationID: st.ID}, 0, 0)
		if err != nil {
			return err
		}
		for _, u := range all {
			if u.State != stations.Retired && u.State != stations.Lost {
				units = append(units, u)
			}
		}
		name = "labels-" + st.ID
	default:
		job, err := s.stations.ImportJob(ctx, scope, imp)
		if err != nil {
			return err
		}
		for _, t := range job.Result.Tags {
			u, err := s.stations.Unit(ctx, t)
			if err != nil {
				return err
			}
			units = append(units, u)
		}
		name = "labels-" + job.ID
	}
	if len(units) == 0 {
		return fmt.Errorf("web: labels: %w", valid.Field("units", "no_units", "there are no units to label"))
	}
	if len(units) > stations.MaxLabels {
		return fmt.Errorf("web: labels: %w", valid.Field("units", "max_items", fmt.Sprintf("%d units are more than %d labels; print by station", len(units), stations.MaxLabels), "max", stations.MaxLabels))
	}
	lang := langOf(c)
	stationNames := map[string]string{}
	labels := make([]stations.Label, len(units))
	for i, u := range units {
		l := stations.Label{Tag: u.Tag}
		if pr, ok := s.catalog.Lookup(u.ProductID); ok {
			l.Name = pr.Name.In(lang)
		}
		sn, ok := stationNames[u.StationID]
		if !ok {
			if st, found := s.stations.Index().Station(u.StationID); found {
				sn = st.Name.In(lang)
			}
			stationNames[u.StationID] = sn
		}
		l.Station = sn
		labels[i] = l
	}
	pdf, err := stations.LabelSheetPDF(labels, stations.LabelOptions{})
	if err != nil {
		return err
	}
	c.Header("Content-Disposition", `inline; filename="`+name+`.pdf"`)
	c.Header("Cache-Control", "no-store")
	c.Data(http.StatusOK, "application/pdf", pdf)
	return nil
}
