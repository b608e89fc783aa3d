package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"

	"github.com/gin-gonic/gin"

	"fuju/catalog"
	"fuju/internal/l10n"
	"fuju/internal/valid"
	"fuju/stations"
)

// The operator API: an operator's listings, stations and units as JSON. The
// console's pages call the same functions (opCreateProduct, …), which apply
// the caller's scope through the services and write the audit log.

// Listings.

// productInput is a listing as clients send it: POST takes it whole, PATCH
// merges a partial object into the current listing's productInput.
type productInput struct {
	// ID is optional on creation (one is made); it never changes.
	ID string `json:"id,omitempty" binding:"limit=id"`
	// OperatorID names the operator when the platform creates; operators'
	// own people always create for their operator.
	OperatorID  string           `json:"operator_id,omitempty" binding:"limit=id"`
	Category    string           `json:"category" binding:"limit=id"`
	Name        catalog.Text     `json:"name"`
	Description catalog.Text     `json:"description"`
	Specs       catalog.Specs    `json:"specs"`
	Rate        catalog.RatePlan `json:"rate"`
	Status      catalog.Status   `json:"status"`
	Keywords    []string         `json:"keywords" binding:"limit=keywords,dive,limit=keyword"`
}

func (in productInput) product() catalog.Product {
	return catalog.Product{ID: strings.TrimSpace(in.ID), OperatorID: in.OperatorID, Category: in.Category,
		Name: trimText(in.Name), Description: in.Description, Specs: in.Specs, Rate: in.Rate,
		Status: in.Status, Keywords: in.Keywords}
}

func productInputOf(p catalog.Product) productInput {
	return productInput{Category: p.Category, Name: p.Name, Description: p.Description, Specs: p.Specs,
		Rate: p.Rate, Status: p.Status, Keywords: p.Keywords}
}

// productPatchable are the fields PATCH may change.
var productPatchable = []string{"category", "name", "description", "specs", "rate", "status", "keywords"}

// opCreateProduct creates a listing for the caller's operator (or, for the
// platform, the one named).
func (s *Server) opCreateProduct(c *gin.Context, p catalog.Product) (catalog.Product, error) {
	scope := scopeOf(c)
	if !scope.Platform {
		p.OperatorID = scope.OperatorID
	} else if p.OperatorID == "" {
		return catalog.Product{}, fmt.Errorf("web: product: %w", valid.Field("operator_id", "required", "is required: the operator the listing belongs to"))
	} else if _, err := s.stations.Operator(c.Request.Context(), p.OperatorID); err != nil {
		return catalog.Product{}, fmt.Errorf("web: product: %w", valid.Field("operator_id", "not_found", "is not an operator"))
	}
	return s.catalog.Create(c.Request.Context(), scope, p, actorOf(c))
}

// opUpdateProduct replaces a listing's editable fields; p.Version is the
// version the editor started from, and a listing changed since is refused
// (409).
func (s *Server) opUpdateProduct(c *gin.Context, p catalog.Product) (catalog.Product, error) {
	before, err := s.catalog.Get(c.Request.Context(), scopeOf(c), p.ID)
	if err != nil {
		return catalog.Product{}, err
	}
	if p.Version < 1 {
		return catalog.Product{}, fmt.Errorf("web: product: %w", valid.Field("version", "required", "is required: the version you edited"))
	}
	p.OperatorID = before.OperatorID
	return s.catalog.Update(c.Request.Context(), scopeOf(c), p, actorOf(c))
}

// opHideProduct hides a listing from families. Listings are never deleted:
// leases and units refer to them.
func (s *Server) opHideProduct(c *gin.Context, id string) (catalog.Product, error) {
	before, err := s.catalog.Get(c.Request.Context(), scopeOf(c), id)
	if err != nil {
		return catalog.Product{}, err
	}
	if before.Status == catalog.Hidden {
		return before, nil
	}
	return s.catalog.SetStatus(c.Request.Context(), scopeOf(c), id, catalog.Hidden, actorOf(c))
}

func (s *Server) listOpProducts(c *gin.Context) error {
	p := newParams(c)
	p.only("status", "category", "page", "per_page")
	status, category := p.str("status", 20), p.str("category", 64)
	page, perPage := pageParams(p, 50, 200)
	if err := p.err(); err != nil {
		return err
	}
	all, err := s.catalog.List(c.Request.Context(), scopeOf(c))
	if err != nil {
		return err
	}
	var out []productJSON
	for _, pr := range all {
		if (status == "" || string(pr.Status) == status) && (category == "" || pr.Category == category) {
			out = append(out, s.productView(pr))
		}
	}
	c.JSON(http.StatusOK, pageOf(out, page, perPage))
	return nil
}

func (s *Server) createOpProduct(c *gin.Context) error {
	var in productInput
	if err := bindJSON(c, &in); err != nil {
		return err
	}
	p, err := s.opCreateProduct(c, in.product())
	if err != nil {
		return err
	}
	c.Header("Location", "/api/v1/operator/products/"+p.ID)
	c.JSON(http.StatusCreated, s.productView(p))
	return nil
}

func (s *Server) showOpProduct(c *gin.Context) error {
	p, err := s.catalog.Get(c.Request.Context(), scopeOf(c), c.Param("id"))
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, s.productView(p))
	return nil
}

func (s *Server) patchOpProduct(c *gin.Context) error {
	cur, err := s.catalog.Get(c.Request.Context(), scopeOf(c), c.Param("id"))
	if err != nil {
		return err
	}
	var in productInput
	version, err := patchJSON(c, productInputOf(cur), productPatchable, &in)
	if err != nil {
		return err
	}
	p := in.product()
	p.ID, p.Version = cur.ID, version
	after, err := s.opUpdateProduct(c, p)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, s.productView(after))
	return nil
}

func (s *Server) deleteOpProduct(c *gin.Context) error {
	p, err := s.opHideProduct(c, c.Param("id"))
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, s.productView(p))
	return nil
}

// maxPatchBytes bounds a PATCH body; the largest object, a listing with two
// 4000-character descriptions, is well under it.
const maxPatchBytes = 256 << 10

// patchJSON applies the request's JSON merge patch (RFC 7396) to current and
// decodes the result into out, as strictly as a POST body: unknown fields and
// wrong types are field errors. The patch must carry "version", the version
// the client edited, and may only name the fields in patchable.
func patchJSON(c *gin.Context, current any, patchable []string, out any) (int64, error) {
	body, err := io.ReadAll(io.LimitReader(c.Request.Body, maxPatchBytes+1))
	if err != nil {
		return 0, fmt.Errorf("web: patch: %w", valid.Field("body", "malformed", "could not be read"))
	}
	if len(body) > maxPatchBytes {
		return 0, fmt.Errorf("web: patch: %w", valid.Field("body", "too_large", fmt.Sprintf("must be at most %d bytes", maxPatchBytes), "max_kb", maxPatchBytes>>10))
	}
	var patch map[string]any
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&patch); err != nil || patch == nil {
		return 0, fmt.Errorf("web: patch: %w", valid.Field("body", "malformed", "must be a JSON object"))
	}
	ve := &valid.Error{}
	var version int64
	if n, ok := patch["version"].(json.Number); !ok {
		ve.Add("version", "required", "is required: the version you edited (from GET)")
	} else if v, err := n.Int64(); err != nil || v < 0 {
		ve.Add("version", "integer", "must be a whole number")
	} else {
		version = v
	}
	delete(patch, "version")
	for k := range patch {
		if !slices.Contains(patchable, k) {
			ve.Add(k, "unknown", "is not a field you can change (fields: "+strings.Join(patchable, ", ")+")")
		}
	}
	if err := ve.Err(); err != nil {
		return 0, fmt.Errorf("web: patch: %w", err)
	}
	cur, err := json.Marshal(current)
	if err != nil {
		return 0, err
	}
	var doc map[string]any
	if err := json.Unmarshal(cur, &doc); err != nil {
		return 0, err
	}
	merged, err := json.Marshal(mergePatch(doc, patch))
	if err != nil {
		return 0, err
	}
	d := json.NewDecoder(bytes.NewReader(merged))
	d.DisallowUnknownFields()
	if err := d.Decode(out); err != nil {
		var typ *json.UnmarshalTypeError
		if errors.As(err, &typ) {
			return 0, fmt.Errorf("web: patch: %w", valid.Field(typ.Field, "type", "must be a "+typ.Type.String()))
		}
		if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
			return 0, fmt.Errorf("web: patch: %w", valid.Field(strings.Trim(name, `"`), "unknown", "is not a field of this object"))
		}
		return 0, fmt.Errorf("web: patch: %w", valid.Field("body", "malformed", err.Error()))
	}
	return version, nil
}

// mergePatch applies an RFC 7396 merge patch: objects merge key by key, null
// removes, anything else replaces.
func mergePatch(doc, patch map[string]any) map[string]any {
	for k, v := range patch {
		if v == nil {
			delete(doc, k)
			continue
		}
		if pm, ok := v.(map[string]any); ok {
			if dm, ok := doc[k].(map[string]any); ok {
				doc[k] = mergePatch(dm, pm)
				continue
			}
		}
		doc[k] = v
	}
	return doc
}

// Stations.

// stationInput is a station as clients send it (POST whole, PATCH merged).
type stationInput struct {
	ID         string         `json:"id,omitempty" binding:"limit=id"`
	OperatorID string         `json:"operator_id,omitempty" binding:"limit=id"`
	Name       l10n.Text      `json:"name"`
	Address    l10n.Text      `json:"address"`
	District   string         `json:"district" binding:"limit=id"`
	Lat        float64        `json:"lat"`
	Lng        float64        `json:"lng"`
	Phone      string         `json:"phone" binding:"limit=phone"`
	Hours      stations.Hours `json:"hours"`
	// Active defaults to true on creation.
	Active *bool `json:"active"`
}

func (in stationInput) station() stations.Station {
	st := stations.Station{ID: strings.TrimSpace(in.ID), OperatorID: in.OperatorID, Name: trimText(in.Name),
		Address: trimText(in.Address), District: in.District, Lat: in.Lat, Lng: in.Lng,
		Phone: strings.TrimSpace(in.Phone), Hours: in.Hours, Active: in.Active == nil || *in.Active}
	return st
}

func stationInputOf(st stations.Station) stationInput {
	active := st.Active
	return stationInput{Name: st.Name, Address: st.Address, District: st.District, Lat: st.Lat, Lng: st.Lng,
		Phone: st.Phone, Hours: st.Hours, Active: &active}
}

var stationPatchable = []string{"name", "address", "district", "lat", "lng", "phone", "hours", "active"}

func (s *Server) opCreateStation(c *gin.Context, st stations.Station) (stations.VersionedStation, error) {
	return s.stations.CreateStationIn(c.Request.Context(), scopeOf(c), st, actorOf(c))
}

func (s *Server) opUpdateStation(c *gin.Context, st stations.Station, version int64) (stations.VersionedStation, error) {
	return s.stations.UpdateStationIn(c.Request.Context(), scopeOf(c), st, version, actorOf(c))
}

func (s *Server) listOpStations(c *gin.Context) error {
	p := newParams(c)
	p.only("active", "page", "per_page")
	onlyActive := p.v.Has("active")
	active := p.boolean("active")
	page, perPage := pageParams(p, 50, 200)
	if err := p.err(); err != nil {
		return err
	}
	all, err := s.stations.StationsIn(c.Request.Context(), scopeOf(c))
	if err != nil {
		return err
	}
	var out []stations.VersionedStation
	for _, st := range all {
		if !onlyActive || st.Active == active {
			out = append(out, st)
		}
	}
	c.JSON(http.StatusOK, pageOf(out, page, perPage))
	return nil
}

func (s *Server) createOpStation(c *gin.Context) error {
	var in stationInput
	if err := bindJSON(c, &in); err != nil {
		return err
	}
	st, err := s.opCreateStation(c, in.station())
	if err != nil {
		return err
	}
	c.Header("Location", "/api/v1/operator/stations/"+st.ID)
	c.JSON(http.StatusCreated, st)
	return nil
}

func (s *Server) showOpStation(c *gin.Context) error {
	st, err := s.stations.StationIn(c.Request.Context(), scopeOf(c), c.Param("id"))
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, st)
	return nil
}

func (s *Server) patchOpStation(c *gin.Context) error {
	cur, err := s.stations.StationIn(c.Request.Context(), scopeOf(c), c.Param("id"))
	if err != nil {
		return err
	}
	var in stationInput
	version, err := patchJSON(c, stationInputOf(cur.Station), stationPatchable, &in)
	if err != nil {
		return err
	}
	st := in.station()
	st.ID = cur.ID
	after, err := s.opUpdateStation(c, st, version)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, after)
	return nil
}

// deleteOpStation deactivates the station: units, leases and histories name
// it, so it is never removed.
func (s *Server) deleteOpStation(c *gin.Context) error {
	cur, err := s.stations.StationIn(c.Request.Context(), scopeOf(c), c.Param("id"))
	if err != nil {
		return err
	}
	if !cur.Active {
		c.JSON(http.StatusOK, cur)
		return nil
	}
	st := cur.Station
	st.Active = false
	after, err := s.opUpdateStation(c, st, cur.Version)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, after)
	return nil
}

// Units.

// unitInput is a new unit as clients send it.
type unitInput struct {
	Tag        string         `json:"tag" binding:"required,limit=tag"`
	ProductID  string         `json:"product_id" binding:"required,limit=id"`
	StationID  string         `json:"station_id" binding:"required,limit=id"`
	State      stations.State `json:"state"`
	Condition  string         `json:"condition" binding:"limit=note"`
	AcquiredOn string         `json:"acquired_on"`
}

// unitPatch changes a unit's notes; absent fields stay.
type unitPatch struct {
	Version    *int64  `json:"version" binding:"required"`
	Condition  *string `json:"condition" binding:"omitempty,limit=note"`
	AcquiredOn *string `json:"acquired_on"`
}

// retireRequest is DELETE's body: why the unit leaves service.
type retireRequest struct {
	Reason  string `json:"reason" binding:"required,limit=note"`
	Version int64  `json:"version"`
}

// productOwner answers, from the catalog's memory, whose a product is.
func (s *Server) productOwner(id string) (string, bool) {
	p, ok := s.catalog.Lookup(id)
	return p.OperatorID, ok
}

func (s *Server) opCreateUnit(c *gin.Context, u stations.Unit) (stations.Unit, error) {
	return s.stations.CreateUnitIn(c.Request.Context(), scopeOf(c), u, s.productOwner, actorOf(c))
}

func (s *Server) opEditUnit(c *gin.Context, tag string, e stations.UnitEdit) (stations.Unit, error) {
	before, err := s.stations.UnitIn(c.Request.Context(), scopeOf(c), tag)
	if err != nil {
		return stations.Unit{}, err
	}
	return s.stations.EditUnit(c.Request.Context(), scopeOf(c), before.Tag, e, actorOf(c))
}

func (s *Server) opRetireUnit(c *gin.Context, tag, reason string, version int64) (stations.Unit, error) {
	before, err := s.stations.UnitIn(c.Request.Context(), scopeOf(c), tag)
	if err != nil {
		return stations.Unit{}, err
	}
	return s.stations.RetireUnitIn(c.Request.Context(), scopeOf(c), before.Tag, reason, version, actorOf(c))
}

// unitQuery reads the unit list's filters, shared by the API and the page.
func unitQuery(p *params) stations.UnitFilter {
	f := stations.UnitFilter{StationID: p.str("station", 64), ProductID: p.str("product", 64)}
	if st := p.str("state", 20); st != "" {
		f.State = stations.State(st)
		if !f.State.Valid() {
			names := make([]string, len(stations.States))
			for i, s := range stations.States {
				names[i] = string(s)
			}
			p.errs.Add("state", "oneof", "must be one of: "+strings.Join(names, ", "))
		}
	}
	return f
}

func (s *Server) listOpUnits(c *gin.Context) error {
	p := newParams(c)
	p.only("station", "state", "product", "page", "per_page")
	f := unitQuery(p)
	page, perPage := pageParams(p, 50, 200)
	if err := p.err(); err != nil {
		return err
	}
	units, total, err := s.stations.UnitsIn(c.Request.Context(), scopeOf(c), f, int64((page-1)*perPage), int64(perPage))
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, list[stations.Unit]{Items: units, Total: int(total), Page: page, PerPage: perPage})
	return nil
}

func (s *Server) createOpUnit(c *gin.Context) error {
	var in unitInput
	if err := bindJSON(c, &in); err != nil {
		return err
	}
	u, err := s.opCreateUnit(c, stations.Unit{Tag: in.Tag, ProductID: in.ProductID, StationID: in.StationID, State: in.State,
		Condition: strings.TrimSpace(in.Condition), AcquiredOn: strings.TrimSpace(in.AcquiredOn)})
	if err != nil {
		return err
	}
	c.Header("Location", "/api/v1/operator/units/"+u.Tag)
	c.JSON(http.StatusCreated, u)
	return nil
}

func (s *Server) showOpUnit(c *gin.Context) error {
	u, err := s.stations.UnitIn(c.Request.Context(), scopeOf(c), c.Param("tag"))
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, u)
	return nil
}

func (s *Server) patchOpUnit(c *gin.Context) error {
	// Tenancy first: another operator's unit is 404 whatever the body says.
	if _, err := s.stations.UnitIn(c.Request.Context(), scopeOf(c), c.Param("tag")); err != nil {
		return err
	}
	var in unitPatch
	if err := bindJSON(c, &in); err != nil {
		return err
	}
	e := stations.UnitEdit{Condition: in.Condition, AcquiredOn: in.AcquiredOn, Version: *in.Version}
	if e.Version < 1 {
		return fmt.Errorf("web: unit: %w", valid.Field("version", "min", "must be at least 1: the unit's seq you edited", "min", 1))
	}
	u, err := s.opEditUnit(c, c.Param("tag"), e)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, u)
	return nil
}

func (s *Server) deleteOpUnit(c *gin.Context) error {
	if _, err := s.stations.UnitIn(c.Request.Context(), scopeOf(c), c.Param("tag")); err != nil {
		return err
	}
	var in retireRequest
	if err := bindJSON(c, &in); err != nil {
		return err
	}
	u, err := s.opRetireUnit(c, c.Param("tag"), in.Reason, in.Version)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, u)
	return nil
}
