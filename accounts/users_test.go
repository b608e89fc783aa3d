package accounts

import (
	"context"
	"fmt"
	"testing"
	"time"

	"fuju/internal/eventlog"
)

// bulkUsers enters n active staff accounts of operator op named <prefix>0001…
// straight into the store, as CreateUser would (the user, its login, its
// index entries numbered after those already there), without hashing a
// password for each: the fixture of a list longer than the old 2,000 cap.
func bulkUsers(t *testing.T, s *Service, n int, op, prefix, phoneBase string) {
	t.Helper()
	ctx := context.Background()
	now := time.Now().UTC()
	var users, logins, entries []any
	next := map[string]int64{}
	for i := 1; i <= n; i++ {
		d := userDoc{ID: fmt.Sprintf("u-bulk-%s-%05d", op, i), Name: fmt.Sprintf("%s%04d", prefix, i),
			Phone: fmt.Sprintf("%s%04d", phoneBase, i), Role: Staff, OperatorID: op, StationIDs: []string{"north"},
			Status: Active, CreatedAt: now, UpdatedAt: now, PasswordHash: "x", PasswordChangedAt: now}
		users = append(users, d)
		logins = append(logins, loginDoc{ID: "phone:" + d.Phone, UserID: d.ID, At: now})
		for _, k := range indexKeys(d) {
			if _, ok := next[k]; !ok {
				c, err := s.store.indexCount(ctx, k, 0)
				if err != nil {
					t.Fatal(err)
				}
				next[k] = c
			}
			next[k]++
			entries = append(entries, indexDoc{ID: eventlog.ID(k, next[k]), UserID: d.ID, At: now})
		}
	}
	for i := 0; i < len(users); i += 500 {
		if _, err := s.store.users.InsertMany(ctx, users[i:min(i+500, len(users))]); err != nil {
			t.Fatal(err)
		}
		if _, err := s.store.logins.InsertMany(ctx, logins[i:min(i+500, len(logins))]); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < len(entries); i += 1000 {
		if _, err := s.store.index.InsertMany(ctx, entries[i:min(i+1000, len(entries))]); err != nil {
			t.Fatal(err)
		}
	}
}

// Lists of accounts do not stop at 2,000: with 2,150 accounts of one
// operator, a page far down the list, the totals, a mobile number and a name
// made after all of them are found, and another operator's people never
// appear in an operator's list.
func TestUserListsBeyond2000(t *testing.T) {
	ctx := context.Background()
	s := newService(t)
	bulkUsers(t, s, 2150, "op-a", "员工", "1380000")
	bulkUsers(t, s, 12, "op-b", "乙员工", "1390000")
	// Made through the real path, after everyone else.
	late, err := s.CreateUser(ctx, NewUser{Name: "Zhou Late", Phone: "13712345678", Password: goodPassword, Role: Staff,
		OperatorID: "op-a", StationIDs: []string{"north"}})
	if err != nil {
		t.Fatal(err)
	}
	renter, err := s.CreateUser(ctx, NewUser{Name: "员工家属", Email: "fam@example.com", Password: goodPassword, Role: Renter})
	if err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name          string
		f             UserFilter
		page, perPage int
		total         int
		first, last   string // ids of the page's first and last items
		items         int
	}{
		{"operator's last page", UserFilter{OperatorID: "op-a"}, 44, 50, 2151, late.ID, late.ID, 1},
		{"staff of everyone", UserFilter{Role: Staff}, 217, 10, 2163, "u-bulk-op-b-00011", late.ID, 3},
		{"everyone", UserFilter{}, 1, 10, 2164, "u-bulk-op-a-00001", "u-bulk-op-a-00010", 10},
		{"operator and role", UserFilter{OperatorID: "op-b", Role: Staff}, 2, 10, 12, "u-bulk-op-b-00011", "u-bulk-op-b-00012", 2},
		{"a mobile number beyond 2,000", UserFilter{Text: "138 0000 2100"}, 1, 50, 1, "u-bulk-op-a-02100", "u-bulk-op-a-02100", 1},
		{"a mobile number of another operator", UserFilter{Text: "13900000007", OperatorID: "op-a"}, 1, 50, 0, "", "", 0},
		{"a name made last", UserFilter{Text: "zhou"}, 1, 50, 1, late.ID, late.ID, 1},
		{"a name's beginning", UserFilter{Text: "员工214", Role: Staff}, 2, 6, 10, "u-bulk-op-a-02146", "u-bulk-op-a-02149", 4},
		{"an e-mail", UserFilter{Text: "FAM@example.com"}, 1, 50, 1, renter.ID, renter.ID, 1},
		{"renters", UserFilter{Role: Renter}, 1, 50, 1, renter.ID, renter.ID, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := s.ListUsers(ctx, tc.f, tc.page, tc.perPage)
			if err != nil {
				t.Fatal(err)
			}
			if p.Total != tc.total {
				t.Errorf("total %d, want %d", p.Total, tc.total)
			}
			if tc.items > 0 && len(p.Items) != tc.items {
				t.Errorf("%d items, want %d", len(p.Items), tc.items)
			}
			if tc.first != "" && (len(p.Items) == 0 || p.Items[0].ID != tc.first) {
				t.Errorf("first %v, want %s", userIDs(p.Items), tc.first)
			}
			if tc.last != "" && tc.items > 0 && p.Items[len(p.Items)-1].ID != tc.last {
				t.Errorf("last %s, want %s", p.Items[len(p.Items)-1].ID, tc.last)
			}
			for _, u := range p.Items {
				if tc.f.OperatorID != "" && u.OperatorID != tc.f.OperatorID {
					t.Errorf("%s of %s in %s's list", u.ID, u.OperatorID, tc.f.OperatorID)
				}
			}
		})
	}
	// A renamed account is found by its new name, and no longer by the old.
	name := "Qian Renamed"
	if _, err := s.UpdateUser(ctx, "op-a", late.ID, UserUpdate{Name: &name}); err != nil {
		t.Fatal(err)
	}
	for q, want := range map[string]int{"qian": 1, "zhou": 0} {
		if p, err := s.ListUsers(ctx, UserFilter{Text: q}, 1, 50); err != nil || p.Total != want {
			t.Errorf("after the rename, %q finds %d (%v), want %d", q, p.Total, err, want)
		}
	}
}

func userIDs(us []User) []string {
	out := make([]string, len(us))
	for i, u := range us {
		out[i] = u.ID
	}
	return out
}

// Two accounts entered under the same key at once take different numbers,
// and the count finds the end of a list whatever its length.
func TestIndexNumbersHaveNoGaps(t *testing.T) {
	ctx := context.Background()
	s := newService(t)
	const n = 20
	errs := make(chan error, n)
	for i := range n {
		go func() { errs <- s.store.enter(ctx, "test:race", fmt.Sprintf("u-%02d", i), time.Now()) }()
	}
	for range n {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if c, err := s.store.indexCount(ctx, "test:race", 0); err != nil || c != n {
		t.Fatalf("count %d (%v), want %d", c, err, n)
	}
	got, err := s.store.indexAll(ctx, "test:race")
	if err != nil || len(got) != n {
		t.Fatalf("entries %v (%v)", got, err)
	}
	for _, k := range []int64{1, 2, 3, 7, 8, 9} {
		if c, err := s.store.indexCount(ctx, "test:race", min(k, n)); err != nil || c != n {
			t.Errorf("count from %d: %d %v", k, c, err)
		}
	}
}
