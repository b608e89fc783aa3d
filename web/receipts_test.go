package web

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"fuju/internal/tenancy"
	"fuju/rentals"
)

// A family downloads the PDF receipt of its own rental, whole or for one
// payment; the desk prints any of its operator's; nobody else gets one.
func TestReceiptPDFs(t *testing.T) {
	s := newTestServer(t)
	d := desk{t: t, s: s, token: apiToken(t, s, "desk")}
	fam := newFamily(t, s, "13900000051", rentals.LowIncome)
	rec := d.call("POST", "/api/v1/staff/checkouts", checkoutBody("JZ-WC-0001", fam.renter.ID, 1800))
	if rec.Code != http.StatusCreated {
		t.Fatalf("checkout: %d %s", rec.Code, rec.Body)
	}
	lease := decode[rentals.Lease](t, rec)
	led, err := s.rentals.Ledger(context.Background(), tenancy.PlatformScope, lease.ID)
	if err != nil {
		t.Fatal(err)
	}
	var paySeq, subsidySeq int64
	for _, e := range led.Entries {
		switch e.Kind {
		case rentals.EntryPayment:
			paySeq = e.Seq
		case rentals.EntrySubsidy:
			subsidySeq = e.Seq
		}
	}
	if paySeq == 0 || subsidySeq == 0 {
		t.Fatalf("ledger without payment or subsidy: %+v", led.Entries)
	}
	isPDF := func(rec *httptest.ResponseRecorder, what string) []byte {
		t.Helper()
		body := rec.Body.Bytes()
		if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "application/pdf" || !strings.HasPrefix(string(body), "%PDF") {
			t.Fatalf("%s: %d %s %.200s", what, rec.Code, rec.Header().Get("Content-Type"), body)
		}
		if cc := rec.Header().Get("Cache-Control"); cc != "no-store" {
			t.Errorf("%s: Cache-Control %q", what, cc)
		}
		return body
	}
	text := func(pdf []byte) string {
		t.Helper()
		path := filepath.Join(t.TempDir(), "r.pdf")
		if err := os.WriteFile(path, pdf, 0o600); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command("pdftotext", "-layout", path, "-").Output()
		if err != nil {
			t.Fatal(err)
		}
		return string(out)
	}

	// The family: the receipt page links the PDF and each payment's.
	page := fam.get("/account/rentals/" + lease.ID).Body.String()
	for _, want := range []string{`href="/account/rentals/` + lease.ID + `/receipt.pdf"`, `/receipt.pdf?entry=` + strconv.FormatInt(paySeq, 10)} {
		if !strings.Contains(page, want) {
			t.Errorf("receipt page lacks %s", want)
		}
	}
	whole := text(isPDF(fam.get("/account/rentals/"+lease.ID+"/receipt.pdf?lang=en"), "family receipt"))
	for _, want := range []string{"Rental receipt", lease.ID, "JZ-WC-0001", "90.00", "72.00", "18.00", "Settled"} {
		if !strings.Contains(whole, want) {
			t.Errorf("family receipt lacks %q:\n%s", want, whole)
		}
	}
	one := text(isPDF(fam.get("/account/rentals/"+lease.ID+"/receipt.pdf?lang=en&entry="+strconv.FormatInt(paySeq, 10)), "payment receipt"))
	if !strings.Contains(one, "This receipt acknowledges a payment") || !strings.Contains(one, "cash") {
		t.Errorf("payment receipt:\n%s", one)
	}
	if rec := fam.get("/account/rentals/" + lease.ID + "/receipt.pdf?entry=" + strconv.FormatInt(subsidySeq, 10)); rec.Code != http.StatusNotFound {
		t.Errorf("receipt of a subsidy entry: %d", rec.Code)
	}
	if rec := fam.get("/account/rentals/" + lease.ID + "/receipt.pdf?entry=first"); rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "entry") {
		t.Errorf("entry=first: %d", rec.Code)
	}
	// The same through the API.
	isPDF(fam.get("/api/v1/me/rentals/"+lease.ID+"/receipt.pdf"), "family API receipt")
	// Another family gets nothing.
	other := newFamily(t, s, "13900000052", rentals.Standard)
	for _, path := range []string{"/account/rentals/" + lease.ID + "/receipt.pdf", "/api/v1/me/rentals/" + lease.ID + "/receipt.pdf"} {
		if rec := other.get(path); rec.Code != http.StatusNotFound {
			t.Errorf("another family's %s: %d", path, rec.Code)
		}
	}

	// The desk: the API and the lease page's link.
	printed := text(isPDF(d.call("GET", "/api/v1/staff/leases/"+lease.ID+"/receipt.pdf?lang=en", nil), "desk receipt"))
	if !strings.Contains(printed, lease.ID) || !strings.Contains(printed, "18.00") {
		t.Errorf("desk receipt:\n%s", printed)
	}
	if strings.Contains(printed, "王芳") || strings.Contains(printed, fam.renter.Phone) {
		t.Error("the desk receipt carries the renter's full name or phone")
	}
	// Another operator's desk does not see it.
	secret, _, err := s.auth.CreateToken(context.Background(), "op-b", "test", []string{"desk"}, tenancy.System)
	if err != nil {
		t.Fatal(err)
	}
	if rec := (desk{t: t, s: s, token: secret}).call("GET", "/api/v1/staff/leases/"+lease.ID+"/receipt.pdf", nil); rec.Code != http.StatusNotFound && rec.Code != http.StatusForbidden {
		t.Errorf("another operator's desk: %d", rec.Code)
	}
}
