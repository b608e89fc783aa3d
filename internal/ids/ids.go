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
