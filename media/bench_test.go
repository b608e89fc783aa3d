package media

import (
	"bytes"
	"context"
	"image"
	"image/jpeg"
	"math"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"testing"

	"golang.org/x/image/draw"
)

// phonePhoto makes a 4000×3000 (12 MP) JPEG that compresses like a phone
// photo: smooth gradients and shapes plus sensor-like noise, quality 92,
// about 4–5 MiB. Flat synthetic images would make decoding look cheaper
// than it is.
func phonePhoto(tb testing.TB) []byte {
	tb.Helper()
	const w, h = 4000, 3000
	img := image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio420)
	rng := rand.New(rand.NewPCG(1, 2))
	for y := range h {
		for x := range w {
			v := 128 + 60*math.Sin(float64(x)/180)*math.Cos(float64(y)/140) + 30*math.Sin(float64(x*y)/9e5)
			if (x/250+y/250)%2 == 0 {
				v += 25 // large-scale structure with sharp edges
			}
			v += rng.NormFloat64() * 9 // sensor noise
			img.Y[y*img.YStride+x] = uint8(max(0, min(255, v)))
		}
	}
	for y := range h / 2 {
		for x := range w / 2 {
			img.Cb[y*img.CStride+x] = uint8(128 + 40*math.Sin(float64(x)/300))
			img.Cr[y*img.CStride+x] = uint8(128 + 40*math.Cos(float64(y)/200))
		}
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 92}); err != nil {
		tb.Fatal(err)
	}
	return b.Bytes()
}

// BenchmarkPipeline times each stage for a 12 MP phone JPEG: decoding, each
// variant as render produces it (1600 from the original, 800 from 1600, 320
// from 800, each resized and encoded at quality 82), and the whole Process.
func BenchmarkPipeline(b *testing.B) {
	data := phonePhoto(b)
	b.Logf("12 MP JPEG: %.1f MiB", float64(len(data))/(1<<20))
	src, err := jpeg.Decode(bytes.NewReader(data))
	if err != nil {
		b.Fatal(err)
	}
	scaled := func(from image.Image, w, h int) *image.RGBA { return resize(from, w, h, false, draw.CatmullRom) }
	v1600 := scaled(src, 1600, 1200)
	v800 := scaled(v1600, 800, 600)
	encode := func(img image.Image) {
		var buf bytes.Buffer
		if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: DefaultQuality}); err != nil {
			b.Fatal(err)
		}
	}

	b.Run("decode", func(b *testing.B) {
		for b.Loop() {
			if _, err := jpeg.Decode(bytes.NewReader(data)); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("variant=1600", func(b *testing.B) {
		for b.Loop() {
			encode(scaled(src, 1600, 1200))
		}
	})
	b.Run("variant=800", func(b *testing.B) {
		for b.Loop() {
			encode(scaled(v1600, 800, 600))
		}
	})
	b.Run("variant=320", func(b *testing.B) {
		for b.Loop() {
			encode(scaled(v800, 320, 240))
		}
	})
	b.Run("process-all", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			if _, err := (Pipeline{}).Process(context.Background(), bytes.NewReader(data)); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkScalers is how the pipeline's scaler was chosen: the big step from
// 12 MP to 1600 px with each kernel, and 320 px straight from the original
// versus from the 800 px variant.
func BenchmarkScalers(b *testing.B) {
	data := phonePhoto(b)
	src, err := jpeg.Decode(bytes.NewReader(data))
	if err != nil {
		b.Fatal(err)
	}
	for _, k := range []struct {
		name string
		s    draw.Scaler
	}{{"CatmullRom", draw.CatmullRom}, {"BiLinear", draw.BiLinear}, {"ApproxBiLinear", draw.ApproxBiLinear}} {
		b.Run("12MP-to-1600/"+k.name, func(b *testing.B) {
			dst := image.NewRGBA(image.Rect(0, 0, 1600, 1200))
			for b.Loop() {
				k.s.Scale(dst, dst.Bounds(), src, src.Bounds(), draw.Src, nil)
			}
		})
	}
	b.Run("12MP-to-1600/box2+CatmullRom(resize)", func(b *testing.B) {
		for b.Loop() {
			resize(src, 1600, 1200, false, draw.CatmullRom)
		}
	})
	v800 := image.NewRGBA(image.Rect(0, 0, 800, 600))
	draw.CatmullRom.Scale(v800, v800.Bounds(), src, src.Bounds(), draw.Src, nil)
	b.Run("320-direct-from-12MP/CatmullRom", func(b *testing.B) {
		dst := image.NewRGBA(image.Rect(0, 0, 320, 240))
		for b.Loop() {
			draw.CatmullRom.Scale(dst, dst.Bounds(), src, src.Bounds(), draw.Src, nil)
		}
	})
	b.Run("320-from-800/CatmullRom", func(b *testing.B) {
		dst := image.NewRGBA(image.Rect(0, 0, 320, 240))
		for b.Loop() {
			draw.CatmullRom.Scale(dst, dst.Bounds(), v800, v800.Bounds(), draw.Src, nil)
		}
	})
}

// TestScalingIsFaithful backs the choices in render and resize: the variants
// as the pipeline makes them (box pre-shrink, then CatmullRom, each size from
// the previous) differ from a direct CatmullRom of the original by far less
// than the ~35 dB PSNR at which differences become visible, while
// ApproxBiLinear, the fast alternative, does not.
func TestScalingIsFaithful(t *testing.T) {
	src, err := jpeg.Decode(bytes.NewReader(phonePhoto(t)))
	if err != nil {
		t.Fatal(err)
	}
	direct := func(s draw.Scaler, w, h int) *image.RGBA {
		dst := image.NewRGBA(image.Rect(0, 0, w, h))
		s.Scale(dst, dst.Bounds(), src, src.Bounds(), draw.Src, nil)
		return dst
	}
	v1600 := resize(src, 1600, 1200, false, draw.CatmullRom)
	v800 := resize(v1600, 800, 600, false, draw.CatmullRom)
	v320 := resize(v800, 320, 240, false, draw.CatmullRom)
	p1600 := psnr(direct(draw.CatmullRom, 1600, 1200), v1600)
	p320 := psnr(direct(draw.CatmullRom, 320, 240), v320)
	pApprox := psnr(direct(draw.CatmullRom, 320, 240), direct(draw.ApproxBiLinear, 320, 240))
	t.Logf("PSNR against direct CatmullRom: 1600 px %.1f dB, 320 px %.1f dB; ApproxBiLinear 320 px %.1f dB", p1600, p320, pApprox)
	if p1600 < 40 || p320 < 40 {
		t.Errorf("pipeline scaling strays from direct CatmullRom: 1600 px %.1f dB, 320 px %.1f dB; want ≥ 40", p1600, p320)
	}
	if pApprox >= p320 {
		t.Errorf("ApproxBiLinear (%.1f dB) should be worse than the pipeline (%.1f dB)", pApprox, p320)
	}
}

// TestBoxShrink: partial edge blocks average what they have, and YCbCr and
// RGBA sources agree.
func TestBoxShrink(t *testing.T) {
	src := image.NewRGBA(image.Rect(0, 0, 5, 3))
	for i := range src.Pix {
		src.Pix[i] = 255
	}
	for x := range 4 {
		src.Pix[src.PixOffset(x, 0)] = 0 // red channel 0 in the top row's first 4 pixels
	}
	got := boxShrink(src, 2)
	if got.Bounds().Dx() != 3 || got.Bounds().Dy() != 2 {
		t.Fatalf("size %v, want 3x2", got.Bounds().Size())
	}
	if r := got.Pix[got.PixOffset(0, 0)]; r != 128 {
		t.Errorf("top-left block red = %d, want 128 (two of four pixels are 0)", r)
	}
	if r := got.Pix[got.PixOffset(2, 1)]; r != 255 {
		t.Errorf("corner 1x1 block red = %d, want 255", r)
	}
	yc := image.NewYCbCr(image.Rect(0, 0, 64, 48), image.YCbCrSubsampleRatio420)
	for i := range yc.Y {
		yc.Y[i] = uint8(i * 7)
	}
	for i := range yc.Cb {
		yc.Cb[i], yc.Cr[i] = uint8(100+i%50), uint8(90+i%70)
	}
	rgba := image.NewRGBA(yc.Bounds())
	draw.Draw(rgba, rgba.Bounds(), yc, image.Point{}, draw.Src)
	if p := psnr(boxShrink(yc, 4), boxShrink(rgba, 4)); p < 40 {
		t.Errorf("YCbCr and RGBA box shrink differ: %.1f dB", p)
	}
}

func psnr(a, b *image.RGBA) float64 {
	var sum float64
	for i := range a.Pix {
		if i%4 == 3 {
			continue
		}
		d := float64(a.Pix[i]) - float64(b.Pix[i])
		sum += d * d
	}
	mse := sum / float64(len(a.Pix)*3/4)
	if mse == 0 {
		return math.Inf(1)
	}
	return 10 * math.Log10(255*255/mse)
}

// BenchmarkServe serves a stored 800 px variant through the local handler, in
// full and as a 304 to a browser that has it.
func BenchmarkServe(b *testing.B) {
	svc, err := Open(context.Background(), Config{Dir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	defer svc.Close()
	jpg, err := DemoImage("rollator", 7, "Rollator")
	if err != nil {
		b.Fatal(err)
	}
	p, err := svc.SavePhoto(context.Background(), Public, bytes.NewReader(jpg))
	if err != nil {
		b.Fatal(err)
	}
	v := p.Pick(800)
	path := svc.URL(v.Key)
	rec := httptest.NewRecorder()
	svc.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	etag := rec.Header().Get("ETag")

	b.Run("200", func(b *testing.B) {
		b.SetBytes(v.Bytes)
		req := httptest.NewRequest(http.MethodGet, path, nil)
		for b.Loop() {
			w := &discardWriter{h: http.Header{}}
			svc.ServeHTTP(w, req)
			if w.code != http.StatusOK {
				b.Fatalf("status %d", w.code)
			}
		}
	})
	b.Run("304", func(b *testing.B) {
		req := httptest.NewRequest(http.MethodGet, path, nil)
		req.Header.Set("If-None-Match", etag)
		for b.Loop() {
			w := &discardWriter{h: http.Header{}}
			svc.ServeHTTP(w, req)
			if w.code != http.StatusNotModified {
				b.Fatalf("status %d", w.code)
			}
		}
	})
	b.Run("200-parallel", func(b *testing.B) {
		b.SetBytes(v.Bytes)
		b.RunParallel(func(pb *testing.PB) {
			req := httptest.NewRequest(http.MethodGet, path, nil)
			for pb.Next() {
				w := &discardWriter{h: http.Header{}}
				svc.ServeHTTP(w, req)
			}
		})
	})
}

// discardWriter is a ResponseWriter that drops the body, so the benchmark
// measures the handler, not a recorder's buffer.
type discardWriter struct {
	h    http.Header
	code int
}

func (w *discardWriter) Header() http.Header { return w.h }
func (w *discardWriter) Write(p []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return len(p), nil
}
func (w *discardWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
}
