package media

import (
	"bytes"
	"context"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"os"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"fuju/internal/testenv"
)

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }

// testSigningKey is 32 bytes, the minimum.
var testSigningKey = []byte("0123456789abcdef0123456789abcdef")

// backend opens a fresh Service on one kind of store.
type backend struct {
	name string
	open func(t *testing.T) *Service
}

// backends are the stores every store-level test runs against: the local
// directory and a real MinIO server.
func backends() []backend {
	return []backend{
		{"local", openLocal},
		{"minio", openMinIO},
	}
}

func openLocal(t *testing.T) *Service {
	t.Helper()
	s, err := Open(context.Background(), Config{Dir: t.TempDir(), SigningKey: testSigningKey})
	if err != nil {
		t.Fatalf("Open local: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// minioConfig returns an S3 config for fresh buckets on the test MinIO server,
// and removes the buckets (with their objects) when the test ends.
func minioConfig(t *testing.T) S3Config {
	t.Helper()
	srv := testenv.MinIO(t)
	cfg := S3Config{
		Endpoint:      srv.Endpoint,
		AccessKey:     srv.AccessKey,
		SecretKey:     srv.SecretKey,
		PublicBucket:  srv.BucketName(t, "pub"),
		PrivateBucket: srv.BucketName(t, "priv"),
	}
	t.Cleanup(func() { removeBuckets(t, cfg) })
	return cfg
}

func openMinIO(t *testing.T) *Service {
	t.Helper()
	s, err := Open(context.Background(), Config{S3: minioConfig(t), SigningKey: testSigningKey})
	if err != nil {
		t.Fatalf("Open minio: %v", err)
	}
	return s
}

func removeBuckets(t *testing.T, cfg S3Config) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := minio.New(cfg.Endpoint, &minio.Options{Creds: credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, ""), Region: "us-east-1"})
	if err != nil {
		t.Errorf("cleanup: %v", err)
		return
	}
	for _, b := range []string{cfg.PublicBucket, cfg.PrivateBucket} {
		if ok, _ := c.BucketExists(ctx, b); !ok {
			continue
		}
		for obj := range c.ListObjects(ctx, b, minio.ListObjectsOptions{Recursive: true}) {
			if obj.Err == nil {
				_ = c.RemoveObject(ctx, b, obj.Key, minio.RemoveObjectOptions{})
			}
		}
		if err := c.RemoveBucket(ctx, b); err != nil {
			t.Errorf("cleanup: remove bucket %s: %v", b, err)
		}
	}
}

// countObjects counts everything stored in an area.
func countObjects(t *testing.T, st Store, area Area) int {
	t.Helper()
	n := 0
	for _, err := range st.List(context.Background(), area, "") {
		if err != nil {
			t.Fatalf("List: %v", err)
		}
		n++
	}
	return n
}

// testPattern is a w×h picture whose top-left quadrant is red and the rest
// blue, with a gentle gradient so the JPEG is not trivially flat: a rotation
// or mirror moves the red quadrant somewhere else.
func testPattern(w, h int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			g := uint8(40 * x / w)
			if x < w/2 && y < h/2 {
				img.SetRGBA(x, y, color.RGBA{220, g, 30, 255})
			} else {
				img.SetRGBA(x, y, color.RGBA{30, g, 220, 255})
			}
		}
	}
	return img
}

func encodeJPEG(t testing.TB, img image.Image, q int) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: q}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func encodePNG(t testing.TB, img image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// withSegment inserts a JPEG marker segment right after SOI, where cameras put
// APP1.
func withSegment(jpg []byte, marker byte, payload []byte) []byte {
	seg := []byte{0xFF, marker, 0, 0}
	binary.BigEndian.PutUint16(seg[2:], uint16(len(payload)+2))
	out := append([]byte{}, jpg[:2]...)
	out = append(out, seg...)
	out = append(out, payload...)
	return append(out, jpg[2:]...)
}

// gpsMarker and gpsRationals are what the GPS test looks for in the output.
const gpsMarker = "FUJU-GPS-35.2153N-113.2420E"

var gpsRationals = []byte{0, 0, 0, 35, 0, 0, 0, 1, 0, 0, 0, 12, 0, 0, 0, 1, 0, 0, 0x0d, 0x80, 0, 0, 0, 100}

// exifPayload builds an APP1 Exif payload by hand: a big- or little-endian
// TIFF header and IFD0 with Orientation and, if gps, a GPS IFD pointer. The
// GPS IFD holds GPSLatitudeRef "N", GPSLatitude 35/1 12/1 3456/100 and a
// GPSProcessingMethod carrying gpsMarker.
func exifPayload(orientation int, gps bool, bo binary.AppendByteOrder) []byte {
	var t []byte
	put16 := func(v uint16) { t = bo.AppendUint16(t, v) }
	put32 := func(v uint32) { t = bo.AppendUint32(t, v) }
	if bo == binary.LittleEndian {
		t = append(t, 'I', 'I')
	} else {
		t = append(t, 'M', 'M')
	}
	put16(42)
	put32(8) // IFD0 right after the header
	n := uint16(1)
	if gps {
		n = 2
	}
	ifd0End := 8 + 2 + 12*uint32(n) + 4
	put16(n)
	put16(0x0112) // Orientation
	put16(3)      // SHORT
	put32(1)
	put16(uint16(orientation))
	put16(0)
	if gps {
		put16(0x8825) // GPSInfo IFD pointer
		put16(4)      // LONG
		put32(1)
		put32(ifd0End)
	}
	put32(0) // no IFD1
	if gps {
		gpsIFD := ifd0End
		dataStart := gpsIFD + 2 + 12*3 + 4
		put16(3)
		put16(0x0001) // GPSLatitudeRef
		put16(2)      // ASCII
		put32(2)
		t = append(t, 'N', 0, 0, 0)
		put16(0x0002) // GPSLatitude
		put16(5)      // RATIONAL
		put32(3)
		put32(dataStart)
		put16(0x001B) // GPSProcessingMethod
		put16(7)      // UNDEFINED
		put32(uint32(len(gpsMarker)))
		put32(dataStart + 24)
		put32(0)
		t = append(t, gpsRationals...) // big-endian bytes; searched for verbatim
		t = append(t, gpsMarker...)
	}
	return append([]byte("Exif\x00\x00"), t...)
}

// pngHeaderOnly is a PNG whose IHDR claims w×h (with a valid CRC) followed by
// a token IDAT and IEND: enough for DecodeConfig, a bomb for Decode.
func pngHeaderOnly(w, h uint32) []byte {
	chunk := func(typ string, data []byte) []byte {
		var c []byte
		c = binary.BigEndian.AppendUint32(c, uint32(len(data)))
		c = append(c, typ...)
		c = append(c, data...)
		return binary.BigEndian.AppendUint32(c, crc32.ChecksumIEEE(append([]byte(typ), data...)))
	}
	var ihdr []byte
	ihdr = binary.BigEndian.AppendUint32(ihdr, w)
	ihdr = binary.BigEndian.AppendUint32(ihdr, h)
	ihdr = append(ihdr, 8, 6, 0, 0, 0) // 8-bit RGBA, deflate, no filter, no interlace
	out := []byte("\x89PNG\r\n\x1a\n")
	out = append(out, chunk("IHDR", ihdr)...)
	out = append(out, chunk("IDAT", []byte{0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01})...)
	return append(out, chunk("IEND", nil)...)
}

// jpegSegments returns the markers of the segments before the first scan.
func jpegSegments(t *testing.T, b []byte) []byte {
	t.Helper()
	if len(b) < 2 || b[0] != 0xFF || b[1] != 0xD8 {
		t.Fatalf("not a JPEG")
	}
	var markers []byte
	for i := 2; i+4 <= len(b); {
		if b[i] != 0xFF {
			t.Fatalf("bad marker at %d", i)
		}
		m := b[i+1]
		markers = append(markers, m)
		if m == 0xDA {
			return markers
		}
		i += 2 + int(binary.BigEndian.Uint16(b[i+2:]))
	}
	return markers
}

func decodeJPEG(t *testing.T, b []byte) image.Image {
	t.Helper()
	img, err := jpeg.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("output is not a JPEG: %v", err)
	}
	return img
}

// near reports whether c is within tol of want on each channel (JPEG is lossy).
func near(c color.Color, want color.RGBA, tol int) bool {
	r, g, b, _ := c.RGBA()
	d := func(a uint32, b uint8) bool { x := int(a>>8) - int(b); return x <= tol && x >= -tol }
	return d(r, want.R) && d(g, want.G) && d(b, want.B)
}

func readObject(t *testing.T, st Store, area Area, key string) []byte {
	t.Helper()
	obj, err := st.Get(context.Background(), area, key)
	if err != nil {
		t.Fatalf("Get %s: %v", key, err)
	}
	defer obj.Close()
	var b bytes.Buffer
	if _, err := b.ReadFrom(obj); err != nil {
		t.Fatalf("read %s: %v", key, err)
	}
	return b.Bytes()
}
