package reports

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io/fs"
	"os"
	"strconv"
	"strings"

	"github.com/go-pdf/fpdf"
	"golang.org/x/image/font"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/font/sfnt"
	"golang.org/x/image/math/fixed"
	"golang.org/x/text/encoding/charmap"
)

// CJKFonts are the font files tried, in order, for Chinese text in PDFs
// (Debian's fonts-noto-cjk first), as for label sheets. fpdf cannot embed
// these CFF collections, so Chinese text is drawn as images at 300 dpi;
// everything Latin (figures, dates, the hash) stays text a reader can copy.
var CJKFonts = []string{
	"/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
	"/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
	"/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
}

const pdfDPI = 300.0

// PDF writes the statement on A4: a summary page (operator, month, status,
// hash, totals by tier, station and district) and then the lines, in zh
// or en. The hash is printed on every page's footer.
func PDF(st Statement, lang string) ([]byte, error) {
	w := wordsFor(lang)
	p, err := newPainter()
	if err != nil {
		return nil, err
	}
	defer p.close()
	pdf := p.pdf
	c := st.Content
	pdf.SetFooterFunc(func() {
		pdf.SetFont("Helvetica", "", 7)
		pdf.SetXY(15, 285)
		pdf.CellFormat(180, 4, p.latin(fmt.Sprintf("%s %s · SHA-256 %s · %d", c.OperatorID, c.Month, st.Hash, pdf.PageNo())), "", 0, "C", false, 0, "")
	})
	pdf.AddPage()
	y := 18.0
	p.text(15, y, w.title+" · "+c.Month, 16, true)
	y += 10
	for _, kv := range [][2]string{{w.operator, c.OperatorID}, {w.month, c.Month}, {w.status, string(st.Status)}, {w.hash, ""}} {
		p.text(15, y, kv[0], 10, false)
		p.text(70, y, kv[1], 10, false)
		y += 6
	}
	p.text(15, y, st.Hash, 9, false)
	y += 6
	if st.Status == Draft || st.Status == Returned {
		p.text(15, y, w.draftNote, 10, true)
		y += 6
	}
	cols := []float64{15, 90, 110, 135, 160}
	table := func(title string, ts []Total, name func(Total) string) {
		y += 4
		p.text(cols[0], y, title, 11, true)
		for i, h := range []string{w.lines, w.standard, w.renter, w.subsidy} {
			p.text(cols[i+1], y, h, 7, false)
		}
		y += 6
		for _, t := range ts {
			if y > 270 {
				pdf.AddPage()
				y = 18
			}
			p.text(cols[0], y, name(t), 9, false)
			for i, v := range []string{strconv.Itoa(t.Lines), Yuan(t.StandardFen), Yuan(t.RenterFen), Yuan(t.SubsidyFen)} {
				p.text(cols[i+1], y, v, 9, false)
			}
			y += 5
		}
	}
	key := func(t Total) string { return t.Key }
	table(w.total, []Total{c.Total}, func(Total) string { return w.total })
	table(w.byTier, c.ByTier, key)
	table(w.byStation, c.ByStation, func(t Total) string {
		if lang == "en" && t.NameEn != "" {
			return t.NameEn
		}
		return t.Name
	})
	table(w.byDistrict, c.ByDistrict, key)

	// The lines: date, station, renter, tier, proof, days, standard,
	// renter paid, subsidy, policy version.
	lx := []float64{10, 28, 62, 80, 100, 128, 140, 158, 176, 193}
	heads := []int{0, 3, 6, 7, 8, 10, 11, 12, 13, 14}
	header := func() {
		for i, h := range heads {
			p.text(lx[i], y, w.cols[h], 6.5, true)
		}
		y += 5
	}
	pdf.AddPage()
	y = 18
	p.text(10, y, w.title+" · "+c.Month+" · "+w.lines, 12, true)
	y += 8
	header()
	for _, l := range c.Lines {
		if y > 278 {
			pdf.AddPage()
			y = 18
			header()
		}
		kind := l.Kind
		if l.Adjustment {
			kind += " (" + w.adjustment + ")"
		}
		p.text(lx[0], y, l.Day, 7, false)
		p.text(lx[1], y, l.stationName(lang), 7, false)
		p.text(lx[2], y, l.RenterName, 7, false)
		p.text(lx[3], y, string(l.Tier), 7, false)
		p.text(lx[4], y, l.ProofType+" "+l.ProofExpires, 6, false)
		p.text(lx[5], y, strconv.Itoa(l.Days), 7, false)
		p.text(lx[6], y, Yuan(l.StandardFen), 7, false)
		p.text(lx[7], y, Yuan(l.RenterFen), 7, false)
		p.text(lx[8], y, Yuan(l.SubsidyFen), 7, false)
		p.text(lx[9], y, strconv.Itoa(l.PolicyVersion), 7, false)
		y += 3.5
		p.text(lx[1], y, l.LeaseID+" · "+l.Charge+" · "+kind, 5.5, false)
		y += 3.5
	}
	var buf bytes.Buffer
	if err := pdf.Output(&buf); err != nil {
		return nil, fmt.Errorf("reports: pdf: %w", err)
	}
	return buf.Bytes(), nil
}

// newPainter starts an A4 document with 15 mm margins and no automatic
// page breaks (the callers place every line), with the CJK font open when
// the machine has one; close releases the font.
func newPainter() (*painter, error) {
	p := &painter{pdf: fpdf.New("P", "mm", "A4", ""), latin: fpdf.New("P", "mm", "A4", "").UnicodeTranslatorFromDescriptor(""), drawn: map[string]cjkImage{}}
	cjk, err := openCJK()
	if err != nil {
		return nil, err
	}
	p.cjk = cjk
	p.pdf.SetMargins(15, 15, 15)
	p.pdf.SetAutoPageBreak(false, 15)
	return p, nil
}

func (p *painter) close() {
	if p.cjk != nil {
		p.cjk.file.Close()
	}
}

type painter struct {
	pdf   *fpdf.Fpdf
	latin func(string) string
	cjk   *cjkFace
	// drawn names each image already in the PDF by its text and size: a
	// statement repeats station names and masked names many times.
	drawn map[string]cjkImage
}

type cjkImage struct {
	name         string
	w, h, ascent float64
}

func isLatin(s string) bool {
	for _, r := range s {
		if _, ok := charmap.Windows1252.EncodeRune(r); !ok {
			return false
		}
	}
	return true
}

// text draws s with its baseline at y: Helvetica when it can, otherwise an
// image of the CJK font, otherwise Helvetica with what it cannot show as ?.
func (p *painter) text(x, y float64, s string, size float64, bold bool) {
	if s == "" {
		return
	}
	style := ""
	if bold {
		style = "B"
	}
	if isLatin(s) || p.cjk == nil {
		p.pdf.SetFont("Helvetica", style, size)
		p.pdf.Text(x, y, p.latin(s))
		return
	}
	key := strconv.FormatFloat(size, 'f', 1, 64) + "|" + s
	img, ok := p.drawn[key]
	if !ok {
		data, w, h, ascent, err := p.cjk.render(s, size)
		if err != nil {
			p.pdf.SetFont("Helvetica", style, size)
			p.pdf.Text(x, y, p.latin(s))
			return
		}
		img = cjkImage{name: "t" + strconv.Itoa(len(p.drawn)), w: w, h: h, ascent: ascent}
		p.pdf.RegisterImageOptionsReader(img.name, fpdf.ImageOptions{ImageType: "PNG"}, bytes.NewReader(data))
		p.drawn[key] = img
	}
	p.pdf.ImageOptions(img.name, x, y-img.ascent, img.w, img.h, false, fpdf.ImageOptions{ImageType: "PNG"}, 0, "")
}

type cjkFace struct {
	file  *os.File
	font  *sfnt.Font
	faces map[float64]font.Face
}

func openCJK() (*cjkFace, error) {
	for _, path := range CJKFonts {
		f, err := os.Open(path)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("reports: CJK font: %w", err)
		}
		coll, err := sfnt.ParseCollectionReaderAt(f)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("reports: CJK font %s: %w", path, err)
		}
		c := &cjkFace{file: f, faces: map[float64]font.Face{}}
		var buf sfnt.Buffer
		for i := 0; i < coll.NumFonts(); i++ {
			fnt, err := coll.Font(i)
			if err != nil {
				break
			}
			if c.font == nil {
				c.font = fnt
			}
			if name, err := fnt.Name(&buf, sfnt.NameIDFamily); err == nil && strings.HasSuffix(name, " SC") {
				c.font = fnt
				break
			}
		}
		if c.font == nil {
			f.Close()
			continue
		}
		return c, nil
	}
	return nil, nil
}

func mm(px int) float64 { return float64(px) * 25.4 / pdfDPI }

// render draws s in black on white; it returns the PNG, its size and its
// ascent in mm.
func (c *cjkFace) render(s string, size float64) ([]byte, float64, float64, float64, error) {
	face, ok := c.faces[size]
	if !ok {
		var err error
		if face, err = opentype.NewFace(c.font, &opentype.FaceOptions{Size: size, DPI: pdfDPI, Hinting: font.HintingNone}); err != nil {
			return nil, 0, 0, 0, err
		}
		c.faces[size] = face
	}
	m := face.Metrics()
	wpx, ascent := font.MeasureString(face, s).Ceil(), m.Ascent.Ceil()
	img := image.NewGray(image.Rect(0, 0, max(wpx, 1), ascent+m.Descent.Ceil()))
	for i := range img.Pix {
		img.Pix[i] = 0xff
	}
	d := font.Drawer{Dst: img, Src: image.NewUniform(color.Gray{Y: 0}), Face: face, Dot: fixed.P(0, ascent)}
	d.DrawString(s)
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return nil, 0, 0, 0, err
	}
	b := img.Bounds()
	return buf.Bytes(), mm(b.Dx()), mm(b.Dy()), mm(ascent), nil
}
