package web

import (
	"bytes"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"fuju/catalog"
	"fuju/internal/input"
	"fuju/internal/valid"
	"fuju/media"
	"fuju/stations"
)

// The operator console's pages. Each form posts to a page route that calls the
// same function as the API (opCreateProduct, …); a validation error renders
// the form again with what was typed and each problem next to its field, and
// success redirects with a flash (post/redirect/get).

// withRules adds to the form's typing problems (typed, may be nil) the
// problems the domain's rules find in what could be read, so one post reports
// every wrong field; a field keeps its typing problem.
func withRules(typed error, rules error) error {
	probs, _ := valid.Fields(typed)
	out := &valid.Error{}
	for k, p := range probs {
		out.Put(k, p)
	}
	more, _ := valid.Fields(rules)
	for k, p := range more {
		out.Put(k, p)
	}
	return out.Err()
}

// Dashboard.

type opStateCount struct {
	State stations.State
	Count int
}

type opDashboardPage struct {
	opConsole
	Products, Hidden, NoPhotos int
	Stations, Inactive         int
	Units                      int
	States                     []opStateCount
	Staff, Tokens              int
	// TierApplications wait for review (operator_tiers.go).
	TierApplications int
	// OperatorName is the caller's operator (empty for the platform).
	Operator string
}

func (s *Server) showOpDashboard(c *gin.Context) error {
	p := opDashboardPage{opConsole: s.opConsole(c, "op.title", "home")}
	ctx, scope := c.Request.Context(), scopeOf(c)
	prods, err := s.catalog.List(ctx, scope)
	if err != nil {
		return err
	}
	for _, pr := range prods {
		p.Products++
		if pr.Status == catalog.Hidden {
			p.Hidden++
		}
		if len(pr.Photos) == 0 {
			p.NoPhotos++
		}
	}
	sts, err := s.stations.StationsIn(ctx, scope)
	if err != nil {
		return err
	}
	for _, st := range sts {
		p.Stations++
		if !st.Active {
			p.Inactive++
		}
	}
	counts := s.stations.UnitCounts(scope)
	for _, st := range stations.States {
		p.States = append(p.States, opStateCount{State: st, Count: counts[st]})
		p.Units += counts[st]
	}
	if staff, err := s.opStaff(c); err == nil {
		p.Staff = len(staff)
	}
	if n, err := s.rentals.ReviewCount(ctx, scope); err == nil && s.rentals != nil {
		p.TierApplications = n
	}
	if toks, err := s.opTokens(c); err == nil {
		for _, t := range toks {
			if t.RevokedAt == nil {
				p.Tokens++
			}
		}
	}
	if !scope.Platform {
		if o, err := s.stations.Operator(ctx, scope.OperatorID); err == nil {
			p.Operator = p.Tx(o.Name)
		}
	}
	return s.render(c, http.StatusOK, "operator_home", &p)
}

// Listings.

type opProductsPage struct {
	opConsole
	Products []catalog.Product
}

func (s *Server) showOpProducts(c *gin.Context) error {
	p := opProductsPage{opConsole: s.opConsole(c, "op.products.title", "products")}
	var err error
	if p.Products, err = s.catalog.List(c.Request.Context(), scopeOf(c)); err != nil {
		return err
	}
	return s.render(c, http.StatusOK, "operator_products", &p)
}

type opProductPage struct {
	opConsole
	Form form
	// Product is the listing being edited, nil for a new one.
	Product *catalog.Product
	// Conflict says someone else saved the listing since this form was
	// opened.
	Conflict bool
}

// Categories are the category choices.
func (p *opProductPage) Categories() []opChoice {
	out := []opChoice{{Value: "", Label: p.T("op.choose")}}
	for _, c := range catalog.Categories {
		out = append(out, opChoice{Value: c.ID, Label: p.Tx(c.Name)})
	}
	return out
}

// Statuses are the listing status choices.
func (p *opProductPage) Statuses() []opChoice {
	return []opChoice{{Value: "active", Label: p.T("op.status.active")}, {Value: "hidden", Label: p.T("op.status.hidden")}}
}

// opSpecInts are the whole-number specs, in the form's order; weight_kg is the
// one decimal spec.
var opSpecInts = []string{"seat_width_cm", "seat_height_cm", "width_cm", "length_cm", "max_user_kg", "range_km", "wheels"}

// SpecInts lists the whole-number spec fields for the template.
func (p *opProductPage) SpecInts() []string { return opSpecInts }

var productFormFields = map[string]string{"rate.daily_fen": "daily_yuan", "rate.block30_fen": "block30_yuan",
	"rate.deposit_fen": "deposit_yuan", "rate.replacement_fen": "replacement_yuan", "specs": "seat_width_cm"}

// productFormOrder is the form's order, for focusing the first wrong field.
var productFormOrder = append([]string{"operator_id", "name_zh", "name_en", "category", "status", "description_zh",
	"description_en", "daily_yuan", "block30_yuan", "deposit_yuan", "replacement_yuan"}, append(opSpecInts, "weight_kg", "keywords")...)

func productFormValues(pr catalog.Product) url.Values {
	v := url.Values{}
	v.Set("version", strconv.FormatInt(pr.Version, 10))
	v.Set("name_zh", pr.Name.Zh)
	v.Set("name_en", pr.Name.En)
	v.Set("description_zh", pr.Description.Zh)
	v.Set("description_en", pr.Description.En)
	v.Set("category", pr.Category)
	v.Set("status", string(pr.Status))
	v.Set("daily_yuan", input.YuanText(pr.Rate.DailyFen))
	v.Set("block30_yuan", input.YuanText(pr.Rate.Block30Fen))
	v.Set("deposit_yuan", input.YuanText(pr.Rate.DepositFen))
	v.Set("replacement_yuan", input.YuanText(pr.Rate.ReplacementFen))
	v.Set("keywords", strings.Join(pr.Keywords, ", "))
	sp := pr.Specs
	for name, n := range map[string]int{"seat_width_cm": sp.SeatWidthCM, "seat_height_cm": sp.SeatHeightCM, "width_cm": sp.WidthCM,
		"length_cm": sp.LengthCM, "max_user_kg": sp.MaxUserKG, "range_km": sp.RangeKM, "wheels": sp.Wheels} {
		if n != 0 {
			v.Set(name, strconv.Itoa(n))
		}
	}
	if sp.WeightKG != 0 {
		v.Set("weight_kg", strconv.FormatFloat(sp.WeightKG, 'f', -1, 64))
	}
	if sp.Foldable {
		v.Set("foldable", "on")
	}
	if sp.AdjustableHeight {
		v.Set("adjustable_height", "on")
	}
	return v
}

// productFromForm reads the listing form. Problems of typing (a price that is
// not an amount, a width that is not a number) are found here; the rules are
// the catalog's.
func productFromForm(f form) (catalog.Product, error) {
	ve := &valid.Error{}
	pr := catalog.Product{Category: f.Get("category"), Status: catalog.Status(f.Get("status")),
		Name:        catalog.Text{Zh: f.Get("name_zh"), En: f.Get("name_en")},
		Description: catalog.Text{Zh: f.Get("description_zh"), En: f.Get("description_en")}}
	for _, m := range []struct {
		name string
		to   *int64
	}{{"daily_yuan", &pr.Rate.DailyFen}, {"block30_yuan", &pr.Rate.Block30Fen}, {"deposit_yuan", &pr.Rate.DepositFen},
		{"replacement_yuan", &pr.Rate.ReplacementFen}} {
		fen, ok := parseYuan(f.Get(m.name))
		if !ok {
			ve.Add(m.name, "yuan", "must be an amount in yuan with at most two decimals, such as 12.50")
		}
		*m.to = fen
	}
	ints := map[string]*int{"seat_width_cm": &pr.Specs.SeatWidthCM, "seat_height_cm": &pr.Specs.SeatHeightCM,
		"width_cm": &pr.Specs.WidthCM, "length_cm": &pr.Specs.LengthCM, "max_user_kg": &pr.Specs.MaxUserKG,
		"range_km": &pr.Specs.RangeKM, "wheels": &pr.Specs.Wheels}
	for _, name := range opSpecInts {
		if v := f.Get(name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil {
				ve.Add(name, "integer", "must be a whole number")
			}
			*ints[name] = n
		}
	}
	if v := f.Get("weight_kg"); v != "" {
		w, err := strconv.ParseFloat(v, 64)
		if err != nil || w != w {
			ve.Add("weight_kg", "number", "must be a number such as 12.5")
		}
		pr.Specs.WeightKG = w
	}
	pr.Specs.Foldable = f.Get("foldable") != ""
	pr.Specs.AdjustableHeight = f.Get("adjustable_height") != ""
	for _, k := range strings.FieldsFunc(f.Get("keywords"), func(r rune) bool { return r == ',' || r == '，' || r == '、' }) {
		if k = strings.TrimSpace(k); k != "" {
			pr.Keywords = append(pr.Keywords, k)
		}
	}
	if v := f.Get("version"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			ve.Add("version", "integer", "must be a whole number")
		}
		pr.Version = n
	}
	return pr, ve.Err()
}

func (s *Server) newOpProductPage(c *gin.Context) error {
	p := opProductPage{opConsole: s.opConsole(c, "op.product.new", "products")}
	p.Form.Values = url.Values{"status": {"active"}}
	return s.render(c, http.StatusOK, "operator_product", &p)
}

func (s *Server) createOpProductPage(c *gin.Context) error {
	f := newForm(c)
	p := opProductPage{opConsole: s.opConsole(c, "op.product.new", "products"), Form: f}
	pr, err := productFromForm(f)
	pr.OperatorID = consoleOperator(c, f)
	if err != nil {
		err = withRules(remap(err, productFormFields), remap(pr.Validate(), productFormFields))
	} else {
		pr, err = s.opCreateProduct(c, pr)
	}
	if err != nil {
		if p.Form.fail(remap(err, productFormFields), productFormOrder...) {
			return s.render(c, http.StatusBadRequest, "operator_product", &p)
		}
		return err
	}
	s.flash(c, "op.flash.product_created")
	c.Redirect(http.StatusSeeOther, "/operator/products/"+pr.ID+"/photos")
	return nil
}

func (s *Server) editOpProductPage(c *gin.Context) error {
	pr, err := s.catalog.Get(c.Request.Context(), scopeOf(c), c.Param("id"))
	if err != nil {
		return err
	}
	p := opProductPage{opConsole: s.opConsole(c, "op.product.edit", "products"), Product: &pr}
	p.Form.Values = productFormValues(pr)
	return s.render(c, http.StatusOK, "operator_product", &p)
}

func (s *Server) updateOpProductPage(c *gin.Context) error {
	cur, err := s.catalog.Get(c.Request.Context(), scopeOf(c), c.Param("id"))
	if err != nil {
		return err
	}
	f := newForm(c)
	p := opProductPage{opConsole: s.opConsole(c, "op.product.edit", "products"), Form: f, Product: &cur}
	pr, err := productFromForm(f)
	pr.ID, pr.OperatorID = cur.ID, cur.OperatorID
	if err != nil {
		err = withRules(remap(err, productFormFields), remap(pr.Validate(), productFormFields))
	} else {
		_, err = s.opUpdateProduct(c, pr)
	}
	switch {
	case errors.Is(err, catalog.ErrConflict):
		// Keep what this editor typed, so nothing is lost; the version
		// field moves to the current one, so saving again overwrites
		// knowingly.
		p.Conflict = true
		p.Form.Values.Set("version", strconv.FormatInt(cur.Version, 10))
		return s.render(c, http.StatusConflict, "operator_product", &p)
	case err != nil:
		if p.Form.fail(remap(err, productFormFields), productFormOrder...) {
			return s.render(c, http.StatusBadRequest, "operator_product", &p)
		}
		return err
	}
	s.flash(c, "op.flash.saved")
	c.Redirect(http.StatusSeeOther, "/operator/products")
	return nil
}

// Photos.

type opPhotosPage struct {
	opConsole
	Product catalog.Product
	// Upload is the upload form; Alt the alt-text form of photo AltKey.
	Upload, Alt form
	AltKey      string
	Max         int
	ctx         *gin.Context
}

// PhotoImg shows a photo of the listing in the console's list.
func (p *opPhotosPage) PhotoImg(ph catalog.Photo) template.HTML {
	return p.srv.img(ph, p.Tx(ph.Alt), "160px", "", false)
}

// Pending is the photo chosen in a failed upload and kept on the server, or
// nil.
func (p *opPhotosPage) Pending() *catalog.Photo {
	ph, ok := p.srv.openPendingPhoto(p.ctx, p.Upload.Get("pending_photo"))
	if !ok {
		return nil
	}
	return &catalog.Photo{Key: ph.Hash, Widths: variantWidths(ph), Width: ph.Width, Height: ph.Height}
}

// PendingImg shows the kept photo.
func (p *opPhotosPage) PendingImg(ph *catalog.Photo) template.HTML {
	return p.srv.img(*ph, p.T("op.photos.pending.alt"), "240px", "", true)
}

// AltForm is the alt-text form of photo ph: the typed values after a failed
// save of that photo, its stored text otherwise.
func (p *opPhotosPage) AltForm(ph catalog.Photo) form {
	if p.AltKey == ph.Key {
		return p.Alt
	}
	return form{Values: url.Values{"alt_zh": {ph.Alt.Zh}, "alt_en": {ph.Alt.En}}}
}

func (s *Server) photosPage(c *gin.Context, status int, p *opPhotosPage) error {
	pr, err := s.catalog.Get(c.Request.Context(), scopeOf(c), c.Param("id"))
	if err != nil {
		return err
	}
	p.opConsole = s.opConsole(c, "op.photos.title", "products")
	p.Product, p.Max, p.ctx = pr, catalog.MaxPhotos, c
	return s.render(c, status, "operator_photos", p)
}

func (s *Server) showOpPhotos(c *gin.Context) error {
	return s.photosPage(c, http.StatusOK, &opPhotosPage{})
}

// uploadOpPhotoPage adds a photo from the console's upload form. A browser
// cannot refill a file input, so when the image is fine but another field is
// not (the Chinese description is missing), the image is stored at once and
// the form comes back with it shown and referenced by a signed hidden field
// (pending_photo): the operator fixes the text and saves without choosing
// the file again.
func (s *Server) uploadOpPhotoPage(c *gin.Context) error {
	pr, err := s.catalog.Get(c.Request.Context(), scopeOf(c), c.Param("id"))
	if err != nil {
		return err
	}
	f := form{Values: url.Values{}}
	var file []byte
	if mf := c.Request.MultipartForm; mf != nil {
		for _, name := range []string{"alt_zh", "alt_en", "pending_photo"} {
			if v := mf.Value[name]; len(v) > 0 {
				f.Values.Set(name, strings.TrimSpace(v[0]))
			}
		}
		if fhs := mf.File["photo"]; len(fhs) > 0 && fhs[0].Size > 0 {
			if file, err = s.readFormFile(fhs[0]); err != nil {
				return s.photoUploadFailed(c, f, err)
			}
		}
	}
	var saved media.Photo
	switch {
	case file != nil:
		if saved, err = s.media.SavePhoto(c.Request.Context(), media.Public, bytes.NewReader(file)); err != nil {
			f.Values.Del("pending_photo")
			return s.photoUploadFailed(c, f, err)
		}
	case f.Get("pending_photo") != "":
		var ok bool
		if saved, ok = s.openPendingPhoto(c, f.Get("pending_photo")); !ok {
			f.Values.Del("pending_photo")
			return s.photoUploadFailed(c, f, valid.Field("photo", "required", "choose the photo again"))
		}
	}
	ve := &valid.Error{}
	if saved.Hash == "" {
		ve.Add("photo", "required", "is required: the image file in the field \"photo\"")
	}
	alt := catalog.Text{Zh: f.Get("alt_zh"), En: f.Get("alt_en")}
	checkAlt(ve, alt.Zh, alt.En)
	if err := ve.Err(); err != nil {
		if saved.Hash != "" {
			f.Values.Set("pending_photo", s.sealPendingPhoto(c, saved))
		}
		return s.photoUploadFailed(c, f, err)
	}
	if _, err := s.attachPhoto(c, pr.ID, saved, alt); err != nil {
		return s.photoUploadFailed(c, f, err)
	}
	s.flash(c, "op.flash.photo_added")
	c.Redirect(http.StatusSeeOther, "/operator/products/"+pr.ID+"/photos")
	return nil
}

// photoUploadFailed shows the photos page again with the upload form's
// problems, or fails the request when err is not about the form.
func (s *Server) photoUploadFailed(c *gin.Context, f form, err error) error {
	status, _ := statusOf(err)
	switch {
	case status == http.StatusRequestEntityTooLarge || status == http.StatusUnsupportedMediaType || status == http.StatusUnprocessableEntity:
		// The image itself is the problem: say so next to the file, with
		// the status that names it (a refused photo is not a form mistake).
		f.fail(asFieldError("photo", err), "photo")
		return s.photosPage(c, status, &opPhotosPage{Upload: f})
	case f.fail(err, "photo", "alt_zh", "alt_en"):
		return s.photosPage(c, http.StatusBadRequest, &opPhotosPage{Upload: f})
	}
	return err
}

func (s *Server) moveOpPhotoPage(c *gin.Context) error {
	pr, err := s.catalog.Get(c.Request.Context(), scopeOf(c), c.Param("id"))
	if err != nil {
		return err
	}
	key := c.Param("key")
	keys := make([]string, len(pr.Photos))
	at := -1
	for i, ph := range pr.Photos {
		keys[i] = ph.Key
		if ph.Key == key {
			at = i
		}
	}
	if at < 0 {
		return fmt.Errorf("web: photo %s: %w", key, errNotFound)
	}
	to := at - 1
	if c.PostForm("dir") == "down" {
		to = at + 1
	}
	if to >= 0 && to < len(keys) {
		keys[at], keys[to] = keys[to], keys[at]
		if _, err := s.reorderPhotos(c, pr.ID, keys); err != nil {
			return err
		}
	}
	s.flash(c, "op.flash.photo_moved")
	c.Redirect(http.StatusSeeOther, "/operator/products/"+pr.ID+"/photos#photo-"+key)
	return nil
}

func (s *Server) altOpPhotoPage(c *gin.Context) error {
	f := newForm(c)
	key := c.Param("key")
	ve := &valid.Error{}
	checkAlt(ve, f.Get("alt_zh"), f.Get("alt_en"))
	err := ve.Err()
	if err == nil {
		_, err = s.setPhotoAlt(c, c.Param("id"), key, catalog.Text{Zh: f.Get("alt_zh"), En: f.Get("alt_en")})
	}
	if err != nil {
		if f.fail(err, "alt_zh", "alt_en") {
			return s.photosPage(c, http.StatusBadRequest, &opPhotosPage{Alt: f, AltKey: key})
		}
		return err
	}
	s.flash(c, "op.flash.saved")
	c.Redirect(http.StatusSeeOther, "/operator/products/"+c.Param("id")+"/photos#photo-"+key)
	return nil
}

type opPhotoDeletePage struct {
	opConsole
	Product catalog.Product
	Photo   catalog.Photo
}

// PhotoImg shows the photo to be deleted.
func (p *opPhotoDeletePage) PhotoImg() template.HTML {
	return p.srv.img(p.Photo, p.Tx(p.Photo.Alt), "320px", "", true)
}

func (s *Server) confirmOpPhotoDelete(c *gin.Context) error {
	pr, err := s.catalog.Get(c.Request.Context(), scopeOf(c), c.Param("id"))
	if err != nil {
		return err
	}
	for _, ph := range pr.Photos {
		if ph.Key == c.Param("key") {
			p := opPhotoDeletePage{opConsole: s.opConsole(c, "op.photo.delete.title", "products"), Product: pr, Photo: ph}
			return s.render(c, http.StatusOK, "operator_photo_delete", &p)
		}
	}
	return fmt.Errorf("web: photo %s: %w", c.Param("key"), errNotFound)
}

func (s *Server) deleteOpPhotoPage(c *gin.Context) error {
	if err := s.removePhoto(c, c.Param("id"), c.Param("key")); err != nil {
		return err
	}
	s.flash(c, "op.flash.photo_deleted")
	c.Redirect(http.StatusSeeOther, "/operator/products/"+c.Param("id")+"/photos")
	return nil
}
