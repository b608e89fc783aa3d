package web

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"
)

// A one-time password must reach the admin on the page after the form
// (post/redirect/get) yet never sit in a URL (logged), in the database in
// clear, or in a page a reload shows again. So the redirect carries it in a
// short-lived cookie: sealed with AES-GCM under a key derived from the
// server's secret (so it works on any instance), bound to the admin's session,
// sent only to that user's page, and deleted by the page that shows it.

const (
	handoffCookie = "fuju_otp"
	handoffMaxAge = 120 // seconds: long enough for a slow redirect, no longer
)

func (s *Server) handoffAEAD() (cipher.AEAD, error) {
	m := hmac.New(sha256.New, s.cfg.SecretKey)
	m.Write([]byte("admin one-time password hand-off"))
	block, err := aes.NewCipher(m.Sum(nil))
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

func handoffPath(userID string) string { return "/admin/users/" + userID }

// handOver leaves password for the next view of userID's page.
func (s *Server) handOver(c *gin.Context, userID, password string) error {
	aead, err := s.handoffAEAD()
	if err != nil {
		return err
	}
	sess, _ := sessionOf(c)
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return err
	}
	sealed := aead.Seal(nonce, nonce, []byte(userID+"\n"+password), []byte(sess.ID))
	http.SetCookie(c.Writer, &http.Cookie{Name: handoffCookie, Value: base64.RawURLEncoding.EncodeToString(sealed),
		Path: handoffPath(userID), MaxAge: handoffMaxAge, HttpOnly: true, Secure: s.secure(c), SameSite: http.SameSiteStrictMode})
	return nil
}

// takeOver returns the password handed over for userID, if any, and deletes
// it, so it is shown exactly once.
func (s *Server) takeOver(c *gin.Context, userID string) string {
	v, err := c.Cookie(handoffCookie)
	if err != nil || v == "" {
		return ""
	}
	http.SetCookie(c.Writer, &http.Cookie{Name: handoffCookie, Value: "", Path: handoffPath(userID), MaxAge: -1,
		HttpOnly: true, Secure: s.secure(c), SameSite: http.SameSiteStrictMode})
	raw, err := base64.RawURLEncoding.DecodeString(v)
	aead, aerr := s.handoffAEAD()
	if err != nil || aerr != nil || len(raw) < aead.NonceSize() {
		return ""
	}
	sess, _ := sessionOf(c)
	plain, err := aead.Open(nil, raw[:aead.NonceSize()], raw[aead.NonceSize():], []byte(sess.ID))
	if err != nil {
		return ""
	}
	id, pw, ok := strings.Cut(string(plain), "\n")
	if !ok || id != userID {
		return ""
	}
	return pw
}

// noStore keeps a page out of every cache (render marks pages no-cache,
// which still allows storing). The header is set as the body is written,
// after render has set its own.
type noStore struct{ gin.ResponseWriter }

func (w noStore) Write(b []byte) (int, error) {
	w.Header().Set("Cache-Control", "no-store")
	return w.ResponseWriter.Write(b)
}
