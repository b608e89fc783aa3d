package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html/template"
	"io/fs"
	"math"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"
	"golang.org/x/text/language"

	"fuju/accounts"
	"fuju/catalog"
	"fuju/internal/geo"
	"fuju/internal/input"
	"fuju/internal/l10n"
	"fuju/stations"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

//go:embed i18n/*.json
var i18nFS embed.FS

// Languages the pages are written in; the first is the default.
var languages = []string{"zh", "en"}

type renderer struct {
	pages    map[string]*template.Template
	messages map[string]map[string]string
	icons    map[string]template.HTML
	// assets maps a static file name to its URL with a content hash, so
	// browsers may cache it for a year.
	assets map[string]string
}

// messageLogPartials holds the station message log's table, shared by the desk
// and the operator console.
const messageLogPartials = "message_log_partials"

func newRenderer() (*renderer, error) {
	r := &renderer{pages: map[string]*template.Template{}, messages: map[string]map[string]string{},
		icons: map[string]template.HTML{}, assets: map[string]string{}}
	// Messages are kept in files per area and language, <area>.<lang>.json,
	// so each part of the product owns its own; a key defined twice is an
	// error.
	for _, l := range languages {
		r.messages[l] = map[string]string{}
		files, _ := fs.Glob(i18nFS, "i18n/*."+l+".json")
		for _, f := range files {
			b, err := i18nFS.ReadFile(f)
			if err != nil {
				return nil, err
			}
			m := map[string]string{}
			if err := json.Unmarshal(b, &m); err != nil {
				return nil, fmt.Errorf("%s: %w", f, err)
			}
			for k, v := range m {
				if _, dup := r.messages[l][k]; dup {
					return nil, fmt.Errorf("%s: message %q is defined in two files", f, k)
				}
				r.messages[l][k] = v
			}
		}
	}
	icons, _ := fs.Glob(staticFS, "static/icons/*.svg")
	for _, f := range icons {
		b, err := staticFS.ReadFile(f)
		if err != nil {
			return nil, err
		}
		r.icons[strings.TrimSuffix(path.Base(f), ".svg")] = template.HTML(b) // our own files
	}
	for _, f := range []string{"app.css", "app.js", "console.css", "scan.js", "operator.js", "favicon.svg", "share.png"} {
		b, err := staticFS.ReadFile("static/" + f)
		if err != nil {
			return nil, err
		}
		sum := sha256.Sum256(b)
		r.assets[f] = "/static/" + f + "?v=" + hex.EncodeToString(sum[:6])
	}
	funcs := template.FuncMap{
		"icon": func(name string) template.HTML {
			if h, ok := r.icons[name]; ok {
				return h
			}
			return r.icons["device"]
		},
		"yuan": yuan,
		"km":   km,
		"add":  func(a, b int) int { return a + b },
		"seq": func(n int) []int {
			s := make([]int, n)
			for i := range s {
				s[i] = i
			}
			return s
		},
		"deref": func(f *float64) float64 { return *f },
	}
	layout, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html")
	if err != nil {
		return nil, err
	}
	files, _ := fs.Glob(templateFS, "templates/*.html")
	for _, f := range files {
		name := strings.TrimSuffix(path.Base(f), ".html")
		if name == "layout" || name == operatorPartials || name == statementPartials || name == dashboardPartials || name == messageLogPartials {
			continue
		}
		parts := []string{f}
		if strings.HasPrefix(name, "operator_") {
			// Each page is its own template set: the console's pages get
			// its shared form partials too.
			parts = append(parts, "templates/"+operatorPartials+".html")
		}
		if strings.HasSuffix(name, "_statement") {
			// A statement reads the same in both consoles.
			parts = append(parts, "templates/"+statementPartials+".html")
		}
		if strings.HasSuffix(name, "_messages") {
			// A station's message log reads the same at the desk and in the console.
			parts = append(parts, "templates/"+messageLogPartials+".html")
		}
		if strings.HasSuffix(name, "_reports") {
			// The dashboards read the same in both consoles.
			parts = append(parts, "templates/"+dashboardPartials+".html")
		}
		t, err := template.Must(layout.Clone()).ParseFS(templateFS, parts...)
		if err != nil {
			return nil, fmt.Errorf("web: %s: %w", name, err)
		}
		r.pages[name] = t
	}
	return r, nil
}

// yuan formats fen as ¥12, ¥12.50 or -¥3.05 (see input.YuanText).
func yuan(fen int64) string {
	if fen < 0 {
		return "-¥" + input.YuanText(-fen)
	}
	return "¥" + input.YuanText(fen)
}

func km(d float64) string {
	if d < 1 {
		return strconv.Itoa(int(math.Round(d*1000/10)*10)) + " m"
	}
	return strconv.FormatFloat(d, 'f', 1, 64) + " km"
}

// base is what every page carries: language, messages, location.
type base struct {
	Lang     string
	HTMLLang string
	Title    string
	Nav      string
	// Path is the current path and query, for the language switch to return to.
	Path   string
	Assets map[string]string
	// Near is the visitor's location when known (from near=, district= or the
	// cookie that remembers them).
	Near     *geo.Point
	District string
	// NearKeep are query parameters the location form carries along, so
	// choosing a district keeps the search.
	NearKeep map[string]string
	msgs     map[string]string
	icons    map[string]template.HTML
	srv      *Server
	// User is who is logged in, nil for visitors.
	User *accounts.User
	// CSRF is the form token every POST form carries.
	CSRF string
	// Flash is a one-time message after a redirect (post/redirect/get).
	Flash string
	// Description is the page's summary for search engines and link
	// previews; Share the rest of what a shared link shows (share.go).
	Description string
	Share       share
	// Private pages (the account, the desk, the consoles) ask search
	// engines not to index them.
	Private bool
	// site is the absolute address of the site, for links that leave it
	// (language alternates, previews).
	site string
	// Suspended is set on every page of a suspended operator's people: the
	// banner says so and why.
	Suspended *suspendedNotice
}

// suspendedNotice is what the banner of a suspended operator's people says.
type suspendedNotice struct {
	Reason string
	Since  string
}

// words renders problems and reasons in the page's language.
func (b *base) words() words { return words{lang: b.Lang, msgs: b.msgs, srv: b.srv} }

// fieldTexts returns err's field problems in words, by field name.
func (b *base) fieldTexts(err error) (map[string]string, bool) {
	probs, ok := problemsOf(err)
	if !ok {
		return nil, false
	}
	w := b.words()
	out := make(map[string]string, len(probs))
	for k, p := range probs {
		out[k] = w.Problem(p)
	}
	return out, true
}

// ImportProblem is a row's problem of a unit import in the reader's words.
func (b *base) ImportProblem(p stations.ImportProblem) string { return b.words().ImportProblem(p) }

// T translates key; args fill %s/%d verbs in the message. When the first
// argument is the number 1 and the language has a singular form of the
// message (key + ".one", "%d day" beside "%d days"), that form is used.
func (b *base) T(key string, args ...any) string {
	m, ok := b.msgs[key]
	if !ok {
		return key
	}
	if len(args) > 0 {
		if isOne(args[0]) {
			if one, ok := b.msgs[key+".one"]; ok {
				m = one
			}
		}
		return fmt.Sprintf(m, args...)
	}
	return m
}

func isOne(v any) bool {
	switch n := v.(type) {
	case int:
		return n == 1
	case int64:
		return n == 1
	}
	return false
}

// Tx returns the text in the page's language.
func (b *base) Tx(t l10n.Text) string { return t.In(b.Lang) }

// LangURL is the link that switches to lang and comes back here.
func (b *base) LangURL(lang string) string {
	return "/lang/" + lang + "?next=" + url.QueryEscape(withoutLang(b.Path))
}

// AltURL is this page's address in lang, for the hreflang alternates: the
// lang parameter shows a page in a language without changing the visitor's
// choice. An empty lang gives the address without it (x-default: the
// visitor's choice, or their browser's).
func (b *base) AltURL(lang string) string {
	u, err := url.Parse(b.Path)
	if err != nil {
		return b.site + "/"
	}
	q := u.Query()
	q.Del("lang")
	if lang != "" {
		q.Set("lang", lang)
	}
	u.RawQuery = q.Encode()
	return b.site + u.RequestURI()
}

// withoutLang drops the lang parameter from a path and query.
func withoutLang(p string) string {
	u, err := url.Parse(p)
	if err != nil || !u.Query().Has("lang") {
		return p
	}
	q := u.Query()
	q.Del("lang")
	u.RawQuery = q.Encode()
	return u.RequestURI()
}

// stationCard is what the station card partial renders.
type stationCard struct {
	B     *base
	S     stationSummary
	Level int
}

// Card pairs a station with the page for the station card partial, whose
// heading is at level (2 or 3) to keep the page's outline.
func (b *base) Card(s stationSummary, level int) stationCard {
	return stationCard{B: b, S: s, Level: level}
}

type stockCard struct {
	B *base
	S stationStock
}

// StockCard pairs a station's stock with the page for the stock card partial.
func (b *base) StockCard(s stationStock) stockCard { return stockCard{B: b, S: s} }

// CategoryOf returns the category with id.
func (b *base) CategoryOf(id string) catalog.Category {
	c, _ := catalog.CategoryByID(id)
	return c
}

// Thumb is a product's picture in lists: its primary photo, or its
// category's pictogram when it has none. The name next to it says what it is,
// so the thumbnail's alt text is empty.
func (b *base) Thumb(p catalog.Product) template.HTML {
	if len(p.Photos) == 0 {
		return b.placeholder(p, "thumb")
	}
	return template.HTML(`<span class="photo">`) +
		b.srv.img(p.Photos[0], "", "(min-width: 40rem) 140px, 96px", "", false) + `</span>`
}

// Gallery is a product's pictures on its page: the primary photo large, the
// others below it, each linking to its largest size.
func (b *base) Gallery(p catalog.Product) template.HTML {
	if len(p.Photos) == 0 {
		return b.placeholder(p, "large")
	}
	alt := func(ph catalog.Photo) string {
		if a := b.Tx(ph.Alt); a != "" {
			return a
		}
		return b.Tx(p.Name)
	}
	out := template.HTML(`<figure class="photo main">`) +
		b.srv.img(p.Photos[0], alt(p.Photos[0]), "(min-width: 64rem) 40rem, 100vw", "", true) + `</figure>`
	if len(p.Photos) > 1 {
		out += `<ul class="thumbs">`
		for _, ph := range p.Photos[1:] {
			largest := b.srv.photoURL(ph.Key, ph.Widths[len(ph.Widths)-1])
			out += template.HTML(`<li><a href="`+template.HTMLEscapeString(largest)+`">`) +
				b.srv.img(ph, alt(ph), "120px", "", false) + `</a></li>`
		}
		out += `</ul>`
	}
	return out
}

func (b *base) placeholder(p catalog.Product, size string) template.HTML {
	c, _ := catalog.CategoryByID(p.Category)
	icon, ok := b.icons[c.Icon]
	if !ok {
		icon = b.icons["device"]
	}
	label := template.HTMLEscapeString(b.T("photo.none", b.Tx(c.Name)))
	return template.HTML(`<div class="placeholder ` + size + `" role="img" aria-label="` + label + `">` + string(icon) + `</div>`)
}

// Districts lists the city's districts for pickers.
func (b *base) Districts() []stations.District { return stations.Districts }

// langOf is the page's language: the lang parameter (links to one
// language, as the hreflang alternates are), else the language the visitor
// chose (a cookie), else the first of theirs we have (Accept-Language),
// else Chinese.
func langOf(c *gin.Context) string {
	switch c.Query("lang") {
	case "zh", "en":
		return c.Query("lang")
	}
	if l, err := c.Cookie("lang"); err == nil && (l == "en" || l == "zh") {
		return l
	}
	return acceptLanguage(c.GetHeader("Accept-Language"))
}

// acceptLanguage picks zh or en from an Accept-Language header: the first
// language, by the browser's preference, that is Chinese (any script: a
// reader of traditional characters reads simplified better than English) or
// English; Chinese when there is none.
func acceptLanguage(header string) string {
	tags, _, err := language.ParseAcceptLanguage(header)
	if err != nil {
		return "zh"
	}
	for _, t := range tags {
		switch base, _ := t.Base(); base.String() {
		case "zh":
			return "zh"
		case "en":
			return "en"
		}
	}
	return "zh"
}

func (s *Server) base(c *gin.Context, title, nav string) base {
	l := langOf(c)
	b := base{Lang: l, HTMLLang: "zh-CN", Nav: nav, Path: c.Request.URL.RequestURI(),
		Assets: s.pages.assets, msgs: s.pages.messages[l], icons: s.pages.icons, srv: s}
	if l == "en" {
		b.HTMLLang = "en"
	}
	b.Title = b.T(title)
	if u, ok := userOf(c); ok {
		b.User = &u
		if o, suspended := s.suspension(c, u.OperatorID); suspended {
			b.Suspended = &suspendedNotice{Reason: o.SuspendedReason}
			if o.SuspendedAt != nil {
				b.Suspended.Since = o.SuspendedAt.In(l10n.Local).Format("2006-01-02")
			}
		}
	}
	b.CSRF = s.csrfToken(c)
	if key := s.takeFlash(c); key != "" {
		b.Flash = b.T(key)
	}
	b.site = s.siteURL(c)
	b.Description = b.T("meta.description")
	b.Private = privatePath(c.Request.URL.Path)
	return b
}

// suspension reports the suspension of the user's operator, if any.
func (s *Server) suspension(c *gin.Context, operatorID string) (stations.Operator, bool) {
	if s.stations == nil {
		return stations.Operator{}, false
	}
	return s.stations.Suspension(c.Request.Context(), operatorID)
}

// HomeURL is where the logged-in user's work is.
func (b *base) HomeURL() string {
	if b.User == nil {
		return "/login"
	}
	return homeFor(*b.User)
}

// render executes a page into a buffer first, so a template error never sends
// half a page.
func (s *Server) render(c *gin.Context, status int, name string, data any) error {
	t, ok := s.pages.pages[name]
	if !ok {
		return fmt.Errorf("web: no template %q", name)
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", data); err != nil {
		return fmt.Errorf("web: render %s: %w", name, err)
	}
	c.Header("Content-Type", "text/html; charset=utf-8")
	if _, signedIn := userOf(c); signedIn || privatePath(c.Request.URL.Path) {
		// The page may show who is signed in and their family's data.
		c.Header("Cache-Control", "no-store")
	} else {
		c.Header("Cache-Control", "no-cache")
	}
	c.Header("Vary", "Cookie, Accept-Language")
	c.Header("Content-Language", map[string]string{"zh": "zh-CN", "en": "en"}[langOf(c)])
	c.Status(status)
	_, err := c.Writer.Write(buf.Bytes())
	return err
}

type errorPage struct {
	base
	Status  int
	Heading string
	Message string
	// Fields are the wrong fields' labels and problems, in words.
	Fields map[string]string
}

// renderError shows an error page: msg is what went wrong in the reader's
// words (words.Error), fields the wrong fields' problems.
func (s *Server) renderError(c *gin.Context, status int, msg string, fields map[string]string) {
	p := errorPage{base: s.base(c, "error.title", ""), Status: status}
	switch {
	case status == http.StatusNotFound:
		p.Heading, p.Message = p.T("error.notfound"), p.T("error.notfound.help")
	case status >= 500:
		p.Heading, p.Message = p.T("error.internal"), p.T("error.internal.help", requestID(c))
	default:
		p.Heading, p.Message = p.T("error.bad"), p.T("error.bad.help")
	}
	if msg != "" && status < 500 {
		p.Message = msg
	}
	if len(fields) > 0 {
		p.Fields = make(map[string]string, len(fields))
		for k, v := range fields {
			p.Fields[p.words().field(k)] = v
		}
	}
	p.Title = p.Heading
	if err := s.render(c, status, "error", &p); err != nil {
		s.logger.Error("render error page", "err", err)
		c.String(status, http.StatusText(status))
	}
	c.Abort()
}
