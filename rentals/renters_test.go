package rentals

import (
	"context"
	"errors"
	"strings"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"

	"fuju/internal/tenancy"
	"fuju/internal/valid"
)

func TestIDNumber(t *testing.T) {
	for _, id := range validIDs {
		if !ValidIDNumber(id) {
			t.Errorf("%s rejected", id)
		}
	}
	for _, id := range []string{
		"110105194912310021",  // wrong check character
		"11010519491231002x",  // lower-case x is normalised by callers, not accepted raw
		"11010519493231002X",  // no 31st of a 32nd month… invalid date
		"1101051949123100",    // short
		"A1010519491231002X",  // letter
		"110105209912310020",  // born in the future
		"110105194912310021 ", // trailing space
	} {
		if ValidIDNumber(id) {
			t.Errorf("%q accepted", id)
		}
	}
	if got := MaskIDNumber("11010519491231002X"); got != "1101**********002X" {
		t.Errorf("mask = %s", got)
	}
}

func TestRegisterRenterAndPrivacy(t *testing.T) {
	ctx := context.Background()
	d := newDesk(t, nil)
	_, err := d.svc.RegisterRenter(ctx, d.staffA1, Renter{Name: "", Phone: "12345", IDNumber: "110105194912310021",
		Age: 200, HomeStationID: d.a1.ID, EmergencyContact: Contact{Name: "x", Phone: "1"}}, d.clerk)
	fields, _ := valid.Fields(err)
	for _, f := range []string{"name", "phone", "id_number", "age", "emergency_contact.phone"} {
		if _, ok := fields[f]; !ok {
			t.Errorf("no error for %s: %v", f, err)
		}
	}
	// Another operator's station, or a station of A the staff do not work at.
	for _, scope := range []tenancy.Scope{d.staffB1, d.staffA2} {
		_, err := d.svc.RegisterRenter(ctx, scope, Renter{Name: "王", Phone: "13900000001", IDNumber: validIDs[0], HomeStationID: d.a1.ID}, d.clerk)
		if !errors.Is(err, ErrNotFound) {
			t.Errorf("register at a station outside scope: %v", err)
		}
	}
	r, err := d.svc.RegisterRenter(ctx, d.staffA1, Renter{Name: " 王秀英 ", Phone: "139 0000 0001", IDNumber: "11010519491231002x",
		Address: "解放区民主路1号", Age: 81, HomeStationID: d.a1.ID}, d.clerk)
	if err != nil {
		t.Fatal(err)
	}
	if r.Name != "王秀英" || r.Phone != "13900000001" || r.HomeOperatorID != "op-a" || r.IDNumber != "" || r.Masked() != "1101**********002X" || r.View != ViewFull {
		t.Fatalf("registered %+v", r)
	}
	_, err = d.svc.RegisterRenter(ctx, d.staffA2, Renter{Name: "李", Phone: "13900000001", IDNumber: validIDs[1], HomeStationID: d.a2.ID}, d.clerk)
	if !errors.Is(err, ErrConflict) || !strings.Contains(err.Error(), "13900000001") {
		t.Fatalf("duplicate phone: %v", err)
	}

	// Encrypted at rest: no stored document holds the clear number.
	for _, coll := range []string{"renters", "renter_events"} {
		cur, err := d.db.Collection(coll).Find(ctx, bson.D{})
		if err != nil {
			t.Fatal(err)
		}
		var docs []bson.Raw
		if err := cur.All(ctx, &docs); err != nil {
			t.Fatal(err)
		}
		if len(docs) == 0 {
			t.Fatalf("%s is empty", coll)
		}
		for _, doc := range docs {
			if strings.Contains(doc.String(), "11010519491231002X") || strings.Contains(doc.String(), "194912310") {
				t.Fatalf("%s holds the clear ID number: %s", coll, doc)
			}
		}
	}

	// Reveal: only the home station's scope (and its operator, the
	// platform); every reveal logged with its reason.
	if _, err := d.svc.RevealIDNumber(ctx, d.staffA1, r.ID, "", d.clerk); !fieldErr(err, "reason") {
		t.Errorf("reveal without reason: %v", err)
	}
	for _, scope := range []tenancy.Scope{d.staffA2, d.staffB1, {}} {
		if _, err := d.svc.RevealIDNumber(ctx, scope, r.ID, "check identity", d.clerk); !errors.Is(err, ErrNotFound) {
			t.Errorf("reveal by %+v: %v", scope, err)
		}
	}
	for _, scope := range []tenancy.Scope{d.staffA1, d.adminA, tenancy.PlatformScope} {
		clear, err := d.svc.RevealIDNumber(ctx, scope, r.ID, "subsidy audit", d.clerk)
		if err != nil || clear != "11010519491231002X" {
			t.Fatalf("reveal by %+v = %q, %v", scope, clear, err)
		}
	}
	log, err := d.svc.AccessLog(ctx, d.staffA1, r.ID)
	if err != nil || len(log) != 3 || log[0].What != AccessIDNumber || log[0].Reason != "subsidy audit" || log[0].By.ID != d.clerk.ID || log[2].Seq != 3 {
		t.Fatalf("access log %+v %v", log, err)
	}

	// A ciphertext moved onto another renter does not open.
	if _, err := d.svc.seal.open("r-other", d.svc.seal.seal(r.ID, "x")); err == nil {
		t.Fatal("sealed value opened under another renter id")
	}

	// Tenancy: operator B does not see the renter until its desk finds them
	// by exact phone; then it gets the desk view.
	if _, err := d.svc.Renter(ctx, d.staffB1, r.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("B sees A's renter: %v", err)
	}
	if _, err := d.svc.RenterByPhone(ctx, d.staffB1, "13900000009", d.clerk); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown phone: %v", err)
	}
	if _, err := d.svc.RenterByPhone(ctx, d.staffB1, "139000", d.clerk); !fieldErr(err, "phone") {
		t.Fatalf("bad phone: %v", err)
	}
	walkIn, err := d.svc.RenterByPhone(ctx, d.staffB1, "13900000001", d.clerk)
	if err != nil {
		t.Fatal(err)
	}
	if walkIn.View != ViewDesk || walkIn.Address != "" || walkIn.IDMasked != "**************002X" || walkIn.Name != "王秀英" {
		t.Fatalf("desk view %+v", walkIn)
	}
	if got, err := d.svc.Renter(ctx, d.staffB1, r.ID); err != nil || got.View != ViewDesk {
		t.Fatalf("B after lookup: %+v %v", got, err)
	}
	if got, _ := d.svc.Renter(ctx, d.staffA2, r.ID); got.View != ViewDesk {
		t.Fatalf("A's other station sees %s view", got.View)
	}
	if _, err := d.svc.RevealIDNumber(ctx, d.staffB1, r.ID, "identity", d.clerk); !errors.Is(err, ErrNotFound) {
		t.Fatalf("B revealed the ID number: %v", err)
	}
	log, _ = d.svc.AccessLog(ctx, d.adminA, r.ID)
	if last := log[len(log)-1]; last.What != AccessDeskLink || last.OperatorID != "op-b" {
		t.Fatalf("desk link not logged: %+v", last)
	}
	if _, err := d.svc.AccessLog(ctx, d.staffB1, r.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("B reads the access log: %v", err)
	}
}

func fieldErr(err error, field string) bool {
	f, ok := valid.Fields(err)
	_, has := f[field]
	return ok && has
}
