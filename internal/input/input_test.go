package input

import "testing"

// Real inputs, as people type them at a desk or on a phone.
func TestNormalize(t *testing.T) {
	for _, tt := range []struct {
		kind Kind
		in   string
		want string
	}{
		// Phones: full-width, spaces, dashes, +86 and its cousins.
		{Phone, "13800000003", "13800000003"},
		{Phone, "１３８０００００００３", "13800000003"},
		{Phone, "138 0000 0003", "13800000003"},
		{Phone, "138-0000-0003", "13800000003"},
		{Phone, "+86 138 0000 0003", "13800000003"},
		{Phone, "+86-13800000003", "13800000003"},
		{Phone, "0086 13800000003", "13800000003"},
		{Phone, "8613800000003", "13800000003"},
		{Phone, "（+86）138－0000－0003", "13800000003"},
		{Phone, "138.0000.0003", "13800000003"},
		{Phone, "0391-3561234", "03913561234"},
		{Phone, "(0391) 356 1234", "03913561234"},
		{Phone, "  13800000003　", "13800000003"},
		{Phone, "138 0000 000", "1380000000"}, // too short: the rules say so
		{Phone, "张秀英", "张秀英"},
		// Logins: a phone number, or an e-mail address as typed.
		{Login, "＋８６ １３８ ００００ ０００３", "13800000003"},
		{Login, " Li.Min@Example.com ", "li.min@example.com"},
		// ID numbers.
		{IDNumber, "11010519491231002x", "11010519491231002X"},
		{IDNumber, "110105 19491231 002X", "11010519491231002X"},
		{IDNumber, "１１０１０５１９４９１２３１００２ｘ", "11010519491231002X"},
		{IDNumber, "110105-19491231-002X", "11010519491231002X"},
		// Money in yuan.
		{Money, "20", "20"},
		{Money, "20.5", "20.5"},
		{Money, "２０", "20"},
		{Money, "２０．５０", "20.50"},
		{Money, "¥20", "20"},
		{Money, "￥1,200.50", "1200.50"},
		{Money, "20元", "20"},
		{Money, "20 块", "20"},
		{Money, "1，200", "1200"},
		// Dates.
		{Date, "2026-11-20", "2026-11-20"},
		{Date, "2026/11/20", "2026-11-20"},
		{Date, "2026.11.20", "2026-11-20"},
		{Date, "2026/1/5", "2026-01-05"},
		{Date, "2026年11月20日", "2026-11-20"},
		{Date, "2026年1月5号", "2026-01-05"},
		{Date, "２０２６／１１／２０", "2026-11-20"},
		{Date, "20261120", "2026-11-20"},
		{Date, "2026-02-30", "2026-02-30"}, // not a date: left for the rules
		{Date, "下周一", "下周一"},
		// Whole numbers.
		{Number, "３０", "30"},
		{Number, "30天", "30"},
		{Number, "78岁", "78"},
		{Number, " 1,000 ", "1000"},
		// Asset tags.
		{Tag, "jz-wc-0001", "JZ-WC-0001"},
		{Tag, "ＪＺ－ＷＣ－０００１", "JZ-WC-0001"},
		{Tag, "jz wc 0001", "JZ-WC-0001"},
		{Tag, " JZ-WC-0001\n", "JZ-WC-0001"},
		// Renter searches: a phone, an ID tail, a name.
		{Search, "１３８ ００００ ０００３", "13800000003"},
		{Search, "+86 138-0000-0003", "13800000003"},
		{Search, "002x", "002X"},
		{Search, "110105 19491231 002x", "11010519491231002X"},
		{Search, "１２３４", "1234"},
		{Search, "张 秀英", "张秀英"},
		{Search, "  李敏 ", "李敏"},
		{Search, "Li  Min", "Li Min"},
		// Text keeps what is inside, trims the ends; Raw keeps everything.
		{Text, "　扶手裂了，需要换　", "扶手裂了，需要换"},
		{Raw, " pass word ", " pass word "},
	} {
		if got := Normalize(tt.kind, tt.in); got != tt.want {
			t.Errorf("Normalize(%d, %q) = %q, want %q", tt.kind, tt.in, got, tt.want)
		}
	}
}

func TestYuan(t *testing.T) {
	for _, tt := range []struct {
		in   string
		fen  int64
		good bool
	}{
		{"20", 2000, true},
		{"20.5", 2050, true},
		{"20.05", 2005, true},
		{"２０", 2000, true},
		{"２０．５", 2050, true},
		{"¥12.50", 1250, true},
		{"20元", 2000, true},
		{"1,200", 120000, true},
		{"", 0, true},
		{"0", 0, true},
		{"20.", 0, false},
		{".5", 0, false},
		{"20.505", 0, false},
		{"-5", 0, false},
		{"abc", 0, false},
		{"1234567890", 0, false},
	} {
		fen, ok := Yuan(tt.in)
		if ok != tt.good || ok && fen != tt.fen {
			t.Errorf("Yuan(%q) = %d, %v; want %d, %v", tt.in, fen, ok, tt.fen, tt.good)
		}
	}
}

// YuanText writes what Yuan reads: every amount goes there and back.
func TestYuanText(t *testing.T) {
	for fen, want := range map[int64]string{0: "0", 5: "0.05", 2000: "20", 2050: "20.50", 2005: "20.05", 120000: "1200", -305: "-3.05", -2000: "-20"} {
		if got := YuanText(fen); got != want {
			t.Errorf("YuanText(%d) = %q, want %q", fen, got, want)
		}
		if fen >= 0 {
			if back, ok := Yuan(YuanText(fen)); !ok || back != fen {
				t.Errorf("Yuan(YuanText(%d)) = %d, %v", fen, back, ok)
			}
		}
	}
}
