package accounts

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"fuju/internal/ids"
	"fuju/internal/tenancy"
	"fuju/internal/valid"
)

// Token scopes an operator's own systems may be given.
const (
	ScopeInventoryRead  = "inventory:read"
	ScopeInventoryWrite = "inventory:write"
	ScopeDesk           = "desk"
)

// TokenScopes lists every scope.
var TokenScopes = []string{ScopeInventoryRead, ScopeInventoryWrite, ScopeDesk}

// tokenPrefix marks Fuju tokens so secret scanners and people recognise them.
const tokenPrefix = "fuju_"

// Token is an operator's API token. The secret is shown once, at creation;
// only its hash is stored (as the _id, so checking a token is one lookup).
type Token struct {
	ID         string        `json:"id" bson:"public_id"`
	Hash       string        `json:"-" bson:"_id"`
	OperatorID string        `json:"operator_id" bson:"operator_id"`
	Name       string        `json:"name" bson:"name"`
	Scopes     []string      `json:"scopes" bson:"scopes"`
	CreatedBy  tenancy.Actor `json:"created_by" bson:"created_by"`
	CreatedAt  time.Time     `json:"created_at" bson:"created_at"`
	LastUsedAt *time.Time    `json:"last_used_at,omitempty" bson:"last_used_at,omitempty"`
	RevokedAt  *time.Time    `json:"revoked_at,omitempty" bson:"revoked_at,omitempty"`
	// ExpiresAt is when the token stops working; nil never.
	ExpiresAt *time.Time `json:"expires_at,omitempty" bson:"expires_at,omitempty"`
}

// Expired reports whether the token has expired at now.
func (t Token) Expired(now time.Time) bool { return t.ExpiresAt != nil && !now.Before(*t.ExpiresAt) }

// MaxTokenLife is the longest a token may be made to last.
const MaxTokenLife = 5 * 366 * 24 * time.Hour

// NewToken is what making a token takes.
type NewToken struct {
	OperatorID string
	Name       string
	Scopes     []string
	// ExpiresAt, when not zero, is when the token stops working: in the
	// future, and within MaxTokenLife.
	ExpiresAt time.Time
}

// Has reports whether the token carries scope; write implies read.
func (t Token) Has(scope string) bool {
	if slices.Contains(t.Scopes, scope) {
		return true
	}
	return scope == ScopeInventoryRead && slices.Contains(t.Scopes, ScopeInventoryWrite)
}

// Scope is the tenancy of requests made with the token.
func (t Token) Scope() tenancy.Scope { return tenancy.OperatorScope(t.OperatorID) }

// Actor is how the token appears in histories.
func (t Token) Actor() tenancy.Actor {
	return tenancy.Actor{ID: "token:" + t.ID, Name: "API token " + t.Name, Role: "api_token"}
}

// CreateToken makes a token that does not expire for an operator and returns
// its secret, which is never shown again.
func (s *Service) CreateToken(ctx context.Context, operatorID, name string, scopes []string, by tenancy.Actor) (string, Token, error) {
	return s.IssueToken(ctx, tenancy.OperatorScope(operatorID), NewToken{OperatorID: operatorID, Name: name, Scopes: scopes}, by)
}

// IssueToken makes a token as n says, for a caller of scope, and returns its
// secret, which is never shown again. Another operator's tokens are not the
// caller's to make; a suspended operator makes none.
func (s *Service) IssueToken(ctx context.Context, scope tenancy.Scope, n NewToken, by tenancy.Actor) (string, Token, error) {
	if err := scope.MayChange(tenancy.ChangeOther); err != nil {
		return "", Token{}, err
	}
	if !scope.Operator(n.OperatorID) {
		return "", Token{}, fmt.Errorf("auth: token: %w", valid.Field("operator_id", "not_found", "is not an operator"))
	}
	operatorID, name, scopes := n.OperatorID, n.Name, n.Scopes
	e := &valid.Error{}
	now := s.now()
	switch {
	case n.ExpiresAt.IsZero():
	case !n.ExpiresAt.After(now):
		e.Add("expires_on", "future", "must be a date after today")
	case n.ExpiresAt.Sub(now) > MaxTokenLife:
		e.Add("expires_on", "max_years", "must be within five years", "max", 5)
	}
	name = strings.TrimSpace(name)
	if name == "" || utf8.RuneCountInString(name) > 60 {
		e.Add("name", "length", "must be 1 to 60 characters", "min", 1, "max", 60)
	}
	if len(scopes) == 0 {
		e.Add("scopes", "required", "choose at least one of: "+strings.Join(TokenScopes, ", "))
	}
	for _, sc := range scopes {
		if !slices.Contains(TokenScopes, sc) {
			e.Add("scopes", "oneof", "must be among: "+strings.Join(TokenScopes, ", "))
		}
	}
	if err := e.Err(); err != nil {
		return "", Token{}, fmt.Errorf("auth: token: %w", err)
	}
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", Token{}, err
	}
	secret := tokenPrefix + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b))
	t := Token{ID: ids.New("tok"), Hash: sessionID(secret), OperatorID: operatorID,
		Name: name, Scopes: slices.Compact(slices.Sorted(slices.Values(scopes))), CreatedBy: by, CreatedAt: now}
	if !n.ExpiresAt.IsZero() {
		exp := n.ExpiresAt.UTC()
		t.ExpiresAt = &exp
	}
	if _, err := s.store.tokens.InsertOne(ctx, t); err != nil {
		return "", Token{}, translate(err, "token")
	}
	s.auditToken(ctx, by, "token.create", nil, t)
	return secret, t, nil
}

// TokenAuth returns the live token for a secret, recording its use (at most
// once a minute).
func (s *Service) TokenAuth(ctx context.Context, secret string) (Token, error) {
	if !strings.HasPrefix(secret, tokenPrefix) || len(secret) > 100 {
		return Token{}, ErrSessionEnded
	}
	var t Token
	if err := s.store.tokens.FindOne(ctx, byID(sessionID(secret))).Decode(&t); err != nil {
		if err := translate(err, "token"); !isNotFound(err) {
			return Token{}, err
		}
		return Token{}, ErrSessionEnded
	}
	if t.RevokedAt != nil {
		return Token{}, ErrSessionEnded
	}
	now := s.now()
	if t.Expired(now) {
		// Said apart from a wrong token, so the caller learns to ask for
		// a new one rather than to check how it sends this one.
		return t, fmt.Errorf("auth: token %s expired at %s: %w", t.ID, t.ExpiresAt.Format(time.RFC3339), ErrTokenExpired)
	}
	if t.LastUsedAt == nil || now.Sub(*t.LastUsedAt) >= touchEvery {
		t.LastUsedAt = &now
		_, _ = s.store.tokens.UpdateOne(ctx, byID(t.Hash), bson.D{{Key: "$set", Value: bson.D{{Key: "last_used_at", Value: now}}}})
	}
	return t, nil
}

// Tokens lists an operator's tokens, newest first.
func (s *Service) Tokens(ctx context.Context, operatorID string) ([]Token, error) {
	cur, err := s.store.tokens.Find(ctx, bson.D{{Key: "operator_id", Value: operatorID}},
		options.Find().SetSort(bson.D{{Key: "created_at", Value: -1}}))
	if err != nil {
		return nil, translate(err, "tokens")
	}
	out := []Token{}
	if err := cur.All(ctx, &out); err != nil {
		return nil, translate(err, "tokens")
	}
	return out, nil
}

// RevokeToken stops a token of the operator from working; revoking a revoked
// token changes nothing.
func (s *Service) RevokeToken(ctx context.Context, scope tenancy.Scope, operatorID, id string, by tenancy.Actor) (Token, error) {
	if err := scope.MayChange(tenancy.ChangeOther); err != nil {
		return Token{}, err
	}
	if !scope.Operator(operatorID) {
		return Token{}, fmt.Errorf("auth: token %s: %w", id, ErrNotFound)
	}
	all, err := s.Tokens(ctx, operatorID)
	if err != nil {
		return Token{}, err
	}
	for _, t := range all {
		if t.ID != id {
			continue
		}
		if t.RevokedAt == nil {
			before := t
			now := s.now()
			t.RevokedAt = &now
			if _, err := s.store.tokens.UpdateOne(ctx, byID(t.Hash), bson.D{{Key: "$set", Value: bson.D{{Key: "revoked_at", Value: now}}}}); err != nil {
				return Token{}, translate(err, "token")
			}
			s.auditToken(ctx, by, "token.revoke", &before, t)
		}
		return t, nil
	}
	return Token{}, fmt.Errorf("auth: token %s: %w", id, ErrNotFound)
}
