package messages

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"text/template"
	"time"

	"fuju/internal/valid"
)

// Every kind has a template in every language, renders with its parameters,
// and says something specific to it.
func TestRenderEveryKindInEveryLanguage(t *testing.T) {
	if len(Kinds) != len(kinds) {
		t.Fatalf("Kinds lists %d kinds, the table has %d", len(Kinds), len(kinds))
	}
	want := map[Lang]map[Kind][]string{
		Chinese: {
			PhoneCode:            {"482913", "5分钟"},
			ReservationConfirmed: {"轻便铝合金轮椅", "民主路站", "3月2日 09:00–11:30"},
			PickupReminder:       {"民主路站", "3月2日 09:00–11:30"},
			HoldExpiring:         {"3月1日 18:00"},
			WaitlistOffer:        {"轻便铝合金轮椅", "3月1日 18:00"},
			LeaseDueSoon:         {"2026年3月5日", "3天"},
			LeaseOverdue:         {"2026年3月5日", "逾期3天"},
			TierApproved:         {"低收入", "2026年3月5日"},
			TierRejected:         {"证明已过期"},
			TierExpiring:         {"低收入", "3天"},
			PaymentLink:          {"12.50元", "https://pay.example.cn/l/abc", "3月1日 18:00前"},
		},
		English: {
			PhoneCode:            {"482913", "5 minutes"},
			ReservationConfirmed: {"light aluminium wheelchair", "Minzhu Road station", "Mar 2, 09:00–11:30"},
			PickupReminder:       {"Minzhu Road station", "Mar 2, 09:00–11:30"},
			HoldExpiring:         {"Mar 1, 18:00"},
			WaitlistOffer:        {"held until Mar 1, 18:00"},
			LeaseDueSoon:         {"Mar 5, 2026", "in 3 days"},
			LeaseOverdue:         {"Mar 5, 2026", "3 days overdue"},
			TierApproved:         {"low income", "Mar 5, 2026"},
			TierRejected:         {"not approved: 证明已过期"},
			TierExpiring:         {"low income", "in 3 days"},
			PaymentLink:          {"¥12.50", "https://pay.example.cn/l/abc", "valid until Mar 1, 18:00"},
		},
	}
	for _, lang := range Langs {
		for _, k := range Kinds {
			t.Run(string(lang)+"/"+string(k), func(t *testing.T) {
				text, err := Render(k, lang, sample())
				if err != nil {
					t.Fatalf("no text for %s in %s: %v", k, lang, err)
				}
				if strings.Contains(text, "<no value>") || strings.Contains(text, "{{") {
					t.Errorf("unfinished text: %s", text)
				}
				frags, ok := want[lang][k]
				if !ok {
					t.Fatalf("the test has no expectation for %s in %s", k, lang)
				}
				for _, f := range frags {
					if !strings.Contains(text, f) {
						t.Errorf("%q lacks %q", text, f)
					}
				}
			})
		}
	}
}

// A language whose file lacks a kind is reported, naming both.
func TestMissingTemplateIsReported(t *testing.T) {
	sets, err := templateSets()
	if err != nil {
		t.Fatal(err)
	}
	if err := checkTemplates(); err != nil {
		t.Fatalf("shipped templates incomplete: %v", err)
	}
	partial := template.Must(template.New("en").Funcs(funcs(English)).Parse(`{{define "phone_code"}}x{{end}}`))
	missing := missingTemplates(map[Lang]*template.Template{Chinese: sets[Chinese], English: partial})
	if len(missing) != len(Kinds)-1 || !slices.Contains(missing, "payment_link in en") {
		t.Errorf("missing = %v", missing)
	}
}

func TestRenderAmountsTimesAndPlurals(t *testing.T) {
	p := sample()
	p.AmountFen = 1200
	p.At = time.Time{}
	for lang, want := range map[Lang]string{Chinese: "请支付12元：https://pay.example.cn/l/abc", English: "Please pay ¥12: https://pay.example.cn/l/abc"} {
		if got, _ := Render(PaymentLink, lang, p); got != want {
			t.Errorf("%s: %q, want %q", lang, got, want)
		}
	}
	// 23:30 UTC is 07:30 the next day in the city.
	p.From = time.Date(2026, 3, 1, 23, 30, 0, 0, time.UTC)
	p.To = time.Date(2026, 3, 2, 16, 0, 0, 0, time.UTC)
	if got, _ := Render(PickupReminder, Chinese, p); !strings.Contains(got, "3月2日 07:30至3月3日 00:00") {
		t.Errorf("window across days in city time: %q", got)
	}
	p.Days = 1
	if got, _ := Render(LeaseDueSoon, English, p); !strings.Contains(got, "in 1 day)") {
		t.Errorf("singular: %q", got)
	}
	if _, err := Render(PhoneCode, "fr", p); err == nil {
		t.Error("French rendered")
	}
}

func TestValidateNamesTheFields(t *testing.T) {
	ok := reminder("lease/l-1/due-3d", "r-1")
	if err := ok.Validate(); err != nil {
		t.Fatalf("good message refused: %v", err)
	}
	code := NewMessage{Event: "login/att-1", Kind: PhoneCode, To: Recipient{Key: UserKey("u-1"), Phone: phone}, Params: Params{Code: "1234", Minutes: 5}}
	if err := code.Validate(); err != nil {
		t.Fatalf("phone code without operator refused: %v", err)
	}
	cases := []struct {
		name  string
		edit  func(*NewMessage)
		field string
	}{
		{"no event", func(m *NewMessage) { m.Event = "" }, "event"},
		{"event without entity", func(m *NewMessage) { m.Event = "due" }, "event"},
		{"phone in event", func(m *NewMessage) { m.Event = "signup/13800000005" }, "event"},
		{"bad segment", func(m *NewMessage) { m.Event = "lease/../x y" }, "event"},
		{"phone as key", func(m *NewMessage) { m.To.Key = "13800000005" }, "to.key"},
		{"key with slash", func(m *NewMessage) { m.To.Key = "renter/r-1" }, "to.key"},
		{"landline", func(m *NewMessage) { m.To.Phone = "0391-3561234" }, "to.phone"},
		{"language", func(m *NewMessage) { m.To.Lang = "fr" }, "to.lang"},
		{"station without operator", func(m *NewMessage) { m.OperatorID = "" }, "station_id"},
		{"kind", func(m *NewMessage) { m.Kind = "hello" }, "kind"},
		{"days", func(m *NewMessage) { m.Params.Days = 0 }, "params.days"},
		{"date", func(m *NewMessage) { m.Params.Date = "5 March" }, "params.date"},
		{"product", func(m *NewMessage) { m.Params.Product = Text{} }, "params.product"},
		{"send_by before send_at", func(m *NewMessage) {
			m.SendAt = cityTime("2026-03-01 10:00")
			m.SendBy = cityTime("2026-03-01 09:00")
		}, "send_by"},
		{"phone in note", func(m *NewMessage) { m.Params.Note = "call 13900000001" }, "params.note"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := ok
			c.edit(&m)
			fields, isValid := valid.Fields(m.Validate())
			if !isValid {
				t.Fatalf("accepted")
			}
			if _, ok := fields[c.field]; !ok {
				t.Errorf("error names %v, want %s", fields, c.field)
			}
		})
	}
	bad := code
	bad.Params = Params{Code: "12", Minutes: 90}
	fields, _ := valid.Fields(bad.Validate())
	if _, ok := fields["params.code"]; !ok {
		t.Errorf("short code accepted: %v", fields)
	}
	if _, ok := fields["params.minutes"]; !ok {
		t.Errorf("90 minutes accepted: %v", fields)
	}
	pay := NewMessage{Event: "lease/l-1/pay-1", Kind: PaymentLink, To: ok.To, Params: Params{AmountFen: 0, URL: "javascript:alert(1)"}}
	fields, _ = valid.Fields(pay.Validate())
	if _, ok := fields["params.amount_fen"]; !ok {
		t.Errorf("zero amount accepted: %v", fields)
	}
	if _, ok := fields["params.url"]; !ok {
		t.Errorf("javascript link accepted: %v", fields)
	}
}

func TestMaskPhone(t *testing.T) {
	for in, want := range map[string]string{
		"13800000005":  "138****0005",
		"0391-3561234": "039****1234",
		"12345":        "***45",
		"":             "",
	} {
		if got := MaskPhone(in); got != want {
			t.Errorf("MaskPhone(%q) = %q, want %q", in, got, want)
		}
	}
	if got := scrub(`{"error":"bad number 13800000005, +8613900000001"}`); strings.Contains(got, "13800000005") || strings.Contains(got, "13900000001") || !strings.Contains(got, "138****0005") {
		t.Errorf("scrub = %s", got)
	}
	out := Outgoing{ID: "x/renter-1", To: phone, Text: "hi", Lang: Chinese}
	if s := out.String(); strings.Contains(s, phone) {
		t.Errorf("Outgoing prints the number: %s", s)
	}
}

func TestQuietHours(t *testing.T) {
	cases := []struct {
		at, want string
		quiet    bool
	}{
		{"2026-03-01 07:59", "2026-03-01 08:00", true},
		{"2026-03-01 08:00", "2026-03-01 08:00", false},
		{"2026-03-01 20:59", "2026-03-01 20:59", false},
		{"2026-03-01 21:00", "2026-03-02 08:00", true},
		{"2026-03-01 23:59", "2026-03-02 08:00", true},
		{"2026-03-02 00:00", "2026-03-02 08:00", true},
		{"2026-12-31 22:00", "2027-01-01 08:00", true},
	}
	for _, c := range cases {
		end, quiet := quietEnd(cityTime(c.at))
		if quiet != c.quiet || !end.Equal(cityTime(c.want)) {
			t.Errorf("quietEnd(%s) = %s, %v; want %s, %v", c.at, end.In(Local), quiet, c.want, c.quiet)
		}
	}
	night := cityTime("2026-03-01 22:00")
	for _, k := range []Kind{PhoneCode, ReservationConfirmed, WaitlistOffer, PaymentLink} {
		if got := sendTime(k, night); !got.Equal(night) {
			t.Errorf("%s at 22:00 waits until %s", k, got.In(Local))
		}
	}
	for _, k := range []Kind{PickupReminder, HoldExpiring, LeaseDueSoon, TierApproved, TierRejected} {
		if got := sendTime(k, night); !got.Equal(cityTime("2026-03-02 08:00")) {
			t.Errorf("%s at 22:00 goes at %s", k, got.In(Local))
		}
	}
}

func TestBackoff(t *testing.T) {
	r := Retry{Base: 30 * time.Second, Max: 10 * time.Minute, Attempts: 8}
	for attempt, want := range map[int]time.Duration{1: 30 * time.Second, 2: time.Minute, 3: 2 * time.Minute, 5: 8 * time.Minute, 6: 10 * time.Minute, 40: 10 * time.Minute} {
		if lo, hi := r.delay(attempt, 0), r.delay(attempt, 0.999999); lo != want/2 || hi > want || hi < want-time.Second {
			t.Errorf("attempt %d: waits %s to %s, want %s to %s", attempt, lo, hi, want/2, want)
		}
	}
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for h, want := range map[string]time.Duration{
		"120": 2 * time.Minute, "": 0, "soon": 0, "-5": 0, "999999": MaxRetryAfter,
		now.Add(90 * time.Second).Format(http.TimeFormat): 90 * time.Second,
	} {
		if got := retryAfter(h, now); got != want {
			t.Errorf("Retry-After %q = %s, want %s", h, got, want)
		}
	}
}
