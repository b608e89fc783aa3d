package media

import (
	"bytes"
	"context"
	"image/color"
	"testing"
)

var demoCategories = []string{"manual_wheelchair", "transport_wheelchair", "electric_wheelchair", "walker", "rollator",
	"cane", "crutches", "shower_chair", "commode_chair", "hospital_bed", "pressure_mattress", "transfer_aid"}

func TestDemoImage(t *testing.T) {
	seen := map[string]string{}
	for i, cat := range demoCategories {
		b, err := DemoImage(cat, i, "Model "+cat)
		if err != nil {
			t.Fatalf("%s: %v", cat, err)
		}
		again, _ := DemoImage(cat, i, "Model "+cat)
		if !bytes.Equal(b, again) {
			t.Errorf("%s: two calls gave different bytes", cat)
		}
		h := hashOf(b)
		if other, ok := seen[h]; ok {
			t.Errorf("%s looks exactly like %s", cat, other)
		}
		seen[h] = cat
		out, err := Pipeline{}.Process(context.Background(), bytes.NewReader(b))
		if err != nil {
			t.Fatalf("%s: the pipeline refused a demo image: %v", cat, err)
		}
		if p := out.Photo; p.Width != 1200 || p.Height != 900 || len(p.Variants) != 3 {
			t.Errorf("%s: %+v, want 1200x900 with three variants", cat, p)
		}
	}
	// The pictogram is really drawn: the centre area holds ink, not just the
	// background and its disc.
	b, _ := DemoImage("manual_wheelchair", 0, "Chair")
	img := decodeJPEG(t, b)
	bg := img.At(5, 5)
	differs := 0
	for y := 150; y < 650; y += 10 {
		for x := 300; x < 900; x += 10 {
			if c := img.At(x, y); !near(c, toRGBA(bg), 30) && !near(c, toRGBA(img.At(600, 120)), 30) {
				differs++
			}
		}
	}
	if differs < 100 {
		t.Errorf("only %d sampled pixels differ from the background: no pictogram?", differs)
	}
	// Seeds change the colour; names change the bytes.
	a, _ := DemoImage("cane", 1, "Cane")
	c, _ := DemoImage("cane", 2, "Cane")
	d, _ := DemoImage("cane", 1, "Cane X")
	if bytes.Equal(a, c) || bytes.Equal(a, d) {
		t.Error("seed or name made no difference")
	}
	if _, err := DemoImage("no_such_category", 0, "普通 Name"); err != nil {
		t.Errorf("unknown category: %v", err)
	}
}

func toRGBA(c color.Color) color.RGBA {
	r, g, b, a := c.RGBA()
	return color.RGBA{uint8(r >> 8), uint8(g >> 8), uint8(b >> 8), uint8(a >> 8)}
}
