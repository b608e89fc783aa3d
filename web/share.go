package web

import (
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"fuju/catalog"
)

// share is what a link to a page shows when it is pasted into a chat or a
// post (Open Graph): every page has a title, a description and the site's
// name; a product page adds the device's photo, sized as previews show it.
type share struct {
	// Image is an absolute URL; empty uses the site's card.
	Image       string
	ImageWidth  int
	ImageHeight int
	ImageAlt    string
}

// Preview images: the site's card (static/share.png), and the product photo
// variant closest to the 1200 px width link previews use.
const (
	shareCardWidth  = 1200
	shareCardHeight = 630
	sharePhotoWidth = 1200
)

// siteURL is the site's address: the configured public URL (set it behind a
// proxy that ends TLS), else the request's host.
func (s *Server) siteURL(c *gin.Context) string {
	if s.cfg.PublicURL != "" {
		return s.cfg.PublicURL
	}
	scheme := "http"
	if c.Request.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + c.Request.Host
}

// Absolute turns a path on this site into an absolute URL.
func (b *base) Absolute(path string) string {
	if strings.HasPrefix(path, "http://") || strings.HasPrefix(path, "https://") {
		return path
	}
	return b.site + path
}

// ShareImage returns the preview image, its size and its text.
func (b *base) ShareImage() share {
	if b.Share.Image != "" {
		return b.Share
	}
	return share{Image: b.Absolute(b.Assets["share.png"]), ImageWidth: shareCardWidth, ImageHeight: shareCardHeight, ImageAlt: b.T("site.name")}
}

// OGLocale is the page's language as Open Graph spells it.
func (b *base) OGLocale(lang string) string {
	if lang == "en" {
		return "en_US"
	}
	return "zh_CN"
}

// productShare is a product's preview: its primary photo at the stored
// width nearest above 1200 px (or the largest), with its size.
func (s *Server) productShare(b *base, p catalog.Product) share {
	if len(p.Photos) == 0 || len(p.Photos[0].Widths) == 0 {
		return share{}
	}
	ph := p.Photos[0]
	w := ph.Widths[len(ph.Widths)-1]
	for _, x := range ph.Widths {
		if x >= sharePhotoWidth {
			w = x
			break
		}
	}
	h := 0
	if ph.Width > 0 {
		h = ph.Height * w / ph.Width
	}
	alt := b.Tx(ph.Alt)
	if alt == "" {
		alt = b.Tx(p.Name)
	}
	return share{Image: b.Absolute(s.photoURL(ph.Key, w)), ImageWidth: w, ImageHeight: h, ImageAlt: alt}
}

// privatePrefixes are the parts of the site that show personal data: the
// desk, the consoles, the account and the APIs behind them, and payment
// links (a kept redirect would lead to an expired Checkout page). Their responses
// must never be kept by a browser or a proxy (the back button after logout,
// a shared computer, a caching proxy).
var privatePrefixes = []string{"/staff", "/operator", "/admin", "/account", "/api/v1/staff", "/api/v1/operator", "/api/v1/admin", "/api/v1/me", "/api/v1/auth", "/pay"}

func privatePath(p string) bool {
	for _, pre := range privatePrefixes {
		if p == pre || strings.HasPrefix(p, pre+"/") {
			return true
		}
	}
	return false
}

// noStorePrivate marks every response under a private prefix no-store,
// redirects and errors included; pages elsewhere decide in render (a page
// for someone signed in is private too).
func noStorePrivate(c *gin.Context) {
	if privatePath(c.Request.URL.Path) {
		c.Header("Cache-Control", "no-store")
	}
	c.Next()
}

// serveIcon serves the site's icons at the addresses browsers and phones
// ask for without being told (/favicon.ico, /apple-touch-icon.png).
func serveIcon(file, contentType string) gin.HandlerFunc {
	return func(c *gin.Context) {
		b, err := staticFS.ReadFile("static/" + file)
		if err != nil {
			c.Status(http.StatusNotFound)
			return
		}
		c.Header("Cache-Control", "public, max-age=604800")
		c.Data(http.StatusOK, contentType, b)
	}
}
