package accounts

import (
	"context"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"fuju/internal/eventlog"
)

// phoneChecks keeps pending sign-ups and changes of number (phone.go): the
// checks by _id and the log of their codes and tries.
type phoneChecks struct {
	docs *mongo.Collection
	log  *eventlog.Log[codeEvent]
}

// SetClock replaces the service's clock (tests; the default is time.Now in
// UTC). Call it before serving.
func (s *Service) SetClock(now func() time.Time) { s.now = func() time.Time { return now().UTC() } }

func (s *Service) checks() *phoneChecks {
	s.phoneOnce.Do(func() {
		db := s.store.users.Database()
		s.phone = &phoneChecks{docs: db.Collection("phone_checks"), log: eventlog.New[codeEvent](db, "phone_code")}
	})
	return s.phone
}

func (p *phoneChecks) init(ctx context.Context) error { return p.log.Init(ctx) }

func (p *phoneChecks) insert(ctx context.Context, d phoneCheckDoc) error {
	_, err := p.docs.InsertOne(ctx, d)
	return translate(err, "phone check")
}

func (p *phoneChecks) find(ctx context.Context, id string) (phoneCheckDoc, error) {
	var d phoneCheckDoc
	err := p.docs.FindOne(ctx, byID(id)).Decode(&d)
	return d, translate(err, "phone check")
}

// setPhone changes only a user's number (a confirmed change).
func (s *store) setPhone(ctx context.Context, id, phone string, at time.Time) error {
	return s.setUser(ctx, id, bson.D{{Key: "phone", Value: phone}, {Key: "updated_at", Value: at}})
}
