package accounts

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"strconv"
	"time"

	"fuju/internal/eventlog"
	"fuju/internal/ids"
	"fuju/internal/valid"
)

// Verified phone numbers. A sign-up with a mobile number, and a change of an
// account's number, become real only once the person types the 6-digit code
// sent to that number. Until then nothing is claimed: the sign-up waits in a
// phone check (its own document, not a user), so a stranger who types a
// family's number blocks nobody; the claim of "phone:<number>" in the logins
// collection — an insert, unique by _id — is made at confirmation, and two
// confirmations of one number have exactly one winner.
//
// A check's codes and tries are an append-only log ("phone_code", transition
// pattern): each sent code and each try is the next event, so two tries (or a
// try and a resend) racing on one head collide on the same event id and one
// of them reads again. The fifth wrong try locks the check.
//
// Codes are stored only as a salted SHA-256, never logged and never in the
// audit log; the message carrying one is a secret kind in the outbox.

// Phone code limits.
const (
	// CodeDigits is the length of a phone code.
	CodeDigits = 6
	// CodeTTL is how long a code is valid after it was sent.
	CodeTTL = 10 * time.Minute
	// CodeTries is how many wrong codes lock a check.
	CodeTries = 5
	// ResendAfter is how long the person waits before asking for a new code.
	ResendAfter = 60 * time.Second
	// CodeSends is how many codes one check sends at most; a check lives
	// CheckTTL, so this is the cap per hour.
	CodeSends = 5
	// CheckTTL is how long a pending sign-up or phone change waits.
	CheckTTL = time.Hour
)

// Errors of phone checks; the web layer maps them to statuses.
var (
	// ErrCodeLocked means too many wrong codes: start again.
	ErrCodeLocked = errors.New("too many wrong codes")
	// ErrResendTooSoon means a code was sent less than ResendAfter ago, or
	// CodeSends codes were sent already.
	ErrResendTooSoon = errors.New("a code was sent recently")
)

// Purposes of a phone check.
const (
	CheckSignUp = "signup"
	CheckChange = "change"
)

// PhoneCode is one code to send: the wiring enqueues it in the outbox
// (messages.PhoneCode) under Event for the recipient Key.
type PhoneCode struct {
	Event   string
	Key     string
	Phone   string
	Code    string
	Minutes int
	Lang    string
}

// PhoneCheck is a pending sign-up or phone change as its owner sees it.
type PhoneCheck struct {
	ID      string `json:"check_id"`
	Purpose string `json:"purpose"`
	// Phone is the number being confirmed, masked.
	Phone     string    `json:"phone"`
	UserID    string    `json:"-"`
	ExpiresAt time.Time `json:"code_expires_at"`
	// ResendAt is when a new code may be asked for (zero: no more codes).
	ResendAt  time.Time `json:"resend_at,omitempty"`
	TriesLeft int       `json:"tries_left"`
	Confirmed bool      `json:"confirmed"`
}

type phoneCheckDoc struct {
	ID           string    `bson:"_id"`
	Purpose      string    `bson:"purpose"`
	UserID       string    `bson:"user_id"`
	Phone        string    `bson:"phone"`
	Name         string    `bson:"name,omitempty"`
	Email        string    `bson:"email,omitempty"`
	PasswordHash string    `bson:"password_hash,omitempty"`
	Lang         string    `bson:"lang,omitempty"`
	Salt         string    `bson:"salt"`
	CreatedAt    time.Time `bson:"created_at"`
}

// codeEvent is an event of a check's log: a code sent (Hash set) or a try.
type codeEvent struct {
	Type string    `bson:"type"` // "sent", "wrong", "confirmed"
	Hash string    `bson:"hash,omitempty"`
	At   time.Time `bson:"at"`
}

// checkState is what a check's log says.
type checkState struct {
	head      int64
	sends     int
	lastHash  string
	lastSent  time.Time
	wrong     int
	confirmed bool
}

func (st checkState) view(d phoneCheckDoc) PhoneCheck {
	v := PhoneCheck{ID: d.ID, Purpose: d.Purpose, Phone: MaskPhone(d.Phone), UserID: d.UserID,
		ExpiresAt: st.lastSent.Add(CodeTTL), TriesLeft: max(0, CodeTries-st.wrong), Confirmed: st.confirmed}
	if st.sends < CodeSends && !st.confirmed && st.wrong < CodeTries {
		v.ResendAt = st.lastSent.Add(ResendAfter)
	}
	return v
}

// MaskPhone shows a mobile number as 138****5678.
func MaskPhone(p string) string {
	if len(p) != 11 {
		return "***"
	}
	return p[:3] + "****" + p[7:]
}

func hashCode(salt, code string) string {
	sum := sha256.Sum256([]byte(salt + ":" + code))
	return hex.EncodeToString(sum[:])
}

func newCode() string {
	n, err := rand.Int(rand.Reader, big.NewInt(1_000_000))
	if err != nil {
		panic(err) // crypto/rand does not fail on supported systems
	}
	return fmt.Sprintf("%0*d", CodeDigits, n.Int64())
}

func (s *Service) checkState(ctx context.Context, id string) (checkState, error) {
	head, err := s.checks().log.Head(ctx, id, 0)
	if err != nil {
		return checkState{}, err
	}
	hist, err := s.checks().log.History(ctx, id, head.Seq)
	if err != nil {
		return checkState{}, err
	}
	var st checkState
	for _, e := range hist {
		st.head = e.Seq
		switch e.Event.Type {
		case "sent":
			st.sends++
			st.lastHash, st.lastSent = e.Event.Hash, e.Event.At
		case "wrong":
			st.wrong++
		case "confirmed":
			st.confirmed = true
		}
	}
	return st, nil
}

// StartSignUp checks n (a renter with a mobile number), hashes its password
// and sends a code to the number. Nothing is claimed yet: the account exists
// from ConfirmPhone on.
func (s *Service) StartSignUp(ctx context.Context, n NewUser, lang string) (PhoneCheck, error) {
	n.Role = Renter
	if err := s.checkNewUser(ctx, &n); err != nil {
		return PhoneCheck{}, fmt.Errorf("auth: new user: %w", err)
	}
	if n.Phone == "" {
		return PhoneCheck{}, fmt.Errorf("auth: %w", valid.Field("phone", "required", "is required"))
	}
	hash, err := s.hasher.hash(ctx, n.Password)
	if err != nil {
		return PhoneCheck{}, fmt.Errorf("auth: hash password: %w", err)
	}
	d := phoneCheckDoc{ID: ids.New("pc") + ids.New(""), Purpose: CheckSignUp, UserID: ids.New("u"), Phone: n.Phone,
		Name: n.Name, Email: n.Email, PasswordHash: hash, Lang: lang, Salt: ids.New(""), CreatedAt: s.now()}
	return s.startCheck(ctx, d)
}

// StartPhoneChange sends a code to phone, the new number of account userID;
// the account keeps its number until ConfirmPhone.
func (s *Service) StartPhoneChange(ctx context.Context, userID, phone, lang string) (PhoneCheck, error) {
	u, err := s.User(ctx, userID)
	if err != nil {
		return PhoneCheck{}, err
	}
	p := NormalizePhone(phone)
	switch {
	case p == "":
		return PhoneCheck{}, fmt.Errorf("auth: %w", valid.Field("phone", "mobile", "must be a mainland mobile number such as 13812345678"))
	case p == u.Phone:
		return PhoneCheck{}, fmt.Errorf("auth: %w", valid.Field("phone", "same", "is already your number"))
	}
	if l, err := s.store.login(ctx, "phone:"+p); err == nil && l.UserID != userID {
		return PhoneCheck{}, fmt.Errorf("auth: %w: %w", valid.Field("phone", "taken", "is already registered to another account"), ErrConflict)
	}
	d := phoneCheckDoc{ID: ids.New("pc") + ids.New(""), Purpose: CheckChange, UserID: userID, Phone: p, Lang: lang,
		Salt: ids.New(""), CreatedAt: s.now()}
	return s.startCheck(ctx, d)
}

func (s *Service) startCheck(ctx context.Context, d phoneCheckDoc) (PhoneCheck, error) {
	if err := s.checks().insert(ctx, d); err != nil {
		return PhoneCheck{}, err
	}
	return s.sendCode(ctx, d, checkState{})
}

func (s *Service) sendCode(ctx context.Context, d phoneCheckDoc, st checkState) (PhoneCheck, error) {
	code := newCode()
	e, err := s.checks().log.Append(ctx, d.ID, st.head+1, codeEvent{Type: "sent", Hash: hashCode(d.Salt, code), At: s.now()})
	if errors.Is(err, eventlog.ErrTaken) {
		return PhoneCheck{}, fmt.Errorf("auth: phone check: %w", ErrResendTooSoon)
	}
	if err != nil {
		return PhoneCheck{}, err
	}
	st.head, st.sends, st.lastHash, st.lastSent = e.Seq, st.sends+1, e.Event.Hash, e.Event.At
	if s.SendCode != nil {
		// One message per sent code: its event names the check and the
		// code's sequence, never the number or the code.
		err := s.SendCode(ctx, PhoneCode{Event: "phone/" + d.ID + "/" + strconv.FormatInt(e.Seq, 10),
			Key: "user-" + d.UserID, Phone: d.Phone, Code: code, Minutes: int(CodeTTL / time.Minute), Lang: d.Lang})
		if err != nil {
			return PhoneCheck{}, fmt.Errorf("auth: send code: %w", err)
		}
	}
	return st.view(d), nil
}

func (s *Service) phoneCheck(ctx context.Context, id string) (phoneCheckDoc, error) {
	var d phoneCheckDoc
	if id == "" || len(id) > 64 {
		return d, fmt.Errorf("auth: phone check: %w", ErrNotFound)
	}
	d, err := s.checks().find(ctx, id)
	if err == nil && s.now().After(d.CreatedAt.Add(CheckTTL)) {
		return d, fmt.Errorf("auth: phone check: %w", ErrNotFound)
	}
	return d, err
}

// PhoneCheck returns a pending check; userID, when set, must own it (a phone
// change).
func (s *Service) PhoneCheck(ctx context.Context, id, userID string) (PhoneCheck, error) {
	d, err := s.phoneCheck(ctx, id)
	if err != nil {
		return PhoneCheck{}, err
	}
	if userID != "" && d.UserID != userID {
		return PhoneCheck{}, fmt.Errorf("auth: phone check: %w", ErrNotFound)
	}
	st, err := s.checkState(ctx, id)
	if err != nil {
		return PhoneCheck{}, err
	}
	return st.view(d), nil
}

// ResendCode sends a new code for check id, at most once per ResendAfter and
// CodeSends times in all. The previous code stops working.
func (s *Service) ResendCode(ctx context.Context, id string) (PhoneCheck, error) {
	d, err := s.phoneCheck(ctx, id)
	if err != nil {
		return PhoneCheck{}, err
	}
	st, err := s.checkState(ctx, id)
	if err != nil {
		return PhoneCheck{}, err
	}
	switch {
	case st.confirmed:
		return PhoneCheck{}, fmt.Errorf("auth: phone check: already confirmed: %w", ErrConflict)
	case st.wrong >= CodeTries:
		return PhoneCheck{}, fmt.Errorf("auth: phone check: %w", ErrCodeLocked)
	case st.sends >= CodeSends || s.now().Before(st.lastSent.Add(ResendAfter)):
		return st.view(d), fmt.Errorf("auth: phone check: %w", ErrResendTooSoon)
	}
	return s.sendCode(ctx, d, st)
}

// ConfirmPhone checks code against check id's latest code. A right code
// makes the sign-up's account (or moves the account to its new number) and
// returns it; the claim of the number happens here, so of two checks
// confirming one number exactly one wins and the other gets ErrConflict
// naming "phone". Confirming a confirmed check again (a retry after a crash)
// finishes the work and returns the same account. userID, when set, must own
// the check (a phone change is confirmed from its account).
func (s *Service) ConfirmPhone(ctx context.Context, id, userID, code string) (User, error) {
	d, err := s.phoneCheck(ctx, id)
	if err != nil {
		return User{}, err
	}
	if userID != "" && d.UserID != userID || userID == "" && d.Purpose == CheckChange {
		return User{}, fmt.Errorf("auth: phone check: %w", ErrNotFound)
	}
	for {
		st, err := s.checkState(ctx, id)
		if err != nil {
			return User{}, err
		}
		if st.confirmed {
			return s.finishCheck(ctx, d)
		}
		if st.wrong >= CodeTries {
			return User{}, fmt.Errorf("auth: phone check: %w", ErrCodeLocked)
		}
		if st.sends == 0 || s.now().After(st.lastSent.Add(CodeTTL)) {
			return User{}, fmt.Errorf("auth: %w", valid.Field("code", "expired", "has expired; ask for a new code"))
		}
		ok := len(code) == CodeDigits && subtle.ConstantTimeCompare([]byte(hashCode(d.Salt, code)), []byte(st.lastHash)) == 1
		ev := codeEvent{Type: "wrong", At: s.now()}
		if ok {
			ev.Type = "confirmed"
		}
		if _, err := s.checks().log.Append(ctx, id, st.head+1, ev); errors.Is(err, eventlog.ErrTaken) {
			continue // another try or a resend came first: decide again
		} else if err != nil {
			return User{}, err
		}
		if !ok {
			left := CodeTries - st.wrong - 1
			if left == 0 {
				return User{}, fmt.Errorf("auth: phone check: %w", ErrCodeLocked)
			}
			return User{}, fmt.Errorf("auth: %w", valid.Field("code", "wrong_code", fmt.Sprintf("is not the code we sent; %d tries left", left), "tries_left", left))
		}
		return s.finishCheck(ctx, d)
	}
}

// finishCheck makes a confirmed check's change. Each step may already have
// happened (a retry after a crash): the user insert and the login claim are
// by fixed ids and accept what this check wrote before.
func (s *Service) finishCheck(ctx context.Context, d phoneCheckDoc) (User, error) {
	if d.Purpose == CheckChange {
		return s.finishChange(ctx, d)
	}
	if u, err := s.User(ctx, d.UserID); err == nil {
		return u, nil // done before
	}
	now := s.now()
	u := userDoc{ID: d.UserID, Name: d.Name, Phone: d.Phone, Email: d.Email, Role: Renter, Status: pending,
		CreatedAt: now, UpdatedAt: now, PasswordHash: d.PasswordHash, PasswordChangedAt: now}
	if err := s.store.insertUser(ctx, u); err != nil && !errors.Is(err, ErrConflict) {
		return User{}, err
	}
	if err := s.claimFor(ctx, u, "phone", "phone:"+u.Phone, now); err != nil {
		return User{}, err
	}
	if u.Email != "" {
		if err := s.claimFor(ctx, u, "email", "email:"+u.Email, now); err != nil {
			return User{}, err
		}
	}
	if err := s.store.enterUser(ctx, u, indexKeys(u)); err != nil {
		return User{}, err
	}
	u.Status = Active
	if err := s.store.replaceUser(ctx, u); err != nil {
		return User{}, err
	}
	user := u.toUser()
	s.auditAccount(ctx, selfActor(user), "account.signup", nil, user, "password", "phone_confirmed")
	return user, nil
}

// claimFor claims login key for u; a claim u made before is fine, a claim of
// someone else's undoes u's pending account and answers ErrConflict.
func (s *Service) claimFor(ctx context.Context, u userDoc, field, key string, now time.Time) error {
	err := s.store.claimLogin(ctx, key, u.ID, now)
	if errors.Is(err, ErrConflict) {
		if l, lerr := s.store.login(ctx, key); lerr == nil && l.UserID == u.ID {
			return nil
		}
		bg := context.WithoutCancel(ctx)
		for _, k := range []string{"phone:" + u.Phone, "email:" + u.Email} {
			if l, lerr := s.store.login(bg, k); lerr == nil && l.UserID == u.ID {
				_ = s.store.releaseLogin(bg, k)
			}
		}
		_ = s.store.deleteUser(bg, u.ID)
		return fmt.Errorf("auth: %w: %w", valid.Field(field, "taken", "is already registered; log in instead"), ErrConflict)
	}
	return err
}

func (s *Service) finishChange(ctx context.Context, d phoneCheckDoc) (User, error) {
	u, err := s.store.user(ctx, d.UserID)
	if err != nil {
		return User{}, err
	}
	if u.Phone == d.Phone {
		return u.toUser(), nil // done before
	}
	now := s.now()
	key := "phone:" + d.Phone
	if err := s.store.claimLogin(ctx, key, u.ID, now); errors.Is(err, ErrConflict) {
		if l, lerr := s.store.login(ctx, key); lerr != nil || l.UserID != u.ID {
			return User{}, fmt.Errorf("auth: %w: %w", valid.Field("phone", "taken", "is already registered to another account"), ErrConflict)
		}
	} else if err != nil {
		return User{}, err
	}
	before := u.toUser()
	if err := s.store.setPhone(ctx, u.ID, d.Phone, now); err != nil {
		return User{}, err
	}
	if before.Phone != "" {
		if l, err := s.store.login(ctx, "phone:"+before.Phone); err == nil && l.UserID == u.ID {
			if err := s.store.releaseLogin(ctx, "phone:"+before.Phone); err != nil {
				return User{}, err
			}
		}
	}
	u.Phone, u.UpdatedAt = d.Phone, now
	after := u.toUser()
	s.auditAccount(ctx, selfActor(after), "account.phone", &before, after)
	return after, nil
}
