package demo

import (
	"context"
	"fmt"
	"time"

	"fuju/accounts"
	"fuju/cmd/internal/app"
	"fuju/internal/l10n"
	"fuju/internal/tenancy"
	"fuju/media"
	"fuju/rentals"
)

// TierFamilies are the demo families who applied online for their elders'
// tiers: 13800000006's mother waits for review, and 13800000007's father
// waits while her mother's first application was rejected (a blurred photo),
// so Kangning's review queue has two applications on first start.
var TierFamilies = []accounts.NewUser{
	{Name: "陈静（家属）", Phone: "13800000006", Role: accounts.Renter},
	{Name: "褚丽（家属）", Phone: "13800000007", Role: accounts.Renter},
}

// seedApplications makes TierFamilies, their elders' renter profiles and
// their tier applications, each with the demo certificate photo.
func seedApplications(ctx context.Context, a *app.App) error {
	img, err := media.DemoImage("transfer_aid", 998, "Income certificate")
	if err != nil {
		return err
	}
	today := time.Now().In(l10n.Local)
	elders := []struct {
		family   int
		name     string
		relation rentals.Relation
		born     time.Time
		tier     rentals.Tier
		proof    string
		reject   bool
	}{
		{0, "陈玉梅", rentals.RelationMother, time.Date(1944, 5, 12, 0, 0, 0, 0, l10n.Local), rentals.Subsistence, rentals.ProofDibaoCard, false},
		{1, "褚国华", rentals.RelationFather, time.Date(1942, 8, 3, 0, 0, 0, 0, l10n.Local), rentals.LowIncome, rentals.ProofLowIncomeCertificate, false},
		{1, "蒋兰芝", rentals.RelationMother, time.Date(1946, 2, 21, 0, 0, 0, 0, l10n.Local), rentals.LowIncome, rentals.ProofLowIncomeCertificate, true},
	}
	users := make([]accounts.User, len(TierFamilies))
	for i, n := range TierFamilies {
		n.Password = DemoPassword
		if users[i], err = a.Auth.CreateUser(ctx, n); err != nil {
			return fmt.Errorf("demo account %s: %w", n.Phone, err)
		}
	}
	reviewer := tenancy.Actor{ID: "seed", Name: "Demo data", Role: "system"}
	for i, e := range elders {
		u := users[e.family]
		by := u.Actor()
		r, err := a.Rentals.CreateFamilyRenter(ctx, u.ID, u.Phone, rentals.FamilyRenter{Name: e.name, Phone: fmt.Sprintf("139000007%02d", i),
			IDNumber: idNumber(e.born, 601+i), MobilityNeeds: "行走不便，需要助行器", HomeStationID: "jf-minzhu", Relation: e.relation}, by)
		if err != nil {
			return fmt.Errorf("demo elder %s: %w", e.name, err)
		}
		app, err := a.Rentals.SubmitTierApplication(ctx, u.ID, rentals.NewTierApplication{RenterID: r.ID, Tier: e.tier, ProofType: e.proof,
			ProofNumber: fmt.Sprintf("JZ%d-%04d", today.Year(), 700+i), ExpiresOn: today.AddDate(1, 0, 0).Format(time.DateOnly)}, [][]byte{img}, by)
		if err != nil {
			return fmt.Errorf("demo application %s: %w", e.name, err)
		}
		if e.reject {
			if _, err := a.Rentals.RejectTierApplication(ctx, tenancy.OperatorScope("op-kangning"), app.ID, "unreadable", "照片模糊，请重新拍摄", reviewer); err != nil {
				return fmt.Errorf("demo rejection %s: %w", e.name, err)
			}
		}
	}
	return nil
}
