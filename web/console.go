package web

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"fuju/internal/l10n"
	"fuju/internal/valid"
)

// What both consoles (the operator's and the platform admin's) share: how
// they trim typed texts, name form fields in errors, cut pages out of lists
// and hand a one-time secret to the page after a form.

// trimText trims both languages of a typed text.
func trimText(t l10n.Text) l10n.Text {
	return l10n.Text{Zh: strings.TrimSpace(t.Zh), En: strings.TrimSpace(t.En)}
}

// remap renames the fields of a validation error from the service's names
// (JSON paths such as "rate.daily_fen") to the form's; names not in the map
// have their dots turned into underscores.
func remap(err error, names map[string]string) error {
	probs, ok := valid.Fields(err)
	if !ok {
		return err
	}
	out := &valid.Error{}
	for k, p := range probs {
		name, ok := names[k]
		if !ok {
			name = strings.ReplaceAll(k, ".", "_")
		}
		out.Put(name, p)
	}
	return out
}

// pageParams reads page (from 1) and per_page (1 to max, default def).
func pageParams(p *params, def, max int) (page, perPage int) {
	page, perPage = 1, def
	if n, ok := p.integer("page", 1, 1_000_000); ok {
		page = int(n)
	}
	if n, ok := p.integer("per_page", 1, int64(max)); ok {
		perPage = int(n)
	}
	return page, perPage
}

// pageOf cuts one page out of a list that is small enough to hold whole.
func pageOf[T any](items []T, page, perPage int) list[T] {
	out := list[T]{Items: []T{}, Total: len(items), Page: page, PerPage: perPage}
	if from := (page - 1) * perPage; from < len(items) {
		out.Items = items[from:min(from+perPage, len(items))]
	}
	return out
}

// One-time secrets (a new account's password, a new API token) are shown
// on the page after the form that made them, and never again. They travel to
// that page in a short-lived cookie limited to its path and sealed with a key
// derived from the server's secret, so they are not readable in the browser's
// cookie store and work on any instance behind the load balancer.
const revealCookie = "fuju_reveal"

// revealAD binds a sealed secret to its page and to the session that made
// it, so another person at the same shared desk cannot open it.
func (s *Server) revealAD(c *gin.Context, path string) []byte {
	sess, _ := sessionOf(c)
	return []byte(path + "\x00" + sess.ID)
}

func (s *Server) revealKey() cipher.AEAD {
	key := sha256.Sum256(append([]byte("fuju reveal cookie\x00"), s.cfg.SecretKey...))
	block, _ := aes.NewCipher(key[:])
	aead, _ := cipher.NewGCM(block)
	return aead
}

// reveal leaves secret for the page at path, for two minutes.
func (s *Server) reveal(c *gin.Context, path, secret string) {
	aead := s.revealKey()
	nonce := make([]byte, aead.NonceSize())
	_, _ = rand.Read(nonce)
	sealed := aead.Seal(nonce, nonce, []byte(secret), s.revealAD(c, path))
	http.SetCookie(c.Writer, &http.Cookie{Name: revealCookie, Value: base64.RawURLEncoding.EncodeToString(sealed), Path: path,
		MaxAge: 120, HttpOnly: true, Secure: s.secure(c), SameSite: http.SameSiteStrictMode})
}

// takeReveal returns the secret left for this page and clears it.
func (s *Server) takeReveal(c *gin.Context) (string, bool) {
	v, err := c.Cookie(revealCookie)
	if err != nil || v == "" {
		return "", false
	}
	path := c.Request.URL.Path
	http.SetCookie(c.Writer, &http.Cookie{Name: revealCookie, Value: "", Path: path, MaxAge: -1, HttpOnly: true,
		Secure: s.secure(c), SameSite: http.SameSiteStrictMode})
	raw, err := base64.RawURLEncoding.DecodeString(v)
	aead := s.revealKey()
	if err != nil || len(raw) < aead.NonceSize() {
		return "", false
	}
	plain, err := aead.Open(nil, raw[:aead.NonceSize()], raw[aead.NonceSize():], s.revealAD(c, path))
	if err != nil {
		return "", false
	}
	return string(plain), true
}

// userPath is the platform console's page of an account.
func userPath(userID string) string { return "/admin/users/" + userID }

// noStore keeps a page out of every cache (render marks pages no-cache,
// which still allows storing). The header is set as the body is written,
// after render has set its own.
type noStore struct{ gin.ResponseWriter }

func (w noStore) Write(b []byte) (int, error) {
	w.Header().Set("Cache-Control", "no-store")
	return w.ResponseWriter.Write(b)
}
