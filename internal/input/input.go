// Package input brings what people type into the one form the rules check:
// full-width digits and letters from Chinese keyboards, spaces and dashes
// inside phone and ID numbers, a +86 in front of a mobile number, money
// written "20", "20.5", "２０元" or "¥1,200", dates written 2026/11/20 or
// 2026年11月20日. Normalize is the one function every form and the JSON API
// apply, by what a field holds; the rules (internal/valid and the domains)
// then see one spelling.
package input

import (
	"strconv"
	"strings"
	"time"
	"unicode"
)

// Kind is what a field holds, which decides how it is normalised.
type Kind int

// Kinds of fields.
const (
	// Raw is left exactly as typed (passwords, free text kept as written).
	Raw Kind = iota
	// Text is trimmed, ideographic spaces included.
	Text
	// Phone is a mobile or landline number: digits only, without a
	// leading +86, 0086 or 86 before a mobile number.
	Phone
	// Login is a phone number or an e-mail address.
	Login
	// IDNumber is a resident ID number: digits and an upper-case X.
	IDNumber
	// Money is an amount in yuan: "20", "20.5" (see Yuan).
	Money
	// Date is a calendar day, YYYY-MM-DD when it is one.
	Date
	// Number is a whole number, with a unit word after it dropped ("30天").
	Number
	// Tag is an asset tag, upper-case with dashes: JZ-WC-0001.
	Tag
	// Search is what a desk types to find a renter: a phone number, the
	// last four characters of an ID number, or a name.
	Search
)

// Normalize returns s in the form of kind k. It never refuses anything: a
// value that cannot be read is returned folded and trimmed, and the rules
// report it.
func Normalize(k Kind, s string) string {
	switch k {
	case Raw:
		return s
	case Text:
		return trim(s)
	}
	s = trim(fold(s))
	switch k {
	case Phone:
		return phone(s)
	case Login:
		if looksLikePhone(s) {
			return phone(s)
		}
		return strings.ToLower(s)
	case IDNumber:
		return strings.ToUpper(drop(s, " -"))
	case Money:
		return money(s)
	case Date:
		return date(s)
	case Number:
		return number(s)
	case Tag:
		return tag(s)
	case Search:
		return search(s)
	}
	return s
}

// fold maps full-width ASCII (from Chinese input methods) to ASCII, the
// ideographic space to a space, and dash look-alikes to "-".
func fold(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 0xFF01 && r <= 0xFF5E:
			r -= 0xFEE0
		case r == 0x3000, r == 0x00A0:
			return ' '
		case r == 0xFFE5:
			return '¥'
		}
		switch r {
		case '‐', '‑', '‒', '–', '—', '―', '－', '−':
			return '-'
		case '。':
			return '.'
		}
		return r
	}, s)
}

func trim(s string) string {
	return strings.TrimFunc(s, func(r rune) bool { return unicode.IsSpace(r) || r == 0x3000 })
}

// drop removes every character of chars from s.
func drop(s, chars string) string {
	return strings.Map(func(r rune) rune {
		if strings.ContainsRune(chars, r) {
			return -1
		}
		return r
	}, s)
}

// looksLikePhone reports whether s has only what people type in phone
// numbers, with at least four digits.
func looksLikePhone(s string) bool {
	digits := 0
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9':
			digits++
		case strings.ContainsRune(" -+().", r):
		default:
			return false
		}
	}
	return digits >= 4
}

func phone(s string) string {
	if !looksLikePhone(s) {
		return s
	}
	d := drop(s, " -().")
	for _, p := range []string{"+86", "0086", "86"} {
		if rest, ok := strings.CutPrefix(d, p); ok && len(rest) == 11 && rest[0] == '1' {
			return rest
		}
	}
	return strings.TrimPrefix(d, "+")
}

// money drops currency signs and words, thousands separators and spaces:
// "¥1,200.50" → "1200.50", "20元" → "20", "20块" → "20".
func money(s string) string {
	s = strings.NewReplacer("¥", "", "元", "", "块钱", "", "块", "", "RMB", "", "rmb", "", "CNY", "", ",", "", "，", "", " ", "").Replace(s)
	return s
}

// Yuan reads an amount in yuan with at most two decimals as fen: "20" is
// 2000, "20.5" 2050, "２０元" 2000. Empty is 0. Money is integer fen
// everywhere else, so this is the only decimal arithmetic, on the digits.
func Yuan(s string) (int64, bool) {
	s = money(trim(fold(s)))
	if s == "" {
		return 0, true
	}
	whole, frac, dot := strings.Cut(s, ".")
	if whole == "" || len(whole) > 9 || len(frac) > 2 || dot && frac == "" {
		return 0, false
	}
	for _, r := range whole + frac {
		if r < '0' || r > '9' {
			return 0, false
		}
	}
	w, _ := strconv.ParseInt(whole, 10, 64)
	for len(frac) < 2 {
		frac += "0"
	}
	f, _ := strconv.ParseInt(frac, 10, 64)
	return w*100 + f, true
}

// date reads year, month and day separated by - / . or 年 月 (日 or 号
// after), or eight digits, and writes them YYYY-MM-DD when they are a date.
func date(s string) string {
	var parts []string
	if len(s) == 8 && strings.Trim(s, "0123456789") == "" {
		parts = []string{s[:4], s[4:6], s[6:]}
	} else {
		t := strings.TrimRight(s, "日号")
		parts = strings.FieldsFunc(t, func(r rune) bool { return strings.ContainsRune("-/.年月 ", r) })
	}
	if len(parts) != 3 || len(parts[0]) != 4 || len(parts[1]) > 2 || len(parts[2]) > 2 {
		return s
	}
	y, e1 := strconv.Atoi(parts[0])
	m, e2 := strconv.Atoi(parts[1])
	d, e3 := strconv.Atoi(parts[2])
	if e1 != nil || e2 != nil || e3 != nil {
		return s
	}
	t := time.Date(y, time.Month(m), d, 12, 0, 0, 0, time.UTC)
	if t.Year() != y || int(t.Month()) != m || t.Day() != d {
		return s // 2026-02-30 is not a date; the rules say so
	}
	return t.Format(time.DateOnly)
}

// number drops spaces, thousands separators and a unit word after the digits.
func number(s string) string {
	s = drop(s, " ,，")
	for _, unit := range []string{"周岁", "天", "日", "岁", "个", "次"} {
		if rest, ok := strings.CutSuffix(s, unit); ok && rest != "" {
			return rest
		}
	}
	return s
}

// tag upper-cases an asset tag; spaces between its parts become dashes
// ("jz wc 0001" → "JZ-WC-0001").
func tag(s string) string {
	s = strings.ToUpper(s)
	if strings.Contains(s, "-") {
		return drop(s, " ")
	}
	return strings.Join(strings.Fields(s), "-")
}

// search reads a renter search: a phone number loses its spaces, dashes and
// +86; an ID number's tail is upper-cased; a name loses the spaces typed
// between its characters.
func search(s string) string {
	if looksLikePhone(s) {
		return phone(s)
	}
	if id := strings.ToUpper(drop(s, " -")); len(id) <= 18 && strings.Trim(id, "0123456789X") == "" {
		return id
	}
	return joinName(strings.Fields(s))
}

// joinName joins the parts of a name typed with spaces: Chinese characters
// close up ("张 秀英" → "张秀英"), Latin words keep one space ("Li  Min").
func joinName(parts []string) string {
	var b strings.Builder
	for i, p := range parts {
		if i > 0 && !(endsHan(parts[i-1]) && startsHan(p)) {
			b.WriteByte(' ')
		}
		b.WriteString(p)
	}
	return b.String()
}

func startsHan(s string) bool {
	for _, r := range s {
		return unicode.Is(unicode.Han, r)
	}
	return false
}

func endsHan(s string) bool {
	r := []rune(s)
	return len(r) > 0 && unicode.Is(unicode.Han, r[len(r)-1])
}

// YuanText writes fen as yuan the way Yuan reads it back: whole yuan
// without decimals ("20"), otherwise two ("20.50", "-3.05"). Pages add "¥",
// messages "元"; forms show it for editing.
func YuanText(fen int64) string {
	sign := ""
	if fen < 0 {
		sign, fen = "-", -fen
	}
	if fen%100 == 0 {
		return sign + strconv.FormatInt(fen/100, 10)
	}
	cents := strconv.FormatInt(fen%100, 10)
	if len(cents) == 1 {
		cents = "0" + cents
	}
	return sign + strconv.FormatInt(fen/100, 10) + "." + cents
}
