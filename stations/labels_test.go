package stations

import (
	"fuju/internal/testenv"

	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/makiuchi-d/gozxing"
	zxqr "github.com/makiuchi-d/gozxing/qrcode"

	"fuju/internal/valid"
)

func testLabels(n int, name, station string) []Label {
	labels := make([]Label, n)
	for i := range labels {
		labels[i] = Label{Tag: fmt.Sprintf("JZ-WC-%04d", i+1), Name: name, Station: station}
	}
	return labels
}

// pageObjects counts the page objects of a PDF ("/Type /Page", not "/Pages").
var pageObjects = regexp.MustCompile(`/Type /Page[^s]`)

func TestLabelSheetPDFPages(t *testing.T) {
	for _, tc := range []struct{ labels, pages int }{{1, 1}, {24, 1}, {25, 2}, {48, 2}, {49, 3}} {
		t.Run(fmt.Sprint(tc.labels), func(t *testing.T) {
			out, err := LabelSheetPDF(testLabels(tc.labels, "Wheelchair", "Minzhu Rd"), LabelOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.HasPrefix(out, []byte("%PDF-")) {
				t.Fatalf("output starts with %q, want %%PDF-", out[:min(len(out), 8)])
			}
			if got := len(pageObjects.FindAll(out, -1)); got != tc.pages {
				t.Errorf("%d page objects, want %d", got, tc.pages)
			}
			pdf, err := labelSheet(testLabels(tc.labels, "", ""), LabelOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if got := pdf.PageCount(); got != tc.pages {
				t.Errorf("PageCount() = %d, want %d", got, tc.pages)
			}
		})
	}
}

func TestLabelSheetPDFValidation(t *testing.T) {
	tests := []struct {
		name   string
		labels []Label
		field  string
	}{
		{"nil", nil, "labels"},
		{"empty", []Label{}, "labels"},
		{"too many", testLabels(MaxLabels+1, "", ""), "labels"},
		{"lower case tag", []Label{{Tag: "JZ-WC-0001"}, {Tag: "jz-wc-0002"}}, "labels[1].tag"},
		{"blank tag", []Label{{Tag: " "}}, "labels[0].tag"},
		{"tag with spaces", []Label{{Tag: " JZ-WC-0001"}}, "labels[0].tag"},
		{"long name", []Label{{Tag: "JZ-WC-0001", Name: strings.Repeat("轮", 201)}}, "labels[0].name"},
		{"long station", []Label{{Tag: "JZ-WC-0001", Station: strings.Repeat("x", 201)}}, "labels[0].station"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := LabelSheetPDF(tc.labels, LabelOptions{})
			if !errors.Is(err, valid.ErrInvalid) {
				t.Fatalf("err = %v, want a validation error", err)
			}
			if out != nil {
				t.Errorf("got %d bytes with the error", len(out))
			}
			fields, _ := valid.Fields(err)
			if _, ok := fields[tc.field]; !ok {
				t.Errorf("fields = %v, want %s", fields, tc.field)
			}
		})
	}
}

// decodeQR reads the QR code in img with gozxing, a Go port of ZXing that
// shares no code with the encoder.
func decodeQR(t *testing.T, img image.Image) (text, level string) {
	t.Helper()
	bmp, err := gozxing.NewBinaryBitmapFromImage(img)
	if err != nil {
		t.Fatal(err)
	}
	res, err := zxqr.NewQRCodeReader().Decode(bmp, map[gozxing.DecodeHintType]any{gozxing.DecodeHintType_TRY_HARDER: true})
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	level, _ = res.GetResultMetadata()[gozxing.ResultMetadataType_ERROR_CORRECTION_LEVEL].(string)
	return res.GetText(), level
}

// TestLabelQR decodes the module matrix that the sheet draws, rendered the same
// way (dark runs on white), and checks its physical size.
func TestLabelQR(t *testing.T) {
	// The shortest and longest tags ValidTag accepts, and a usual one.
	for _, tag := range []string{"JZ-WC-0001", "AB-C-0000", "JZ-ABCDEF-12345678"} {
		t.Run(tag, func(t *testing.T) {
			mods, err := qrModules(tag)
			if err != nil {
				t.Fatal(err)
			}
			// Version 1 is 21 modules, plus 4 of quiet zone on each side.
			if len(mods) != 29 {
				t.Errorf("QR is %d modules with its quiet zone, want 29 (version 1)", len(mods))
			}
			if symbol := qrSide * 21 / float64(len(mods)); symbol < 22 {
				t.Errorf("QR symbol is %.1f mm wide, want at least 22 mm", symbol)
			}
			for i := 0; i < 4; i++ { // the quiet zone is white
				for j := range mods {
					if mods[i][j] || mods[j][i] || mods[len(mods)-1-i][j] || mods[j][len(mods)-1-i] {
						t.Fatalf("dark module in the quiet zone at %d,%d", i, j)
					}
				}
			}
			const scale = 8
			img := image.NewGray(image.Rect(0, 0, len(mods)*scale, len(mods)*scale))
			draw.Draw(img, img.Bounds(), image.White, image.Point{}, draw.Src)
			for r, row := range mods {
				for c, dark := range row {
					if dark {
						draw.Draw(img, image.Rect(c*scale, r*scale, (c+1)*scale, (r+1)*scale), image.Black, image.Point{}, draw.Src)
					}
				}
			}
			text, level := decodeQR(t, img)
			if text != tag {
				t.Errorf("decoded %q, want %q", text, tag)
			}
			if level != "M" {
				t.Errorf("error correction level %q, want M", level)
			}
		})
	}
}

// TestLabelSheetPrinted rasterises the PDF as a printer would (poppler's
// pdftoppm, when installed) and decodes the QR code of labels at both ends of
// a sheet and on the next sheet, which checks the drawing and the geometry.
func TestLabelSheetPrinted(t *testing.T) {
	pdftoppm := testenv.Command(t, "pdftoppm", "poppler-utils")
	labels := testLabels(26, "轮椅", "解放区民主路站")
	out, err := LabelSheetPDF(labels, LabelOptions{})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "labels.pdf"), out, 0o600); err != nil {
		t.Fatal(err)
	}
	const dpi = 150
	cmd := exec.Command(pdftoppm, "-r", fmt.Sprint(dpi), "-gray", "-png", "labels.pdf", "page")
	cmd.Dir = dir
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("pdftoppm: %v\n%s", err, b)
	}
	px := func(mm float64) int { return int(mm * dpi / 25.4) }
	for _, i := range []int{0, 2, 21, 23, 24, 25} {
		page := fmt.Sprintf("page-%d.png", i/perSheet+1)
		img := readPNG(t, filepath.Join(dir, page))
		n := i % perSheet
		x := sheetLeft + float64(n%labelCols)*labelW
		y := sheetTop + float64(n/labelCols)*labelH
		// The QR side of the label only; the rest of the sheet holds other codes.
		cell := image.Rect(px(x), px(y), px(x+textLeft), px(y+labelH))
		crop := image.NewGray(image.Rect(0, 0, cell.Dx(), cell.Dy()))
		draw.Draw(crop, crop.Bounds(), img, cell.Min, draw.Src)
		if text, _ := decodeQR(t, crop); text != labels[i].Tag {
			t.Errorf("label %d on %s: decoded %q, want %q", i, page, text, labels[i].Tag)
		}
		// The text column has ink: the tag at least.
		if !hasInk(img, image.Rect(px(x+textLeft), px(y), px(x+textRight), px(y+labelH))) {
			t.Errorf("label %d on %s: no text beside the QR code", i, page)
		}
	}
}

func readPNG(t *testing.T, path string) image.Image {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func hasInk(img image.Image, r image.Rectangle) bool {
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			if color.GrayModel.Convert(img.At(x, y)).(color.Gray).Y < 128 {
				return true
			}
		}
	}
	return false
}

// uncompressed builds the sheet with readable content streams.
func uncompressed(t *testing.T, labels []Label, opts LabelOptions) string {
	t.Helper()
	pdf, err := labelSheet(labels, opts)
	if err != nil {
		t.Fatal(err)
	}
	pdf.SetCompression(false)
	var buf bytes.Buffer
	if err := pdf.Output(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

func defaultCJKFont(t *testing.T) string {
	for _, p := range DefaultCJKFonts {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	// The test setup installs Debian's CJK fonts with Chromium; a machine
	// without them fails here rather than silently testing less.
	testenv.Command(t, "fc-list", "fontconfig")
	for _, p := range DefaultCJKFonts {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	t.Fatal("no CJK font installed (Debian: fonts-noto-cjk); .ci/run installs it")
	return ""
}

var imageObjects = regexp.MustCompile(`/Subtype /Image`)

func TestLabelSheetNames(t *testing.T) {
	labels := append(testLabels(30, "轮椅", "解放区民主路站"),
		Label{Tag: "JZ-WK-0001", Name: "助行器", Station: "解放区民主路站"},
		Label{Tag: "JZ-RL-0001", Name: "Rollator R-8 ", Station: "Minzhu Rd"},
		Label{Tag: "JZ-RL-0002", Name: "Rollateur léger", Station: ""},
	)
	noFont := LabelOptions{CJKFont: filepath.Join(t.TempDir(), "missing.ttc")}

	t.Run("Latin names are text", func(t *testing.T) {
		doc := uncompressed(t, labels, noFont)
		for _, want := range []string{"(JZ-WC-0001) Tj", "(JZ-RL-0001) Tj", "(Rollator R-8) Tj", "(Minzhu Rd) Tj", "(Rollateur l\xe9ger) Tj"} {
			if !strings.Contains(doc, want) {
				t.Errorf("PDF lacks %q", want)
			}
		}
	})
	t.Run("no font: Chinese names left off", func(t *testing.T) {
		doc := uncompressed(t, labels, noFont)
		if n := len(imageObjects.FindAllString(doc, -1)); n != 0 {
			t.Errorf("%d images, want none without a font", n)
		}
		if !strings.Contains(doc, "(JZ-WK-0001) Tj") {
			t.Error("the tag of a label with a Chinese name is missing")
		}
	})
	t.Run("with font: Chinese names are images, each once", func(t *testing.T) {
		doc := uncompressed(t, labels, LabelOptions{CJKFont: defaultCJKFont(t)})
		// 轮椅, 助行器 and 解放区民主路站: three distinct images for 32 uses.
		if n := len(imageObjects.FindAllString(doc, -1)); n != 3 {
			t.Errorf("%d images, want 3", n)
		}
		// Placed 30 + 1 times (names) and 31 times (the station).
		if n := strings.Count(doc, " Do Q"); n != 62 {
			t.Errorf("images placed %d times, want 62", n)
		}
	})
	t.Run("default font", func(t *testing.T) {
		defaultCJKFont(t)
		doc := uncompressed(t, labels, LabelOptions{})
		if n := len(imageObjects.FindAllString(doc, -1)); n != 3 {
			t.Errorf("%d images, want 3", n)
		}
	})
	t.Run("a file that is not a font", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "font.ttc")
		if err := os.WriteFile(path, []byte("not a font"), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := LabelSheetPDF(labels, LabelOptions{CJKFont: path})
		if err == nil || errors.Is(err, valid.ErrInvalid) {
			t.Errorf("err = %v, want a font error", err)
		}
	})
}

func TestFitWidth(t *testing.T) {
	// One unit of width per character per point: textWidth is 32 mm.
	width := func(s string, size float64) float64 { return float64(len([]rune(s))) * size }
	tests := []struct {
		s             string
		size, minSize float64
		want          string
		wantSize      float64
	}{
		{"abcd", 8, 7, "abcd", 8},     // 32: fits
		{"abcde", 8, 6, "abcde", 6.4}, // shrinks to fit
		{"abcdefgh", 8, 7, "abc…", 7}, // shrinks to the minimum, then is cut
		{"ab def", 8, 8, "ab…", 8},    // no space before the ellipsis
		{"轮椅轮椅轮椅", 4, 4, "轮椅轮椅轮椅", 4}, // runes, not bytes
	}
	for _, tc := range tests {
		got, size := fitWidth(tc.s, tc.size, tc.minSize, width)
		if got != tc.want || size != tc.wantSize {
			t.Errorf("fitWidth(%q, %v, %v) = %q, %v; want %q, %v", tc.s, tc.size, tc.minSize, got, size, tc.want, tc.wantSize)
		}
	}
}

func TestFitTag(t *testing.T) {
	pdf, err := labelSheet([]Label{{Tag: "JZ-WC-0001"}}, LabelOptions{})
	if err != nil {
		t.Fatal(err)
	}
	p := &labelPainter{pdf: pdf, latin: pdf.UnicodeTranslatorFromDescriptor("")}
	tests := []struct {
		tag   string
		lines []string
	}{
		{"JZ-WC-0001", []string{"JZ-WC-0001"}},
		{"JZ-WCH-0001", []string{"JZ-WCH-0001"}},
		{"JZ-WCH-00001", []string{"JZ-WCH-", "00001"}},
		{"JZ-WCHAIR-00000001", []string{"JZ-WCHAIR-", "00000001"}}, // the longest tag
	}
	for _, tc := range tests {
		lines := p.fitTag(tc.tag)
		var got []string
		for _, ln := range lines {
			got = append(got, ln.text)
			if ln.size < tagMinSize || !ln.bold {
				t.Errorf("%s: line %q is %v pt, bold %v; want at least %v pt bold", tc.tag, ln.text, ln.size, ln.bold, tagMinSize)
			}
		}
		if strings.Join(got, "|") != strings.Join(tc.lines, "|") {
			t.Errorf("%s: lines %q, want %q", tc.tag, got, tc.lines)
		}
	}
}

// BenchmarkLabelSheetPDF makes sheets for 1,000 units of a few products, with
// Chinese names when a CJK font is installed.
func BenchmarkLabelSheetPDF(b *testing.B) {
	names := []string{"轮椅", "助行器", "洗澡椅", "坐便椅", "Rollator R-8"}
	labels := make([]Label, 1000)
	for i := range labels {
		labels[i] = Label{Tag: fmt.Sprintf("JZ-WC-%04d", i+1), Name: names[i%len(names)], Station: "解放区民主路站"}
	}
	b.ReportAllocs()
	var size int
	for b.Loop() {
		out, err := LabelSheetPDF(labels, LabelOptions{})
		if err != nil {
			b.Fatal(err)
		}
		size = len(out)
	}
	b.ReportMetric(float64(size), "pdf-bytes")
}
