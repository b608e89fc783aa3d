package media

import (
	"encoding/binary"
	"image"
	"image/color"
	"testing"
)

func TestJPEGOrientation(t *testing.T) {
	base := encodeJPEG(t, testPattern(16, 8), 90)
	for o := 1; o <= 8; o++ {
		for _, bo := range []binary.AppendByteOrder{binary.BigEndian, binary.LittleEndian} {
			if got := jpegOrientation(withSegment(base, 0xE1, exifPayload(o, o%2 == 0, bo))); got != o {
				t.Errorf("orientation %d (%v): got %d", o, bo, got)
			}
		}
	}
	// An APP0 (JFIF) before the Exif segment, as many cameras write it.
	withJFIF := withSegment(withSegment(base, 0xE1, exifPayload(6, false, binary.BigEndian)), 0xE0, []byte("JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"))
	if got := jpegOrientation(withJFIF); got != 6 {
		t.Errorf("after APP0: got %d, want 6", got)
	}

	valid := exifPayload(6, false, binary.BigEndian)
	badType := append([]byte{}, valid...)
	badType[6+8+2+2+1] = 4 // Orientation as LONG: not what the spec says, ignored
	outOfRange := exifPayload(9, false, binary.BigEndian)
	for name, b := range map[string][]byte{
		"no exif":          base,
		"not a JPEG":       []byte("\x89PNG\r\n\x1a\n...."),
		"empty":            nil,
		"xmp not exif":     withSegment(base, 0xE1, []byte("http://ns.adobe.com/xap/1.0/\x00<x/>")),
		"bad byte order":   withSegment(base, 0xE1, []byte("Exif\x00\x00XX\x00\x2a\x00\x00\x00\x08")),
		"ifd past end":     withSegment(base, 0xE1, []byte("Exif\x00\x00MM\x00\x2a\x7f\xff\xff\xff")),
		"entries cut off":  withSegment(base, 0xE1, valid[:len(valid)-8]),
		"wrong type":       withSegment(base, 0xE1, badType),
		"value 9":          withSegment(base, 0xE1, outOfRange),
		"segment too long": append([]byte{0xFF, 0xD8, 0xFF, 0xE1, 0xFF, 0xFF}, valid...),
		"only SOI":         {0xFF, 0xD8},
	} {
		if got := jpegOrientation(b); got != 1 {
			t.Errorf("%s: got %d, want 1", name, got)
		}
	}
}

// FuzzJPEGOrientation: the parser reads untrusted bytes and must never panic
// or return anything but 1–8.
func FuzzJPEGOrientation(f *testing.F) {
	base := encodeJPEG(f, testPattern(16, 8), 90)
	f.Add(withSegment(base, 0xE1, exifPayload(6, true, binary.LittleEndian)))
	f.Add(withSegment(base, 0xE1, exifPayload(3, false, binary.BigEndian)))
	f.Add([]byte{0xFF, 0xD8, 0xFF, 0xE1, 0x00, 0x08, 'E', 'x', 'i', 'f', 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		if o := jpegOrientation(b); o < 1 || o > 8 {
			t.Fatalf("orientation %d", o)
		}
	})
}

// TestOrient checks all eight EXIF orientations on a 3×2 image whose pixels
// are numbered 1–6 (row by row), against the tables in the EXIF spec.
func TestOrient(t *testing.T) {
	src := image.NewRGBA(image.Rect(0, 0, 3, 2))
	for i := range 6 {
		src.SetRGBA(i%3, i/3, color.RGBA{uint8(i + 1), 0, 0, 255})
	}
	want := map[int][]string{
		1: {"123", "456"},
		2: {"321", "654"},
		3: {"654", "321"},
		4: {"456", "123"},
		5: {"14", "25", "36"},
		6: {"41", "52", "63"},
		7: {"63", "52", "41"},
		8: {"36", "25", "14"},
	}
	for o, rows := range want {
		got := orient(src, o)
		var gotRows []string
		for y := range got.Bounds().Dy() {
			row := ""
			for x := range got.Bounds().Dx() {
				row += string(rune('0' + got.RGBAAt(x, y).R))
			}
			gotRows = append(gotRows, row)
		}
		if len(gotRows) != len(rows) {
			t.Errorf("orientation %d: %v, want %v", o, gotRows, rows)
			continue
		}
		for i := range rows {
			if gotRows[i] != rows[i] {
				t.Errorf("orientation %d: %v, want %v", o, gotRows, rows)
				break
			}
		}
	}
}
