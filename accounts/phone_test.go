package accounts

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"
)

// phoneRig is a service with a movable clock whose codes land in a list
// instead of the outbox.
type phoneRig struct {
	*Service
	mu    sync.Mutex
	at    time.Time
	codes []PhoneCode
}

func newPhoneRig(t *testing.T) *phoneRig {
	r := &phoneRig{Service: newService(t), at: time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)}
	r.now = func() time.Time { r.mu.Lock(); defer r.mu.Unlock(); return r.at }
	r.SendCode = func(_ context.Context, c PhoneCode) error {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.codes = append(r.codes, c)
		return nil
	}
	return r
}

func (r *phoneRig) advance(d time.Duration) { r.mu.Lock(); r.at = r.at.Add(d); r.mu.Unlock() }

func (r *phoneRig) lastCode(t *testing.T) PhoneCode {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.codes) == 0 {
		t.Fatal("no code sent")
	}
	return r.codes[len(r.codes)-1]
}

func wrongCode(c string) string {
	if c == "000000" {
		return "000001"
	}
	return "000000"
}

func TestSignUpWaitsForTheCode(t *testing.T) {
	ctx := context.Background()
	r := newPhoneRig(t)
	chk, err := r.StartSignUp(ctx, NewUser{Name: "王芳", Phone: "13800000001", Password: goodPassword}, "zh-CN")
	if err != nil {
		t.Fatal(err)
	}
	c := r.lastCode(t)
	if len(c.Code) != CodeDigits || c.Phone != "13800000001" || strings.Contains(c.Event, c.Code) || strings.Contains(c.Event, c.Phone) {
		t.Fatalf("code message %+v", c)
	}
	if chk.Phone != "138****0001" || chk.TriesLeft != CodeTries {
		t.Fatalf("check %+v", chk)
	}
	// Nothing is claimed before the code: no login works yet.
	if _, err := r.Authenticate(ctx, "13800000001", goodPassword); !errors.Is(err, ErrBadCredentials) {
		t.Fatalf("login before confirm: %v", err)
	}
	// The code is stored hashed only.
	var raw map[string]any
	if err := r.checks().docs.FindOne(ctx, byID(chk.ID)).Decode(&raw); err != nil {
		t.Fatal(err)
	}
	for k, v := range raw {
		if s, ok := v.(string); ok && s == c.Code {
			t.Fatalf("code stored in clear in %s", k)
		}
	}
	u, err := r.ConfirmPhone(ctx, chk.ID, "", c.Code)
	if err != nil {
		t.Fatal(err)
	}
	if u.Phone != "13800000001" || u.Status != Active || u.Role != Renter {
		t.Fatalf("user %+v", u)
	}
	if got, err := r.Authenticate(ctx, "13800000001", goodPassword); err != nil || got.ID != u.ID {
		t.Fatalf("login after confirm: %v", err)
	}
	// A retry of the confirmation returns the same account.
	again, err := r.ConfirmPhone(ctx, chk.ID, "", c.Code)
	if err != nil || again.ID != u.ID {
		t.Fatalf("confirm again: %v %+v", err, again)
	}
}

func TestCodeExpires(t *testing.T) {
	ctx := context.Background()
	r := newPhoneRig(t)
	chk, err := r.StartSignUp(ctx, NewUser{Name: "王芳", Phone: "13800000002", Password: goodPassword}, "")
	if err != nil {
		t.Fatal(err)
	}
	r.advance(CodeTTL + time.Second)
	if _, err := r.ConfirmPhone(ctx, chk.ID, "", r.lastCode(t).Code); fieldOf(err, "code") != "expired" {
		t.Fatalf("expired code: %v", err)
	}
	// A new code works.
	if _, err := r.ResendCode(ctx, chk.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := r.ConfirmPhone(ctx, chk.ID, "", r.lastCode(t).Code); err != nil {
		t.Fatal(err)
	}
}

func TestWrongCodeSixTimesLocks(t *testing.T) {
	ctx := context.Background()
	r := newPhoneRig(t)
	chk, err := r.StartSignUp(ctx, NewUser{Name: "王芳", Phone: "13800000003", Password: goodPassword}, "")
	if err != nil {
		t.Fatal(err)
	}
	right := r.lastCode(t).Code
	for i := 1; i <= 6; i++ {
		_, err := r.ConfirmPhone(ctx, chk.ID, "", wrongCode(right))
		switch {
		case i < CodeTries && fieldOf(err, "code") != "wrong_code":
			t.Fatalf("try %d: %v", i, err)
		case i >= CodeTries && !errors.Is(err, ErrCodeLocked):
			t.Fatalf("try %d: want locked, got %v", i, err)
		}
	}
	// Even the right code no longer works, nor does a new one.
	if _, err := r.ConfirmPhone(ctx, chk.ID, "", right); !errors.Is(err, ErrCodeLocked) {
		t.Fatalf("right code after lock: %v", err)
	}
	r.advance(2 * ResendAfter)
	if _, err := r.ResendCode(ctx, chk.ID); !errors.Is(err, ErrCodeLocked) {
		t.Fatalf("resend after lock: %v", err)
	}
}

func TestResendIsThrottled(t *testing.T) {
	ctx := context.Background()
	r := newPhoneRig(t)
	chk, err := r.StartSignUp(ctx, NewUser{Name: "王芳", Phone: "13800000004", Password: goodPassword}, "")
	if err != nil {
		t.Fatal(err)
	}
	first := r.lastCode(t).Code
	if _, err := r.ResendCode(ctx, chk.ID); !errors.Is(err, ErrResendTooSoon) {
		t.Fatalf("resend at once: %v", err)
	}
	for i := 2; i <= CodeSends; i++ {
		r.advance(ResendAfter)
		if _, err := r.ResendCode(ctx, chk.ID); err != nil {
			t.Fatalf("resend %d: %v", i, err)
		}
	}
	r.advance(ResendAfter)
	if _, err := r.ResendCode(ctx, chk.ID); !errors.Is(err, ErrResendTooSoon) {
		t.Fatalf("resend past the cap: %v", err)
	}
	if n := len(r.codes); n != CodeSends {
		t.Fatalf("%d codes sent, want %d", n, CodeSends)
	}
	// Only the latest code counts.
	last := r.lastCode(t).Code
	if first != last {
		if _, err := r.ConfirmPhone(ctx, chk.ID, "", first); fieldOf(err, "code") != "wrong_code" {
			t.Fatalf("old code: %v", err)
		}
	}
	if _, err := r.ConfirmPhone(ctx, chk.ID, "", last); err != nil {
		t.Fatal(err)
	}
}

func TestStrangerCannotSquatANumber(t *testing.T) {
	ctx := context.Background()
	r := newPhoneRig(t)
	// A stranger starts a sign-up with the family's number and never confirms.
	if _, err := r.StartSignUp(ctx, NewUser{Name: "陌生人", Phone: "13800000005", Password: goodPassword}, ""); err != nil {
		t.Fatal(err)
	}
	owner, err := r.StartSignUp(ctx, NewUser{Name: "刘建国", Phone: "13800000005", Password: "another-harbor-43"}, "")
	if err != nil {
		t.Fatalf("owner's sign-up blocked: %v", err)
	}
	u, err := r.ConfirmPhone(ctx, owner.ID, "", r.lastCode(t).Code)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := r.Authenticate(ctx, "13800000005", "another-harbor-43"); err != nil || got.ID != u.ID {
		t.Fatalf("owner login: %v", err)
	}
}

func TestConcurrentConfirmOfOneNumberHasOneWinner(t *testing.T) {
	ctx := context.Background()
	r := newPhoneRig(t)
	const n = 8
	type pend struct{ id, code string }
	var ps []pend
	for i := 0; i < n; i++ {
		chk, err := r.StartSignUp(ctx, NewUser{Name: "家属", Phone: "13800000006", Password: goodPassword}, "")
		if err != nil {
			t.Fatal(err)
		}
		ps = append(ps, pend{chk.ID, r.lastCode(t).Code})
	}
	var wg sync.WaitGroup
	errs := make([]error, n)
	users := make([]User, n)
	for i, p := range ps {
		wg.Add(1)
		go func() {
			defer wg.Done()
			users[i], errs[i] = r.ConfirmPhone(ctx, p.id, "", p.code)
		}()
	}
	wg.Wait()
	won := 0
	for i, err := range errs {
		switch {
		case err == nil:
			won++
		case errors.Is(err, ErrConflict) && fieldOf(err, "phone") == "taken":
		default:
			t.Fatalf("confirm %d: %v", i, err)
		}
	}
	if won != 1 {
		t.Fatalf("%d winners, want 1", won)
	}
	// Only the winner's account exists.
	for i, err := range errs {
		if _, uerr := r.User(ctx, users[i].ID); err != nil && users[i].ID != "" && uerr == nil {
			t.Fatalf("loser %d has an account", i)
		}
	}
}

func TestPhoneChangeConfirms(t *testing.T) {
	ctx := context.Background()
	r := newPhoneRig(t)
	u, err := r.CreateUser(ctx, NewUser{Name: "李梅", Phone: "13800000007", Password: goodPassword, Role: Renter})
	if err != nil {
		t.Fatal(err)
	}
	other, err := r.CreateUser(ctx, NewUser{Name: "赵六", Phone: "13800000008", Password: goodPassword, Role: Renter})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.StartPhoneChange(ctx, u.ID, "13800000008", ""); fieldOf(err, "phone") != "taken" {
		t.Fatalf("change to a taken number: %v", err)
	}
	chk, err := r.StartPhoneChange(ctx, u.ID, "13800000009", "")
	if err != nil {
		t.Fatal(err)
	}
	// Still the old number until confirmed.
	if _, err := r.Authenticate(ctx, "13800000009", goodPassword); !errors.Is(err, ErrBadCredentials) {
		t.Fatalf("new number before confirm: %v", err)
	}
	// Another account cannot confirm it.
	if _, err := r.ConfirmPhone(ctx, chk.ID, other.ID, r.lastCode(t).Code); !errors.Is(err, ErrNotFound) {
		t.Fatalf("confirm by another account: %v", err)
	}
	after, err := r.ConfirmPhone(ctx, chk.ID, u.ID, r.lastCode(t).Code)
	if err != nil || after.Phone != "13800000009" {
		t.Fatalf("confirm change: %v %+v", err, after)
	}
	if _, err := r.Authenticate(ctx, "13800000009", goodPassword); err != nil {
		t.Fatalf("login with new number: %v", err)
	}
	if _, err := r.Authenticate(ctx, "13800000007", goodPassword); !errors.Is(err, ErrBadCredentials) {
		t.Fatalf("old number still logs in: %v", err)
	}
}
