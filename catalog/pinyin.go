package catalog

import (
	"strings"
	"unicode"

	"golang.org/x/text/encoding/simplifiedchinese"
)

// Pinyin initials let a family type "zxq" for 助行器 or "lyzxq" for a product
// named 两用助行器, as phone keyboards and shop tills do.
//
// No pinned pinyin library is in the module graph, and a full pinyin
// dictionary (tens of thousands of readings) is more than initials need. The
// 3,755 common characters of GB 2312 (level 1) are sorted by pinyin, so the
// first letter of a character's reading follows from its GB 2312 code and the
// 23 codes where each letter begins — golang.org/x/text, already a
// dependency, does the encoding. Characters of level 2 (sorted by radical)
// used for devices, and polyphonic characters whose other reading is common
// in device names, are listed below.

// gbStarts are the GB 2312 codes where the readings of level-1 characters
// begin with each letter (there are none with i, u or v).
var gbStarts = []struct {
	code   int
	letter byte
}{
	{0xB0A1, 'a'}, {0xB0C5, 'b'}, {0xB2C1, 'c'}, {0xB4EE, 'd'}, {0xB6EA, 'e'}, {0xB7A2, 'f'},
	{0xB8C1, 'g'}, {0xB9FE, 'h'}, {0xBBF7, 'j'}, {0xBFA6, 'k'}, {0xC0AC, 'l'}, {0xC2E8, 'm'},
	{0xC4C3, 'n'}, {0xC5B6, 'o'}, {0xC5BE, 'p'}, {0xC6DA, 'q'}, {0xC8BB, 'r'}, {0xC8F6, 's'},
	{0xCBFA, 't'}, {0xCDDA, 'w'}, {0xCEF4, 'x'}, {0xD1B9, 'y'}, {0xD4D1, 'z'},
}

// gbLevel1End is the last code of GB 2312 level 1.
const gbLevel1End = 0xD7F9

// extraInitials are characters outside GB 2312 level 1 that device names
// use, and polyphonic characters with every initial their readings have in
// such names (可调 is ketiao, 行 is xing in 助行器 and hang in 银行).
var extraInitials = map[rune]string{
	'沐': "m", '髋': "k", '踝': "h", '柺': "g",
	'调': "td", '行': "xh", '长': "cz", '重': "zc", '便': "bp", '传': "cz",
	'曲': "q", '卡': "kq", '降': "jx", '系': "xj", '单': "ds", '乐': "ly",
}

// initialsOf returns the possible first letters of a character's pinyin,
// the character itself (lower case) for Latin letters and digits, and ""
// for anything else.
func initialsOf(r rune) string {
	if s, ok := extraInitials[r]; ok {
		return s
	}
	if r < 0x80 {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			return string(unicode.ToLower(r))
		}
		return ""
	}
	if !unicode.Is(unicode.Han, r) {
		return ""
	}
	b, err := simplifiedchinese.GBK.NewEncoder().Bytes([]byte(string(r)))
	if err != nil || len(b) != 2 {
		return ""
	}
	code := int(b[0])<<8 | int(b[1])
	if code < gbStarts[0].code || code > gbLevel1End {
		return ""
	}
	letter := gbStarts[0].letter
	for _, s := range gbStarts {
		if code < s.code {
			break
		}
		letter = s.letter
	}
	return string(letter)
}

// initials is the pinyin initials of a text: for each character that has
// any, the letters it may begin with.
type initials []string

func initialsOfText(s string) initials {
	var out initials
	for _, r := range s {
		if in := initialsOf(r); in != "" {
			out = append(out, in)
		}
	}
	return out
}

// at reports whether q (lower-case ASCII letters) matches the initials from
// position i on.
func (in initials) at(q string, i int) bool {
	if i+len(q) > len(in) {
		return false
	}
	for j := 0; j < len(q); j++ {
		if strings.IndexByte(in[i+j], q[j]) < 0 {
			return false
		}
	}
	return true
}

// find returns the first position where q matches, or -1.
func (in initials) find(q string) int {
	for i := 0; i+len(q) <= len(in); i++ {
		if in.at(q, i) {
			return i
		}
	}
	return -1
}

// equals reports whether q matches the initials exactly.
func (in initials) equals(q string) bool { return len(q) == len(in) && in.at(q, 0) }

// hasHan reports whether the initials came from at least one Chinese
// character; initials of a plain English word are the word itself and
// would let "bed" match "bed" twice over.
func hasHan(s string) bool {
	for _, r := range s {
		if unicode.Is(unicode.Han, r) {
			return true
		}
	}
	return false
}

// asInitials reports whether a query term looks like pinyin initials: two
// to twenty ASCII letters.
func asInitials(t string) bool {
	if len(t) < 2 || len(t) > 20 {
		return false
	}
	for i := 0; i < len(t); i++ {
		if t[i] < 'a' || t[i] > 'z' {
			return false
		}
	}
	return true
}
