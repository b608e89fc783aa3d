package stations

import (
	"context"
	"errors"
	"testing"

	"fuju/internal/tenancy"
)

func TestDeskCare(t *testing.T) {
	ctx := context.Background()
	f := setup(t)
	staff1 := tenancy.StaffScope("op-a", []string{f.st.ID})
	staff2 := tenancy.StaffScope("op-a", []string{f.st2.ID})
	other := tenancy.StaffScope("op-b", []string{"st-b"})
	by := tenancy.Actor{ID: "s1", Name: "Zhou", Role: "staff"}
	u, err := f.svc.CreateUnit(ctx, Unit{Tag: "JZ-WC-0100", ProductID: "wc", StationID: f.st.ID, State: Cleaning}, by)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.UnitInScope(ctx, other, u.Tag); !errors.Is(err, ErrNotFound) {
		t.Fatalf("another operator's staff sees the unit: %v", err)
	}
	if _, err := f.svc.UnitInScope(ctx, staff2, u.Tag); err != nil {
		t.Fatalf("same operator, other station: %v", err)
	}
	all := CleaningRecord{Method: "wipe_disinfect", Checklist: DefaultChecklist}
	if _, err := f.svc.Clean(ctx, staff2, u.Tag, all, by); !errors.Is(err, ErrForbidden) {
		t.Fatalf("staff of another station cleans: %v", err)
	}
	if _, err := f.svc.Clean(ctx, staff1, u.Tag, CleaningRecord{Method: "spit", Checklist: []string{"frame"}}, by); !fieldIn(err, "method") || !fieldIn(err, "checklist") {
		t.Fatalf("bad cleaning: %v", err)
	}
	if u, err = f.svc.Clean(ctx, staff1, u.Tag, all, by); err != nil || u.State != Available {
		t.Fatalf("clean: %v %+v", err, u)
	}
	if _, err := f.svc.Clean(ctx, staff1, u.Tag, all, by); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("clean an available unit: %v", err)
	}
	if u, err = f.svc.SendToRepair(ctx, staff1, u.Tag, "brake loose", by); err != nil || u.State != Repair || u.Condition != "brake loose" {
		t.Fatalf("repair: %v %+v", err, u)
	}
	if u, err = f.svc.Repaired(ctx, staff1, u.Tag, "new brake pads", 3500, by); err != nil || u.State != Cleaning || u.Condition != "" {
		t.Fatalf("repaired: %v %+v", err, u)
	}
	if _, err = f.svc.Clean(ctx, staff1, u.Tag, all, by); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Transfer(ctx, staff1, u.Tag, f.st.ID, "", by); !fieldIn(err, "to_station") {
		t.Fatalf("transfer to its own station: %v", err)
	}
	if u, err = f.svc.Transfer(ctx, staff1, u.Tag, f.st2.ID, "more demand north", by); err != nil || u.State != InTransit || u.ToStation != f.st2.ID {
		t.Fatalf("transfer: %v %+v", err, u)
	}
	if _, err := f.svc.Receive(ctx, staff1, u.Tag, f.st.ID, by); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("received at the wrong station: %v", err)
	}
	if u, err = f.svc.Receive(ctx, staff2, u.Tag, f.st2.ID, by); err != nil || u.State != Available || u.StationID != f.st2.ID || u.ToStation != "" {
		t.Fatalf("receive: %v %+v", err, u)
	}
	if _, err := f.svc.RetireUnit(ctx, staff2, u.Tag, "", by); !fieldIn(err, "reason") {
		t.Fatalf("retire without reason: %v", err)
	}
	if u, err = f.svc.RetireUnit(ctx, staff2, u.Tag, "frame cracked", by); err != nil || u.State != Retired {
		t.Fatalf("retire: %v", err)
	}
	hist, _ := f.svc.History(ctx, u.Tag)
	kinds := ""
	for _, h := range hist {
		kinds += h.Kind + " "
	}
	if kinds != "created cleaned repair repaired cleaned transfer received retired " {
		t.Errorf("history: %s", kinds)
	}
	if hist[3].Details["cost_fen"] != "3500" || hist[1].Details["method"] != "wipe_disinfect" || hist[2].Why != "brake loose" {
		t.Errorf("history details: %+v", hist)
	}
}
