package rentals

import (
	"context"
	"errors"
	"strings"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"

	"fuju/internal/tenancy"
	"fuju/stations"
)

func foundIDs(res RenterSearch) []string {
	out := make([]string, len(res.Items))
	for i, m := range res.Items {
		out[i] = m.ID
	}
	return out
}

// A desk finds its renters by mobile number (typed any way), by the last
// four characters of the ID number, by the whole ID number, by the name or
// its start; names come back masked; another operator's renters are found
// only by exact phone number, which links them (and logs it).
func TestSearchRenters(t *testing.T) {
	ctx := context.Background()
	d := newDesk(t, nil)
	reg := func(scope tenancy.Scope, home stations.Station, name, phone, id string) Renter {
		t.Helper()
		r, err := d.svc.RegisterRenter(ctx, scope, Renter{Name: name, Phone: phone, IDNumber: id, Age: 80, HomeStationID: home.ID}, d.clerk)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	zhang := reg(d.staffA1, d.a1, "张秀英", "13911110001", "11010519491231002X")
	zhang2 := reg(d.staffA2, d.a2, "张秀兰", "13911110002", "410802194507150018")
	li := reg(d.staffA1, d.a1, "Li Min", "13911110003", "110101195001010009")
	wang := reg(d.staffB1, d.b1, "王建国", "13911110004", "410802193805200015")

	for _, tt := range []struct {
		query string
		by    string
		want  []string
	}{
		{"１３９ １１１１ ０００１", SearchPhone, []string{zhang.ID}},
		{"+86 139-1111-0002", SearchPhone, []string{zhang2.ID}},
		{"002x", SearchIDTail, []string{zhang.ID}},
		{"0018", SearchIDTail, []string{zhang2.ID}},
		{"110105 19491231 002X", SearchIDTail, []string{zhang.ID}},
		{"110105194912310021", SearchIDTail, []string{}}, // same tail, another number
		{"张秀英", SearchName, []string{zhang.ID}},
		{"张 秀", SearchName, []string{zhang.ID, zhang2.ID}},
		{"li min", SearchName, []string{li.ID}},
		{"ＬＩ", SearchName, []string{li.ID}},
		{"王建国", SearchName, []string{}},    // operator B's renter, by name
		{"0015", SearchIDTail, []string{}}, // operator B's renter, by ID tail
		{"赵大爷", SearchName, []string{}},
	} {
		res, err := d.svc.SearchRenters(ctx, d.staffA1, tt.query, d.clerk)
		if err != nil {
			t.Errorf("%q: %v", tt.query, err)
			continue
		}
		got := foundIDs(res)
		if res.By != tt.by || strings.Join(got, ",") != strings.Join(tt.want, ",") && !sameSet(got, tt.want) {
			t.Errorf("%q: by %s found %v, want by %s %v", tt.query, res.By, got, tt.by, tt.want)
		}
	}
	res, _ := d.svc.SearchRenters(ctx, d.staffA1, "张秀", d.clerk)
	for _, m := range res.Items {
		if m.Name != "张**" || !strings.HasPrefix(m.PhoneMasked, "139****") || m.View == "" {
			t.Errorf("a name search shows %+v", m)
		}
	}
	if res, _ := d.svc.SearchRenters(ctx, d.staffA1, "13911110001", d.clerk); len(res.Items) != 1 || res.Items[0].Name != "张秀英" {
		t.Errorf("an exact phone match shows %+v", res.Items)
	}
	for query, field := range map[string]string{"": "query", "张": "query", "1391111": "query"} {
		if _, err := d.svc.SearchRenters(ctx, d.staffA1, query, d.clerk); !fieldErr(err, field) {
			t.Errorf("%q: %v, want a problem with %s", query, err, field)
		}
	}

	// Operator B's desk finds A's renter by exact phone only; then, linked,
	// by name too.
	if res, _ := d.svc.SearchRenters(ctx, d.staffB1, "张秀英", d.clerk); len(res.Items) != 0 {
		t.Fatalf("B found A's renter by name: %+v", res.Items)
	}
	res, err := d.svc.SearchRenters(ctx, d.staffB1, "13911110001", d.clerk)
	if err != nil || len(res.Items) != 1 || res.Items[0].View != ViewDesk {
		t.Fatalf("B by phone: %+v %v", res, err)
	}
	if res, _ := d.svc.SearchRenters(ctx, d.staffB1, "张秀", d.clerk); strings.Join(foundIDs(res), ",") != zhang.ID {
		t.Fatalf("B after the link, by name: %v", foundIDs(res))
	}
	log, _ := d.svc.AccessLog(ctx, d.adminA, zhang.ID)
	if len(log) != 1 || log[0].What != AccessDeskLink || log[0].OperatorID != "op-b" {
		t.Fatalf("the link is not in the access log: %+v", log)
	}

	// Nothing personal in clear in the search keys.
	cur, err := d.db.Collection("renter_keys").Find(ctx, bson.D{})
	if err != nil {
		t.Fatal(err)
	}
	var keys []bson.Raw
	if err := cur.All(ctx, &keys); err != nil {
		t.Fatal(err)
	}
	if len(keys) < 10 {
		t.Fatalf("only %d search keys", len(keys))
	}
	for _, k := range keys {
		if s := k.String(); strings.Contains(s, "张") || strings.Contains(s, "002X") || strings.Contains(s, "1391111") {
			t.Fatalf("a search key holds personal data: %s", s)
		}
	}
	_ = wang
}

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	seen := map[string]int{}
	for _, x := range a {
		seen[x]++
	}
	for _, x := range b {
		seen[x]--
	}
	for _, n := range seen {
		if n != 0 {
			return false
		}
	}
	return true
}

// Renters registered before search keys existed are found after the
// backfill, which runs once per database.
func TestIndexRentersBackfill(t *testing.T) {
	ctx := context.Background()
	d := newDesk(t, nil)
	r := d.renter(d.staffA1, d.a1, "孙桂兰")
	// As a database from before: no search keys at all.
	if _, err := d.db.Collection("renter_keys").DeleteMany(ctx, bson.D{}); err != nil {
		t.Fatal(err)
	}
	if res, _ := d.svc.SearchRenters(ctx, d.staffA1, "孙桂兰", d.clerk); len(res.Items) != 0 {
		t.Fatal("found without keys")
	}
	n, err := d.svc.IndexRenters(ctx)
	if err != nil || n != 1 {
		t.Fatalf("backfill: %d %v", n, err)
	}
	res, err := d.svc.SearchRenters(ctx, d.staffA1, "孙桂", d.clerk)
	if err != nil || strings.Join(foundIDs(res), ",") != r.ID {
		t.Fatalf("after the backfill: %+v %v", res, err)
	}
	if n, err := d.svc.IndexRenters(ctx); n != 0 || err != nil {
		t.Fatalf("second backfill: %d %v", n, err)
	}
	// Running it again anyway (another instance) adds nothing twice.
	if _, err := d.db.Collection("renter_keys").DeleteOne(ctx, bson.D{{Key: "_id", Value: "backfill|v1"}}); err != nil {
		t.Fatal(err)
	}
	before, _ := d.db.Collection("renter_keys").CountDocuments(ctx, bson.D{})
	if _, err := d.svc.IndexRenters(ctx); err != nil {
		t.Fatal(err)
	}
	if after, _ := d.db.Collection("renter_keys").CountDocuments(ctx, bson.D{}); after != before+1 {
		t.Fatalf("keys %d → %d: the backfill wrote some twice", before, after)
	}
}

// A registration that crashed after its projection gets its search keys
// from the reconciler.
func TestReconcilerIndexesRenter(t *testing.T) {
	ctx := context.Background()
	d := newDesk(t, nil)
	crash := errors.New("crash")
	d.svc.crash = func(p string) error {
		if p == "register:projected" {
			return crash
		}
		return nil
	}
	_, err := d.svc.RegisterRenter(ctx, d.staffA1, Renter{Name: "周淑珍", Phone: "13922220001", IDNumber: validIDs[2], HomeStationID: d.a1.ID}, d.clerk)
	if !errors.Is(err, crash) {
		t.Fatalf("register: %v", err)
	}
	d.svc.crash = nil
	if res, _ := d.svc.SearchRenters(ctx, d.staffA1, "周淑珍", d.clerk); len(res.Items) != 0 {
		t.Fatal("indexed before the reconciler ran")
	}
	if _, err := d.svc.Reconcile(ctx, 0); err != nil {
		t.Fatal(err)
	}
	if res, _ := d.svc.SearchRenters(ctx, d.staffA1, "周淑", d.clerk); len(res.Items) != 1 {
		t.Fatalf("after the reconciler: %+v", res.Items)
	}
}
