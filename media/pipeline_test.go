package media

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"image"
	"image/color"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
)

// TestSavePhotoRefusals sends every kind of bad upload through SavePhoto on
// both stores: each is an *InputError of the right kind with a message a
// person can act on, and nothing is stored.
func TestSavePhotoRefusals(t *testing.T) {
	good := encodeJPEG(t, testPattern(400, 300), 90)
	gif := append([]byte("GIF89a\x01\x00\x01\x00\x80\x00\x00"), bytes.Repeat([]byte{0}, 20)...)
	heic := append([]byte("\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic"), make([]byte, 64)...)
	mif1 := append([]byte("\x00\x00\x00\x1cftypmif1\x00\x00\x00\x00mif1heix"), make([]byte, 64)...)
	avif := append([]byte("\x00\x00\x00\x1cftypavif\x00\x00\x00\x00avifmif1"), make([]byte, 64)...)
	raw := func(b []byte) func() io.Reader { return func() io.Reader { return bytes.NewReader(b) } }
	str := func(s string) func() io.Reader { return func() io.Reader { return strings.NewReader(s) } }
	cases := []struct {
		name     string
		body     func() io.Reader // readers are one-shot; each backend needs its own
		kind     error
		mentions string
	}{
		{"zero bytes", raw(nil), ErrCorrupt, "empty"},
		{"truncated JPEG", raw(good[:len(good)/2]), ErrCorrupt, "truncated or damaged"},
		{"JPEG header only", raw(good[:20]), ErrCorrupt, "header"},
		{"PNG claiming 100000x100000", raw(pngHeaderOnly(100000, 100000)), ErrTooManyPixels, "100000×100000"},
		{"PNG claiming 8000x6000", raw(pngHeaderOnly(8000, 6000)), ErrTooManyPixels, "48.0 megapixels"},
		{"GIF", raw(gif), ErrUnsupportedType, "GIF"},
		{"SVG with script", str(`<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><script>alert(document.cookie)</script></svg>`), ErrUnsupportedType, "SVG"},
		{"PHP before a JPEG", raw(append([]byte("<?php system($_GET['c']); ?>"), good...)), ErrUnsupportedType, "web page or script"},
		{"GIF89a with PHP", str("GIF89a<?php system($_GET['c']); ?>"), ErrUnsupportedType, "GIF"},
		{"HTML", str("<!DOCTYPE html><html><body>hi</body></html>"), ErrUnsupportedType, "web page"},
		{"PDF", str("%PDF-1.7\n1 0 obj"), ErrUnsupportedType, "PDF"},
		{"HEIC", raw(heic), ErrUnsupportedType, heicMessage},
		{"HEIF mif1", raw(mif1), ErrUnsupportedType, "HEIC"},
		{"AVIF", raw(avif), ErrUnsupportedType, "AVIF"},
		{"animated WebP", raw(append([]byte("RIFF\x00\x01\x00\x00WEBPVP8X\x0a\x00\x00\x00\x02"), make([]byte, 40)...)), ErrUnsupportedType, "animated WebP"},
		{"random bytes", raw(bytes.Repeat([]byte{0x13, 0x37}, 100)), ErrUnsupportedType, "JPEG, PNG or WebP"},
		{"11 MiB", func() io.Reader { return io.MultiReader(bytes.NewReader(good), io.LimitReader(zeros{}, 11<<20)) }, ErrTooLarge, "10 MiB"},
		{"11 MiB behind MaxBytesReader", func() io.Reader {
			return http.MaxBytesReader(httptest.NewRecorder(), io.NopCloser(io.LimitReader(zeros{}, 11<<20)), 10<<20-1)
		}, ErrTooLarge, "10 MiB"},
	}
	if heicMessage != "HEIC photos from iPhones are not supported; please choose JPEG, PNG or WebP, or set the camera to 'Most Compatible'" {
		t.Errorf("HEIC message changed: %q", heicMessage)
	}
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			svc := b.open(t)
			for _, c := range cases {
				_, err := svc.SavePhoto(context.Background(), Public, c.body())
				var ie *InputError
				if !errors.As(err, &ie) || !errors.Is(err, c.kind) {
					t.Errorf("%s: err = %v, want an *InputError wrapping %v", c.name, err, c.kind)
					continue
				}
				if ie.Field != "photo" || !strings.HasPrefix(err.Error(), "media: ") || !strings.Contains(err.Error(), c.mentions) {
					t.Errorf("%s: field %q, message %q; want field photo and a message mentioning %q", c.name, ie.Field, err, c.mentions)
				}
				if c.kind == ErrUnsupportedType && !strings.Contains(err.Error(), "JPEG, PNG or WebP") {
					t.Errorf("%s: %q does not say which formats work", c.name, err)
				}
			}
			if n := countObjects(t, svc.Store(), Public); n != 0 {
				t.Errorf("refused uploads stored %d objects", n)
			}
		})
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

func TestLimitsAreConfigurable(t *testing.T) {
	ctx := context.Background()
	jpg := encodeJPEG(t, testPattern(400, 300), 90)
	p := Pipeline{MaxBytes: int64(len(jpg)) - 1}
	if _, err := p.Process(ctx, bytes.NewReader(jpg)); !errors.Is(err, ErrTooLarge) {
		t.Errorf("one byte over MaxBytes: %v, want ErrTooLarge", err)
	}
	p = Pipeline{MaxBytes: int64(len(jpg))}
	if _, err := p.Process(ctx, bytes.NewReader(jpg)); err != nil {
		t.Errorf("exactly MaxBytes: %v", err)
	}
	p = Pipeline{MaxPixels: 400*300 - 1}
	if _, err := p.Process(ctx, bytes.NewReader(jpg)); !errors.Is(err, ErrTooManyPixels) {
		t.Errorf("one pixel over MaxPixels: %v, want ErrTooManyPixels", err)
	}
}

// TestBytesDecideTheType: the pipeline has no file name or Content-Type to be
// fooled by. A JPEG that a client calls photo.png / image/png is a JPEG.
func TestBytesDecideTheType(t *testing.T) {
	jpg := encodeJPEG(t, testPattern(400, 300), 90)
	out, err := Pipeline{}.Process(context.Background(), bytes.NewReader(jpg))
	if err != nil {
		t.Fatal(err)
	}
	if out.Photo.Format != "jpeg" {
		t.Errorf("Format = %q, want jpeg", out.Photo.Format)
	}
	png := encodePNG(t, testPattern(400, 300))
	out, err = Pipeline{}.Process(context.Background(), bytes.NewReader(png))
	if err != nil || out.Photo.Format != "png" {
		t.Errorf("PNG: %v, %v", out, err)
	}
}

func TestWebP(t *testing.T) {
	for _, name := range []string{"blue-purple-pink.lossy.webp", "gopher-doc.with-alpha.lossless.webp"} {
		b, err := os.ReadFile("testdata/" + name)
		if err != nil {
			t.Fatal(err)
		}
		out, err := Pipeline{}.Process(context.Background(), bytes.NewReader(b))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if out.Photo.Format != "webp" || len(out.Photo.Variants) == 0 {
			t.Errorf("%s: %+v", name, out.Photo)
		}
		decodeJPEG(t, out.Data[len(out.Data)-1])
	}
}

// TestTransparencyOnWhite: a JPEG has no alpha; transparent pixels must come
// out white, not black.
func TestTransparencyOnWhite(t *testing.T) {
	img := image.NewNRGBA(image.Rect(0, 0, 100, 100))
	for x := range 50 {
		for y := range 100 {
			img.SetNRGBA(x, y, color.NRGBA{200, 20, 20, 255})
		}
	}
	out, err := Pipeline{}.Process(context.Background(), bytes.NewReader(encodePNG(t, img)))
	if err != nil {
		t.Fatal(err)
	}
	got := decodeJPEG(t, out.Data[0])
	if c := got.At(80, 50); !near(c, color.RGBA{255, 255, 255, 255}, 6) {
		t.Errorf("transparent area = %v, want white", c)
	}
	if c := got.At(20, 50); !near(c, color.RGBA{200, 20, 20, 255}, 12) {
		t.Errorf("opaque area = %v, want red", c)
	}
}

func TestVariants(t *testing.T) {
	cases := []struct {
		name   string
		w, h   int
		widths [][2]int
	}{
		{"phone landscape", 4000, 3000, [][2]int{{320, 240}, {800, 600}, {1600, 1200}}},
		{"portrait", 1500, 2000, [][2]int{{240, 320}, {600, 800}, {1200, 1600}}},
		{"demo size, no upscale", 1200, 900, [][2]int{{320, 240}, {800, 600}, {1200, 900}}},
		{"exactly 800", 800, 400, [][2]int{{320, 160}, {800, 400}}},
		{"tiny", 200, 150, [][2]int{{200, 150}}},
		{"sliver", 2000, 3, [][2]int{{320, 1}, {800, 1}, {1600, 2}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			jpg := encodeJPEG(t, testPattern(c.w, c.h), 85)
			out, err := Pipeline{}.Process(context.Background(), bytes.NewReader(jpg))
			if err != nil {
				t.Fatal(err)
			}
			p := out.Photo
			if p.Width != c.w || p.Height != c.h || p.Hash != hashOf(jpg) {
				t.Errorf("photo %dx%d hash %s, want %dx%d %s", p.Width, p.Height, p.Hash, c.w, c.h, hashOf(jpg))
			}
			if len(p.Variants) != len(c.widths) || len(out.Data) != len(c.widths) {
				t.Fatalf("variants %+v, want sizes %v", p.Variants, c.widths)
			}
			for i, v := range p.Variants {
				img := decodeJPEG(t, out.Data[i])
				if v.Width != c.widths[i][0] || v.Height != c.widths[i][1] || img.Bounds().Dx() != v.Width || img.Bounds().Dy() != v.Height {
					t.Errorf("variant %d: %dx%d (pixels %v), want %v", i, v.Width, v.Height, img.Bounds().Size(), c.widths[i])
				}
				if v.Key != VariantKey(p.Hash, v.Width) || !strings.HasPrefix(v.Key, "p/"+p.Hash[:2]+"/"+p.Hash+"/") || v.Bytes != int64(len(out.Data[i])) {
					t.Errorf("variant %d: key %s, bytes %d (data %d)", i, v.Key, v.Bytes, len(out.Data[i]))
				}
			}
		})
	}
}

func TestProcessIsDeterministic(t *testing.T) {
	jpg := encodeJPEG(t, testPattern(900, 700), 85)
	a, err := Pipeline{}.Process(context.Background(), bytes.NewReader(jpg))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Pipeline{}.Process(context.Background(), bytes.NewReader(jpg))
	for i := range a.Data {
		if !bytes.Equal(a.Data[i], b.Data[i]) {
			t.Errorf("variant %d differs between runs: concurrent identical uploads would write different bytes to one key", i)
		}
	}
}

// TestMetadataStripped processes a JPEG whose APP1 carries GPS coordinates
// and a PHP comment: the variants have no APP segment, no Exif, no GPS bytes,
// no comment.
func TestMetadataStripped(t *testing.T) {
	for _, bo := range []binary.AppendByteOrder{binary.BigEndian, binary.LittleEndian} {
		jpg := encodeJPEG(t, testPattern(1000, 750), 90)
		jpg = withSegment(jpg, 0xFE, []byte("<?php system($_GET['c']); ?>")) // COM
		jpg = withSegment(jpg, 0xE1, exifPayload(1, true, bo))
		if !bytes.Contains(jpg, []byte(gpsMarker)) || !bytes.Contains(jpg, gpsRationals) || jpegOrientation(jpg) != 1 {
			t.Fatal("fixture lacks the GPS data it is meant to carry")
		}
		if _, err := decodeConfig(formatJPEG, jpg); err != nil {
			t.Fatalf("fixture is not a valid JPEG: %v", err)
		}
		out, err := Pipeline{}.Process(context.Background(), bytes.NewReader(jpg))
		if err != nil {
			t.Fatal(err)
		}
		for i, data := range out.Data {
			for _, m := range jpegSegments(t, data) {
				if m >= 0xE0 && m <= 0xEF || m == 0xFE {
					t.Errorf("variant %d has marker %#x (APPn or COM)", i, m)
				}
			}
			for _, needle := range [][]byte{[]byte("Exif"), []byte(gpsMarker), gpsRationals, []byte("<?php")} {
				if bytes.Contains(data, needle) {
					t.Errorf("variant %d still contains %q", i, needle)
				}
			}
		}
	}
}

// TestOrientation6 rotates: a 200×100 photo tagged "rotate 90° clockwise"
// comes out 100×200 with the red top-left quadrant now top-right.
func TestOrientation6(t *testing.T) {
	jpg := withSegment(encodeJPEG(t, testPattern(200, 100), 95), 0xE1, exifPayload(6, false, binary.LittleEndian))
	out, err := Pipeline{}.Process(context.Background(), bytes.NewReader(jpg))
	if err != nil {
		t.Fatal(err)
	}
	if p := out.Photo; p.Width != 100 || p.Height != 200 || len(p.Variants) != 1 || p.Variants[0].Width != 100 || p.Variants[0].Height != 200 {
		t.Fatalf("photo %+v, want 100x200 with one 100x200 variant", p)
	}
	img := decodeJPEG(t, out.Data[0])
	red, blue := color.RGBA{220, 20, 30, 255}, color.RGBA{30, 20, 220, 255}
	for _, c := range []struct {
		x, y int
		want color.RGBA
	}{{75, 50, red}, {25, 50, blue}, {75, 150, blue}, {25, 150, blue}} {
		if got := img.At(c.x, c.y); !near(got, c.want, 40) {
			t.Errorf("pixel (%d,%d) = %v, want %v", c.x, c.y, got, c.want)
		}
	}
}

func TestSavePhoto(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			svc := b.open(t)
			ctx := context.Background()
			jpg, err := DemoImage("rollator", 3, "Rollator R3")
			if err != nil {
				t.Fatal(err)
			}
			p, err := svc.SavePhoto(ctx, Public, bytes.NewReader(jpg))
			if err != nil {
				t.Fatal(err)
			}
			if len(p.Variants) != 3 || p.Format != "jpeg" {
				t.Fatalf("photo %+v", p)
			}
			for _, v := range p.Variants {
				got := readObject(t, svc.Store(), Public, v.Key)
				if int64(len(got)) != v.Bytes {
					t.Errorf("%s: stored %d bytes, variant says %d", v.Key, len(got), v.Bytes)
				}
				info, _ := svc.Store().Stat(ctx, Public, v.Key)
				if info.ContentType != "image/jpeg" {
					t.Errorf("%s: content type %q", v.Key, info.ContentType)
				}
			}
			want := len(p.Variants) + 1 // and the manifest
			if n := countObjects(t, svc.Store(), Public); n != want {
				t.Errorf("%d objects stored, want %d", n, want)
			}

			again, err := svc.SavePhoto(ctx, Public, bytes.NewReader(jpg))
			if err != nil || !equalPhoto(again, p) {
				t.Errorf("second save = %+v, %v; want %+v", again, err, p)
			}
			if n := countObjects(t, svc.Store(), Public); n != want {
				t.Errorf("after a second save, %d objects, want %d", n, want)
			}

			// An interrupted save (manifest and a variant missing) is completed.
			_ = svc.Store().Delete(ctx, Public, manifestKey(p.Hash))
			_ = svc.Store().Delete(ctx, Public, p.Variants[1].Key)
			if _, err := svc.SavePhoto(ctx, Public, bytes.NewReader(jpg)); err != nil {
				t.Fatal(err)
			}
			if n := countObjects(t, svc.Store(), Public); n != want {
				t.Errorf("after repair, %d objects, want %d", n, want)
			}

			if err := svc.DeletePhoto(ctx, Public, p.Hash); err != nil {
				t.Fatal(err)
			}
			if n := countObjects(t, svc.Store(), Public); n != 0 {
				t.Errorf("after DeletePhoto, %d objects remain", n)
			}
			if err := svc.DeletePhoto(ctx, Public, p.Hash); err != nil {
				t.Errorf("deleting again: %v", err)
			}
			if err := svc.DeletePhoto(ctx, Public, "../etc"); !errors.Is(err, ErrInvalidKey) {
				t.Errorf("DeletePhoto(../etc) = %v, want ErrInvalidKey", err)
			}
		})
	}
}

func equalPhoto(a, b Photo) bool {
	if a.Hash != b.Hash || a.Format != b.Format || a.Width != b.Width || a.Height != b.Height || len(a.Variants) != len(b.Variants) {
		return false
	}
	for i := range a.Variants {
		if a.Variants[i] != b.Variants[i] {
			return false
		}
	}
	return true
}

// TestConcurrentIdenticalUploads: 20 parallel saves of one photo all succeed,
// agree, and leave exactly one set of objects.
func TestConcurrentIdenticalUploads(t *testing.T) {
	jpg := encodeJPEG(t, testPattern(2000, 1500), 88)
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			svc := b.open(t)
			var wg sync.WaitGroup
			photos := make([]Photo, 20)
			errs := make([]error, 20)
			for i := range 20 {
				wg.Go(func() {
					photos[i], errs[i] = svc.SavePhoto(context.Background(), Public, bytes.NewReader(jpg))
				})
			}
			wg.Wait()
			for i := range 20 {
				if errs[i] != nil {
					t.Fatalf("upload %d: %v", i, errs[i])
				}
				if !equalPhoto(photos[i], photos[0]) {
					t.Errorf("upload %d got %+v, upload 0 %+v", i, photos[i], photos[0])
				}
			}
			if n, want := countObjects(t, svc.Store(), Public), len(photos[0].Variants)+1; n != want {
				t.Errorf("%d objects stored, want %d (one set)", n, want)
			}
		})
	}
}

// TestConcurrentIdenticalUploadsTwoServices is the multi-instance case: two
// Services on one store do not share a singleflight, and still leave one set.
func TestConcurrentIdenticalUploadsTwoServices(t *testing.T) {
	dir := t.TempDir()
	a, err := Open(context.Background(), Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := Open(context.Background(), Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	jpg := encodeJPEG(t, testPattern(1800, 1200), 88)
	var wg sync.WaitGroup
	errs := make([]error, 10)
	for i := range 10 {
		svc := a
		if i%2 == 1 {
			svc = b
		}
		wg.Go(func() { _, errs[i] = svc.SavePhoto(context.Background(), Public, bytes.NewReader(jpg)) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("upload %d: %v", i, err)
		}
	}
	if n := countObjects(t, a.Store(), Public); n != 4 {
		t.Errorf("%d objects, want 4 (3 variants and a manifest)", n)
	}
	entries, _ := os.ReadDir(dir + "/.tmp")
	if len(entries) != 0 {
		t.Errorf("%d staged files left behind", len(entries))
	}
}

func TestPickAndSrcset(t *testing.T) {
	svc := openLocal(t)
	p := Photo{Hash: strings.Repeat("ab", 32), Variants: []Variant{
		{Width: 320, Key: VariantKey(strings.Repeat("ab", 32), 320)},
		{Width: 800, Key: VariantKey(strings.Repeat("ab", 32), 800)},
		{Width: 1200, Key: VariantKey(strings.Repeat("ab", 32), 1200)},
	}}
	for _, c := range []struct{ want, got int }{{1, 320}, {320, 320}, {321, 800}, {1000, 1200}, {4000, 1200}} {
		if v := p.Pick(c.want); v.Width != c.got {
			t.Errorf("Pick(%d) = %d, want %d", c.want, v.Width, c.got)
		}
	}
	if (Photo{}).Pick(100) != (Variant{}) {
		t.Error("Pick on no variants should be the zero Variant")
	}
	h := strings.Repeat("ab", 32)
	want := "/media/p/ab/" + h + "/320.jpg 320w, /media/p/ab/" + h + "/800.jpg 800w, /media/p/ab/" + h + "/1200.jpg 1200w"
	if got := svc.Srcset(p); got != want {
		t.Errorf("Srcset =\n%s\nwant\n%s", got, want)
	}
	cdn, err := Open(context.Background(), Config{Dir: t.TempDir(), PublicURL: "https://cdn.example.com/fuju/"})
	if err != nil {
		t.Fatal(err)
	}
	defer cdn.Close()
	if got := cdn.URL("p/ab/x/320.jpg"); got != "https://cdn.example.com/fuju/p/ab/x/320.jpg" {
		t.Errorf("URL with PublicURL = %s", got)
	}
}
