package media

import (
	"errors"
	"net/http"
	"strings"
)

// ServeHTTP serves URLPrefix: GET and HEAD of /media/<key> from the public
// area, with a strong ETag and "immutable" caching, and of
// /media/private/<key>?exp=…&sig=… from the private area when the signature is
// valid and unexpired (403 otherwise), with "Cache-Control: no-store". Ranges,
// If-None-Match and If-Modified-Since are handled by http.ServeContent. It
// reads through the configured store, so it also proxies S3.
func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	rest, ok := strings.CutPrefix(r.URL.Path, URLPrefix)
	if !ok {
		http.NotFound(w, r)
		return
	}
	// Whatever is served, the browser must never run it as a page: a polyglot
	// that slipped through would otherwise be stored XSS on our origin.
	h := w.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	if key, ok := strings.CutPrefix(rest, privatePrefix); ok {
		s.servePrivate(w, r, key)
		return
	}
	s.servePublic(w, r, rest)
}

func (s *Service) servePublic(w http.ResponseWriter, r *http.Request, key string) {
	if ValidateKey(Public, key) != nil {
		http.NotFound(w, r)
		return
	}
	obj, err := s.store.Get(r.Context(), Public, key)
	if err != nil {
		s.storeError(w, r, err)
		return
	}
	defer obj.Close()
	h := w.Header()
	h.Set("Content-Type", obj.ContentType)
	h.Set("ETag", `"`+obj.ETag+`"`)
	h.Set("Cache-Control", immutableCache)
	http.ServeContent(w, r, "", obj.ModTime, obj)
}

func (s *Service) servePrivate(w http.ResponseWriter, r *http.Request, key string) {
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	// The signed URL must not travel on to another site in a Referer.
	h.Set("Referrer-Policy", "no-referrer")
	q := r.URL.Query()
	// The signature is checked before the store is asked, so an attacker learns
	// nothing about which keys exist.
	if ValidateKey(Private, key) != nil || !s.verify(key, q.Get("exp"), q.Get("sig")) {
		s.log.WarnContext(r.Context(), "media: private object refused", "key", key, "reason", "missing, altered or expired signature")
		http.Error(w, "media: this link is invalid or has expired", http.StatusForbidden)
		return
	}
	obj, err := s.store.Get(r.Context(), Private, key)
	if err != nil {
		s.storeError(w, r, err)
		return
	}
	defer obj.Close()
	s.log.InfoContext(r.Context(), "media: private object served", "key", key, "method", r.Method, "range", r.Header.Get("Range") != "")
	h.Set("Content-Type", obj.ContentType)
	http.ServeContent(w, r, "", obj.ModTime, obj)
}

func (s *Service) storeError(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, ErrNotFound) {
		http.NotFound(w, r)
		return
	}
	s.log.ErrorContext(r.Context(), "media: serve", "path", r.URL.Path, "err", err)
	http.Error(w, http.StatusText(http.StatusInternalServerError), http.StatusInternalServerError)
}
