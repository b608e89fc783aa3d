package ids

import "testing"

func TestSlug(t *testing.T) {
	for _, tt := range []struct {
		in   string
		max  int
		want string
	}{
		{"Standard steel wheelchair", 40, "standard-steel-wheelchair"},
		{"  Folding  cane (pair) ", 40, "folding-cane-pair"},
		{"Aluminium underarm crutches, extra long model", 30, "aluminium-underarm-crutches"},
		{"助行架 XY-200型", 40, "xy-200"},
		{"钢制标准手动轮椅", 40, ""},
		{"A", 40, ""},
		{"manual_wheelchair", 40, "manual-wheelchair"},
	} {
		if got := Slug(tt.in, tt.max); got != tt.want {
			t.Errorf("Slug(%q, %d) = %q, want %q", tt.in, tt.max, got, tt.want)
		}
	}
}
