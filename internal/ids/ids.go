// Package ids makes random identifiers that are safe in URLs, database names
// and QR codes.
package ids

import (
	"crypto/rand"
	"encoding/base32"
	"strings"
)

var enc = base32.NewEncoding("abcdefghijkmnpqrstuvwxyz23456789").WithPadding(base32.NoPadding)

// New returns prefix + "-" + 12 random characters (60 bits): enough that ids
// made anywhere never collide in practice, short enough to read aloud.
func New(prefix string) string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	s := enc.EncodeToString(b[:])[:12]
	if prefix == "" {
		return s
	}
	return prefix + "-" + s
}

// Token returns n random bytes encoded for URLs (session ids, secrets).
func Token(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b))
}

// Slug returns the readable part of an identifier made from a name: its ASCII
// letters and digits, lower-cased, with every other run of characters as one
// dash, at most max characters long and cut at a dash where possible. It is ""
// when the name has fewer than two such characters (a name written only in
// Chinese).
func Slug(name string, max int) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(name) {
		switch {
		case r >= 'a' && r <= 'z' || r >= '0' && r <= '9':
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			dash = false
			b.WriteRune(r)
		default:
			dash = true
		}
	}
	s := b.String()
	if len(s) > max {
		s = s[:max]
		if i := strings.LastIndexByte(s, '-'); i >= max/2 {
			s = s[:i]
		}
		s = strings.TrimRight(s, "-")
	}
	if len(strings.ReplaceAll(s, "-", "")) < 2 {
		return ""
	}
	return s
}
