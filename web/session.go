package web

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"fuju/accounts"
	"fuju/internal/l10n"
	"fuju/internal/valid"
)

// Cookie names. The session cookie carries 256 random bits; the server keeps
// only their hash.
const (
	sessionCookie = "fuju_session"
	anonCookie    = "fuju_anon"
	flashCookie   = "fuju_flash"
	csrfField     = "_csrf"
	csrfHeader    = "X-CSRF-Token"

	userKey    = "user"
	sessionKey = "session"
	tokenKey   = "api_token"
	// expiredTokenKey holds a right but expired token, so the answer can
	// say that it expired.
	expiredTokenKey = "expired_api_token"
)

// secure reports whether the request reached us over TLS, directly or through
// a trusted proxy, so cookies get the Secure flag exactly when they can.
func (s *Server) secure(c *gin.Context) bool {
	if c.Request.TLS != nil {
		return true
	}
	return len(s.cfg.TrustedProxies) > 0 && c.GetHeader("X-Forwarded-Proto") == "https" &&
		c.RemoteIP() != c.ClientIP()
}

func (s *Server) setCookie(c *gin.Context, name, value string, maxAge int) {
	http.SetCookie(c.Writer, &http.Cookie{Name: name, Value: value, Path: "/", MaxAge: maxAge,
		HttpOnly: true, Secure: s.secure(c), SameSite: http.SameSiteLaxMode})
}

// identify finds who is calling: a bearer API token, or a session cookie. It
// never fails a request; routes that need someone say so (requireRole).
func (s *Server) identify(c *gin.Context) {
	if s.auth == nil {
		c.Next()
		return
	}
	ctx := c.Request.Context()
	if h := c.GetHeader("Authorization"); h != "" {
		secret, ok := strings.CutPrefix(h, "Bearer ")
		if ok {
			tok, err := s.auth.TokenAuth(ctx, strings.TrimSpace(secret))
			switch {
			case err == nil:
				c.Set(tokenKey, tok)
				c.Set(scopeKey, s.stations.Standing(ctx, tok.Scope()))
				c.Set(actorKey, tok.Actor())
			case errors.Is(err, accounts.ErrTokenExpired):
				c.Set(expiredTokenKey, tok)
			}
		}
		c.Next()
		return
	}
	if v, err := c.Cookie(sessionCookie); err == nil && v != "" {
		sess, u, err := s.auth.Session(ctx, v)
		switch {
		case err == nil:
			c.Set(sessionKey, sess)
			c.Set(userKey, u)
			c.Set(scopeKey, s.stations.Standing(ctx, u.Scope()))
			c.Set(actorKey, u.Actor())
		case errors.Is(err, accounts.ErrSessionEnded):
			s.setCookie(c, sessionCookie, "", -1)
		default:
			s.logger.WarnContext(ctx, "load session", "err", err, "request_id", requestID(c))
		}
	}
	c.Next()
}

func userOf(c *gin.Context) (accounts.User, bool) {
	v, ok := c.Get(userKey)
	if !ok {
		return accounts.User{}, false
	}
	return v.(accounts.User), true
}

func sessionOf(c *gin.Context) (accounts.Session, bool) {
	v, ok := c.Get(sessionKey)
	if !ok {
		return accounts.Session{}, false
	}
	return v.(accounts.Session), true
}

func tokenOf(c *gin.Context) (accounts.Token, bool) {
	v, ok := c.Get(tokenKey)
	if !ok {
		return accounts.Token{}, false
	}
	return v.(accounts.Token), true
}

// csrfToken is the form token of this browser: an HMAC of its session id, or,
// before login, of its anonymous cookie (set here when missing).
func (s *Server) csrfToken(c *gin.Context) string {
	if sess, ok := sessionOf(c); ok {
		return s.mac("session:" + sess.ID)
	}
	anon, err := c.Cookie(anonCookie)
	if err != nil || len(anon) < 20 {
		b := make([]byte, 18)
		_, _ = rand.Read(b)
		anon = base64.RawURLEncoding.EncodeToString(b)
		s.setCookie(c, anonCookie, anon, 0)
		// Later reads in this request see the new value.
		c.Request.AddCookie(&http.Cookie{Name: anonCookie, Value: anon})
	}
	return s.mac("anon:" + anon)
}

func (s *Server) mac(msg string) string {
	m := hmac.New(sha256.New, s.cfg.SecretKey)
	m.Write([]byte(msg))
	return hex.EncodeToString(m.Sum(nil))
}

var crossOrigin = http.NewCrossOriginProtection()

// checkCSRF guards every state-changing request that a browser could be tricked
// into sending: Go's cross-origin check (Sec-Fetch-Site / Origin) plus the
// per-session token, from the form field or the X-CSRF-Token header. Requests
// authenticated by a bearer token carry no ambient credentials and are exempt.
func (s *Server) checkCSRF(c *gin.Context) {
	switch c.Request.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		c.Next()
		return
	}
	if _, ok := tokenOf(c); ok {
		c.Next()
		return
	}
	if strings.HasPrefix(c.GetHeader("Authorization"), "Bearer ") {
		// A bearer token that did not authenticate: no cookie is trusted on
		// this request either; the route answers 401.
		c.Next()
		return
	}
	if err := crossOrigin.Check(c.Request); err != nil {
		s.fail(c, errForbiddenCSRF, wantsJSON(c))
		return
	}
	// An API request without a session carries no ambient credential to
	// abuse (and API clients log in before they have a session to tie a token
	// to); the cross-origin check above still applies. Pages always need the
	// token, login and sign-up forms included (login CSRF).
	if _, hasSession := sessionOf(c); wantsJSON(c) && !hasSession {
		c.Next()
		return
	}
	want := s.csrfToken(c)
	got := c.GetHeader(csrfHeader)
	if got == "" && !wantsJSON(c) {
		got = c.PostForm(csrfField)
	}
	if !hmac.Equal([]byte(got), []byte(want)) {
		s.fail(c, errForbiddenCSRF, wantsJSON(c))
		return
	}
	c.Next()
}

// requireRole lets through callers with one of roles (by session), or, when
// tokenScope is not empty, an API token with that scope. Others get 401 (no one
// logged in) or 403 (a role that may never call the route). Pages send
// anonymous visitors to the login page instead.
func (s *Server) requireRole(tokenScope string, roles ...accounts.Role) gin.HandlerFunc {
	return func(c *gin.Context) {
		if tok, ok := tokenOf(c); ok {
			if tokenScope != "" && tok.Has(tokenScope) {
				c.Next()
				return
			}
			s.fail(c, errForbidden, true)
			return
		}
		u, ok := userOf(c)
		if v, expired := c.Get(expiredTokenKey); !ok && expired {
			t := v.(accounts.Token)
			at := t.ExpiresAt.In(l10n.Local).Format("2006-01-02 15:04")
			s.fail(c, fmt.Errorf("web: token %s expired on %s: %w", t.ID, at, valid.Because(errTokenExpired, "token_expired", "at", at)), true)
			return
		}
		if !ok {
			if wantsJSON(c) {
				s.fail(c, errUnauthorized, true)
				return
			}
			c.Redirect(http.StatusSeeOther, "/login?next="+url.QueryEscape(c.Request.URL.RequestURI()))
			c.Abort()
			return
		}
		if !slices.Contains(roles, u.Role) {
			s.fail(c, errForbidden, wantsJSON(c))
			return
		}
		// The account page and its password form are where the one-time
		// password gets changed, so they must stay reachable.
		if u.MustChangePassword && wantsJSON(c) {
			// A one-time password opens nothing but the account page, where
			// it is changed; the API waits until then.
			s.fail(c, errMustChangePassword, true)
			return
		}
		if u.MustChangePassword && !wantsJSON(c) && c.Request.URL.Path != "/account" && c.Request.URL.Path != "/account/password" {
			s.flash(c, "flash.mustchange")
			c.Redirect(http.StatusSeeOther, "/account#password")
			c.Abort()
			return
		}
		c.Next()
	}
}

// flash leaves a one-line message (a message key) for the next page.
func (s *Server) flash(c *gin.Context, key string) {
	s.setCookie(c, flashCookie, key, 60)
}

// takeFlash returns and clears the pending message key.
func (s *Server) takeFlash(c *gin.Context) string {
	v, err := c.Cookie(flashCookie)
	if err != nil || v == "" {
		return ""
	}
	s.setCookie(c, flashCookie, "", -1)
	// Only message keys, never arbitrary text, reach the page.
	if strings.Trim(v, "abcdefghijklmnopqrstuvwxyz0123456789._") != "" {
		return ""
	}
	return v
}

// startSession logs u in: a brand-new session id (never one the browser had
// before, so a planted cookie is useless) in a fresh cookie.
func (s *Server) startSession(c *gin.Context, u accounts.User, remember bool) error {
	if old, err := c.Cookie(sessionCookie); err == nil && old != "" {
		_ = s.auth.EndSession(c.Request.Context(), old)
	}
	tok, sess, err := s.auth.NewSession(c.Request.Context(), u, remember, c.ClientIP(), c.Request.UserAgent())
	if err != nil {
		return err
	}
	maxAge := 0 // a browser-session cookie unless remembered
	if sess.Remember {
		maxAge = int(time.Until(sess.AbsoluteAt).Seconds())
	}
	s.setCookie(c, sessionCookie, tok, maxAge)
	c.Set(sessionKey, sess)
	c.Set(userKey, u)
	s.rememberLang(c, u)
	return nil
}
