package auth

import (
	"bufio"
	"crypto/rand"
	"crypto/subtle"
	_ "embed"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"sync"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"

	"fuju/internal/valid"
)

// Argon2id parameters, the OWASP baseline: 19 MiB of memory, 2 passes, 1
// lane, 16-byte salt, 32-byte key. About 30–60 ms per hash on one core here,
// which makes guessing expensive without letting a burst of logins exhaust
// memory. They are stored in each hash, so they can be raised later without
// invalidating existing passwords.
const (
	argonTime    = 2
	argonMemory  = 19 * 1024
	argonThreads = 1
	argonKeyLen  = 32
	saltLen      = 16
)

// Password length limits: at least 10 characters; at most 128, because every
// byte is hashed and an enormous "password" would be a cheap way to burn CPU.
const (
	MinPasswordLen = 10
	MaxPasswordLen = 128
)

//go:embed common-passwords.txt
var commonList string

var (
	commonOnce sync.Once
	common     map[string]bool
)

// commonPassword reports whether pw is on the list of common passwords long
// enough to pass the length rule (see common-passwords.LICENSE.txt).
func commonPassword(pw string) bool {
	commonOnce.Do(func() {
		common = map[string]bool{}
		sc := bufio.NewScanner(strings.NewReader(commonList))
		for sc.Scan() {
			if w := strings.TrimSpace(sc.Text()); w != "" {
				common[w] = true
			}
		}
	})
	return common[strings.ToLower(pw)]
}

// CheckPassword applies the password policy; field names the form field.
func CheckPassword(field, pw string, personal ...string) error {
	n := utf8.RuneCountInString(pw)
	switch {
	case n < MinPasswordLen:
		return valid.Field(field, "min_length", fmt.Sprintf("must be at least %d characters", MinPasswordLen), "min", MinPasswordLen)
	case n > MaxPasswordLen:
		return valid.Field(field, "max_length", fmt.Sprintf("must be at most %d characters", MaxPasswordLen), "max", MaxPasswordLen)
	case commonPassword(pw):
		return valid.Field(field, "common", "is one of the most common passwords; choose another")
	}
	for _, p := range personal {
		if p != "" && strings.Contains(strings.ToLower(pw), strings.ToLower(p)) {
			return valid.Field(field, "personal", "must not contain your phone number or e-mail address")
		}
	}
	return nil
}

// hashPassword returns the PHC-formatted argon2id hash of pw.
func hashPassword(pw string) (string, error) {
	salt := make([]byte, saltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	key := argon2.IDKey([]byte(pw), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime, argonThreads,
		b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

var errBadHash = errors.New("auth: malformed password hash")

// verifyPassword checks pw against a stored hash in constant time.
func verifyPassword(encoded, pw string) (bool, error) {
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false, errBadHash
	}
	var version int
	var mem, t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return false, errBadHash
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &mem, &t, &p); err != nil {
		return false, errBadHash
	}
	b64 := base64.RawStdEncoding
	salt, err1 := b64.DecodeString(parts[4])
	want, err2 := b64.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(want) == 0 {
		return false, errBadHash
	}
	got := argon2.IDKey([]byte(pw), salt, t, mem, p, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

// OneTimePassword makes a password for accounts an administrator creates:
// 16 characters from an alphabet without look-alikes, easy to read out.
func OneTimePassword() string {
	const alphabet = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKMNPQRSTUVWXYZ23456789"
	out := make([]byte, 0, 16)
	var b [1]byte
	for len(out) < 16 {
		_, _ = rand.Read(b[:])
		// Reject bytes past the last whole multiple of the alphabet, so every
		// character is equally likely.
		if int(b[0]) < 256/len(alphabet)*len(alphabet) {
			out = append(out, alphabet[int(b[0])%len(alphabet)])
		}
	}
	return string(out)
}
