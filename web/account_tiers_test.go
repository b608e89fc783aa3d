package web

import (
	"bytes"
	"image/color"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"fuju/rentals"
)

// tierWorld is the operator world with a family (w.renter) whose father is
// registered at op-a's north station.
func tierWorld(t *testing.T) (*opWorld, rentals.LinkedRenter) {
	t.Helper()
	w := newOpWorld(t)
	rec := w.call(t, w.renter, "POST", "/api/v1/me/renters", map[string]any{"name": "郑建国", "id_number": idNumberFor("13912348801"),
		"phone": "13912348801", "home_station_id": "north", "relation": "father"})
	if rec.Code != http.StatusCreated {
		t.Fatalf("add father: %d %s", rec.Code, rec.Body)
	}
	return w, decode[rentals.LinkedRenter](t, rec)
}

func TestApplicationBadInputOverHTTP(t *testing.T) {
	w, father := tierWorld(t)
	photo := testJPEG(t, 320, 240, color.RGBA{200, 10, 30, 255})
	for _, tt := range []struct {
		name   string
		n      int
		photo  []byte
		fields map[string]string
		status int
		field  string
	}{
		{"50 photos", 50, photo, nil, http.StatusBadRequest, "photos"},
		{"a 30 MB photo", 1, bytes.Repeat([]byte{0xFF}, 30<<20), nil, http.StatusRequestEntityTooLarge, "photos"},
		{"no photo", 0, nil, nil, http.StatusBadRequest, "photos"},
		{"no proof number", 1, photo, map[string]string{"proof_number": ""}, http.StatusBadRequest, "proof_number"},
		{"expiry in the past", 1, photo, map[string]string{"expires_on": "2026-01-31"}, http.StatusBadRequest, "expires_on"},
		{"not a photo", 1, []byte("%PDF-1.4 not a photo"), nil, http.StatusBadRequest, "photos"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			b, ct := applicationBody(father.ID, tt.n, tt.photo, tt.fields)
			rec := w.call(t, w.renter, "POST", "/api/v1/me/tier-applications", b, ct)
			if rec.Code != tt.status || !strings.Contains(rec.Body.String(), `"`+tt.field+`"`) {
				t.Fatalf("%d %.300s", rec.Code, rec.Body)
			}
		})
	}
	// JSON cannot carry photos.
	if rec := w.call(t, w.renter, "POST", "/api/v1/me/tier-applications", map[string]any{"renter_id": father.ID}); rec.Code != http.StatusUnsupportedMediaType {
		t.Fatalf("JSON application: %d", rec.Code)
	}
	// Nothing was written: no application, nothing in the queue.
	if l := decode[list[rentals.TierApplication]](t, w.call(t, w.renter, "GET", "/api/v1/me/tier-applications", nil)); l.Total != 0 {
		t.Fatalf("refused applications were stored: %+v", l.Items)
	}
	if l := decode[list[rentals.TierApplication]](t, w.call(t, w.adminA, "GET", "/api/v1/operator/tier-applications", nil)); l.Total != 0 {
		t.Fatalf("queue after refusals: %+v", l.Items)
	}
}

// Tenancy and privacy: operator B never sees A's applications; a proof
// photo is reachable only through a fresh signed link, never publicly.
func TestApplicationReviewTenancyAndPrivacy(t *testing.T) {
	w, father := tierWorld(t)
	b, ct := applicationBody(father.ID, 2, testJPEG(t, 320, 240, color.RGBA{200, 10, 30, 255}), nil)
	rec := w.call(t, w.renter, "POST", "/api/v1/me/tier-applications", b, ct)
	if rec.Code != http.StatusCreated {
		t.Fatalf("apply: %d %s", rec.Code, rec.Body)
	}
	app := decode[rentals.TierApplication](t, rec)
	if strings.Contains(rec.Body.String(), "p/") {
		t.Fatalf("the family's answer shows a storage key: %s", rec.Body)
	}
	// B's queue is empty and A's application is 404 to B, read or decided.
	if l := decode[list[rentals.TierApplication]](t, w.call(t, w.adminB, "GET", "/api/v1/operator/tier-applications", nil)); l.Total != 0 {
		t.Fatalf("B's queue: %+v", l.Items)
	}
	for _, c := range []struct {
		method, path string
		body         any
	}{
		{"GET", "/api/v1/operator/tier-applications/" + app.ID, nil},
		{"POST", "/api/v1/operator/tier-applications/" + app.ID + "/approve", map[string]any{"expires_on": "2027-06-30"}},
		{"POST", "/api/v1/operator/tier-applications/" + app.ID + "/reject", map[string]any{"reason": "unreadable"}},
	} {
		if rec := w.call(t, w.adminB, c.method, c.path, c.body); rec.Code != http.StatusNotFound {
			t.Errorf("B %s %s: %d", c.method, c.path, rec.Code)
		}
	}
	if page := w.page(t, w.adminB, "/operator/tier-applications").Body.String(); strings.Contains(page, app.ID) {
		t.Error("B's review page lists A's application")
	}
	// The family and staff of other roles cannot use the review API.
	if rec := w.call(t, w.renter, "GET", "/api/v1/operator/tier-applications", nil); rec.Code != http.StatusForbidden {
		t.Errorf("a family on the review API: %d", rec.Code)
	}
	// A's admin sees it with two signed links.
	rec = w.call(t, w.adminA, "GET", "/api/v1/operator/tier-applications/"+app.ID, nil)
	if rec.Code != http.StatusOK {
		t.Fatalf("A reads: %d %s", rec.Code, rec.Body)
	}
	rev := decode[reviewedApplication](t, rec)
	if len(rev.PhotoURLs) != 2 || !strings.HasPrefix(rev.PhotoURLs[0], "/media/private/") || !strings.Contains(rev.PhotoURLs[0], "sig=") {
		t.Fatalf("photo links %v", rev.PhotoURLs)
	}
	signed := rev.PhotoURLs[0]
	photo := get(t, w.s, signed)
	if photo.Code != http.StatusOK || !strings.HasPrefix(photo.Header().Get("Content-Type"), "image/") || !strings.Contains(photo.Header().Get("Cache-Control"), "no-store") {
		t.Fatalf("signed photo: %d %q %q", photo.Code, photo.Header().Get("Content-Type"), photo.Header().Get("Cache-Control"))
	}
	if bytes.Contains(photo.Body.Bytes(), []byte("Exif")) {
		t.Error("the served proof photo carries EXIF data")
	}
	u, _ := url.Parse(signed)
	for _, bad := range []string{u.Path, "/media/" + strings.TrimPrefix(u.Path, "/media/private/"), u.Path + "?exp=" + u.Query().Get("exp") + "&sig=00"} {
		if rec := get(t, w.s, bad); rec.Code == http.StatusOK {
			t.Errorf("%s without a valid signature: %d", bad, rec.Code)
		}
	}
}

// The pages: a family adds a person and applies with a photo; the operator's
// home counts it and the review page approves it; the family sees it
// approved and the price for its tier.
func TestApplicationPages(t *testing.T) {
	w, father := tierWorld(t)
	fam := newClient(t, w.s)
	fam.cookies[sessionCookie] = w.renter.cookie
	page := fam.get("/account/tiers").Body.String()
	if !strings.Contains(page, `action="/account/tiers/apply"`) || !strings.Contains(page, father.ID) {
		t.Fatalf("account tiers page:\n%.2000s", page)
	}
	body, ct := applicationBody(father.ID, 1, testJPEG(t, 320, 240, color.RGBA{200, 10, 30, 255}), map[string]string{"_csrf": w.renter.csrf})
	req := httptest.NewRequest("POST", "/account/tiers/apply", bytes.NewReader(body))
	req.Header.Set("Content-Type", ct)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	rec := fam.do(req)
	if rec.Code != http.StatusSeeOther {
		t.Fatalf("apply on the page: %d %.1500s", rec.Code, rec.Body)
	}
	if page := fam.get("/account/tiers").Body.String(); !strings.Contains(page, "等待审核") {
		t.Fatal("the family does not see the application waiting")
	}
	// Too many photos on the page: the form names the field.
	body, ct = applicationBody(father.ID, 4, testJPEG(t, 32, 24, color.RGBA{1, 2, 3, 255}), map[string]string{"_csrf": w.renter.csrf})
	req = httptest.NewRequest("POST", "/account/tiers/apply", bytes.NewReader(body))
	req.Header.Set("Content-Type", ct)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	if rec := fam.do(req); rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), `id="e-photos"`) {
		t.Fatalf("4 photos on the page: %d", rec.Code)
	}
	home := w.page(t, w.adminA, "/operator").Body.String()
	if !strings.Contains(home, `id="tier-queue-count">1<`) {
		t.Fatal("the operator home does not count the waiting application")
	}
	queue := w.page(t, w.adminA, "/operator/tier-applications").Body.String()
	if !strings.Contains(queue, "/media/private/") || !strings.Contains(queue, "郑**") {
		t.Fatalf("review page:\n%.2000s", queue)
	}
	apps := decode[list[rentals.TierApplication]](t, w.call(t, w.renter, "GET", "/api/v1/me/tier-applications", nil))
	if apps.Total != 1 {
		t.Fatalf("applications %+v", apps)
	}
	id := apps.Items[0].ID
	if rec := w.form(t, w.adminA, "/operator/tier-applications/"+id+"/approve", url.Values{"expires_on": {"2026-01-01"}}); rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "expires_on") {
		t.Fatalf("approve with a past expiry: %d", rec.Code)
	}
	if rec := w.form(t, w.adminA, "/operator/tier-applications/"+id+"/approve", url.Values{"expires_on": {"2027-06-30"}}); rec.Code != http.StatusSeeOther {
		t.Fatalf("approve: %d %.1000s", rec.Code, rec.Body)
	}
	if page := fam.get("/account/tiers").Body.String(); !strings.Contains(page, "已通过") {
		t.Fatal("the family does not see the approval")
	}
	// The product page quotes the family's verified tier (low income: 20%).
	if page := fam.get("/products/wc").Body.String(); !strings.Contains(page, "低收入") {
		t.Fatalf("product page does not quote the low-income price:\n%.3000s", page)
	}
}
