package demo

import (
	"context"
	"fmt"

	"fuju/cmd/internal/app"
	"fuju/internal/tenancy"
	"fuju/rentals"
	"fuju/stations"
)

// seedReservations gives the reservation pages something to show: delivery
// at Minzhu Road (Jiefang and Shanyang, ¥15, mornings and afternoons) and
// Renmin Road (Shanyang and the Demonstration Zone, ¥20, mornings); 王芳's
// father holding a walking frame for the next pickup slot at Minzhu Road
// (today when the station is still open) and her mother a wheelchair
// delivered on the next delivery day after that; and two families waiting
// for a folding electric wheelchair at Minzhu Road, whose units there are
// all being cleaned (clean one at the desk and the first family gets the
// offer).
func seedReservations(ctx context.Context, a *app.App) error {
	admin := tenancy.OperatorScope("op-kangning")
	by := tenancy.Actor{ID: "seed", Name: "Demo data", Role: "system"}
	if _, err := a.Stations.SetSlotSettings(ctx, admin, "jf-minzhu", stations.SlotSettings{Capacity: 3, GraceMinutes: 120}, by); err != nil {
		return fmt.Errorf("demo slots: %w", err)
	}
	for _, d := range []struct {
		station string
		set     stations.DeliverySettings
	}{
		{"jf-minzhu", stations.DeliverySettings{Enabled: true, Districts: []string{"jiefang", "shanyang"}, FeeFen: fen(15), Windows: []stations.Window{stations.Morning, stations.Afternoon}}},
		{"sy-renmin", stations.DeliverySettings{Enabled: true, Districts: []string{"shanyang", "shifan"}, FeeFen: fen(20), Windows: []stations.Window{stations.Morning}}},
	} {
		if _, err := a.Stations.SetDeliverySettings(ctx, admin, d.station, d.set, by); err != nil {
			return fmt.Errorf("demo delivery %s: %w", d.station, err)
		}
	}
	uid, err := a.Auth.UserIDByPhone(ctx, "13800000005")
	if err != nil {
		return fmt.Errorf("demo reservations: %w", err)
	}
	family, err := a.Rentals.LinkedRenters(ctx, uid)
	if err != nil {
		return err
	}
	if len(family) >= 2 {
		slots, err := a.Reservations.Slots(ctx, "jf-minzhu")
		if err != nil {
			return err
		}
		var pickupDay string
		if len(slots) > 0 {
			x, err := a.Reservations.Reserve(ctx, uid, rentals.ReserveRequest{RenterID: family[0].ID, ProductID: "walker-frame",
				StationID: "jf-minzhu", Mode: rentals.Pickup, Slot: slots[0].Start, Days: 30})
			if err != nil {
				return fmt.Errorf("demo pickup: %w", err)
			}
			pickupDay = rentals.Date(x.Start)
		}
		opts, err := a.Reservations.DeliveryOptions(ctx, "jf-minzhu")
		if err != nil {
			return err
		}
		for _, o := range opts.Options {
			if o.Day == pickupDay {
				continue
			}
			if _, err := a.Reservations.Reserve(ctx, uid, rentals.ReserveRequest{RenterID: family[1].ID, ProductID: "wc-steel-standard",
				StationID: "jf-minzhu", Mode: rentals.Delivery, Day: o.Day, Window: o.Window, Days: 14,
				Ship: &rentals.DeliveryAddress{District: "jiefang", Address: "焦作市解放区民主南路 66 号 3 单元 201", Phone: "13800000005"}}); err != nil {
				return fmt.Errorf("demo delivery: %w", err)
			}
			break
		}
	}
	// The units of the folding electric wheelchair at Minzhu Road go to
	// cleaning, then two families join its waitlist there.
	units, err := a.Stations.UnitsAt(ctx, "jf-minzhu")
	if err != nil {
		return err
	}
	for _, u := range units {
		if u.ProductID == "wc-electric-fold" && u.StationID == "jf-minzhu" && u.State == stations.Available {
			if _, err := a.Stations.Move(ctx, u.Tag, stations.Move{To: stations.Cleaning, Kind: "returned-dirty", By: by, Why: "demo: being cleaned"}); err != nil {
				return err
			}
		}
	}
	// The two families who applied online for a tier (TierFamilies) wait
	// for it for their first elder.
	for _, acct := range TierFamilies {
		uid, err := a.Auth.UserIDByPhone(ctx, acct.Phone)
		if err != nil {
			return fmt.Errorf("demo waitlist %s: %w", acct.Phone, err)
		}
		elders, err := a.Rentals.LinkedRenters(ctx, uid)
		if err != nil {
			return err
		}
		if len(elders) == 0 {
			return fmt.Errorf("demo waitlist %s: no elder linked", acct.Phone)
		}
		if _, err := a.Reservations.JoinWaitlist(ctx, uid, rentals.JoinRequest{RenterID: elders[0].ID, ProductID: "wc-electric-fold", StationID: "jf-minzhu"}); err != nil {
			return fmt.Errorf("demo waitlist: %w", err)
		}
	}
	return nil
}
