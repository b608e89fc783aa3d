package stations

import "testing"

// TestIndexVersionsStampWhatChanged: a cache keyed on the index's versions is
// invalidated by exactly the changes a reader could see.
func TestIndexVersionsStampWhatChanged(t *testing.T) {
	ix := newIndex()
	ix.setStation(Station{ID: "a", OperatorID: "op", Active: true})
	ix.setStation(Station{ID: "b", OperatorID: "op2", Active: true})
	ix.setUnit(Unit{Tag: "U1", ProductID: "p1", StationID: "a", State: Available})
	ix.setUnit(Unit{Tag: "U2", ProductID: "p2", StationID: "b", State: Available})

	type vers struct{ all, listing, suspension, a, b, p1, p2 uint64 }
	read := func() vers {
		return vers{ix.Version(), ix.ListingVersion(), ix.SuspensionVersion(), ix.StationVersion("a"), ix.StationVersion("b"), ix.ProductVersion("p1"), ix.ProductVersion("p2")}
	}
	before := read()

	// A unit of p1 at a is lent: a's and p1's versions move, b's and p2's
	// and the listing's do not.
	ix.setUnit(Unit{Tag: "U1", ProductID: "p1", StationID: "a", State: Rented})
	after := read()
	if after.a == before.a || after.p1 == before.p1 || after.all == before.all {
		t.Errorf("lending U1 did not change a, p1 or the index: %+v → %+v", before, after)
	}
	if after.b != before.b || after.p2 != before.p2 || after.listing != before.listing {
		t.Errorf("lending U1 changed what it does not touch: %+v → %+v", before, after)
	}

	// Rented → returned → cleaning: nothing a reader counts changes.
	before = after
	ix.setUnit(Unit{Tag: "U1", ProductID: "p1", StationID: "a", State: Returned})
	ix.setUnit(Unit{Tag: "U1", ProductID: "p1", StationID: "a", State: Cleaning})
	if after = read(); after != before {
		t.Errorf("a move no count shows changed the versions: %+v → %+v", before, after)
	}

	// Re-applying the same station (the change feed after a local write)
	// changes nothing; editing it changes its listing.
	ix.setStation(Station{ID: "b", OperatorID: "op2", Active: true})
	if after = read(); after != before {
		t.Errorf("re-applying station b changed the versions: %+v → %+v", before, after)
	}
	ix.setStation(Station{ID: "b", OperatorID: "op2", Active: true, Phone: "0391-1"})
	after = read()
	if after.b == before.b || after.listing == before.listing || after.a != before.a || after.p1 != before.p1 || after.suspension != before.suspension {
		t.Errorf("editing b: %+v → %+v", before, after)
	}

	// Suspending op's operator moves a's version and the listing.
	before = after
	ix.setSuspended("op", true)
	after = read()
	if after.a == before.a || after.listing == before.listing || after.suspension == before.suspension || after.b != before.b {
		t.Errorf("suspending op: %+v → %+v", before, after)
	}

	// A rebuild may have changed anything.
	before = after
	fresh := newIndex()
	ix.replace(fresh)
	after = read()
	if after.a <= before.a || after.b <= before.b || after.p1 <= before.p1 || after.p2 <= before.p2 || after.listing <= before.listing {
		t.Errorf("rebuild left a version behind: %+v → %+v", before, after)
	}
}

// TestOperatorStationsIncludeSuspended: a desk's stations come from the
// index, so they must be the operator's active stations whether or not the
// operator is suspended (its desks still take devices back), and no one
// else's.
func TestOperatorStationsIncludeSuspended(t *testing.T) {
	ix := newIndex()
	ix.setStation(Station{ID: "b", OperatorID: "op", Active: true})
	ix.setStation(Station{ID: "a", OperatorID: "op", Active: true})
	ix.setStation(Station{ID: "c", OperatorID: "op", Active: false})
	ix.setStation(Station{ID: "d", OperatorID: "op2", Active: true})
	ids := func() []string {
		var out []string
		for _, st := range ix.OperatorStations("op") {
			out = append(out, st.ID)
		}
		return out
	}
	if got := ids(); len(got) != 2 || got[0] != "a" || got[1] != "b" {
		t.Fatalf("op's stations %v, want [a b]", got)
	}
	ix.mu.Lock()
	ix.suspended["op"] = true
	ix.mu.Unlock()
	if got := ids(); len(got) != 2 {
		t.Fatalf("suspended op's stations %v, want [a b]", got)
	}
	if len(ix.Stations()) != 1 {
		t.Fatalf("public stations while op is suspended: %v, want only d", ix.Stations())
	}
}
