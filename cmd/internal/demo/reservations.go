package demo

import (
	"context"
	"fmt"
	"time"

	"fuju/accounts"
	"fuju/cmd/internal/app"
	"fuju/internal/l10n"
	"fuju/internal/tenancy"
	"fuju/rentals"
	"fuju/stations"
)

// WaitlistAccounts are the two families waiting for a folding electric
// wheelchair at Minzhu Road in the demo city (password DemoPassword).
var WaitlistAccounts = []accounts.NewUser{
	{Name: "陈静（家属）", Phone: "13800000006", Role: accounts.Renter},
	{Name: "杨帆（家属）", Phone: "13800000007", Role: accounts.Renter},
}

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
	today := time.Now().In(l10n.Local)
	for i, acct := range WaitlistAccounts {
		// The tier families (tiers.go) are these accounts: reuse them.
		uid, err := a.Auth.UserIDByPhone(ctx, acct.Phone)
		if err != nil {
			acct.Password = DemoPassword
			u, err := a.Auth.CreateUser(ctx, acct)
			if err != nil {
				return fmt.Errorf("demo account %s: %w", acct.Phone, err)
			}
			uid = u.ID
		}
		born := time.Date(today.Year()-80-i, time.Month(5+i), 12+i, 0, 0, 0, 0, l10n.Local)
		r, err := a.Rentals.RegisterRenter(ctx, admin, rentals.Renter{Name: []string{"陈淑珍", "杨德胜"}[i], Phone: fmt.Sprintf("139000008%02d", i),
			IDNumber: idNumber(born, 601+i), Age: 80 + i, Address: "焦作市解放区焦东路", MobilityNeeds: "下肢无力",
			HomeStationID: "jf-minzhu", HomeOperatorID: "op-kangning"}, by)
		if err != nil {
			return fmt.Errorf("demo waitlist renter: %w", err)
		}
		if _, err := a.Rentals.LinkUser(ctx, r.ID, uid, by); err != nil {
			return err
		}
		if _, err := a.Reservations.JoinWaitlist(ctx, uid, rentals.JoinRequest{RenterID: r.ID, ProductID: "wc-electric-fold", StationID: "jf-minzhu"}); err != nil {
			return fmt.Errorf("demo waitlist: %w", err)
		}
	}
	return nil
}
