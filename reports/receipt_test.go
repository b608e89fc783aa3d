package reports

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"fuju/internal/l10n"
	"fuju/rentals"
)

// receiptLedger is a standard renter's lease paid online, returned with
// damage, the deposit refunded online minus the damage, and a refund that
// first failed and then went through at the desk.
func receiptLedger() (rentals.Lease, rentals.Ledger) {
	l := rentals.Lease{ID: "l-20261101-0001", UnitTag: "WC-0007", Tier: rentals.LowIncome, PolicyVersion: 2,
		StartOn: "2026-11-01", DueOn: "2026-11-30", Days: 30}
	led := rentals.Ledger{LeaseID: l.ID, Entries: []rentals.LedgerEntry{
		{Seq: 1, Kind: rentals.EntryRent, AmountFen: 9000, Day: "2026-11-01"},
		{Seq: 2, Kind: rentals.EntrySubsidy, AmountFen: 7200, Day: "2026-11-01"},
		{Seq: 3, Kind: rentals.EntryDeposit, AmountFen: 30000, Day: "2026-11-01"},
		{Seq: 4, Kind: rentals.EntryPaidOnline, AmountFen: 31800, Method: "online", Reference: "pi_3Receipt", Day: "2026-11-01"},
		{Seq: 5, Kind: rentals.EntryPlatformFee, AmountFen: 300, Method: "online", Reference: "pi_3Receipt", Day: "2026-11-01"},
		{Seq: 6, Kind: rentals.EntryDamage, AmountFen: 3000, Day: "2026-11-20"},
		{Seq: 7, Kind: rentals.EntryDepositReturn, AmountFen: 30000, Day: "2026-11-20"},
		{Seq: 8, Kind: rentals.EntryRefundOnline, AmountFen: 27000, Method: "online", Reference: "re_3Receipt", Day: "2026-11-20"},
		{Seq: 9, Kind: rentals.EntryRefundOnlineFailed, AmountFen: 27000, Method: "online", Reference: "re_3Receipt", Day: "2026-11-21"},
		{Seq: 10, Kind: rentals.EntryRefund, AmountFen: 27000, Method: rentals.PayCash, Day: "2026-11-22"},
	}}
	for _, e := range led.Entries {
		if e.Kind.Debit() {
			led.DebitsFen += e.AmountFen
		} else if !e.Kind.Memo() {
			led.CreditsFen += e.AmountFen
		}
	}
	led.BalanceFen = led.DebitsFen - led.CreditsFen
	return l, led
}

func TestReceiptSums(t *testing.T) {
	_, led := receiptLedger()
	if led.BalanceFen != 0 {
		t.Fatalf("the hand-built ledger should balance, got %d", led.BalanceFen)
	}
	s := Sums(led)
	want := ReceiptSums{StandardFen: 12000, SubsidyFen: 7200, PaidFen: 31800, RefundedFen: 27000}
	if s != want {
		t.Fatalf("sums = %+v, want %+v (the failed online refund is not money back; the fee is the operator's)", s, want)
	}
	// A waived "payment" is not money the renter paid.
	led.Entries = append(led.Entries, rentals.LedgerEntry{Seq: 11, Kind: rentals.EntryPayment, AmountFen: 500, Method: rentals.PayWaived})
	if got := Sums(led).PaidFen; got != 31800 {
		t.Fatalf("paid with a waived entry = %d, want 31800", got)
	}
}

func TestReceiptPDFReadsBack(t *testing.T) {
	l, led := receiptLedger()
	r := Receipt{Lease: l, Ledger: led, Operator: l10n.Text{Zh: "康宁养老", En: "Kangning Care"},
		Station: l10n.Text{Zh: "民主路站", En: "Minzhu Road"}, Product: l10n.Text{Zh: "轮椅", En: "Wheelchair"},
		RenterMasked: "Z** San", Printed: time.Date(2026, 11, 22, 3, 0, 0, 0, time.UTC)}
	dir := t.TempDir()
	read := func(name string, r Receipt, lang string) string {
		t.Helper()
		pdf, err := ReceiptPDF(r, lang)
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, name+".pdf")
		if err := os.WriteFile(path, pdf, 0o600); err != nil {
			t.Fatal(err)
		}
		text, err := exec.Command("pdftotext", "-layout", path, "-").Output()
		if err != nil {
			t.Fatalf("pdftotext: %v", err)
		}
		if err := exec.Command("pdftoppm", "-r", "50", "-png", path, filepath.Join(dir, name)).Run(); err != nil {
			t.Fatalf("pdftoppm: %v", err)
		}
		pages, _ := filepath.Glob(filepath.Join(dir, name+"-*.png"))
		if len(pages) != 1 {
			t.Fatalf("%s rendered %d pages, want 1", name, len(pages))
		}
		if fi, err := os.Stat(pages[0]); err != nil || fi.Size() < 1000 {
			t.Fatalf("%s did not render", name)
		}
		return string(text)
	}

	whole := read("whole-en", r, "en")
	for _, want := range []string{"Rental receipt", l.ID, "Kangning Care", "Minzhu Road", "Z** San", "WC-0007",
		"low income", "2026-11-01 – 2026-11-30", "pi_3Receipt", "re_3Receipt",
		"Standard price", "120.00", "City subsidy (paid by the city)", "72.00", "318.00", "270.00", "Settled", "(3.00)", "2026-11-22 11:00"} {
		if !strings.Contains(whole, want) {
			t.Errorf("whole-lease receipt lacks %q:\n%s", want, whole)
		}
	}
	if strings.Contains(whole, "acknowledges") {
		t.Errorf("a whole-lease receipt names no single payment")
	}

	r.Focus = 4
	paid := read("paid-en", r, "en")
	for _, want := range []string{"This receipt acknowledges a payment", "318.00", "online (Stripe)", "Reference: pi_3Receipt", l.ID + " #4"} {
		if !strings.Contains(paid, want) {
			t.Errorf("payment receipt lacks %q:\n%s", want, paid)
		}
	}
	r.Focus = 10
	refund := read("refund-en", r, "en")
	if !strings.Contains(refund, "This receipt acknowledges a refund") || !strings.Contains(refund, "cash") {
		t.Errorf("refund receipt does not say what it acknowledges:\n%s", refund)
	}
	// Chinese is drawn as images; the figures stay text.
	zh := read("refund-zh", r, "zh")
	for _, want := range []string{"270.00", l.ID + " #10"} {
		if !strings.Contains(zh, want) {
			t.Errorf("zh receipt lacks %q:\n%s", want, zh)
		}
	}

	for _, seq := range []int64{2, 5, 9, 99} {
		r.Focus = seq
		if _, err := ReceiptPDF(r, "en"); !errors.Is(err, ErrNotFound) {
			t.Errorf("receipt for entry %d (no payment or refund) = %v, want not found", seq, err)
		}
	}
}
