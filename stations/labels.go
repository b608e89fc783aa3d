package stations

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io/fs"
	"os"
	"strings"
	"unicode/utf8"

	"github.com/go-pdf/fpdf"
	"github.com/skip2/go-qrcode"
	"golang.org/x/image/font"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/font/sfnt"
	"golang.org/x/image/math/fixed"
	"golang.org/x/text/encoding/charmap"

	"fuju/internal/valid"
)

// Label is one sticker of a label sheet: the unit's asset tag, which the QR code
// encodes, and what a person reads beside it.
type Label struct {
	Tag     string // asset tag, e.g. JZ-WC-0001; must pass ValidTag
	Name    string // product short name, may be Chinese
	Station string // station name, may be Chinese or empty
}

// LabelOptions configures LabelSheetPDF. The zero value is ready to use.
type LabelOptions struct {
	// CJKFont is the path of a TrueType or OpenType font or collection (.ttf,
	// .otf, .ttc, .otc) used to draw names that Helvetica cannot show. Empty
	// tries DefaultCJKFonts in order. A path that does not exist means "no
	// font" (names fall back as LabelSheetPDF describes); a file that exists
	// but is not a font is an error, since that is a misconfiguration.
	CJKFont string
}

// DefaultCJKFonts are the font files tried, in order, when LabelOptions.CJKFont
// is empty: the Simplified Chinese face of Debian's fonts-noto-cjk, then
// WenQuanYi Micro Hei and Droid Sans Fallback.
var DefaultCJKFonts = []string{
	"/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
	"/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
	"/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
}

// MaxLabels bounds one LabelSheetPDF call (about 200 sheets).
const MaxLabels = 5000

// maxLabelText bounds a label's name and station, as Text bounds names.
const maxLabelText = 200

// Sheet geometry in millimetres. The stock is the common gapless A4 sheet of
// 24 labels of 70 × 37 mm in 3 columns and 8 rows (Avery Zweckform 3474 and
// its equivalents): 3 × 70 mm fill the 210 mm width exactly, so there is no
// side margin, and 8 × 37 mm = 296 mm leave 1 mm of the 297 mm height, split
// as 0.5 mm above and below. Because labels run to the paper's edge, where
// printers cannot print (3–5 mm), everything drawn keeps at least 4 mm from the
// sheet's edges; only the QR code's white quiet zone may reach into that band.
const (
	labelCols   = 3
	labelRows   = 8
	labelW      = 70.0
	labelH      = 37.0
	sheetTop    = 0.5
	sheetLeft   = 0.0
	perSheet    = labelCols * labelRows
	qrSide      = 31.0 // the QR code with its 4-module quiet zone
	qrLeft      = 1.0  // from the label's left edge
	textLeft    = 33.0 // from the label's left edge
	textRight   = 65.0 // 5 mm from the label's right edge
	textWidth   = textRight - textLeft
	tagSize     = 16.0 // points, shrunk to fit but never below tagMinSize
	tagMinSize  = 14.0
	nameSize    = 10.0
	nameMinSize = 7.0
	stationSize = 7.0
	lineGap     = 1.2 // mm between lines
	ptMM        = 25.4 / 72
	rasterDPI   = 300.0 // resolution of names drawn as images
)

// LabelSheetPDF returns an A4 PDF of QR asset-tag labels, 24 per sheet (see the
// sheet geometry above), as many sheets as needed, in the order given.
//
// Each label has, on the left, a QR code of the tag exactly as given
// (error-correction level M, with its 4-module quiet zone; every valid tag fits
// QR version 1, so the symbol is 22.4 mm wide, 31 mm with the quiet zone) and, on
// the right, the tag in bold Helvetica (16 pt, or down to 14 pt for long tags),
// the product name (10 pt, down to 7 pt, then cut with "…") and the station name
// (7 pt).
//
// Names are drawn as text in the PDF's standard Helvetica when every character
// is in Windows-1252 (Latin). Other names, Chinese ones in particular, are
// rendered to a 300 dpi grayscale image in Go with the font at opts.CJKFont (or
// the first of DefaultCJKFonts that exists) and placed on the label, so the PDF
// embeds no font and needs none to print. When no such font is present, or it
// lacks a character of the name, that name is left off: the label still has
// the QR code and the tag, which is all the desk needs; a person can read the
// product from the unit itself.
//
// It returns a validation error (errors.Is valid.ErrInvalid) for no labels,
// more than MaxLabels, an invalid tag, or a name or station longer than 200
// characters, naming the field ("labels[3].tag").
func LabelSheetPDF(labels []Label, opts LabelOptions) ([]byte, error) {
	pdf, err := labelSheet(labels, opts)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := pdf.Output(&buf); err != nil {
		return nil, fmt.Errorf("stations: label sheet: %w", err)
	}
	return buf.Bytes(), nil
}

func validateLabels(labels []Label) error {
	e := &valid.Error{}
	switch {
	case len(labels) == 0:
		e.Add("labels", "required", "must list at least one label")
	case len(labels) > MaxLabels:
		e.Add("labels", "max_items", fmt.Sprintf("must list at most %d labels", MaxLabels), "max", MaxLabels)
	}
	for i, l := range labels {
		if !ValidTag(l.Tag) {
			e.Add(fmt.Sprintf("labels[%d].tag", i), "tag", fmt.Sprintf("must look like JZ-WC-0001 (city, type, number), got %q", l.Tag))
		}
		if utf8.RuneCountInString(l.Name) > maxLabelText {
			e.Add(fmt.Sprintf("labels[%d].name", i), "max_length", fmt.Sprintf("must be at most %d characters", maxLabelText), "max", maxLabelText)
		}
		if utf8.RuneCountInString(l.Station) > maxLabelText {
			e.Add(fmt.Sprintf("labels[%d].station", i), "max_length", fmt.Sprintf("must be at most %d characters", maxLabelText), "max", maxLabelText)
		}
	}
	return e.Err()
}

// labelSheet builds the document; tests inspect it before it is written.
func labelSheet(labels []Label, opts LabelOptions) (*fpdf.Fpdf, error) {
	if err := validateLabels(labels); err != nil {
		return nil, err
	}
	cjk, err := openCJKFont(opts.CJKFont)
	if err != nil {
		return nil, err
	}
	if cjk != nil {
		defer cjk.close()
	}

	pdf := fpdf.New("P", "mm", "A4", "")
	pdf.SetMargins(0, 0, 0)
	pdf.SetAutoPageBreak(false, 0)
	pdf.SetTitle("Fuju asset labels", true)
	pdf.SetCreator("Fuju", true)
	p := &labelPainter{pdf: pdf, latin: pdf.UnicodeTranslatorFromDescriptor(""), cjk: cjk,
		images: map[imageKey]placedImage{}, fitted: map[fitKey]fitResult{}}
	for i, l := range labels {
		if i%perSheet == 0 {
			pdf.AddPage()
		}
		n := i % perSheet
		x := sheetLeft + float64(n%labelCols)*labelW
		y := sheetTop + float64(n/labelCols)*labelH
		if err := p.label(x, y, l); err != nil {
			return nil, fmt.Errorf("stations: label %s: %w", l.Tag, err)
		}
	}
	if err := pdf.Error(); err != nil {
		return nil, fmt.Errorf("stations: label sheet: %w", err)
	}
	return pdf, nil
}

// qrModules returns the QR code of content at level M as rows of modules, true
// for dark, including the 4-module quiet zone.
func qrModules(content string) ([][]bool, error) {
	q, err := qrcode.New(content, qrcode.Medium)
	if err != nil {
		return nil, err
	}
	return q.Bitmap(), nil
}

type labelPainter struct {
	pdf    *fpdf.Fpdf
	latin  func(string) string // UTF-8 to Windows-1252, Helvetica's encoding
	cjk    *cjkFont            // nil when no font was found
	images map[imageKey]placedImage
	fitted map[fitKey]fitResult // a sheet repeats a few names many times
}

type fitKey struct {
	text          string
	size, minSize float64
	bold          bool
	gray          uint8
}

type fitResult struct {
	line textLine
	ok   bool
}

// label draws one label with its top-left corner at (x, y).
func (p *labelPainter) label(x, y float64, l Label) error {
	mods, err := qrModules(l.Tag)
	if err != nil {
		return err
	}
	p.qr(x+qrLeft, y+(labelH-qrSide)/2, qrSide/float64(len(mods)), mods)

	// Lay the lines out first, then centre the block beside the QR code.
	var lines []textLine
	lines = append(lines, p.fitTag(l.Tag)...)
	if ln, ok := p.fit(l.Name, nameSize, nameMinSize, false, 0); ok {
		lines = append(lines, ln)
	}
	if ln, ok := p.fit(l.Station, stationSize, stationSize, false, 80); ok {
		lines = append(lines, ln)
	}
	height := -lineGap
	for _, ln := range lines {
		height += ln.ascent + ln.descent + lineGap
	}
	top := y + (labelH-height)/2
	for _, ln := range lines {
		if err := p.draw(x+textLeft, top+ln.ascent, ln); err != nil {
			return err
		}
		top += ln.ascent + ln.descent + lineGap
	}
	return nil
}

// qr fills every run of dark modules as one rectangle, all in a single path:
// one fill leaves no hairline seams between neighbouring rectangles on screen.
func (p *labelPainter) qr(x, y, module float64, mods [][]bool) {
	p.pdf.SetFillColor(0, 0, 0)
	for r, row := range mods {
		for c := 0; c < len(row); {
			if !row[c] {
				c++
				continue
			}
			start := c
			for c < len(row) && row[c] {
				c++
			}
			x0, y0 := x+float64(start)*module, y+float64(r)*module
			x1, y1 := x+float64(c)*module, y0+module
			p.pdf.MoveTo(x0, y0)
			p.pdf.LineTo(x1, y0)
			p.pdf.LineTo(x1, y1)
			p.pdf.LineTo(x0, y1)
			p.pdf.ClosePath()
		}
	}
	p.pdf.DrawPath("F")
}

// textLine is one line of a label, fitted to the text column.
type textLine struct {
	text            string
	size            float64 // points
	bold            bool
	gray            uint8
	image           bool    // drawn as an image with the CJK font
	ascent, descent float64 // mm
}

// fitTag fits the tag on one line at 16 to 14 pt, or, for a tag too long for
// that, breaks it after its last dash into two lines at 14 pt.
func (p *labelPainter) fitTag(tag string) []textLine {
	if ln, ok := p.fitLatin(tag, tagSize, tagMinSize, true, 0, false); ok {
		return []textLine{ln}
	}
	i := strings.LastIndexByte(tag, '-') + 1
	a, _ := p.fitLatin(tag[:i], tagMinSize, 1, true, 0, false)
	b, _ := p.fitLatin(tag[i:], tagMinSize, 1, true, 0, false)
	return []textLine{a, b}
}

// fit fits s to the text column at size, shrinking it down to minSize and then
// cutting it with "…". It reports false for an empty s or one that can be drawn
// neither in Helvetica nor with the CJK font.
func (p *labelPainter) fit(s string, size, minSize float64, bold bool, gray uint8) (textLine, bool) {
	key := fitKey{s, size, minSize, bold, gray}
	if r, ok := p.fitted[key]; ok {
		return r.line, r.ok
	}
	ln, ok := p.fitText(s, size, minSize, bold, gray)
	p.fitted[key] = fitResult{ln, ok}
	return ln, ok
}

func (p *labelPainter) fitText(s string, size, minSize float64, bold bool, gray uint8) (textLine, bool) {
	s = strings.Join(strings.Fields(s), " ")
	if s == "" {
		return textLine{}, false
	}
	if isLatin(s) {
		ln, _ := p.fitLatin(s, size, minSize, bold, gray, true)
		return ln, true
	}
	if p.cjk == nil || !p.cjk.covers(s) {
		return textLine{}, false
	}
	width := func(s string, size float64) float64 { return p.cjk.width(s, size) }
	s, size = fitWidth(s, size, minSize, width)
	m := p.cjk.metrics(size)
	return textLine{text: s, size: size, gray: gray, image: true, ascent: m.ascent, descent: m.descent}, true
}

// fitLatin fits s in Helvetica; ok is false when it does not fit at minSize
// and cut is false.
func (p *labelPainter) fitLatin(s string, size, minSize float64, bold bool, gray uint8, cut bool) (ln textLine, ok bool) {
	style := ""
	if bold {
		style = "B"
	}
	width := func(s string, size float64) float64 {
		p.pdf.SetFont("Helvetica", style, size)
		return p.pdf.GetStringWidth(p.latin(s))
	}
	ok = true
	if cut {
		s, size = fitWidth(s, size, minSize, width)
	} else {
		if w := width(s, size); w > textWidth {
			size = max(minSize, size*textWidth/w)
		}
		ok = width(s, size) <= textWidth+1e-9
	}
	// Helvetica's ascender and descender, from its AFM: 718 and 207 per 1000.
	return textLine{text: s, size: size, bold: bold, gray: gray, ascent: 0.718 * size * ptMM, descent: 0.207 * size * ptMM}, ok
}

// fitWidth shrinks size until s fits textWidth, down to minSize, and then
// drops characters from the end, adding "…", until it fits.
func fitWidth(s string, size, minSize float64, width func(string, float64) float64) (string, float64) {
	if w := width(s, size); w > textWidth {
		size = max(minSize, size*textWidth/w)
	}
	if width(s, size) <= textWidth+1e-9 {
		return s, size
	}
	r := []rune(s)
	for len(r) > 1 {
		r = r[:len(r)-1]
		if t := strings.TrimSpace(string(r)) + "…"; width(t, size) <= textWidth {
			return t, size
		}
	}
	return string(r), size
}

// draw places ln with its baseline at (x, baseline).
func (p *labelPainter) draw(x, baseline float64, ln textLine) error {
	if !ln.image {
		style := ""
		if ln.bold {
			style = "B"
		}
		p.pdf.SetFont("Helvetica", style, ln.size)
		p.pdf.SetTextColor(int(ln.gray), int(ln.gray), int(ln.gray))
		p.pdf.Text(x, baseline, p.latin(ln.text))
		return nil
	}
	key := imageKey{ln.text, ln.size, ln.gray}
	img, ok := p.images[key]
	if !ok {
		data, w, h, err := p.cjk.render(ln.text, ln.size, ln.gray)
		if err != nil {
			return err
		}
		img = placedImage{name: fmt.Sprintf("text%d", len(p.images)), w: w, h: h}
		p.pdf.RegisterImageOptionsReader(img.name, fpdf.ImageOptions{ImageType: "PNG"}, bytes.NewReader(data))
		p.images[key] = img
	}
	p.pdf.ImageOptions(img.name, x, baseline-ln.ascent, img.w, img.h, false, fpdf.ImageOptions{ImageType: "PNG"}, 0, "")
	return nil
}

// imageKey identifies a rendered name; a sheet of one product's units renders
// its name once and the PDF holds the image once.
type imageKey struct {
	text string
	size float64
	gray uint8
}

type placedImage struct {
	name string
	w, h float64 // mm
}

// isLatin reports whether Helvetica, in the PDF's Windows-1252 encoding, can
// show every character of s.
func isLatin(s string) bool {
	for _, r := range s {
		if r == utf8.RuneError {
			return false
		}
		if _, ok := charmap.Windows1252.EncodeRune(r); !ok {
			return false
		}
	}
	return true
}

// cjkFont draws text that Helvetica cannot, from a font file read lazily (a
// Noto CJK collection is about 20 MB; a label sheet touches a few glyphs).
type cjkFont struct {
	file  *os.File
	font  *sfnt.Font
	buf   sfnt.Buffer
	faces map[float64]font.Face
}

// openCJKFont opens path, or the first of DefaultCJKFonts that exists when path
// is empty; it returns nil, nil when there is no font file.
func openCJKFont(path string) (*cjkFont, error) {
	paths := DefaultCJKFonts
	if path != "" {
		paths = []string{path}
	}
	for _, p := range paths {
		f, err := os.Open(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("stations: CJK font: %w", err)
		}
		c, err := parseCJKFont(f)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("stations: CJK font %s: %w", p, err)
		}
		return c, nil
	}
	return nil, nil
}

// parseCJKFont reads a font or a collection; from a collection such as Noto
// Sans CJK (Japanese, Korean, Simplified and Traditional Chinese faces) it
// takes the Simplified Chinese face, whose family name ends in "SC".
func parseCJKFont(f *os.File) (*cjkFont, error) {
	coll, err := sfnt.ParseCollectionReaderAt(f)
	if err != nil {
		return nil, err
	}
	c := &cjkFont{file: f, faces: map[float64]font.Face{}}
	for i := 0; i < coll.NumFonts(); i++ {
		fnt, err := coll.Font(i)
		if err != nil {
			return nil, err
		}
		if c.font == nil {
			c.font = fnt
		}
		if name, err := fnt.Name(&c.buf, sfnt.NameIDFamily); err == nil && strings.HasSuffix(name, " SC") {
			c.font = fnt
			break
		}
	}
	if c.font == nil {
		return nil, errors.New("no font in the file")
	}
	return c, nil
}

func (c *cjkFont) close() { c.file.Close() }

// covers reports whether the font has a glyph for every character of s.
func (c *cjkFont) covers(s string) bool {
	for _, r := range s {
		if g, err := c.font.GlyphIndex(&c.buf, r); err != nil || g == 0 {
			return false
		}
	}
	return true
}

// face returns the font at size points, at the resolution of rendered names.
func (c *cjkFont) face(size float64) font.Face {
	if f, ok := c.faces[size]; ok {
		return f
	}
	// NewFace fails only for nil options.
	f, _ := opentype.NewFace(c.font, &opentype.FaceOptions{Size: size, DPI: rasterDPI, Hinting: font.HintingNone})
	c.faces[size] = f
	return f
}

func pxMM(px int) float64 { return float64(px) * 25.4 / rasterDPI }

// width returns the width of s at size points, in mm.
func (c *cjkFont) width(s string, size float64) float64 {
	return pxMM(font.MeasureString(c.face(size), s).Ceil())
}

type lineMetrics struct{ ascent, descent float64 } // mm

func (c *cjkFont) metrics(size float64) lineMetrics {
	m := c.face(size).Metrics()
	return lineMetrics{ascent: pxMM(m.Ascent.Ceil()), descent: pxMM(m.Descent.Ceil())}
}

// render draws s in gray on white and returns it as a PNG with its size in mm.
func (c *cjkFont) render(s string, size float64, gray uint8) (data []byte, w, h float64, err error) {
	face := c.face(size)
	m := face.Metrics()
	wpx, ascent := font.MeasureString(face, s).Ceil(), m.Ascent.Ceil()
	img := image.NewGray(image.Rect(0, 0, max(wpx, 1), ascent+m.Descent.Ceil()))
	for i := range img.Pix {
		img.Pix[i] = 0xff
	}
	d := font.Drawer{Dst: img, Src: image.NewUniform(color.Gray{Y: gray}), Face: face, Dot: fixed.P(0, ascent)}
	d.DrawString(s)
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return nil, 0, 0, err
	}
	b := img.Bounds()
	return buf.Bytes(), pxMM(b.Dx()), pxMM(b.Dy()), nil
}
