package accounts

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/subtle"
	_ "embed"
	"encoding/base64"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"

	"fuju/internal/valid"
)

// Argon2id parameters, the OWASP baseline: 19 MiB of memory, 2 passes, 1
// lane, 16-byte salt, 32-byte key. About 30–60 ms per hash on one core here,
// which makes guessing expensive; the memory is why a hasher bounds how many
// run at once. They are stored in each hash, so they can be raised later
// without invalidating existing passwords.
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

// hashPassword returns the PHC-formatted argon2id hash of pw. It takes 19
// MiB while it runs: callers other than NewService go through a hasher.
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
	// A hash asking for more memory than ours is not one we wrote; running
	// it would break the hasher's bound on memory.
	if mem > argonMemory {
		return false, errBadHash
	}
	b64 := base64.RawStdEncoding
	salt, err1 := b64.DecodeString(parts[4])
	want, err2 := b64.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(want) == 0 || len(want) > 64 {
		return false, errBadHash
	}
	got := argon2.IDKey([]byte(pw), salt, t, mem, p, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

// HashMemory is the memory one password hash holds while it runs (argon2id's
// m parameter): the hasher's bound on memory is its slots times this.
const HashMemory = argonMemory * 1024

// Hasher defaults: the queue holds queuePerSlot callers per slot, each
// waiting at most hashWait. A hash takes 30–60 ms of one core, so a full
// queue is served in about a second and a caller that got into it almost
// never times out; past it, callers are refused at once instead of piling up.
const (
	queuePerSlot = 16
	hashWait     = 2 * time.Second
	maxSlots     = 8
)

// ErrBusy means every password-hashing slot was taken and the queue for one
// was full, or the short wait in it ran out: nothing was checked or
// changed, and the same request may be sent again in a moment (503 with
// Retry-After).
var ErrBusy = errors.New("auth: too many passwords being checked at once")

// hasher runs password hashes with a bound on how many run at once, so a
// burst of logins or sign-ups cannot take more than slots × HashMemory: the
// rest wait in a short queue, and past it are refused with ErrBusy.
type hasher struct {
	slots   chan struct{}
	queue   chan struct{}
	wait    time.Duration
	hashes  atomic.Int64
	refused atomic.Int64
}

func newHasher(slots int) *hasher {
	if slots < 1 {
		slots = min(runtime.GOMAXPROCS(0), maxSlots)
	}
	return &hasher{slots: make(chan struct{}, slots), queue: make(chan struct{}, slots*queuePerSlot), wait: hashWait}
}

// run calls f in a slot, waiting in the queue when every slot is taken.
func (h *hasher) run(ctx context.Context, f func()) error {
	select {
	case h.slots <- struct{}{}:
	default:
		select {
		case h.queue <- struct{}{}:
		default:
			h.refused.Add(1)
			return ErrBusy
		}
		t := time.NewTimer(h.wait)
		select {
		case h.slots <- struct{}{}:
			<-h.queue
			t.Stop()
		case <-t.C:
			<-h.queue
			h.refused.Add(1)
			return ErrBusy
		case <-ctx.Done():
			<-h.queue
			t.Stop()
			return ctx.Err()
		}
	}
	defer func() { <-h.slots }()
	h.hashes.Add(1)
	f()
	return nil
}

func (h *hasher) hash(ctx context.Context, pw string) (string, error) {
	var out string
	var err error
	if rerr := h.run(ctx, func() { out, err = hashPassword(pw) }); rerr != nil {
		return "", rerr
	}
	return out, err
}

func (h *hasher) verify(ctx context.Context, encoded, pw string) (bool, error) {
	var ok bool
	var err error
	if rerr := h.run(ctx, func() { ok, err = verifyPassword(encoded, pw) }); rerr != nil {
		return false, rerr
	}
	return ok, err
}

// HashStats counts the password hashes run and the ones refused with
// ErrBusy since the service started.
type HashStats struct {
	Slots   int
	Hashes  int64
	Refused int64
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
