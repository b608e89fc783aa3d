package reports

import (
	"bytes"
	"fmt"
	"time"

	"fuju/internal/l10n"
	"fuju/rentals"
)

// Receipts.
//
// A receipt is a lease's money on one A4 page (more when the ledger is
// long): who lent what to whom, each charge with the city's subsidy shown
// apart from what the renter paid, and every payment and refund with its
// method and reference (a Stripe id for online money). A receipt for one
// payment or refund (Focus) says at the top which entry it acknowledges;
// the family downloads it from the account page and staff print it at the
// desk. Receipts are drawn from the ledger when asked, never stored: the
// ledger is the one truth and a receipt printed later shows what followed.

// Receipt is what a receipt shows. The caller fills in the names (operator,
// station, product) and the renter's masked name; the lease and its ledger
// come from rentals.
type Receipt struct {
	Lease  rentals.Lease
	Ledger rentals.Ledger
	// Focus is the sequence number of the payment or refund this receipt is
	// for; 0 means the whole lease.
	Focus int64

	Operator, Station, StationAddress, Product l10n.Text
	RenterMasked                               string
	Printed                                    time.Time
}

// Receipted reports whether entries of kind k get a receipt of their own:
// money that moved between the renter and the operator.
func Receipted(k rentals.EntryKind) bool {
	switch k {
	case rentals.EntryPayment, rentals.EntryPaidOnline, rentals.EntryRefund, rentals.EntryRefundOnline:
		return true
	}
	return false
}

// ReceiptSums are the figures at a receipt's foot.
type ReceiptSums struct {
	// StandardFen is every charge at its standard price; SubsidyFen what
	// the city pays of it; WaivedFen what the operator forgave.
	StandardFen, SubsidyFen, WaivedFen int64
	// PaidFen is money the renter paid (desk and online; a waived
	// "payment" is not money), RefundedFen money paid back (a refund that
	// failed is taken off again).
	PaidFen, RefundedFen int64
	BalanceFen           int64
}

// Sums adds up a ledger for a receipt.
func Sums(led rentals.Ledger) ReceiptSums {
	var s ReceiptSums
	for _, e := range led.Entries {
		switch e.Kind {
		case rentals.EntryRent, rentals.EntryExtension, rentals.EntryLateFee, rentals.EntryDamage, rentals.EntryLost:
			s.StandardFen += e.AmountFen
		case rentals.EntryRecovered:
			s.StandardFen -= e.AmountFen
		case rentals.EntrySubsidy:
			s.SubsidyFen += e.AmountFen
		case rentals.EntryWaiver:
			s.WaivedFen += e.AmountFen
		case rentals.EntryPayment:
			if e.Method != rentals.PayWaived {
				s.PaidFen += e.AmountFen
			}
		case rentals.EntryPaidOnline:
			s.PaidFen += e.AmountFen
		case rentals.EntryRefund, rentals.EntryRefundOnline:
			s.RefundedFen += e.AmountFen
		case rentals.EntryRefundOnlineFailed:
			s.RefundedFen -= e.AmountFen
		}
	}
	s.BalanceFen = led.BalanceFen
	return s
}

type receiptWords struct {
	title, number, printed, operator, station, renter, device, tier, period, returned string
	forPayment, forRefund, method, reference, day, item, charge, credit               string
	standard, subsidy, waived, paid, refunded, owed, owedBack, settled, note          string
	policy                                                                            string
	entries                                                                           map[rentals.EntryKind]string
	methods                                                                           map[string]string
	tiers                                                                             map[rentals.Tier]string
}

var receiptWordsByLang = map[string]receiptWords{
	"zh": {
		title: "租赁收据", number: "编号", printed: "打印于", operator: "运营方", station: "服务站", renter: "使用人",
		device: "辅具", tier: "档位", period: "租期", returned: "归还",
		forPayment: "本收据确认收款", forRefund: "本收据确认退款", method: "方式", reference: "凭证号",
		day: "日期", item: "项目", charge: "应收", credit: "已付/抵扣",
		standard: "标准价合计", subsidy: "政府补贴（由政府支付）", waived: "减免", paid: "已付款", refunded: "已退款",
		owed: "尚欠", owedBack: "应退还", settled: "已结清",
		note:   "补贴由政府按月与运营方结算，使用人无需支付。本收据依据租赁账目生成。",
		policy: "政策版本",
		entries: map[rentals.EntryKind]string{
			rentals.EntryRent: "租金", rentals.EntryExtension: "续租租金", rentals.EntryLateFee: "逾期费",
			rentals.EntryDamage: "损坏赔偿", rentals.EntryLost: "丢失赔偿", rentals.EntryDeposit: "押金",
			rentals.EntryRefund: "退款", rentals.EntryPayment: "收款", rentals.EntrySubsidy: "政府补贴",
			rentals.EntryWaiver: "减免", rentals.EntryDepositReturn: "押金退回", rentals.EntryRecovered: "丢失赔偿取消（已找回）",
			rentals.EntryPaidOnline: "在线收款", rentals.EntryRefundOnline: "在线退款",
			rentals.EntryRefundOnlineFailed: "在线退款失败（仍需退还）", rentals.EntryPlatformFee: "平台服务费（由运营方承担）",
		},
		methods: map[string]string{rentals.PayCash: "现金", rentals.PayOfflineMobile: "线下移动支付", rentals.PayWaived: "按档位免收", "online": "在线支付（Stripe）"},
		tiers:   map[rentals.Tier]string{rentals.Subsistence: "特困/低保", rentals.LowIncome: "低收入", rentals.Standard: "标准"},
	},
	"en": {
		title: "Rental receipt", number: "No.", printed: "Printed", operator: "Operator", station: "Station", renter: "Renter",
		device: "Device", tier: "Tier", period: "Period", returned: "Returned",
		forPayment: "This receipt acknowledges a payment", forRefund: "This receipt acknowledges a refund", method: "Method", reference: "Reference",
		day: "Date", item: "Item", charge: "Charge", credit: "Paid / credit",
		standard: "Standard price", subsidy: "City subsidy (paid by the city)", waived: "Waived", paid: "Paid", refunded: "Refunded",
		owed: "Still owed", owedBack: "Owed back", settled: "Settled",
		note:   "The city pays the subsidy to the operator monthly; the renter does not pay it. Drawn from the lease's ledger.",
		policy: "policy version",
		entries: map[rentals.EntryKind]string{
			rentals.EntryRent: "Rent", rentals.EntryExtension: "Extension", rentals.EntryLateFee: "Late fee",
			rentals.EntryDamage: "Damage", rentals.EntryLost: "Lost device", rentals.EntryDeposit: "Deposit",
			rentals.EntryRefund: "Refund", rentals.EntryPayment: "Payment", rentals.EntrySubsidy: "City subsidy",
			rentals.EntryWaiver: "Waiver", rentals.EntryDepositReturn: "Deposit returned", rentals.EntryRecovered: "Lost charge cancelled (found)",
			rentals.EntryPaidOnline: "Paid online", rentals.EntryRefundOnline: "Refunded online",
			rentals.EntryRefundOnlineFailed: "Online refund failed (still owed back)", rentals.EntryPlatformFee: "Platform fee (paid by the operator)",
		},
		methods: map[string]string{rentals.PayCash: "cash", rentals.PayOfflineMobile: "mobile transfer", rentals.PayWaived: "waived by tier", "online": "online (Stripe)"},
		tiers:   map[rentals.Tier]string{rentals.Subsistence: "subsistence", rentals.LowIncome: "low income", rentals.Standard: "standard"},
	},
}

func receiptWordsFor(lang string) receiptWords {
	if lang == "en" {
		return receiptWordsByLang["en"]
	}
	return receiptWordsByLang["zh"]
}

// ReceiptPDF draws the receipt on A4 in zh or en. A receipt for an entry
// that is not a payment or refund of the lease is ErrNotFound.
func ReceiptPDF(r Receipt, lang string) ([]byte, error) {
	w := receiptWordsFor(lang)
	var focus *rentals.LedgerEntry
	if r.Focus != 0 {
		for i, e := range r.Ledger.Entries {
			if e.Seq == r.Focus && Receipted(e.Kind) {
				focus = &r.Ledger.Entries[i]
			}
		}
		if focus == nil {
			return nil, fmt.Errorf("reports: entry %d of lease %s is no payment or refund: %w", r.Focus, r.Lease.ID, ErrNotFound)
		}
	}
	p, err := newPainter()
	if err != nil {
		return nil, err
	}
	defer p.close()
	pdf := p.pdf
	l := r.Lease
	number := l.ID
	if focus != nil {
		number += " #" + fmt.Sprint(focus.Seq)
	}
	pdf.SetFooterFunc(func() {
		pdf.SetFont("Helvetica", "", 7)
		pdf.SetXY(15, 285)
		pdf.CellFormat(180, 4, p.latin(fmt.Sprintf("%s · %d", number, pdf.PageNo())), "", 0, "C", false, 0, "")
	})
	pdf.AddPage()
	y := 20.0
	p.text(15, y, w.title, 16, true)
	y += 8
	p.text(15, y, w.number+" "+number+" · "+w.printed+" "+r.Printed.In(l10n.Local).Format("2006-01-02 15:04"), 9, false)
	y += 10
	if focus != nil {
		head := w.forPayment
		if focus.Kind == rentals.EntryRefund || focus.Kind == rentals.EntryRefundOnline {
			head = w.forRefund
		}
		p.text(15, y, head, 12, true)
		y += 7
		p.text(15, y, "¥"+Yuan(focus.AmountFen), 18, true)
		y += 8
		p.text(15, y, focus.Day+" · "+w.method+": "+methodWord(w, focus.Method), 10, false)
		y += 6
		if focus.Reference != "" {
			p.text(15, y, w.reference+": "+focus.Reference, 10, false)
			y += 6
		}
		y += 4
	}
	facts := [][2]string{
		{w.operator, r.Operator.In(lang)},
		{w.station, r.Station.In(lang)},
		{"", r.StationAddress.In(lang)},
		{w.renter, r.RenterMasked},
		{w.device, r.Product.In(lang) + " · " + l.UnitTag},
		{w.tier, tierWord(w, l.Tier) + " · " + w.policy + " " + fmt.Sprint(l.PolicyVersion)},
		{w.period, l.StartOn + " – " + l.DueOn},
	}
	if l.Return != nil {
		facts = append(facts, [2]string{w.returned, l.Return.Day})
	}
	for _, kv := range facts {
		if kv[1] == "" || kv[1] == " · " {
			continue
		}
		p.text(15, y, kv[0], 10, false)
		p.text(50, y, kv[1], 10, false)
		y += 6
	}
	y += 4
	cols := []float64{15, 40, 140, 170}
	header := func() {
		p.text(cols[0], y, w.day, 8, true)
		p.text(cols[1], y, w.item, 8, true)
		p.text(cols[2], y, w.charge, 8, true)
		p.text(cols[3], y, w.credit, 8, true)
		y += 6
	}
	header()
	for _, e := range r.Ledger.Entries {
		if y > 265 {
			pdf.AddPage()
			y = 20
			header()
		}
		item := w.entries[e.Kind]
		if item == "" {
			item = string(e.Kind)
		}
		if e.Method != "" {
			item += " · " + methodWord(w, e.Method)
		}
		if e.Reference != "" {
			item += " · " + e.Reference
		}
		mark := ""
		if focus != nil && e.Seq == focus.Seq {
			mark = "▶ "
		}
		p.text(cols[0], y, e.Day, 9, false)
		p.text(cols[1], y, mark+item, 9, focus != nil && e.Seq == focus.Seq)
		amount := Yuan(e.AmountFen)
		switch {
		case e.Kind.Memo():
			p.text(cols[3], y, "("+amount+")", 9, false)
		case e.Kind.Debit():
			p.text(cols[2], y, amount, 9, false)
		default:
			p.text(cols[3], y, amount, 9, false)
		}
		y += 5.5
	}
	if y > 230 {
		pdf.AddPage()
		y = 20
	}
	y += 4
	s := Sums(r.Ledger)
	sums := [][2]string{{w.standard, Yuan(s.StandardFen)}, {w.subsidy, Yuan(s.SubsidyFen)}}
	if s.WaivedFen != 0 {
		sums = append(sums, [2]string{w.waived, Yuan(s.WaivedFen)})
	}
	sums = append(sums, [2]string{w.paid, Yuan(s.PaidFen)}, [2]string{w.refunded, Yuan(s.RefundedFen)})
	switch {
	case s.BalanceFen > 0:
		sums = append(sums, [2]string{w.owed, Yuan(s.BalanceFen)})
	case s.BalanceFen < 0:
		sums = append(sums, [2]string{w.owedBack, Yuan(-s.BalanceFen)})
	default:
		sums = append(sums, [2]string{w.settled, Yuan(0)})
	}
	for i, kv := range sums {
		p.text(90, y, kv[0], 10, i == len(sums)-1)
		p.text(170, y, kv[1], 10, i == len(sums)-1)
		y += 6
	}
	y += 6
	p.text(15, y, w.note, 8, false)
	var buf bytes.Buffer
	if err := pdf.Output(&buf); err != nil {
		return nil, fmt.Errorf("reports: receipt pdf: %w", err)
	}
	return buf.Bytes(), nil
}

func methodWord(w receiptWords, m string) string {
	if s, ok := w.methods[m]; ok {
		return s
	}
	return m
}

func tierWord(w receiptWords, t rentals.Tier) string {
	if s, ok := w.tiers[t]; ok {
		return s
	}
	return string(t)
}
