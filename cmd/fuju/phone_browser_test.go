package main

import (
	"context"
	"regexp"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"fuju/internal/testenv"
)

var sixDigits = regexp.MustCompile(`\d{6}`)

// outboxCode reads the newest phone code sent to phone from the instance's
// outbox (its messages collection), as the family reads it from the text
// message; env is the instance's (accountEnv: it names the database).
func outboxCode(t *testing.T, env map[string]string, phone string) string {
	t.Helper()
	coll := testenv.DB(t).Client().Database(env["FUJU_DB_NAME"]).Collection("messages")
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		var m struct {
			Text string `bson:"text"`
		}
		err := coll.FindOne(context.Background(), bson.D{{Key: "kind", Value: "phone_code"}, {Key: "phone", Value: phone}},
			options.FindOne().SetSort(bson.D{{Key: "created_at", Value: -1}})).Decode(&m)
		if err == nil {
			if code := sixDigits.FindString(m.Text); code != "" {
				return code
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("no phone code in the outbox for %s", phone)
	return ""
}

// signUpInBrowser signs up on the pages and types the code from the outbox.
func (p *page) signUpInBrowser(env map[string]string, name, phone, password string) {
	p.t.Helper()
	p.open("/signup", "#f-name")
	p.fill("#f-name", name, "#f-phone", phone, "#f-password", password)
	p.submit(`form[action="/signup"]`, "/signup/confirm")
	p.fill("#f-code", outboxCode(p.t, env, phone))
	p.submit(`form[action="/signup/confirm"]`, "/account")
}
