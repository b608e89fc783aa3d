package media

import (
	"bytes"
	"fmt"
	"hash/fnv"
	"image"
	"image/color"
	"image/jpeg"
	"math"
	"strings"

	"golang.org/x/image/draw"
	"golang.org/x/image/font"
	"golang.org/x/image/font/gofont/gobold"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/font/sfnt"
	"golang.org/x/image/math/fixed"
	"golang.org/x/image/vector"
)

// Demo image size: 4:3, large enough that every variant is produced.
const (
	demoW = 1200
	demoH = 900
)

// DemoImage draws a product photo for seeding and demos: a background colour
// derived from seed, a pictogram of the category (one of the category ids,
// e.g. "rollator"; an unknown id gets a neutral symbol) and the product's
// short name. It returns JPEG bytes, to go through SavePhoto like any upload.
// The same arguments always give the same bytes.
//
// The name is drawn with the embedded Go Bold font, which has Latin glyphs
// only: pass the English short name. Characters the font lacks are left out
// rather than drawn as boxes, because fonts-noto-cjk is not guaranteed at
// runtime and the binary must not depend on files.
func DemoImage(category string, seed int, name string) ([]byte, error) {
	img := image.NewRGBA(image.Rect(0, 0, demoW, demoH))
	h := fnv.New32a()
	h.Write([]byte(category))
	// The golden ratio spreads consecutive seeds around the colour wheel.
	hue := math.Mod(float64(seed)*0.618033988749895+float64(h.Sum32()%1000)/1000, 1)
	bg := hsl(hue, 0.45, 0.86)
	c := &canvas{img: img, z: vector.NewRasterizer(demoW, demoH), ox: demoW / 2, oy: 380,
		ink: hsl(hue, 0.55, 0.22), accent: hsl(math.Mod(hue+0.5, 1), 0.55, 0.40), bg: bg, tyre: color.RGBA{0x2a, 0x2a, 0x2e, 0xff}}
	draw.Draw(img, img.Bounds(), image.NewUniform(bg), image.Point{}, draw.Src)
	// A lighter disc behind the pictogram frames it like a studio shot.
	c.circle(0, 0, 330, hsl(hue, 0.45, 0.93))
	c.pictogram(category)
	if err := drawName(img, name, c.ink); err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 90}); err != nil {
		return nil, fmt.Errorf("media: encode demo image: %w", err)
	}
	return buf.Bytes(), nil
}

// drawName centres the name under the pictogram, shrinking the type until it
// fits the width.
func drawName(img *image.RGBA, name string, ink color.Color) error {
	f, err := opentype.Parse(gobold.TTF)
	if err != nil {
		return fmt.Errorf("media: demo font: %w", err)
	}
	var sb sfnt.Buffer
	var text []rune
	for _, r := range name {
		if r == ' ' {
			text = append(text, r)
			continue
		}
		if gi, err := f.GlyphIndex(&sb, r); err == nil && gi != 0 {
			text = append(text, r)
		}
	}
	// Dropped glyphs may leave doubled or trailing spaces; they would push
	// the name off centre.
	label := strings.Join(strings.Fields(string(text)), " ")
	for size := 80.0; size >= 24; size -= 8 {
		face, err := opentype.NewFace(f, &opentype.FaceOptions{Size: size, DPI: 72, Hinting: font.HintingNone})
		if err != nil {
			return fmt.Errorf("media: demo font: %w", err)
		}
		d := &font.Drawer{Dst: img, Src: image.NewUniform(ink), Face: face}
		w := d.MeasureString(label).Ceil()
		if w > demoW-80 && size > 24 {
			face.Close()
			continue
		}
		d.Dot = fixed.P((demoW-w)/2, 830)
		d.DrawString(label)
		face.Close()
		return nil
	}
	return nil
}

// hsl converts hue, saturation and lightness in [0, 1] to an opaque colour.
func hsl(h, s, l float64) color.RGBA {
	q := l * (1 + s)
	if l >= 0.5 {
		q = l + s - l*s
	}
	p := 2*l - q
	f := func(t float64) uint8 {
		t = math.Mod(t+1, 1)
		var v float64
		switch {
		case t < 1.0/6:
			v = p + (q-p)*6*t
		case t < 0.5:
			v = q
		case t < 2.0/3:
			v = p + (q-p)*(2.0/3-t)*6
		default:
			v = p
		}
		return uint8(math.Round(v * 255))
	}
	return color.RGBA{f(h + 1.0/3), f(h), f(h - 1.0/3), 0xff}
}

// canvas draws anti-aliased shapes in coordinates centred on (ox, oy). A
// shape's path is recorded first and rasterized over its bounding box only;
// rasterizing the whole 1200×900 canvas per stroke made a picture take a second.
type canvas struct {
	img                   *image.RGBA
	z                     *vector.Rasterizer
	ox, oy                float32
	ink, accent, bg, tyre color.RGBA
	path                  []pathOp
}

// pathOp is one recorded path command in canvas pixels: 'M'ove, 'L'ine,
// 'C'ubic or 'Z' close, with its points.
type pathOp struct {
	op  byte
	pts [6]float32
}

func (c *canvas) begin() { c.path = c.path[:0] }

func (c *canvas) moveTo(x, y float32) {
	c.path = append(c.path, pathOp{op: 'M', pts: [6]float32{c.ox + x, c.oy + y}})
}
func (c *canvas) lineTo(x, y float32) {
	c.path = append(c.path, pathOp{op: 'L', pts: [6]float32{c.ox + x, c.oy + y}})
}
func (c *canvas) closePath() { c.path = append(c.path, pathOp{op: 'Z'}) }
func (c *canvas) cubeTo(x1, y1, x2, y2, x, y float32) {
	c.path = append(c.path, pathOp{op: 'C', pts: [6]float32{c.ox + x1, c.oy + y1, c.ox + x2, c.oy + y2, c.ox + x, c.oy + y}})
}

// paint fills the recorded path. A cubic stays inside its control points, so
// their bounding box bounds the shape.
func (c *canvas) paint(col color.RGBA) {
	minX, minY := float32(math.Inf(1)), float32(math.Inf(1))
	maxX, maxY := float32(math.Inf(-1)), float32(math.Inf(-1))
	for _, p := range c.path {
		n := 0
		switch p.op {
		case 'M', 'L':
			n = 1
		case 'C':
			n = 3
		}
		for i := range n {
			minX, maxX = min(minX, p.pts[2*i]), max(maxX, p.pts[2*i])
			minY, maxY = min(minY, p.pts[2*i+1]), max(maxY, p.pts[2*i+1])
		}
	}
	r := image.Rect(int(math.Floor(float64(minX)))-1, int(math.Floor(float64(minY)))-1,
		int(math.Ceil(float64(maxX)))+1, int(math.Ceil(float64(maxY)))+1).Intersect(c.img.Bounds())
	if r.Empty() {
		return
	}
	dx, dy := float32(r.Min.X), float32(r.Min.Y)
	c.z.Reset(r.Dx(), r.Dy())
	for _, p := range c.path {
		switch p.op {
		case 'M':
			c.z.MoveTo(p.pts[0]-dx, p.pts[1]-dy)
		case 'L':
			c.z.LineTo(p.pts[0]-dx, p.pts[1]-dy)
		case 'C':
			c.z.CubeTo(p.pts[0]-dx, p.pts[1]-dy, p.pts[2]-dx, p.pts[3]-dy, p.pts[4]-dx, p.pts[5]-dy)
		case 'Z':
			c.z.ClosePath()
		}
	}
	c.z.Draw(c.img, r, image.NewUniform(col), image.Point{})
}

// ellipsePath adds an ellipse; reverse draws it the other way round, which
// cuts a hole out of a shape drawn the normal way.
func (c *canvas) ellipsePath(cx, cy, rx, ry float32, reverse bool) {
	const k = 0.5522848 // cubic Bézier approximation of a quarter circle
	s := float32(1)
	if reverse {
		s = -1
	}
	c.moveTo(cx+rx, cy)
	c.cubeTo(cx+rx, cy+s*k*ry, cx+k*rx, cy+s*ry, cx, cy+s*ry)
	c.cubeTo(cx-k*rx, cy+s*ry, cx-rx, cy+s*k*ry, cx-rx, cy)
	c.cubeTo(cx-rx, cy-s*k*ry, cx-k*rx, cy-s*ry, cx, cy-s*ry)
	c.cubeTo(cx+k*rx, cy-s*ry, cx+rx, cy-s*k*ry, cx+rx, cy)
	c.closePath()
}

func (c *canvas) circle(cx, cy, r float32, col color.RGBA) {
	c.begin()
	c.ellipsePath(cx, cy, r, r, false)
	c.paint(col)
}

func (c *canvas) ellipse(cx, cy, rx, ry float32, col color.RGBA) {
	c.begin()
	c.ellipsePath(cx, cy, rx, ry, false)
	c.paint(col)
}

// ring draws a circle outline of thickness t.
func (c *canvas) ring(cx, cy, r, t float32, col color.RGBA) {
	c.begin()
	c.ellipsePath(cx, cy, r+t/2, r+t/2, false)
	c.ellipsePath(cx, cy, r-t/2, r-t/2, true)
	c.paint(col)
}

// wheel is a tyre with a hub and spokes: the mark of every wheeled device.
func (c *canvas) wheel(cx, cy, r float32, spokes int) {
	t := max(8, r/7)
	c.ring(cx, cy, r-t/2, t, c.tyre)
	for i := range spokes {
		a := float64(i) * math.Pi / float64(spokes)
		dx, dy := float32(math.Cos(a))*(r-t), float32(math.Sin(a))*(r-t)
		c.line(cx-dx, cy-dy, cx+dx, cy+dy, max(3, r/40), c.ink)
	}
	c.circle(cx, cy, max(6, r/9), c.ink)
}

func (c *canvas) polygon(col color.RGBA, pts ...float32) {
	c.begin()
	c.moveTo(pts[0], pts[1])
	for i := 2; i+1 < len(pts); i += 2 {
		c.lineTo(pts[i], pts[i+1])
	}
	c.closePath()
	c.paint(col)
}

// line draws a stroke of width w with round caps.
func (c *canvas) line(x1, y1, x2, y2, w float32, col color.RGBA) {
	dx, dy := x2-x1, y2-y1
	n := float32(math.Hypot(float64(dx), float64(dy)))
	if n == 0 {
		c.circle(x1, y1, w/2, col)
		return
	}
	px, py := -dy/n*w/2, dx/n*w/2
	c.polygon(col, x1+px, y1+py, x2+px, y2+py, x2-px, y2-py, x1-px, y1-py)
	c.circle(x1, y1, w/2, col)
	c.circle(x2, y2, w/2, col)
}

// polyline strokes the points in order.
func (c *canvas) polyline(w float32, col color.RGBA, pts ...float32) {
	for i := 0; i+3 < len(pts); i += 2 {
		c.line(pts[i], pts[i+1], pts[i+2], pts[i+3], w, col)
	}
}

// arc strokes part of a circle from angle a0 to a1 (radians, y down).
func (c *canvas) arc(cx, cy, r, a0, a1, w float32, col color.RGBA) {
	const steps = 24
	var pts []float32
	for i := range steps + 1 {
		a := float64(a0 + (a1-a0)*float32(i)/steps)
		pts = append(pts, cx+r*float32(math.Cos(a)), cy+r*float32(math.Sin(a)))
	}
	c.polyline(w, col, pts...)
}

func (c *canvas) rect(x, y, w, h float32, col color.RGBA) {
	c.polygon(col, x, y, x+w, y, x+w, y+h, x, y+h)
}

// roundRect fills a rectangle with corners of radius r.
func (c *canvas) roundRect(x, y, w, h, r float32, col color.RGBA) {
	c.rect(x+r, y, w-2*r, h, col)
	c.rect(x, y+r, w, h-2*r, col)
	for _, p := range [][2]float32{{x + r, y + r}, {x + w - r, y + r}, {x + r, y + h - r}, {x + w - r, y + h - r}} {
		c.circle(p[0], p[1], r, col)
	}
}

// pictogram draws the category's device, mostly side views, within about
// ±320 px of the origin. Frames are ink, wheels tyre-black, padding accent.
func (c *canvas) pictogram(category string) {
	ink, acc := c.ink, c.accent
	switch category {
	case "manual_wheelchair":
		c.line(-150, 40, 90, 40, 18, ink)       // seat rail
		c.line(90, 40, 125, -190, 18, ink)      // backrest
		c.line(125, -190, 185, -190, 16, ink)   // push handle
		c.line(-150, 40, -190, 190, 14, ink)    // front frame
		c.line(-225, 190, -165, 190, 14, ink)   // footplate
		c.line(-60, -50, 100, -50, 14, ink)     // armrest
		c.line(-55, -50, -55, 40, 12, ink)      // armrest post
		c.roundRect(-130, 8, 215, 30, 12, acc)  // cushion
		c.wheel(60, 120, 150, 6)                // drive wheel
		c.ring(60, 120, 122, 6, ink)            // push rim
		c.line(-190, 190, -185, 235, 10, ink)   // caster fork
		c.wheel(-185, 250, 32, 2)               // caster
		c.line(125, 160, 185, 215, 10, ink)     // anti-tip bar
		c.circle(190, 222, 11, c.tyre)          // anti-tip roller
		c.roundRect(-40, -64, 140, 26, 12, acc) // armrest pad
	case "transport_wheelchair":
		c.line(-150, 40, 110, 40, 18, ink)      // seat rail
		c.line(110, 40, 150, -200, 18, ink)     // backrest
		c.line(150, -200, 230, -200, 16, ink)   // attendant handle
		c.line(205, -212, 215, -170, 10, ink)   // brake lever
		c.line(-150, 40, -180, 200, 14, ink)    // front frame
		c.line(-215, 200, -155, 200, 14, ink)   // footplate
		c.line(110, 40, 95, 180, 14, ink)       // rear frame
		c.line(-50, -50, 120, -50, 14, ink)     // armrest
		c.line(-45, -50, -45, 40, 12, ink)      // armrest post
		c.roundRect(-130, 8, 230, 30, 12, acc)  // cushion
		c.roundRect(-20, -64, 130, 26, 12, acc) // armrest pad
		c.wheel(95, 230, 60, 3)                 // small rear wheel
		c.wheel(-175, 245, 45, 2)               // front wheel
	case "electric_wheelchair":
		c.line(-150, 20, 90, 20, 18, ink)                                            // seat rail
		c.line(90, 20, 110, -210, 18, ink)                                           // backrest
		c.roundRect(-150, -20, 230, 38, 14, acc)                                     // seat cushion
		c.roundRect(70, -210, 40, 220, 14, acc)                                      // back cushion
		c.line(-120, -80, 60, -80, 14, ink)                                          // armrest
		c.line(-110, -80, -110, 20, 12, ink)                                         // armrest post
		c.line(-125, -80, -150, -120, 10, ink)                                       // joystick stem
		c.circle(-153, -125, 16, c.tyre)                                             // joystick knob
		c.roundRect(-110, 40, 180, 90, 14, ink)                                      // battery
		c.polygon(c.bg, -5, 52, -40, 92, -15, 92, -30, 120, 15, 78, -10, 78, 10, 52) // bolt
		c.line(-150, 20, -190, 170, 14, ink)                                         // front frame
		c.line(-230, 170, -170, 170, 14, ink)                                        // footplate
		c.wheel(60, 190, 100, 5)                                                     // drive wheel
		c.wheel(-170, 250, 36, 2)                                                    // caster
		c.wheel(180, 250, 30, 2)                                                     // rear anti-tip
		c.line(110, 150, 175, 240, 10, ink)                                          // anti-tip arm
	case "walker":
		c.line(-170, -150, 170, -150, 18, ink)   // top bar
		c.line(-150, -150, -185, 250, 18, ink)   // left leg
		c.line(150, -150, 185, 250, 18, ink)     // right leg
		c.line(-165, 40, 165, 40, 12, ink)       // cross brace
		c.line(-120, -150, -150, 250, 12, ink)   // inner left leg
		c.line(120, -150, 150, 250, 12, ink)     // inner right leg
		c.roundRect(-200, -175, 80, 50, 16, acc) // grip
		c.roundRect(120, -175, 80, 50, 16, acc)  // grip
		for _, x := range []float32{-185, -150, 150, 185} {
			c.roundRect(x-16, 245, 32, 30, 8, c.tyre) // rubber tips
		}
	case "rollator":
		c.line(150, -190, 100, 220, 16, ink)    // rear leg
		c.line(150, -190, -150, 220, 16, ink)   // front leg
		c.line(120, -190, 200, -190, 16, ink)   // handle
		c.roundRect(150, -208, 70, 36, 14, acc) // grip
		c.line(200, -178, 180, -140, 8, ink)    // brake lever
		c.line(-60, 30, 170, 30, 16, ink)       // seat
		c.roundRect(-40, 10, 190, 26, 10, acc)  // seat pad
		c.rect(-40, 60, 130, 90, c.tyre)        // basket
		for x := float32(-20); x < 90; x += 26 {
			c.line(x, 66, x, 144, 4, c.bg) // basket mesh
		}
		c.wheel(100, 245, 50, 3) // rear wheel
		c.wheel(-150, 245, 50, 3)
	case "cane":
		c.line(-60, -170, -60, 250, 24, ink)               // shaft
		c.arc(-120, -170, 60, math.Pi, 2*math.Pi, 24, ink) // crook
		c.line(-180, -170, -180, -130, 24, ink)
		c.roundRect(-78, 240, 36, 36, 10, c.tyre) // tip
		c.line(120, -150, 120, 190, 22, ink)      // quad cane shaft
		c.line(120, -150, 200, -150, 22, ink)     // offset handle
		c.roundRect(150, -168, 70, 36, 14, acc)   // grip
		c.polygon(ink, 60, 190, 180, 190, 210, 240, 30, 240)
		for _, x := range []float32{40, 200} {
			c.roundRect(x-16, 238, 32, 36, 8, c.tyre) // feet
		}
	case "crutches":
		for _, s := range []float32{-1, 1} {
			x := s * 100
			c.line(x, -120, x+s*30, 260, 20, ink)          // shaft
			c.arc(x, -165, 40, 0, math.Pi, 18, acc)        // forearm cuff
			c.line(x, 0, x-s*70, 10, 20, ink)              // handle
			c.roundRect(x-s*70-24, -8, 48, 36, 14, acc)    // grip
			c.roundRect(x+s*30-16, 250, 32, 30, 8, c.tyre) // tip
			c.line(x, -125, x, -165, 16, ink)              // cuff stem
		}
	case "shower_chair":
		c.roundRect(-160, -210, 320, 130, 24, acc) // backrest
		for x := float32(-120); x <= 120; x += 60 {
			c.line(x, -180, x, -110, 10, c.bg) // slots
		}
		c.line(-150, -80, -150, 20, 14, ink)
		c.line(150, -80, 150, 20, 14, ink)
		c.roundRect(-190, 10, 380, 44, 18, acc) // seat
		for x := float32(-120); x <= 120; x += 60 {
			c.circle(x, 32, 9, c.bg) // drain holes
		}
		c.line(-170, 54, -200, 260, 16, ink)
		c.line(170, 54, 200, 260, 16, ink)
		c.line(-90, 54, -100, 260, 12, ink)
		c.line(90, 54, 100, 260, 12, ink)
		c.line(-185, 160, 185, 160, 10, ink)
		for _, x := range []float32{-200, -100, 100, 200} {
			c.roundRect(x-16, 252, 32, 24, 8, c.tyre)
		}
		for i, x := range []float32{-230, 0, 230} { // water drops
			y := float32(-270 + 20*(i%2))
			c.circle(x, y, 18, c.accent)
			c.polygon(c.accent, x-17, y-6, x+17, y-6, x, y-44)
		}
	case "commode_chair":
		c.roundRect(-160, -230, 320, 150, 22, acc) // backrest
		c.line(-150, -80, -150, 0, 14, ink)
		c.line(150, -80, 150, 0, 14, ink)
		c.line(-210, -70, -210, 0, 14, ink) // armrest posts
		c.line(210, -70, 210, 0, 14, ink)
		c.line(-230, -75, -140, -75, 18, ink) // armrests
		c.line(140, -75, 230, -75, 18, ink)
		c.line(-220, 0, 220, 0, 18, ink) // seat frame
		c.begin()                        // toilet seat: an oval ring
		c.ellipsePath(0, 0, 150, 26, false)
		c.ellipsePath(0, 0, 95, 12, true)
		c.paint(acc)
		c.polygon(c.tyre, -95, 40, 95, 40, 75, 175, -75, 175) // bucket
		c.arc(0, 40, 70, math.Pi, 2*math.Pi, 8, c.tyre)       // bucket handle
		c.line(-200, 0, -200, 215, 16, ink)
		c.line(200, 0, 200, 215, 16, ink)
		c.line(-200, 120, -110, 120, 10, ink)
		c.line(110, 120, 200, 120, 10, ink)
		c.wheel(-200, 240, 26, 2)
		c.wheel(200, 240, 26, 2)
	case "hospital_bed":
		c.roundRect(-330, -150, 30, 260, 10, ink) // headboard
		c.roundRect(300, -60, 30, 170, 10, ink)   // footboard
		c.line(-300, 90, 300, 90, 16, ink)        // base frame
		c.line(-170, 30, 290, 30, 16, ink)        // bed frame
		c.roundRect(-170, -20, 460, 50, 18, acc)  // mattress (flat part)
		c.line(-175, 5, -280, -90, 50, acc)       // raised back section
		c.ellipse(-250, -105, 50, 22, c.bg)       // pillow
		c.line(-100, -60, 200, -60, 10, ink)      // side rail
		for _, x := range []float32{-90, 0, 90, 190} {
			c.line(x, -60, x, -20, 8, ink)
		}
		c.line(-40, 30, 40, 90, 12, ink) // lift arm
		c.line(40, 30, -40, 90, 12, ink)
		c.line(-250, 90, -250, 195, 16, ink)
		c.line(250, 90, 250, 195, 16, ink)
		c.wheel(-250, 220, 28, 2)
		c.wheel(250, 220, 28, 2)
	case "pressure_mattress":
		c.roundRect(-310, 70, 620, 80, 20, ink) // base
		for i := range 10 {
			c.circle(-270+float32(i)*60, 58, 30, acc) // air cells
			c.ring(-270+float32(i)*60, 58, 30, 5, ink)
		}
		c.roundRect(140, -240, 170, 110, 18, ink) // pump
		c.circle(185, -185, 28, c.bg)             // dial
		c.line(185, -185, 200, -202, 6, ink)
		c.rect(235, -215, 55, 12, c.bg)
		c.rect(235, -190, 55, 12, c.bg)
		c.polyline(12, c.tyre, 160, -130, 140, -60, 60, -40, -20, -20, -60, 20) // hose
		for i, y := range []float32{-220, -170, -120} {
			x := float32(-250 + 40*i) // rising air
			c.arc(x, y, 26, 0.5*math.Pi, 1.5*math.Pi, 8, acc)
			c.arc(x, y-52, 26, -0.5*math.Pi, 0.5*math.Pi, 8, acc)
		}
	case "transfer_aid":
		c.roundRect(-330, -10, 250, 60, 16, acc) // bed
		c.line(-320, 50, -320, 200, 16, ink)
		c.line(-100, 50, -100, 200, 16, ink)
		c.roundRect(110, 40, 200, 34, 12, acc) // chair seat
		c.line(290, 40, 320, -170, 16, ink)    // chair back
		c.wheel(220, 170, 100, 5)
		c.line(-250, 5, 230, 30, 26, ink)                  // transfer board
		c.line(-170, -140, 120, -140, 16, c.tyre)          // direction
		c.polygon(c.tyre, 110, -175, 170, -140, 110, -105) // arrowhead
	default:
		// Neutral symbol: a plus in a circle, clearly a placeholder.
		c.ring(0, 0, 200, 28, ink)
		c.line(-110, 0, 110, 0, 44, acc)
		c.line(0, -110, 0, 110, 44, acc)
	}
}
