package accounts

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// Session lifetimes. Staff, operators and admins work on shared desks and
// handle other people's data: two idle hours end a session, twelve hours end
// it anyway. Renters on their own phones may ask to be remembered.
const (
	StaffIdle         = 2 * time.Hour
	StaffAbsolute     = 12 * time.Hour
	RenterIdle        = 12 * time.Hour
	RenterAbsolute    = 7 * 24 * time.Hour
	RememberIdle      = 30 * 24 * time.Hour
	RememberAbsolute  = 90 * 24 * time.Hour
	touchEvery        = time.Minute
	sessionTokenBytes = 32 // 256 bits
)

// Session is a logged-in browser.
type Session struct {
	// ID is the session's public handle (its _id: the SHA-256 of the cookie
	// value), shown in "my sessions"; the cookie value itself is never stored.
	ID        string    `json:"id" bson:"_id"`
	UserID    string    `json:"user_id" bson:"user_id"`
	Remember  bool      `json:"remember" bson:"remember"`
	CreatedAt time.Time `json:"created_at" bson:"created_at"`
	LastSeen  time.Time `json:"last_seen" bson:"last_seen"`
	// ExpiresAt is the idle deadline, pushed forward as the session is used,
	// never past AbsoluteAt.
	ExpiresAt  time.Time `json:"expires_at" bson:"expires_at"`
	AbsoluteAt time.Time `json:"absolute_at" bson:"absolute_at"`
	IP         string    `json:"ip" bson:"ip"`
	UserAgent  string    `json:"user_agent" bson:"user_agent"`
}

func sessionID(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

func lifetimes(role Role, remember bool) (idle, absolute time.Duration) {
	switch {
	case role != Renter:
		return StaffIdle, StaffAbsolute
	case remember:
		return RememberIdle, RememberAbsolute
	}
	return RenterIdle, RenterAbsolute
}

// NewSession starts a session for u and returns the cookie value (256 random
// bits). Only renters can be remembered.
func (s *Service) NewSession(ctx context.Context, u User, remember bool, ip, userAgent string) (string, Session, error) {
	b := make([]byte, sessionTokenBytes)
	if _, err := rand.Read(b); err != nil {
		return "", Session{}, err
	}
	token := base64.RawURLEncoding.EncodeToString(b)
	remember = remember && u.Role == Renter
	idle, abs := lifetimes(u.Role, remember)
	now := s.now()
	if len(userAgent) > 200 {
		userAgent = userAgent[:200]
	}
	sess := Session{ID: sessionID(token), UserID: u.ID, Remember: remember, CreatedAt: now, LastSeen: now,
		ExpiresAt: now.Add(idle), AbsoluteAt: now.Add(abs), IP: ip, UserAgent: userAgent}
	if _, err := s.store.sessions.InsertOne(ctx, sess); err != nil {
		return "", Session{}, translate(err, "session")
	}
	return token, sess, nil
}

// Session returns the session and user for a cookie value, extending the idle
// deadline (at most once a minute, to spare writes).
func (s *Service) Session(ctx context.Context, token string) (Session, User, error) {
	if token == "" || len(token) > 100 {
		return Session{}, User{}, ErrSessionEnded
	}
	var sess Session
	if err := s.store.sessions.FindOne(ctx, byID(sessionID(token))).Decode(&sess); err != nil {
		if err := translate(err, "session"); err != nil && !isNotFound(err) {
			return Session{}, User{}, err
		}
		return Session{}, User{}, ErrSessionEnded
	}
	now := s.now()
	if !now.Before(sess.ExpiresAt) || !now.Before(sess.AbsoluteAt) {
		_, _ = s.store.sessions.DeleteOne(ctx, byID(sess.ID))
		return Session{}, User{}, ErrSessionEnded
	}
	d, err := s.store.user(ctx, sess.UserID)
	// A session older than the password (a reset, a change elsewhere) is
	// over, even if deleting it raced with its creation.
	if err != nil || d.status() != Active || sess.CreatedAt.Before(d.PasswordChangedAt) {
		if err != nil && !isNotFound(err) {
			return Session{}, User{}, err
		}
		_, _ = s.store.sessions.DeleteOne(ctx, byID(sess.ID))
		return Session{}, User{}, ErrSessionEnded
	}
	if now.Sub(sess.LastSeen) >= touchEvery {
		idle, _ := lifetimes(d.Role, sess.Remember)
		sess.LastSeen = now
		sess.ExpiresAt = now.Add(idle)
		if sess.ExpiresAt.After(sess.AbsoluteAt) {
			sess.ExpiresAt = sess.AbsoluteAt
		}
		_, err := s.store.sessions.UpdateOne(ctx, byID(sess.ID), bson.D{{Key: "$set", Value: bson.D{
			{Key: "last_seen", Value: sess.LastSeen}, {Key: "expires_at", Value: sess.ExpiresAt}}}})
		if err != nil {
			s.logger.Warn("extend session", "err", err)
		}
	}
	return sess, d.toUser(), nil
}

// EndSession logs one browser out.
func (s *Service) EndSession(ctx context.Context, token string) error {
	_, err := s.store.sessions.DeleteOne(ctx, byID(sessionID(token)))
	return translate(err, "session")
}

// EndSessionByID ends one of the user's sessions by its public id.
func (s *Service) EndSessionByID(ctx context.Context, userID, id string) error {
	var sess Session
	if err := s.store.sessions.FindOne(ctx, byID(id)).Decode(&sess); err != nil || sess.UserID != userID {
		return fmt.Errorf("auth: session: %w", ErrNotFound)
	}
	_, err := s.store.sessions.DeleteOne(ctx, byID(id))
	return translate(err, "session")
}

// EndAllSessions logs the user out everywhere except the session with public
// id keep ("" ends them all).
func (s *Service) EndAllSessions(ctx context.Context, userID, keep string) error {
	sessions, err := s.Sessions(ctx, userID)
	if err != nil {
		return err
	}
	for _, sess := range sessions {
		if sess.ID == keep {
			continue
		}
		if _, err := s.store.sessions.DeleteOne(ctx, byID(sess.ID)); err != nil {
			return translate(err, "session")
		}
	}
	return nil
}

// Sessions lists the user's live sessions, newest first.
func (s *Service) Sessions(ctx context.Context, userID string) ([]Session, error) {
	cur, err := s.store.sessions.Find(ctx, bson.D{{Key: "user_id", Value: userID}},
		options.Find().SetSort(bson.D{{Key: "last_seen", Value: -1}}))
	if err != nil {
		return nil, translate(err, "sessions")
	}
	var out []Session
	if err := cur.All(ctx, &out); err != nil {
		return nil, translate(err, "sessions")
	}
	now := s.now()
	live := out[:0]
	for _, sess := range out {
		if now.Before(sess.ExpiresAt) && now.Before(sess.AbsoluteAt) {
			live = append(live, sess)
		}
	}
	return live, nil
}

// PurgeSessions deletes expired sessions. The embedded database has no TTL
// index, so a job runs this; several instances running it at once only delete
// the same documents twice.
func (s *Service) PurgeSessions(ctx context.Context) (int64, error) {
	res, err := s.store.sessions.DeleteMany(ctx, bson.D{{Key: "expires_at", Value: bson.D{{Key: "$lte", Value: s.now()}}}})
	if err != nil {
		return 0, translate(err, "purge sessions")
	}
	n := res.DeletedCount
	res, err = s.store.sessions.DeleteMany(ctx, bson.D{{Key: "absolute_at", Value: bson.D{{Key: "$lte", Value: s.now()}}}})
	if err != nil {
		return n, translate(err, "purge sessions")
	}
	return n + res.DeletedCount, nil
}

func isNotFound(err error) bool { return errors.Is(err, ErrNotFound) }
