package catalog

import (
	"strings"
	"testing"
)

func TestPinyinInitials(t *testing.T) {
	first := func(s string) string {
		var b strings.Builder
		for _, in := range initialsOfText(s) {
			b.WriteByte(in[0])
		}
		return b.String()
	}
	for _, tt := range []struct{ text, want string }{
		// The first character of each letter's range in GB 2312, and the last.
		{"啊芭擦搭蛾发噶哈击喀垃妈拿哦啪期然撒塌挖昔压匝", "abcdefghjklmnopqrstwxyz"},
		{"座", "z"},
		// Names of the demo city's devices.
		{"钢制标准手动轮椅", "gzbzsdly"},
		{"铝合金轻便折叠轮椅", "lhjqbzdly"},
		{"带座椅四轮助行车", "dzyslzxc"},
		{"防褥疮气垫床", "frcqdc"},
		{"铝合金腋拐（一对）", "lhjygyd"},
		{"沐浴椅", "myy"},
		{"S型助行器", "sxzxq"},
		{"", ""},
	} {
		if got := first(tt.text); got != tt.want {
			t.Errorf("initials of %q = %q, want %q", tt.text, got, tt.want)
		}
	}
	// A polyphonic character matches either reading.
	in := initialsOfText("可调护理床")
	if !in.equals("kthlc") || !in.equals("kdhlc") || in.equals("kxhlc") {
		t.Errorf("可调 initials %v", in)
	}
	for _, tt := range []struct {
		a, b string
		want bool
	}{
		{"轮倚", "轮椅", true}, {"wheelchiar", "wheelchair", true}, {"crutche", "crutches", true},
		{"助行器", "助行架", true}, {"轮椅", "轮椅子子", false}, {"abcd", "badc", false}, {"", "a", true},
	} {
		if got := within1([]rune(tt.a), []rune(tt.b)); got != tt.want {
			t.Errorf("within1(%q, %q) = %v", tt.a, tt.b, got)
		}
	}
}
