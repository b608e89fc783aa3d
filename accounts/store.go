package accounts

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"fuju/internal/db"
)

type store struct {
	users    *mongo.Collection
	logins   *mongo.Collection
	sessions *mongo.Collection
	tokens   *mongo.Collection
	audit    *mongo.Collection
	// index lists accounts by the keys they are found by (store_index.go).
	index *mongo.Collection
}

func newStore(db *mongo.Database) *store {
	return &store{
		users:    db.Collection("users"),
		logins:   db.Collection("logins"),
		sessions: db.Collection("sessions"),
		tokens:   db.Collection("api_tokens"),
		audit:    db.Collection("audit"),
		index:    db.Collection("user_index"),
	}
}

func (s *store) ensureIndexes(ctx context.Context) error {
	for _, ix := range []struct {
		c    *mongo.Collection
		keys bson.D
	}{
		{s.users, bson.D{{Key: "operator_id", Value: 1}}},
		{s.sessions, bson.D{{Key: "user_id", Value: 1}}},
		{s.sessions, bson.D{{Key: "expires_at", Value: 1}}},
		{s.tokens, bson.D{{Key: "operator_id", Value: 1}}},
		{s.audit, bson.D{{Key: "operator_id", Value: 1}, {Key: "at", Value: -1}}},
	} {
		if _, err := ix.c.Indexes().CreateOne(ctx, mongo.IndexModel{Keys: ix.keys}); err != nil {
			return fmt.Errorf("auth: create index on %s: %w", ix.c.Name(), err)
		}
	}
	if err := db.EnsureCollections(ctx, s.logins, s.index); err != nil {
		return fmt.Errorf("auth: %w", err)
	}
	return nil
}

func byID(id string) bson.D { return bson.D{{Key: "_id", Value: id}} }

func translate(err error, what string) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, mongo.ErrNoDocuments):
		return fmt.Errorf("auth: %s: %w", what, ErrNotFound)
	case mongo.IsDuplicateKeyError(err):
		return fmt.Errorf("auth: %s already exists: %w", what, ErrConflict)
	}
	return fmt.Errorf("auth: %s: %w", what, err)
}

type userDoc struct {
	ID         string   `bson:"_id"`
	Name       string   `bson:"name"`
	Phone      string   `bson:"phone,omitempty"`
	Email      string   `bson:"email,omitempty"`
	Role       Role     `bson:"role"`
	OperatorID string   `bson:"operator_id,omitempty"`
	StationIDs []string `bson:"station_ids,omitempty"`
	Status     string   `bson:"status"`
	// PlatformDisabled is set while the platform admin has disabled the
	// account. It is a flag apart from Status so that an operator admin
	// re-enabling their staff member, even in a race, cannot undo it.
	PlatformDisabled   bool      `bson:"platform_disabled,omitempty"`
	MustChangePassword bool      `bson:"must_change_password"`
	CreatedAt          time.Time `bson:"created_at"`
	UpdatedAt          time.Time `bson:"updated_at"`
	PasswordHash       string    `bson:"password_hash"`
	PasswordChangedAt  time.Time `bson:"password_changed_at"`
}

// status is the account's status as everyone sees it: a platform disable
// wins over whatever else was written.
func (d userDoc) status() string {
	if d.PlatformDisabled && d.Status == Active {
		return Disabled
	}
	return d.Status
}

func (d userDoc) toUser() User {
	return User{ID: d.ID, Name: d.Name, Phone: d.Phone, Email: d.Email, Role: d.Role, OperatorID: d.OperatorID,
		StationIDs: d.StationIDs, Status: d.status(), DisabledByPlatform: d.PlatformDisabled, MustChangePassword: d.MustChangePassword,
		CreatedAt: d.CreatedAt, UpdatedAt: d.UpdatedAt}
}

func (s *store) insertUser(ctx context.Context, d userDoc) error {
	_, err := s.users.InsertOne(ctx, d)
	return translate(err, "user "+d.ID)
}

func (s *store) user(ctx context.Context, id string) (userDoc, error) {
	var d userDoc
	err := s.users.FindOne(ctx, byID(id)).Decode(&d)
	return d, translate(err, "user "+id)
}

func (s *store) replaceUser(ctx context.Context, d userDoc) error {
	res, err := s.users.ReplaceOne(ctx, byID(d.ID), d)
	if err == nil && res.MatchedCount == 0 {
		err = mongo.ErrNoDocuments
	}
	return translate(err, "user "+d.ID)
}

// setUser changes some fields of a user, by _id only.
func (s *store) setUser(ctx context.Context, id string, set bson.D) error {
	res, err := s.users.UpdateOne(ctx, byID(id), bson.D{{Key: "$set", Value: set}})
	if err == nil && res.MatchedCount == 0 {
		err = mongo.ErrNoDocuments
	}
	return translate(err, "user "+id)
}

// setSession changes some fields of a session, by _id only.
func (s *store) setSession(ctx context.Context, id string, set bson.D) error {
	_, err := s.sessions.UpdateOne(ctx, byID(id), bson.D{{Key: "$set", Value: set}})
	return translate(err, "session")
}

func (s *store) deleteUser(ctx context.Context, id string) error {
	_, err := s.users.DeleteOne(ctx, byID(id))
	return translate(err, "user "+id)
}

type loginDoc struct {
	ID     string    `bson:"_id"`
	UserID string    `bson:"user_id"`
	At     time.Time `bson:"at"`
}

func (s *store) claimLogin(ctx context.Context, key, userID string, at time.Time) error {
	_, err := s.logins.InsertOne(ctx, loginDoc{ID: key, UserID: userID, At: at})
	return translate(err, key)
}

func (s *store) login(ctx context.Context, key string) (loginDoc, error) {
	var d loginDoc
	err := s.logins.FindOne(ctx, byID(key)).Decode(&d)
	return d, translate(err, key)
}

func (s *store) releaseLogin(ctx context.Context, key string) error {
	_, err := s.logins.DeleteOne(ctx, byID(key))
	return translate(err, key)
}
