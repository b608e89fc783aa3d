package rentals

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"io"
	"strings"
	"sync"
	"testing"

	"fuju/internal/tenancy"
	"fuju/internal/testenv"
	"fuju/internal/valid"
	"fuju/media"
)

// applyDesk is the desk's city with proof photos in a real MinIO and the
// tier messages collected.
type applyDesk struct {
	*desk
	m       *media.Service
	mu      sync.Mutex
	notices []TierNotice
}

func newApplyDesk(t *testing.T) *applyDesk {
	t.Helper()
	srv := testenv.MinIO(t)
	m, err := media.Open(context.Background(), media.Config{SigningKey: bytes.Repeat([]byte("k"), 32), S3: media.S3Config{
		Endpoint: srv.Endpoint, AccessKey: srv.AccessKey, SecretKey: srv.SecretKey,
		PublicBucket: srv.BucketName(t, "pub"), PrivateBucket: srv.BucketName(t, "priv")}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	a := &applyDesk{desk: newDesk(t, nil), m: m}
	a.svc.UseProofStore(m)
	a.svc.UseTierNotifier(func(_ context.Context, n TierNotice) error {
		a.mu.Lock()
		defer a.mu.Unlock()
		for _, old := range a.notices {
			if old.Event == n.Event {
				return nil // the outbox writes a message once per event
			}
		}
		a.notices = append(a.notices, n)
		return nil
	})
	return a
}

func (a *applyDesk) sent(kind string) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	n := 0
	for _, x := range a.notices {
		if x.Kind == kind {
			n++
		}
	}
	return n
}

// proofPhoto is a small JPEG carrying an EXIF segment with a marker.
func proofPhoto(t *testing.T) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 64, 48))
	for x := range 64 {
		for y := range 48 {
			img.Set(x, y, color.RGBA{uint8(x * 4), uint8(y * 5), 90, 255})
		}
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, nil); err != nil {
		t.Fatal(err)
	}
	payload := append([]byte("Exif\x00\x00"), []byte("GPS-SECRET-35.2N")...)
	seg := append([]byte{0xFF, 0xE1, byte((len(payload) + 2) >> 8), byte(len(payload) + 2)}, payload...)
	raw := b.Bytes()
	return append(append(append([]byte{}, raw[:2]...), seg...), raw[2:]...)
}

const familyUser = "u-family"

var familyActor = tenancy.Actor{ID: familyUser, Role: "renter"}

func (a *applyDesk) profile(t *testing.T, n int) LinkedRenter {
	t.Helper()
	phoneN++
	l, err := a.svc.CreateFamilyRenter(context.Background(), familyUser, "13700009999", FamilyRenter{Name: "王秀英",
		Phone: fmt.Sprintf("136%08d", phoneN), IDNumber: testIDNumber(5000 + n),
		HomeStationID: a.a1.ID, Relation: RelationMother}, familyActor)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func goodApplication(renterID string) NewTierApplication {
	return NewTierApplication{RenterID: renterID, Tier: LowIncome, ProofType: ProofLowIncomeCertificate,
		ProofNumber: "DSR-2026-118", ExpiresOn: "2026-12-31"}
}

func TestFamilyRenterOnePersonOneRecord(t *testing.T) {
	ctx := context.Background()
	a := newApplyDesk(t)
	l := a.profile(t, 1)
	if l.Relation != RelationMother || l.HomeStationID != a.a1.ID {
		t.Fatalf("profile %+v", l)
	}
	// The same person again — from another account — links nothing new.
	_, err := a.svc.CreateFamilyRenter(ctx, "u-other", "13700008888", FamilyRenter{Name: "王秀英", Phone: "13900077777",
		IDNumber: testIDNumber(5001), HomeStationID: a.a1.ID}, tenancy.Actor{ID: "u-other", Role: "renter"})
	f, _ := valid.Fields(err)
	if !errors.Is(err, ErrConflict) || f["id_number"].Code != "id_registered_family" || !strings.Contains(f["id_number"].Message, a.a1.ID) {
		t.Fatalf("same ID number from another account: %v", err)
	}
	// A desk-registered renter's number the same way.
	r := a.renter(a.staffA1, a.a1, "李大爷")
	_, err = a.svc.CreateFamilyRenter(ctx, familyUser, "", FamilyRenter{Name: "李大爷", Phone: "13900066666",
		IDNumber: testIDNumber(phoneN), HomeStationID: a.a1.ID}, familyActor)
	if f, _ := valid.Fields(err); f["id_number"].Code != "id_registered_family" {
		t.Fatalf("desk renter's ID number: %v", err)
	}
	if linked, _ := a.svc.LinkedRenters(ctx, familyUser); len(linked) != 1 || linked[0].ID == r.ID {
		t.Fatalf("linked %+v", linked)
	}
}

func TestApplicationBadInput(t *testing.T) {
	ctx := context.Background()
	a := newApplyDesk(t)
	l := a.profile(t, 2)
	photo := proofPhoto(t)
	fifty := make([][]byte, 50)
	for i := range fifty {
		fifty[i] = photo
	}
	huge := bytes.Repeat([]byte{0xFF}, 30<<20)
	past := goodApplication(l.ID)
	past.ExpiresOn = "2026-01-31"
	noNumber := goodApplication(l.ID)
	noNumber.ProofNumber = "  "
	badType := goodApplication(l.ID)
	badType.ProofType = "passport"
	for _, tt := range []struct {
		name   string
		in     NewTierApplication
		photos [][]byte
		field  string
	}{
		{"50 photos", goodApplication(l.ID), fifty, "photos"},
		{"a 30 MB photo", goodApplication(l.ID), [][]byte{huge}, "photos"},
		{"no photo", goodApplication(l.ID), nil, "photos"},
		{"no proof number", noNumber, [][]byte{photo}, "proof_number"},
		{"expiry in the past", past, [][]byte{photo}, "expires_on"},
		{"unknown proof type", badType, [][]byte{photo}, "proof_type"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := a.svc.SubmitTierApplication(ctx, familyUser, tt.in, tt.photos, familyActor)
			if f, _ := valid.Fields(err); f[tt.field].Code == "" {
				t.Fatalf("want a problem with %s, got %v", tt.field, err)
			}
		})
	}
	// A corrupt photo is refused by the pipeline and leaves no claim.
	if _, err := a.svc.SubmitTierApplication(ctx, familyUser, goodApplication(l.ID), [][]byte{[]byte("not a photo")}, familyActor); err == nil {
		t.Fatal("a corrupt photo was accepted")
	}
	// Another account's renter is not this account's to apply for.
	if _, err := a.svc.SubmitTierApplication(ctx, "u-stranger", goodApplication(l.ID), [][]byte{photo}, familyActor); err == nil {
		t.Fatal("applied for someone else's renter")
	}
	if apps, _ := a.svc.TierApplications(ctx, familyUser); len(apps) != 0 {
		t.Fatalf("refused applications were written: %+v", apps)
	}
	if q, _ := a.svc.ReviewQueue(ctx, a.adminA); len(q) != 0 {
		t.Fatalf("queue after refusals: %+v", q)
	}
	// And then a good one goes through.
	if _, err := a.svc.SubmitTierApplication(ctx, familyUser, goodApplication(l.ID), [][]byte{photo}, familyActor); err != nil {
		t.Fatal(err)
	}
}

func TestApproveWritesTheTierAndTheQuoteChanges(t *testing.T) {
	ctx := context.Background()
	a := newApplyDesk(t)
	l := a.profile(t, 3)
	before, err := a.svc.QuoteFor(ctx, a.staffA1, QuoteRequest{RenterID: l.ID, ProductID: a.wcA, Days: 30, Day: a.clk.now()})
	if err != nil {
		t.Fatal(err)
	}
	app, err := a.svc.SubmitTierApplication(ctx, familyUser, goodApplication(l.ID), [][]byte{proofPhoto(t), proofPhoto(t)}, familyActor)
	if err != nil {
		t.Fatal(err)
	}
	if app.State != AppSubmitted || app.PhotoCount != 2 || app.RenterName != "王**" {
		t.Fatalf("submitted %+v", app)
	}
	// The stored photo has no EXIF left.
	obj, err := a.m.Store().Get(ctx, media.Private, app.PhotoKeys[0])
	if err != nil {
		t.Fatal(err)
	}
	stored, _ := io.ReadAll(obj)
	obj.Close()
	if bytes.Contains(stored, []byte("GPS-SECRET")) || bytes.Contains(stored, []byte("Exif")) {
		t.Fatal("the proof photo kept its EXIF data")
	}
	// A second application for the same renter waits for the first.
	if _, err := a.svc.SubmitTierApplication(ctx, familyUser, goodApplication(l.ID), [][]byte{proofPhoto(t)}, familyActor); !errors.Is(err, ErrConflict) {
		t.Fatalf("second open application: %v", err)
	}
	q, err := a.svc.ReviewQueue(ctx, a.adminA)
	if err != nil || len(q) != 1 || q[0].ID != app.ID {
		t.Fatalf("queue %v %+v", err, q)
	}
	boss := tenancy.Actor{ID: "u-boss", Role: "operator_admin"}
	if _, err := a.svc.ApproveTierApplication(ctx, a.adminA, app.ID, "2026-01-01", boss); err == nil {
		t.Fatal("approved with an expiry in the past")
	}
	done, err := a.svc.ApproveTierApplication(ctx, a.adminA, app.ID, "2027-02-28", boss)
	if err != nil || done.State != AppApproved || done.TierExpiresOn != "2027-02-28" {
		t.Fatalf("approve: %v %+v", err, done)
	}
	r, err := a.svc.Renter(ctx, a.adminA, l.ID)
	if err != nil || r.TierStatus.Tier != LowIncome || r.TierStatus.ExpiresOn != "2027-02-28" {
		t.Fatalf("renter after approve: %v %+v", err, r.TierStatus)
	}
	if key, err := a.svc.ProofPhotoKey(ctx, a.adminA, l.ID, "check the proof", boss); err != nil || key != app.PhotoKeys[0] {
		t.Fatalf("the tier's proof photo %q: %v", key, err)
	}
	after, err := a.svc.QuoteFor(ctx, a.staffA1, QuoteRequest{RenterID: l.ID, ProductID: a.wcA, Days: 30, Day: a.clk.now()})
	if err != nil || after.Tier != LowIncome || after.RenterFen >= before.RenterFen {
		t.Fatalf("quote before %+v after %+v (%v)", before, after, err)
	}
	if a.sent("tier_approved") != 1 {
		t.Fatalf("notices %+v", a.notices)
	}
	// Approving again changes nothing; rejecting now is a conflict.
	if _, err := a.svc.ApproveTierApplication(ctx, a.adminA, app.ID, "2027-02-28", boss); err != nil {
		t.Fatal(err)
	}
	if _, err := a.svc.RejectTierApplication(ctx, a.adminA, app.ID, "unreadable", "", boss); !errors.Is(err, ErrConflict) {
		t.Fatalf("reject after approve: %v", err)
	}
	hist, _ := a.svc.TierHistory(ctx, a.adminA, l.ID)
	if len(hist) != 1 {
		t.Fatalf("tier recorded %d times", len(hist))
	}
	if q, _ := a.svc.ReviewQueue(ctx, a.adminA); len(q) != 0 {
		t.Fatalf("queue after approve: %+v", q)
	}
}

func TestRejectThenApplyAgain(t *testing.T) {
	ctx := context.Background()
	a := newApplyDesk(t)
	l := a.profile(t, 4)
	app, err := a.svc.SubmitTierApplication(ctx, familyUser, goodApplication(l.ID), [][]byte{proofPhoto(t)}, familyActor)
	if err != nil {
		t.Fatal(err)
	}
	boss := tenancy.Actor{ID: "u-boss", Role: "operator_admin"}
	if _, err := a.svc.RejectTierApplication(ctx, a.adminA, app.ID, "other", "", boss); err == nil {
		t.Fatal("rejected as other without a note")
	}
	if _, err := a.svc.RejectTierApplication(ctx, a.adminA, app.ID, "other", "请打电话13912345678", boss); err == nil {
		t.Fatal("a phone number in the note")
	}
	rej, err := a.svc.RejectTierApplication(ctx, a.adminA, app.ID, "unreadable", "照片太模糊", boss)
	if err != nil || rej.State != AppRejected {
		t.Fatalf("reject: %v %+v", err, rej)
	}
	mine, _ := a.svc.TierApplications(ctx, familyUser)
	if len(mine) != 1 || mine[0].Reason != "unreadable" || mine[0].Note != "照片太模糊" {
		t.Fatalf("family sees %+v", mine)
	}
	if a.sent("tier_rejected") != 1 {
		t.Fatal("no rejection message")
	}
	again, err := a.svc.SubmitTierApplication(ctx, familyUser, goodApplication(l.ID), [][]byte{proofPhoto(t)}, familyActor)
	if err != nil {
		t.Fatalf("apply again: %v", err)
	}
	if _, err := a.svc.WithdrawTierApplication(ctx, "u-stranger", again.ID, familyActor); !errors.Is(err, ErrNotFound) {
		t.Fatalf("withdraw by a stranger: %v", err)
	}
	if w, err := a.svc.WithdrawTierApplication(ctx, familyUser, again.ID, familyActor); err != nil || w.State != AppWithdrawn {
		t.Fatalf("withdraw: %v", err)
	}
	if r, _ := a.svc.Renter(ctx, a.adminA, l.ID); r.TierStatus.Tier != "" {
		t.Fatalf("tier without approval: %+v", r.TierStatus)
	}
}

func TestOperatorBNeverSeesAsApplications(t *testing.T) {
	ctx := context.Background()
	a := newApplyDesk(t)
	l := a.profile(t, 5)
	app, err := a.svc.SubmitTierApplication(ctx, familyUser, goodApplication(l.ID), [][]byte{proofPhoto(t)}, familyActor)
	if err != nil {
		t.Fatal(err)
	}
	adminB := tenancy.OperatorScope("op-b")
	if q, _ := a.svc.ReviewQueue(ctx, adminB); len(q) != 0 {
		t.Fatalf("operator B's queue: %+v", q)
	}
	if n, _ := a.svc.ReviewCount(ctx, a.adminA); n != 1 {
		t.Fatalf("operator A's count %d", n)
	}
	bossB := tenancy.Actor{ID: "u-b", Role: "operator_admin"}
	if _, err := a.svc.TierApplication(ctx, adminB, "", app.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("B reads A's application: %v", err)
	}
	if _, err := a.svc.ApproveTierApplication(ctx, adminB, app.ID, "2027-01-31", bossB); !errors.Is(err, ErrNotFound) {
		t.Fatalf("B approves A's application: %v", err)
	}
	if _, err := a.svc.RejectTierApplication(ctx, adminB, app.ID, "unreadable", "", bossB); !errors.Is(err, ErrNotFound) {
		t.Fatalf("B rejects A's application: %v", err)
	}
	if _, err := a.svc.ApplicationPhotoKey(ctx, adminB, app.ID, 0, bossB); !errors.Is(err, ErrNotFound) {
		t.Fatalf("B reads A's proof photo: %v", err)
	}
	// A's admin gets the key, and the access is logged on the renter.
	if _, err := a.svc.ApplicationPhotoKey(ctx, a.adminA, app.ID, 0, tenancy.Actor{ID: "u-boss", Role: "operator_admin"}); err != nil {
		t.Fatal(err)
	}
	log, err := a.svc.AccessLog(ctx, a.adminA, l.ID)
	if err != nil || len(log) != 1 || log[0].What != "application_photo" {
		t.Fatalf("access log %v %+v", err, log)
	}
}

// A crash between any two writes of an approval: the reconciler finishes
// it, the tier is recorded once and one message goes out.
func TestApproveCrashConverges(t *testing.T) {
	for _, point := range []string{"approve:decided", "approve:tier", "approve:notified"} {
		t.Run(point, func(t *testing.T) {
			ctx := context.Background()
			a := newApplyDesk(t)
			l := a.profile(t, 6)
			app, err := a.svc.SubmitTierApplication(ctx, familyUser, goodApplication(l.ID), [][]byte{proofPhoto(t)}, familyActor)
			if err != nil {
				t.Fatal(err)
			}
			crash := errors.New("crash")
			a.svc.crash = func(p string) error {
				if p == point {
					return crash
				}
				return nil
			}
			boss := tenancy.Actor{ID: "u-boss", Role: "operator_admin"}
			if _, err := a.svc.ApproveTierApplication(ctx, a.adminA, app.ID, "2027-02-28", boss); !errors.Is(err, crash) {
				t.Fatalf("approve: %v", err)
			}
			a.svc.crash = nil
			for range 2 { // twice: the second pass finds nothing to do
				if _, err := a.svc.ReconcileTierApplications(ctx, 0); err != nil {
					t.Fatal(err)
				}
			}
			got, err := a.svc.TierApplication(ctx, tenancy.Scope{}, familyUser, app.ID)
			if err != nil || got.State != AppApproved {
				t.Fatalf("after reconcile: %v %+v", err, got)
			}
			hist, _ := a.svc.TierHistory(ctx, a.adminA, l.ID)
			if len(hist) != 1 || hist[0].Tier != LowIncome {
				t.Fatalf("tier history %+v", hist)
			}
			if n := a.sent("tier_approved"); n != 1 {
				t.Fatalf("%d approval messages", n)
			}
			if q, _ := a.svc.ReviewQueue(ctx, a.adminA); len(q) != 0 {
				t.Fatalf("still queued: %+v", q)
			}
			// The family may apply again later (the open claim is gone).
			if _, err := a.svc.SubmitTierApplication(ctx, familyUser, goodApplication(l.ID), [][]byte{proofPhoto(t)}, familyActor); err != nil {
				t.Fatalf("apply after reconcile: %v", err)
			}
		})
	}
}

// Two reviewers deciding at once: exactly one decision stands.
func TestConcurrentDecisionsHaveOneWinner(t *testing.T) {
	ctx := context.Background()
	a := newApplyDesk(t)
	l := a.profile(t, 7)
	app, err := a.svc.SubmitTierApplication(ctx, familyUser, goodApplication(l.ID), [][]byte{proofPhoto(t)}, familyActor)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			by := tenancy.Actor{ID: "u-boss", Role: "operator_admin"}
			if i%2 == 0 {
				_, errs[i] = a.svc.ApproveTierApplication(ctx, a.adminA, app.ID, "2027-02-28", by)
			} else {
				_, errs[i] = a.svc.RejectTierApplication(ctx, a.adminA, app.ID, "unreadable", "", by)
			}
		}()
	}
	wg.Wait()
	got, _ := a.svc.TierApplication(ctx, tenancy.Scope{}, familyUser, app.ID)
	for i, err := range errs {
		won := i%2 == 0 && got.State == AppApproved || i%2 == 1 && got.State == AppRejected
		if won && err != nil || !won && !errors.Is(err, ErrConflict) {
			t.Errorf("decision %d (%s won): %v", i, got.State, err)
		}
	}
	if hist, _ := a.svc.TierHistory(ctx, a.adminA, l.ID); got.State == AppApproved && len(hist) != 1 {
		t.Errorf("tier recorded %d times", len(hist))
	}
	if a.sent("tier_approved")+a.sent("tier_rejected") != 1 {
		t.Fatalf("messages %+v", a.notices)
	}
}

func TestTierExpiringReminder(t *testing.T) {
	ctx := context.Background()
	a := newApplyDesk(t)
	soon := a.renter(a.staffA1, a.a1, "赵奶奶")
	later := a.renter(a.staffA1, a.a1, "钱爷爷")
	for _, x := range []struct {
		r   Renter
		exp string
	}{{soon, "2026-03-20"}, {later, "2026-09-30"}} {
		if _, err := a.svc.VerifyTier(ctx, a.adminA, x.r.ID, TierProof{Tier: Subsistence, ProofType: ProofDibaoCard, ProofNumber: "DB-1",
			ProofPhotoKey: "proofs/x.jpg", ExpiresOn: x.exp}, a.clerk); err != nil {
			t.Fatal(err)
		}
	}
	for range 2 {
		if _, err := a.svc.RemindTierExpiring(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if n := a.sent("tier_expiring"); n != 1 {
		t.Fatalf("%d reminders, want 1 (%+v)", n, a.notices)
	}
	if a.notices[0].RenterID != soon.ID || a.notices[0].Days != 18 {
		t.Fatalf("reminder %+v", a.notices[0])
	}
}
