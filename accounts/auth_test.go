package accounts

import (
	"context"
	"errors"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"fuju/internal/audit"
	"fuju/internal/tenancy"
	"fuju/internal/testenv"
	"fuju/internal/valid"
)

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }

func newService(t *testing.T) *Service {
	t.Helper()
	s := NewService(testenv.DB(t), nil)
	if err := s.Init(context.Background()); err != nil {
		t.Fatal(err)
	}
	return s
}

func fieldOf(err error, f string) string {
	fields, _ := valid.Fields(err)
	return fields[f].Code
}

const goodPassword = "lantern-harbor-42"

func TestCreateUserAndAuthenticate(t *testing.T) {
	ctx := context.Background()
	s := newService(t)
	u, err := s.CreateUser(ctx, NewUser{Name: "李梅", Phone: "+86 138-1234-5678", Password: goodPassword, Role: Renter})
	if err != nil {
		t.Fatal(err)
	}
	if u.Phone != "13812345678" || u.Status != Active || u.Role != Renter {
		t.Fatalf("created %+v", u)
	}
	for _, login := range []string{"13812345678", "138 1234 5678", "+8613812345678"} {
		got, err := s.Authenticate(ctx, login, goodPassword)
		if err != nil || got.ID != u.ID {
			t.Errorf("login %q: %v", login, err)
		}
	}
	for _, tt := range []struct{ login, pw string }{
		{"13812345678", "wrong-password-1"},
		{"13900000000", goodPassword},
		{"nobody@example.com", goodPassword},
		{"", ""},
		{`{"$ne": null}`, goodPassword},
	} {
		if _, err := s.Authenticate(ctx, tt.login, tt.pw); !errors.Is(err, ErrBadCredentials) {
			t.Errorf("login %q: %v, want ErrBadCredentials", tt.login, err)
		}
	}
	// The hash is argon2id and the password is nowhere in the document.
	var raw bson.M
	if err := s.store.users.FindOne(ctx, bson.D{{Key: "_id", Value: u.ID}}).Decode(&raw); err != nil {
		t.Fatal(err)
	}
	doc, _ := bson.MarshalExtJSON(raw, false, false)
	if !strings.Contains(string(doc), "$argon2id$v=19$m=19456,t=2,p=1$") || strings.Contains(string(doc), goodPassword) {
		t.Errorf("stored user: %s", doc)
	}
	// A disabled account cannot log in, with the same error.
	st := Disabled
	if _, err := s.UpdateUser(ctx, "", u.ID, UserUpdate{Status: &st}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Authenticate(ctx, "13812345678", goodPassword); !errors.Is(err, ErrBadCredentials) {
		t.Errorf("disabled: %v", err)
	}
}

func TestCreateUserRules(t *testing.T) {
	ctx := context.Background()
	s := newService(t)
	s.StationOf = func(ctx context.Context, id string) (string, error) {
		if id == "st-a1" {
			return "op-a", nil
		}
		return "", errors.New("no such station")
	}
	if _, err := s.CreateUser(ctx, NewUser{Name: "A", Email: "a@example.com", Password: goodPassword, Role: Renter}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		n     NewUser
		field string
		code  string
	}{
		{NewUser{Name: "B", Phone: "12345", Password: goodPassword, Role: Renter}, "phone", "mobile"},
		{NewUser{Name: "B", Email: "not-an-email", Password: goodPassword, Role: Renter}, "email", "email"},
		{NewUser{Name: "B", Password: goodPassword, Role: Renter}, "phone", "phone_or_email"},
		{NewUser{Name: "", Phone: "13911112222", Password: goodPassword, Role: Renter}, "name", "required"},
		{NewUser{Name: "B", Phone: "13911112222", Password: "short", Role: Renter}, "password", "min_length"},
		{NewUser{Name: "B", Phone: "13911112222", Password: "qwertyuiop", Role: Renter}, "password", "common"},
		{NewUser{Name: "B", Phone: "13911112222", Password: "Password1234", Role: Renter}, "password", "common"},
		{NewUser{Name: "B", Phone: "13911112222", Password: "x13911112222x", Role: Renter}, "password", "personal"},
		{NewUser{Name: "B", Phone: "13911112222", Password: strings.Repeat("長", 129), Role: Renter}, "password", "max_length"},
		{NewUser{Name: "B", Phone: "13911112222", Password: goodPassword, Role: "king"}, "role", "oneof"},
		{NewUser{Name: "B", Phone: "13911112222", Password: goodPassword, Role: Staff, OperatorID: "op-a"}, "station_ids", "required"},
		{NewUser{Name: "B", Phone: "13911112222", Password: goodPassword, Role: Staff, OperatorID: "op-a", StationIDs: []string{"st-b1"}}, "station_ids", "not_found"},
		{NewUser{Name: "B", Phone: "13911112222", Password: goodPassword, Role: OperatorAdmin}, "operator_id", "required"},
		{NewUser{Name: "B", Email: "A@Example.com", Password: goodPassword, Role: Renter}, "email", "taken"},
	}
	for _, tt := range tests {
		_, err := s.CreateUser(ctx, tt.n)
		if got := fieldOf(err, tt.field); got != tt.code {
			t.Errorf("%+v: %s code %q, want %q (%v)", tt.n, tt.field, got, tt.code, err)
		}
	}
	staff, err := s.CreateUser(ctx, NewUser{Name: "Zhang", Phone: "13911112222", Password: goodPassword, Role: Staff, OperatorID: "op-a", StationIDs: []string{"st-a1"}})
	if err != nil {
		t.Fatal(err)
	}
	if sc := staff.Scope(); !sc.Station("op-a", "st-a1") || sc.Station("op-a", "st-a2") || sc.Operator("op-b") {
		t.Errorf("staff scope %+v", sc)
	}
	// Racing sign-ups with one phone: exactly one account.
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins := 0
	for i := 0; i < 10; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := s.CreateUser(ctx, NewUser{Name: "Race", Phone: "13700001111", Password: goodPassword, Role: Renter}); err == nil {
				mu.Lock()
				wins++
				mu.Unlock()
			} else if !errors.Is(err, ErrConflict) {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if wins != 1 {
		t.Fatalf("%d accounts for one phone", wins)
	}
	users, _ := s.Users(ctx, UserFilter{Text: "race"})
	if len(users) != 1 {
		t.Fatalf("users named Race: %d (leftovers of lost races are visible)", len(users))
	}
}

func TestSessions(t *testing.T) {
	ctx := context.Background()
	s := newService(t)
	now := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
	s.now = func() time.Time { return now }
	renter, _ := s.CreateUser(ctx, NewUser{Name: "R", Phone: "13811112222", Password: goodPassword, Role: Renter})
	staff, _ := s.CreateUser(ctx, NewUser{Name: "S", Phone: "13811113333", Password: goodPassword, Role: OperatorAdmin, OperatorID: "op-a"})

	tok, sess, err := s.NewSession(ctx, renter, true, "10.0.0.1", "phone")
	if err != nil || len(tok) < 43 {
		t.Fatalf("token %q %v", tok, err)
	}
	if sess.ID == tok || !sess.Remember {
		t.Fatal("session id must be the hash of the token; renters may be remembered")
	}
	_, staffSess, _ := s.NewSession(ctx, staff, true, "10.0.0.2", "desk")
	if staffSess.Remember || staffSess.ExpiresAt.Sub(now) != StaffIdle {
		t.Fatalf("staff session %+v", staffSess)
	}
	staffTok, _, _ := s.NewSession(ctx, staff, false, "", "")

	now = now.Add(3 * time.Hour)
	if _, _, err := s.Session(ctx, staffTok); !errors.Is(err, ErrSessionEnded) {
		t.Errorf("staff session after 3 idle hours: %v", err)
	}
	if _, u, err := s.Session(ctx, tok); err != nil || u.ID != renter.ID {
		t.Errorf("remembered renter: %v", err)
	}
	now = now.Add(RememberAbsolute)
	if _, _, err := s.Session(ctx, tok); !errors.Is(err, ErrSessionEnded) {
		t.Errorf("past the absolute deadline: %v", err)
	}
	if _, _, err := s.Session(ctx, "forged-token"); !errors.Is(err, ErrSessionEnded) {
		t.Errorf("forged token: %v", err)
	}

	// Logout everywhere keeps only the current session.
	now = now.Add(time.Hour)
	a, sa, _ := s.NewSession(ctx, renter, false, "", "")
	b, _, _ := s.NewSession(ctx, renter, false, "", "")
	if err := s.EndAllSessions(ctx, renter.ID, sa.ID); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Session(ctx, a); err != nil {
		t.Errorf("kept session ended: %v", err)
	}
	if _, _, err := s.Session(ctx, b); !errors.Is(err, ErrSessionEnded) {
		t.Errorf("other session survived: %v", err)
	}
	// A password change ends the other sessions too.
	c, _, _ := s.NewSession(ctx, renter, false, "", "")
	if err := s.ChangePassword(ctx, renter.ID, goodPassword, "new-"+goodPassword, sa.ID); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Session(ctx, c); !errors.Is(err, ErrSessionEnded) {
		t.Errorf("session survived a password change: %v", err)
	}
	if err := s.ChangePassword(ctx, renter.ID, "wrong", "another-"+goodPassword, ""); fieldOf(err, "current_password") != "wrong" {
		t.Errorf("wrong current password: %v", err)
	}
	now = now.Add(30 * 24 * time.Hour)
	n, err := s.PurgeSessions(ctx)
	if err != nil || n < 1 {
		t.Errorf("purge: %d %v", n, err)
	}
	if left, _ := s.store.sessions.CountDocuments(ctx, bson.D{}); left != 0 {
		t.Errorf("%d expired sessions left", left)
	}
}

func TestTokens(t *testing.T) {
	ctx := context.Background()
	s := newService(t)
	by := tenancy.Actor{ID: "u1", Name: "Admin", Role: "operator_admin"}
	secret, tok, err := s.CreateToken(ctx, "op-a", "ERP sync", []string{ScopeInventoryWrite}, by)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(secret, "fuju_") || tok.Hash == secret {
		t.Fatal("secret must be prefixed and stored only as a hash")
	}
	got, err := s.TokenAuth(ctx, secret)
	if err != nil || got.OperatorID != "op-a" || !got.Has(ScopeInventoryRead) || got.Has(ScopeDesk) || got.LastUsedAt == nil {
		t.Fatalf("auth: %+v %v", got, err)
	}
	if _, err := s.RevokeToken(ctx, tenancy.OperatorScope("op-b"), "op-b", tok.ID, by); !errors.Is(err, ErrNotFound) {
		t.Errorf("other operator revokes: %v", err)
	}
	if _, err := s.RevokeToken(ctx, tenancy.OperatorScope("op-a"), "op-a", tok.ID, by); err != nil {
		t.Fatal(err)
	}
	if _, err := s.TokenAuth(ctx, secret); !errors.Is(err, ErrSessionEnded) {
		t.Errorf("revoked token works: %v", err)
	}
	if _, _, err := s.CreateToken(ctx, "op-a", "", []string{"root"}, by); fieldOf(err, "name") == "" || fieldOf(err, "scopes") == "" {
		t.Errorf("bad token: %v", err)
	}
	list, _ := s.Tokens(ctx, "op-a")
	if len(list) != 1 || list[0].RevokedAt == nil {
		t.Errorf("list %+v", list)
	}
}

// TestTokenExpiry: a token stops at its expiry, answering ErrTokenExpired
// (not a wrong token); expiries in the past or too far ahead are refused.
func TestTokenExpiry(t *testing.T) {
	ctx := context.Background()
	s := newService(t)
	now := time.Date(2026, 5, 1, 8, 0, 0, 0, time.UTC)
	s.now = func() time.Time { return now }
	by := tenancy.Actor{ID: "u1"}
	secret, tok, err := s.IssueToken(ctx, tenancy.OperatorScope("op-a"), NewToken{OperatorID: "op-a", Name: "ERP", Scopes: []string{ScopeDesk}, ExpiresAt: now.Add(24 * time.Hour)}, by)
	if err != nil || tok.ExpiresAt == nil || !tok.ExpiresAt.Equal(now.Add(24*time.Hour)) {
		t.Fatalf("issue: %+v %v", tok, err)
	}
	if _, err := s.TokenAuth(ctx, secret); err != nil {
		t.Fatalf("before expiry: %v", err)
	}
	now = now.Add(24 * time.Hour)
	if got, err := s.TokenAuth(ctx, secret); !errors.Is(err, ErrTokenExpired) || got.ID != tok.ID {
		t.Errorf("at expiry: %+v %v", got, err)
	}
	for _, exp := range []time.Time{now.Add(-time.Minute), now, now.Add(MaxTokenLife + time.Hour)} {
		if _, _, err := s.IssueToken(ctx, tenancy.OperatorScope("op-a"), NewToken{OperatorID: "op-a", Name: "x", Scopes: []string{ScopeDesk}, ExpiresAt: exp}, by); fieldOf(err, "expires_on") == "" {
			t.Errorf("expiry %v accepted: %v", exp, err)
		}
	}
}

func TestAuditDiff(t *testing.T) {
	type p struct {
		Name  string            `json:"name"`
		Price int               `json:"price"`
		Specs map[string]any    `json:"specs"`
		Tags  []string          `json:"tags"`
		Alt   map[string]string `json:"alt"`
	}
	a := p{Name: "A", Price: 1, Specs: map[string]any{"w": 40}, Tags: []string{"x"}}
	b := p{Name: "A", Price: 2, Specs: map[string]any{"w": 45}, Tags: []string{"x", "y"}}
	got := audit.Diff(a, b)
	var fields []string
	for _, c := range got {
		fields = append(fields, c.Field)
	}
	if strings.Join(fields, ",") != "price,specs.w,tags" {
		t.Errorf("diff fields %v", fields)
	}
	created := audit.Diff(nil, a)
	if len(created) == 0 || created[0].Field != "alt" && created[0].Field != "name" {
		t.Errorf("creation diff %v", created)
	}
	ctx := context.Background()
	s := newService(t)
	for i := 0; i < 3; i++ {
		if err := s.Record(ctx, Entry{OperatorID: "op-a", Action: "product.update", Target: "product/x", Changes: got}); err != nil {
			t.Fatal(err)
		}
	}
	_ = s.Record(ctx, Entry{OperatorID: "op-b", Action: "station.create", Target: "station/y"})
	mine, total, err := s.Audit(ctx, AuditFilter{OperatorID: "op-a"})
	if err != nil || total != 3 || len(mine) != 3 || mine[0].Changes[0].Field != "price" {
		t.Errorf("op-a audit: %d %v", total, err)
	}
	if _, all, _ := s.Audit(ctx, AuditFilter{}); all != 4 {
		t.Errorf("platform audit total %d", all)
	}
}

// A sign-up that stopped between its user document and its login claim does
// not hold the phone number for good.
func TestReconcilePendingReleasesClaims(t *testing.T) {
	ctx := context.Background()
	s := newService(t)
	now := time.Now().UTC()
	if err := s.store.insertUser(ctx, userDoc{ID: "u-half", Name: "X", Phone: "13700002222", Role: Renter, Status: pending, CreatedAt: now.Add(-time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if err := s.store.claimLogin(ctx, "phone:13700002222", "u-half", now); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateUser(ctx, NewUser{Name: "Real", Phone: "13700002222", Password: goodPassword, Role: Renter}); !errors.Is(err, ErrConflict) {
		t.Fatalf("before reconciling: %v", err)
	}
	if n, err := s.ReconcilePending(ctx, 10*time.Minute); err != nil || n != 1 {
		t.Fatalf("reconcile: %d %v", n, err)
	}
	if _, err := s.CreateUser(ctx, NewUser{Name: "Real", Phone: "13700002222", Password: goodPassword, Role: Renter}); err != nil {
		t.Fatalf("after reconciling: %v", err)
	}
	if n, _ := s.ReconcilePending(ctx, 10*time.Minute); n != 0 {
		t.Errorf("a finished account was reconciled")
	}
}

// Disabling an account while its user changes the password: the change does
// not bring the account back.
func TestPasswordChangeKeepsDisable(t *testing.T) {
	ctx := context.Background()
	s := newService(t)
	u, _ := s.CreateUser(ctx, NewUser{Name: "S", Phone: "13700003333", Password: goodPassword, Role: Renter})
	d, _ := s.store.user(ctx, u.ID) // the password change read the user…
	st := Disabled
	if _, err := s.UpdateUser(ctx, "", u.ID, UserUpdate{Status: &st}); err != nil { // …then an admin disabled it
		t.Fatal(err)
	}
	if err := s.setPassword(ctx, d, "another-"+goodPassword, false, ""); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.User(ctx, u.ID); got.Status != Disabled {
		t.Fatalf("status after the password change: %s", got.Status)
	}
}

// TestPlatformDisableWins: an operator admin cannot re-enable an account the
// platform admin disabled, not even by writing the status in a race; the
// platform can.
func TestPlatformDisableWins(t *testing.T) {
	ctx := context.Background()
	s := newService(t)
	u, err := s.CreateUser(ctx, NewUser{Name: "王", Phone: "13900003333", Password: "a long enough pass 1", Role: Staff, OperatorID: "op-a", StationIDs: []string{"north"}})
	if err != nil {
		t.Fatal(err)
	}
	disabled, active := Disabled, Active
	if got, err := s.UpdateUser(ctx, "", u.ID, UserUpdate{Status: &disabled}); err != nil || got.Status != Disabled || !got.DisabledByPlatform {
		t.Fatalf("platform disable: %+v %v", got, err)
	}
	if _, err := s.UpdateUser(ctx, "op-a", u.ID, UserUpdate{Status: &active}); fieldOf(err, "status") == "" {
		t.Fatalf("operator re-enabled a platform-disabled account: %v", err)
	}
	// A race: the operator's enable read the account before the platform
	// disabled it and writes the status afterwards.
	if err := s.store.setUser(ctx, u.ID, bson.D{{Key: "status", Value: Active}}); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.User(ctx, u.ID); got.Status != Disabled {
		t.Errorf("after the racing enable the account is %s", got.Status)
	}
	if _, err := s.Authenticate(ctx, "13900003333", "a long enough pass 1"); !errors.Is(err, ErrBadCredentials) {
		t.Errorf("login after the racing enable: %v", err)
	}
	// The operator's own disable and enable still work; the platform's
	// enable lifts its disable.
	if got, err := s.UpdateUser(ctx, "", u.ID, UserUpdate{Status: &active}); err != nil || got.Status != Active || got.DisabledByPlatform {
		t.Fatalf("platform enable: %+v %v", got, err)
	}
	if _, err := s.UpdateUser(ctx, "op-a", u.ID, UserUpdate{Status: &disabled}); err != nil {
		t.Fatal(err)
	}
	if got, err := s.UpdateUser(ctx, "op-a", u.ID, UserUpdate{Status: &active}); err != nil || got.Status != Active {
		t.Errorf("operator re-enables its own disable: %+v %v", got, err)
	}
	if _, err := s.Authenticate(ctx, "13900003333", "a long enough pass 1"); err != nil {
		t.Errorf("login after enabling: %v", err)
	}
}

// The hasher runs at most its slots at once, queues a few callers for a
// short while, and turns the rest away at once with ErrBusy.
func TestHasherBound(t *testing.T) {
	h := newHasher(2)
	h.wait = 5 * time.Second
	var running, most atomic.Int64
	release := make(chan struct{})
	hold := func() {
		n := running.Add(1)
		for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
		}
		<-release
		running.Add(-1)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for range 2 + 2*queuePerSlot {
		wg.Add(1)
		go func() { defer wg.Done(); errs <- h.run(context.Background(), hold) }()
	}
	deadline := time.Now().Add(5 * time.Second)
	for (len(h.slots) < 2 || len(h.queue) < 2*queuePerSlot) && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	// Slots and queue are full: the next caller is refused without waiting.
	t0 := time.Now()
	if err := h.run(context.Background(), func() { t.Error("ran past a full queue") }); !errors.Is(err, ErrBusy) || time.Since(t0) > 100*time.Millisecond {
		t.Fatalf("past a full queue: %v after %v", err, time.Since(t0))
	}
	close(release)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("a queued caller: %v", err)
		}
	}
	if most.Load() != 2 || h.hashes.Load() != int64(2+2*queuePerSlot) || h.refused.Load() != 1 {
		t.Errorf("at most %d at once (want 2), %d run, %d refused", most.Load(), h.hashes.Load(), h.refused.Load())
	}

	// A caller waits only so long in the queue, or until its request ends.
	h.wait = 50 * time.Millisecond
	block := make(chan struct{})
	for range 2 {
		go func() { _ = h.run(context.Background(), func() { <-block }) }()
	}
	for len(h.slots) < 2 {
		time.Sleep(time.Millisecond)
	}
	if err := h.run(context.Background(), func() {}); !errors.Is(err, ErrBusy) {
		t.Errorf("after the wait: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := h.run(ctx, func() {}); !errors.Is(err, context.Canceled) {
		t.Errorf("ended request: %v", err)
	}
	close(block)
	if len(h.queue) != 0 {
		t.Errorf("%d queue places left taken", len(h.queue))
	}
}

// When no password can be checked, nothing is written: the login is not
// decided and the sign-up leaves no account and no claimed phone number.
func TestBusyHashingChangesNothing(t *testing.T) {
	ctx := context.Background()
	s := newService(t)
	if _, err := s.CreateUser(ctx, NewUser{Name: "Li", Phone: "13812345678", Password: goodPassword, Role: Renter}); err != nil {
		t.Fatal(err)
	}
	s.hasher = &hasher{slots: make(chan struct{}, 1), queue: make(chan struct{}), wait: time.Second}
	s.hasher.slots <- struct{}{}
	if _, err := s.Authenticate(ctx, "13812345678", goodPassword); !errors.Is(err, ErrBusy) || errors.Is(err, ErrBadCredentials) {
		t.Errorf("login while busy: %v", err)
	}
	if _, err := s.CreateUser(ctx, NewUser{Name: "Wang", Phone: "13912345678", Password: goodPassword, Role: Renter}); !errors.Is(err, ErrBusy) {
		t.Errorf("sign-up while busy: %v", err)
	}
	if _, err := s.UserIDByPhone(ctx, "13912345678"); !errors.Is(err, ErrNotFound) {
		t.Errorf("a busy sign-up claimed the number: %v", err)
	}
	if n, _ := s.store.users.CountDocuments(ctx, bson.D{}); n != 1 {
		t.Errorf("%d users after a busy sign-up", n)
	}
	<-s.hasher.slots
	if _, err := s.Authenticate(ctx, "13812345678", goodPassword); err != nil {
		t.Errorf("login once free: %v", err)
	}
	if s.HashStats().Refused != 2 {
		t.Errorf("refused %d, want 2", s.HashStats().Refused)
	}
}

// A stored hash that asks for more memory than ours is refused unread, so
// nothing in the database can make one check take more than HashMemory.
func TestOversizedHashRefused(t *testing.T) {
	h, err := hashPassword(goodPassword)
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := verifyPassword(h, goodPassword); !ok || err != nil {
		t.Fatalf("own hash: %v %v", ok, err)
	}
	big := strings.Replace(h, "m=19456", "m=4194304", 1)
	if ok, err := verifyPassword(big, goodPassword); ok || !errors.Is(err, errBadHash) {
		t.Errorf("a 4 GiB hash: %v %v", ok, err)
	}
}
