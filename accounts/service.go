package accounts

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"fuju/internal/ids"
	"fuju/internal/valid"
)

// Service manages users, sessions, API tokens and the audit log.
type Service struct {
	store  *store
	logger *slog.Logger
	now    func() time.Time
	// dummyHash is verified when a login name is unknown, so an unknown
	// account costs the same time as a wrong password.
	dummyHash string
	// hasher bounds how many password hashes run at once (19 MiB each).
	hasher *hasher
	// StationOf checks that station ids belong to an operator (set by the
	// wiring; nil accepts any).
	StationOf func(ctx context.Context, stationID string) (operatorID string, err error)
	// OperatorExists checks that an operator exists, for accounts made for
	// it (set by the wiring; nil accepts any).
	OperatorExists func(ctx context.Context, operatorID string) error
	// SendCode sends a phone code through the outbox (set by the wiring;
	// nil sends nothing, and codes can then never be typed in).
	SendCode func(ctx context.Context, c PhoneCode) error

	phoneOnce sync.Once
	phone     *phoneChecks
}

// NewService returns the identity service storing in db.
func NewService(db *mongo.Database, logger *slog.Logger) *Service {
	if logger == nil {
		logger = slog.Default()
	}
	h, _ := hashPassword(OneTimePassword())
	return &Service{store: newStore(db), logger: logger, now: func() time.Time { return time.Now().UTC() }, dummyHash: h,
		hasher: newHasher(0)}
}

// LimitHashing sets how many password hashes may run at once; each holds
// HashMemory, so this bounds what logins, sign-ups and password changes can
// take together. Callers beyond it wait in a short queue, then get ErrBusy.
// 0 means one per CPU the process may use, at most 8 (the default). Call it
// before serving.
func (s *Service) LimitHashing(slots int) { s.hasher = newHasher(slots) }

// HashStats says how many password hashes ran and how many were refused.
func (s *Service) HashStats() HashStats {
	return HashStats{Slots: cap(s.hasher.slots), Hashes: s.hasher.hashes.Load(), Refused: s.hasher.refused.Load()}
}

// Init creates the indexes the queries need.
func (s *Service) Init(ctx context.Context) error {
	if err := s.store.ensureIndexes(ctx); err != nil {
		return err
	}
	if err := s.checks().init(ctx); err != nil {
		return err
	}
	return s.store.indexExisting(ctx, s.now())
}

// NewUser is what creating an account takes.
type NewUser struct {
	Name       string
	Phone      string
	Email      string
	Password   string
	Role       Role
	OperatorID string
	StationIDs []string
	// MustChangePassword sends the user to change a one-time password.
	MustChangePassword bool
}

// Check validates n and normalises its login names as CreateUser does,
// without hashing the password, so a form with a mistake costs nothing and is
// not counted against sign-up throttles.
func (s *Service) Check(ctx context.Context, n *NewUser) error {
	if err := s.checkNewUser(ctx, n); err != nil {
		return fmt.Errorf("auth: new user: %w", err)
	}
	return nil
}

func (s *Service) checkNewUser(ctx context.Context, n *NewUser) error {
	e := &valid.Error{}
	n.Name = strings.TrimSpace(n.Name)
	if n.Name == "" {
		e.Add("name", "required", "is required")
	} else if utf8.RuneCountInString(n.Name) > 60 {
		e.Add("name", "max_length", "must be at most 60 characters", "max", 60)
	}
	rawPhone, rawEmail := n.Phone, n.Email
	n.Phone, n.Email = NormalizePhone(rawPhone), NormalizeEmail(rawEmail)
	if strings.TrimSpace(rawPhone) != "" && n.Phone == "" {
		e.Add("phone", "mobile", "must be a mainland mobile number such as 13812345678")
	}
	if strings.TrimSpace(rawEmail) != "" && n.Email == "" {
		e.Add("email", "email", "must be an e-mail address")
	}
	if strings.TrimSpace(rawPhone) == "" && strings.TrimSpace(rawEmail) == "" {
		e.Add("phone", "phone_or_email", "a mobile number or an e-mail address is required")
	}
	if err := CheckPassword("password", n.Password, n.Phone, n.Email); err != nil {
		f, _ := valid.Fields(err)
		e.Put("password", f["password"])
	}
	if !n.Role.Valid() {
		e.Add("role", "oneof", "must be one of: renter, staff, operator_admin, platform_admin")
	}
	switch n.Role {
	case Staff, OperatorAdmin:
		if n.OperatorID == "" {
			e.Add("operator_id", "required", "is required for staff and operator admins")
		}
	default:
		if n.OperatorID != "" || len(n.StationIDs) > 0 {
			e.Add("operator_id", "forbidden", "only staff and operator admins belong to an operator")
		}
	}
	if n.Role == Staff && len(n.StationIDs) == 0 {
		e.Add("station_ids", "required", "staff must be assigned at least one station")
	}
	if n.Role == OperatorAdmin && len(n.StationIDs) > 0 {
		e.Add("station_ids", "forbidden", "operator admins see every station of their operator")
	}
	if err := e.Err(); err != nil {
		return err
	}
	return s.checkStations(ctx, n.OperatorID, n.StationIDs)
}

func (s *Service) checkStations(ctx context.Context, operatorID string, stationIDs []string) error {
	if s.StationOf == nil {
		return nil
	}
	for _, st := range stationIDs {
		op, err := s.StationOf(ctx, st)
		if err != nil || op != operatorID {
			return valid.Field("station_ids", "not_found", "station "+st+" is not a station of this operator")
		}
	}
	return nil
}

// CreateUser adds an account. The user document is inserted first as
// pending, then its login names are claimed (their _id makes them unique),
// then it is activated; a claim taken by someone else removes the new user
// again and answers ErrConflict naming the field.
func (s *Service) CreateUser(ctx context.Context, n NewUser) (User, error) {
	if err := s.checkNewUser(ctx, &n); err != nil {
		return User{}, fmt.Errorf("auth: new user: %w", err)
	}
	hash, err := s.hasher.hash(ctx, n.Password)
	if err != nil {
		return User{}, fmt.Errorf("auth: hash password: %w", err)
	}
	now := s.now()
	d := userDoc{ID: ids.New("u"), Name: n.Name, Phone: n.Phone, Email: n.Email, Role: n.Role, OperatorID: n.OperatorID,
		StationIDs: n.StationIDs, Status: pending, MustChangePassword: n.MustChangePassword, CreatedAt: now, UpdatedAt: now,
		PasswordHash: hash, PasswordChangedAt: now}
	if err := s.store.insertUser(ctx, d); err != nil {
		return User{}, err
	}
	var claimed []string
	undo := func() {
		for _, k := range claimed {
			_ = s.store.releaseLogin(context.WithoutCancel(ctx), k)
		}
		_ = s.store.deleteUser(context.WithoutCancel(ctx), d.ID)
	}
	for _, c := range []struct{ field, key string }{{"phone", "phone:" + d.Phone}, {"email", "email:" + d.Email}} {
		if strings.HasSuffix(c.key, ":") {
			continue
		}
		if err := s.store.claimLogin(ctx, c.key, d.ID, now); err != nil {
			undo()
			if errors.Is(err, ErrConflict) {
				return User{}, fmt.Errorf("auth: %w: %w", valid.Field(c.field, "taken", "is already registered; log in instead"), ErrConflict)
			}
			return User{}, err
		}
		claimed = append(claimed, c.key)
	}
	// Listed before it is active, so an active account is always in its
	// lists (a crash here leaves entries of a pending account, which lists
	// skip and ReconcilePending removes).
	if err := s.store.enterUser(ctx, d, indexKeys(d)); err != nil {
		undo()
		return User{}, err
	}
	d.Status = Active
	if err := s.store.replaceUser(ctx, d); err != nil {
		undo()
		return User{}, err
	}
	return d.toUser(), nil
}

// Authenticate checks a login name and password. Unknown names, wrong
// passwords and disabled accounts all return ErrBadCredentials after the same
// amount of hashing work. When too many passwords are being checked at once
// it returns ErrBusy, having checked nothing.
func (s *Service) Authenticate(ctx context.Context, login, password string) (User, error) {
	if len(password) > MaxPasswordLen*4 {
		password = password[:MaxPasswordLen*4]
	}
	key := LoginKey(login)
	var d userDoc
	var err error
	found := false
	if key != "" {
		var l loginDoc
		if l, err = s.store.login(ctx, key); err == nil {
			d, err = s.store.user(ctx, l.UserID)
			found = err == nil
		}
		if err != nil && !errors.Is(err, ErrNotFound) {
			return User{}, err
		}
	}
	hash := s.dummyHash
	if found {
		hash = d.PasswordHash
	}
	ok, verr := s.hasher.verify(ctx, hash, password)
	if errors.Is(verr, ErrBusy) || errors.Is(verr, context.Canceled) || errors.Is(verr, context.DeadlineExceeded) {
		return User{}, fmt.Errorf("auth: check password: %w", verr)
	}
	if verr != nil && found {
		s.logger.Error("stored password hash is unreadable", "user", d.ID)
	}
	if !found || !ok || d.status() != Active {
		return User{}, ErrBadCredentials
	}
	return d.toUser(), nil
}

// User returns an account by id.
func (s *Service) User(ctx context.Context, id string) (User, error) {
	d, err := s.store.user(ctx, id)
	if err != nil {
		return User{}, err
	}
	if d.Status == pending {
		return User{}, fmt.Errorf("auth: user %s: %w", id, ErrNotFound)
	}
	return d.toUser(), nil
}

// ChangePassword replaces a user's password after checking the current one,
// and ends the user's other sessions.
func (s *Service) ChangePassword(ctx context.Context, userID, current, next, keepSession string) error {
	d, err := s.store.user(ctx, userID)
	if err != nil {
		return err
	}
	ok, err := s.hasher.verify(ctx, d.PasswordHash, current)
	if errors.Is(err, ErrBusy) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("auth: check password: %w", err)
	}
	if !ok {
		return fmt.Errorf("auth: %w", valid.Field("current_password", "wrong", "is not your current password"))
	}
	if current == next {
		return fmt.Errorf("auth: %w", valid.Field("new_password", "same", "must differ from the current password"))
	}
	if err := s.setPassword(ctx, d, next, false, keepSession); err != nil {
		return err
	}
	u := d.toUser()
	s.auditAccount(ctx, selfActor(u), "account.password", nil, User{ID: u.ID, OperatorID: u.OperatorID}, "password")
	return nil
}

// ResetPassword sets a new one-time password (an administrator's action); the
// user must change it at next login and every session ends.
func (s *Service) ResetPassword(ctx context.Context, userID string) (string, error) {
	d, err := s.store.user(ctx, userID)
	if err != nil {
		return "", err
	}
	pw := OneTimePassword()
	return pw, s.setPassword(ctx, d, pw, true, "")
}

func (s *Service) setPassword(ctx context.Context, d userDoc, pw string, mustChange bool, keepSession string) error {
	if err := CheckPassword("new_password", pw, d.Phone, d.Email); err != nil {
		return fmt.Errorf("auth: %w", err)
	}
	hash, err := s.hasher.hash(ctx, pw)
	if err != nil {
		return fmt.Errorf("auth: hash password: %w", err)
	}
	now := s.now()
	// Only the password fields are written, so an administrator disabling
	// the account meanwhile is not undone.
	if err := s.store.setUser(ctx, d.ID, bson.D{{Key: "password_hash", Value: hash}, {Key: "password_changed_at", Value: now},
		{Key: "must_change_password", Value: mustChange}, {Key: "updated_at", Value: now}}); err != nil {
		return err
	}
	// Sessions older than the password stop working (Session checks it);
	// the one the user changed it from is renewed and kept.
	if keepSession != "" {
		if err := s.store.setSession(ctx, keepSession, bson.D{{Key: "created_at", Value: now}}); err != nil {
			return err
		}
	}
	return s.EndAllSessions(ctx, d.ID, keepSession)
}

// UserUpdate is an administrator's change to an account; nil fields stay.
type UserUpdate struct {
	Name       *string
	StationIDs []string
	Status     *string
}

// UpdateUser changes an account within scope: operator admins manage their
// own staff; the platform admin anyone. Disabling ends the user's sessions.
func (s *Service) UpdateUser(ctx context.Context, operatorID string, id string, up UserUpdate) (User, error) {
	d, err := s.store.user(ctx, id)
	if err != nil {
		return User{}, err
	}
	if d.Status == pending || operatorID != "" && d.OperatorID != operatorID {
		return User{}, fmt.Errorf("auth: user %s: %w", id, ErrNotFound)
	}
	e := &valid.Error{}
	// Only the fields being changed are written, so two administrators
	// changing different things (or a user changing their password) do not
	// undo each other.
	set := bson.D{}
	if up.Name != nil {
		n := strings.TrimSpace(*up.Name)
		if n == "" || utf8.RuneCountInString(n) > 60 {
			e.Add("name", "length", "must be 1 to 60 characters", "min", 1, "max", 60)
		}
		d.Name = n
		set = append(set, bson.E{Key: "name", Value: n})
	}
	if up.StationIDs != nil {
		if d.Role != Staff {
			e.Add("station_ids", "forbidden", "only staff are assigned to stations")
		} else if len(up.StationIDs) == 0 {
			e.Add("station_ids", "required", "staff must be assigned at least one station")
		} else if err := s.checkStations(ctx, d.OperatorID, up.StationIDs); err != nil {
			return User{}, fmt.Errorf("auth: %w", err)
		}
		d.StationIDs = slices.Clone(up.StationIDs)
		set = append(set, bson.E{Key: "station_ids", Value: d.StationIDs})
	}
	if up.Status != nil {
		switch {
		case *up.Status != Active && *up.Status != Disabled:
			e.Add("status", "oneof", "must be one of: active, disabled")
		case operatorID != "" && *up.Status == Active && d.PlatformDisabled:
			// The city disabled this account; its operator cannot
			// overrule that.
			e.Add("status", "platform_disabled", "the platform admin disabled this account; only the platform admin can enable it again")
		case operatorID == "":
			// The platform's own switch, apart from the status, so its
			// disable wins over an operator's enable in any order.
			d.PlatformDisabled = *up.Status == Disabled
			set = append(set, bson.E{Key: "platform_disabled", Value: d.PlatformDisabled})
		}
		d.Status = *up.Status
		set = append(set, bson.E{Key: "status", Value: d.Status})
	}
	if err := e.Err(); err != nil {
		return User{}, fmt.Errorf("auth: %w", err)
	}
	if up.Name != nil {
		// Found by the new name from now on; the old name's entries stay,
		// and lists check the name they find.
		if err := s.store.enterUser(ctx, d, nameKeys(d.Name)); err != nil {
			return User{}, err
		}
	}
	d.UpdatedAt = s.now()
	set = append(set, bson.E{Key: "updated_at", Value: d.UpdatedAt})
	if err := s.store.setUser(ctx, d.ID, set); err != nil {
		return User{}, err
	}
	if d.status() == Disabled {
		if err := s.EndAllSessions(ctx, d.ID, ""); err != nil {
			return User{}, err
		}
	}
	return d.toUser(), nil
}

// UpdateProfile lets users change their own name.
func (s *Service) UpdateProfile(ctx context.Context, id, name string) (User, error) {
	before, err := s.User(ctx, id)
	if err != nil {
		return User{}, err
	}
	after, err := s.UpdateUser(ctx, "", id, UserUpdate{Name: &name})
	if err != nil {
		return User{}, err
	}
	s.auditAccount(ctx, selfActor(after), "account.profile", &before, after)
	return after, nil
}

// UserIDByPhone returns the id of the account that logs in with a mobile
// number, so a renter registered at a desk and an online account can be
// joined.
func (s *Service) UserIDByPhone(ctx context.Context, phone string) (string, error) {
	p := NormalizePhone(phone)
	if p == "" {
		return "", fmt.Errorf("auth: phone: %w", ErrNotFound)
	}
	l, err := s.store.login(ctx, "phone:"+p)
	if err != nil {
		return "", err
	}
	return l.UserID, nil
}

// ReconcilePending removes accounts whose creation stopped half-way (a crash
// between the user document and its login claims) once they are older than
// age, releasing the login names they claimed, so a phone number is never
// blocked for good. Safe to run on several instances at once.
func (s *Service) ReconcilePending(ctx context.Context, age time.Duration) (int, error) {
	cur, err := s.store.users.Find(ctx, bson.D{{Key: "status", Value: pending},
		{Key: "created_at", Value: bson.D{{Key: "$lt", Value: s.now().Add(-age)}}}})
	if err != nil {
		return 0, translate(err, "pending users")
	}
	var docs []userDoc
	if err := cur.All(ctx, &docs); err != nil {
		return 0, translate(err, "pending users")
	}
	for _, d := range docs {
		for _, key := range []string{"phone:" + d.Phone, "email:" + d.Email} {
			if l, err := s.store.login(ctx, key); err == nil && l.UserID == d.ID {
				if err := s.store.releaseLogin(ctx, key); err != nil {
					return 0, err
				}
			}
		}
		if err := s.store.deleteUser(ctx, d.ID); err != nil {
			return 0, err
		}
	}
	return len(docs), nil
}
