package web

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"hash/crc32"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"fuju/internal/testenv"
	"fuju/media"
)

func testJPEG(t testing.TB, w, h int, c color.RGBA) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.SetRGBA(x, y, color.RGBA{c.R, uint8(x * 255 / w), c.B, 255})
		}
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 85}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// hugePNG is a valid PNG signature and header claiming width×height pixels,
// with a correct CRC, and no pixel data: a decompression bomb's first bytes.
func hugePNG(width, height uint32) []byte {
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], width)
	binary.BigEndian.PutUint32(ihdr[4:], height)
	ihdr[8], ihdr[9] = 8, 2 // 8-bit RGB
	binary.Write(&b, binary.BigEndian, uint32(len(ihdr)))
	chunk := append([]byte("IHDR"), ihdr...)
	b.Write(chunk)
	binary.Write(&b, binary.BigEndian, crc32.ChecksumIEEE(chunk))
	return b.Bytes()
}

type upload struct {
	fileField, filename, contentType string
	data                             []byte
	altZh, altEn                     string
	noFile                           bool
}

func (u upload) request(t testing.TB, product, token string) *http.Request {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	if u.altZh != "" {
		mw.WriteField("alt_zh", u.altZh)
	}
	if u.altEn != "" {
		mw.WriteField("alt_en", u.altEn)
	}
	if !u.noFile {
		field, name := u.fileField, u.filename
		if field == "" {
			field = "photo"
		}
		if name == "" {
			name = "photo.jpg"
		}
		h := make(map[string][]string)
		h["Content-Disposition"] = []string{`form-data; name="` + field + `"; filename="` + name + `"`}
		ct := u.contentType
		if ct == "" {
			ct = "image/jpeg"
		}
		h["Content-Type"] = []string{ct}
		pw, _ := mw.CreatePart(h)
		pw.Write(u.data)
	}
	mw.Close()
	req := httptest.NewRequest(http.MethodPost, "/api/v1/operator/products/"+product+"/photos", &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return req
}

func serve(h http.Handler, req *http.Request) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func countStored(t *testing.T, m *media.Service) int {
	t.Helper()
	n := 0
	for _, err := range m.Store().List(context.Background(), media.Public, "") {
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	return n
}

func photoStores(t *testing.T) map[string]*media.Service {
	t.Helper()
	ctx := context.Background()
	local, err := media.Open(ctx, media.Config{Dir: t.TempDir(), SigningKey: []byte(strings.Repeat("k", 32))})
	if err != nil {
		t.Fatal(err)
	}
	srv := testenv.MinIO(t)
	s3, err := media.Open(ctx, media.Config{SigningKey: []byte(strings.Repeat("k", 32)), S3: media.S3Config{
		Endpoint: srv.Endpoint, AccessKey: srv.AccessKey, SecretKey: srv.SecretKey,
		PublicBucket: srv.BucketName(t, "pub"), PrivateBucket: srv.BucketName(t, "priv")}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// Empty the test's buckets (only media/ talks to S3 directly).
		for info, err := range s3.Store().List(context.Background(), media.Public, "") {
			if err == nil {
				_ = s3.Store().Delete(context.Background(), media.Public, info.Key)
			}
		}
		local.Close()
		s3.Close()
	})
	return map[string]*media.Service{"local": local, "minio": s3}
}

// The operator photo API, in both storage modes: upload, serve, reorder,
// describe and delete; bad uploads store nothing.
func TestProductPhotos(t *testing.T) {
	for name, m := range photoStores(t) {
		t.Run(name, func(t *testing.T) {
			s := newTestServerWith(t, m)
			testOperatorToken := apiToken(t, s, "inventory:write")
			readOnly := apiToken(t, s, "inventory:read")
			if rec := serve(s, (upload{data: []byte("x"), altZh: "a", altEn: "b"}).request(t, "wc", readOnly)); rec.Code != http.StatusForbidden {
				t.Errorf("read-only token uploads: %d", rec.Code)
			}
			photo := testJPEG(t, 1000, 750, color.RGBA{200, 0, 40, 255})
			good := upload{data: photo, altZh: "轮椅正面", altEn: "Wheelchair, front"}

			for _, tok := range []string{"", "wrong-token-wrong-token-wrong"} {
				if rec := serve(s, good.request(t, "wc", tok)); rec.Code != http.StatusUnauthorized {
					t.Errorf("token %q: %d", tok, rec.Code)
				}
			}
			if rec := serve(s, good.request(t, "nope", testOperatorToken)); rec.Code != http.StatusNotFound {
				t.Errorf("unknown product: %d", rec.Code)
			}

			bad := []struct {
				name   string
				u      upload
				status int
				field  string
			}{
				{"zero bytes", upload{data: nil, altZh: "a", altEn: "a"}, 422, "photo"},
				{"truncated jpeg", upload{data: photo[:len(photo)/2], altZh: "a", altEn: "a"}, 422, "photo"},
				{"bomb png", upload{data: hugePNG(100000, 100000), contentType: "image/png", filename: "x.png", altZh: "a", altEn: "a"}, 422, "photo"},
				{"gif", upload{data: gifBytes(t), contentType: "image/gif", filename: "x.gif", altZh: "a", altEn: "a"}, 415, "photo"},
				{"svg", upload{data: []byte(`<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>`), contentType: "image/svg+xml", filename: "x.svg", altZh: "a", altEn: "a"}, 415, "photo"},
				{"php polyglot", upload{data: append([]byte("GIF89a<?php system($_GET['c']); ?><html><script>alert(1)</script>"), photo...), contentType: "image/jpeg", altZh: "a", altEn: "a"}, 415, "photo"},
				{"heic", upload{data: append([]byte("\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic"), make([]byte, 64)...), contentType: "image/heic", filename: "IMG_0001.HEIC", altZh: "a", altEn: "a"}, 415, "photo"},
				{"11 MiB", upload{data: append(append([]byte{}, photo...), make([]byte, 11<<20)...), altZh: "a", altEn: "a"}, 413, ""},
				{"no file field", upload{noFile: true, altZh: "a", altEn: "a"}, 400, "photo"},
				{"file under another name", upload{fileField: "image", data: photo, altZh: "a", altEn: "a"}, 400, "photo"},
				{"no alt text", upload{data: photo}, 400, "alt_zh"},
			}
			for _, tt := range bad {
				rec := serve(s, tt.u.request(t, "wc", testOperatorToken))
				if rec.Code != tt.status {
					t.Errorf("%s: status %d, want %d: %s", tt.name, rec.Code, tt.status, rec.Body)
					continue
				}
				body := decode[apiError](t, rec)
				if tt.field != "" {
					if _, ok := body.Error.Fields[tt.field]; !ok {
						t.Errorf("%s: fields %v lack %s", tt.name, body.Error.Fields, tt.field)
					}
				}
				if tt.name == "heic" && !strings.Contains(body.Error.Message, "HEIC") {
					t.Errorf("HEIC message does not say HEIC: %q", body.Error.Message)
				}
				if tt.name == "gif" && !strings.Contains(body.Error.Message, "JPEG") {
					t.Errorf("GIF message does not say which formats work: %q", body.Error.Message)
				}
			}
			req := httptest.NewRequest(http.MethodPost, "/api/v1/operator/products/wc/photos", strings.NewReader(`{"photo":"x"}`))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+testOperatorToken)
			if rec := serve(s, req); rec.Code != http.StatusUnsupportedMediaType {
				t.Errorf("JSON body: %d", rec.Code)
			}
			if n := countStored(t, m); n != 0 {
				t.Fatalf("bad uploads stored %d objects", n)
			}
			if p, _ := s.catalog.Public("wc"); len(p.Photos) != 0 {
				t.Fatalf("bad uploads added photos: %+v", p.Photos)
			}

			// A JPEG named .png and labelled image/png: the bytes decide.
			renamed := good
			renamed.filename, renamed.contentType = "photo.png", "image/png"
			// Twenty parallel uploads of the same photo: stored once, listed once.
			var wg sync.WaitGroup
			codes := make([]int, 20)
			for i := range codes {
				wg.Add(1)
				go func() {
					defer wg.Done()
					codes[i] = serve(s, renamed.request(t, "wc", testOperatorToken)).Code
				}()
			}
			wg.Wait()
			for i, c := range codes {
				if c != http.StatusCreated {
					t.Fatalf("parallel upload %d: %d", i, c)
				}
			}
			p, _ := s.catalog.Public("wc")
			if len(p.Photos) != 1 {
				t.Fatalf("photos after 20 identical uploads: %d", len(p.Photos))
			}
			stored := countStored(t, m)
			if stored < 2 || stored > 4 { // variants plus a manifest, once
				t.Fatalf("stored %d objects for one photo", stored)
			}

			second := upload{data: testJPEG(t, 600, 800, color.RGBA{0, 0, 200, 255}), altZh: "侧面", altEn: "Side"}
			rec := serve(s, second.request(t, "wc", testOperatorToken))
			if rec.Code != http.StatusCreated {
				t.Fatalf("second photo: %d %s", rec.Code, rec.Body)
			}
			view := decode[productJSON](t, rec)
			if len(view.Photos) != 2 || view.Photos[1].Width != 600 || view.Photos[1].Height != 800 || view.Photos[1].Srcset == "" {
				t.Fatalf("upload response %+v", view.Photos)
			}
			first, sec := view.Photos[0], view.Photos[1]

			// Served with long-lived caching and revalidation.
			u := first.URLs["320"]
			if u == "" {
				t.Fatalf("no 320 variant: %v", first.URLs)
			}
			got := get(t, s, u)
			if got.Code != 200 || got.Header().Get("Content-Type") != "image/jpeg" || !strings.Contains(got.Header().Get("Cache-Control"), "immutable") || got.Header().Get("ETag") == "" {
				t.Fatalf("GET %s: %d %v", u, got.Code, got.Header())
			}
			if cfg, err := jpeg.DecodeConfig(bytes.NewReader(got.Body.Bytes())); err != nil || cfg.Width != 320 {
				t.Fatalf("variant is not a 320 px JPEG: %v %+v", err, cfg)
			}
			req = httptest.NewRequest("GET", u, nil)
			req.Header.Set("If-None-Match", got.Header().Get("ETag"))
			if rec := serve(s, req); rec.Code != http.StatusNotModified {
				t.Errorf("If-None-Match: %d", rec.Code)
			}
			page := get(t, s, "/products/wc").Body.String()
			for _, w := range []string{`srcset="`, `sizes="`, `alt="轮椅正面"`, `fetchpriority="high"`, `loading="lazy"`} {
				if !strings.Contains(page, w) {
					t.Errorf("product page lacks %s", w)
				}
			}
			if list := get(t, s, "/products").Body.String(); !strings.Contains(list, first.URLs["320"]) {
				t.Error("product list does not show the primary photo")
			}

			// Reorder, alt text, delete.
			jsonReq := func(method, path, body string) *httptest.ResponseRecorder {
				req := httptest.NewRequest(method, path, strings.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Authorization", "Bearer "+testOperatorToken)
				return serve(s, req)
			}
			order, _ := json.Marshal(map[string][]string{"keys": {sec.Key, first.Key}})
			if rec := jsonReq("PUT", "/api/v1/operator/products/wc/photos/order", string(order)); rec.Code != 200 || decode[productJSON](t, rec).Photos[0].Key != sec.Key {
				t.Errorf("reorder: %d %s", rec.Code, rec.Body)
			}
			if rec := jsonReq("PUT", "/api/v1/operator/products/wc/photos/order", `{"keys":["x"]}`); rec.Code != 400 {
				t.Errorf("bad order: %d", rec.Code)
			}
			if rec := jsonReq("PATCH", "/api/v1/operator/products/wc/photos/"+first.Key, `{"alt":{"zh":"正面照","en":"Front view"}}`); rec.Code != 200 {
				t.Errorf("alt: %d %s", rec.Code, rec.Body)
			}
			if rec := jsonReq("PATCH", "/api/v1/operator/products/wc/photos/"+first.Key, `{"alt":{"zh":""}}`); rec.Code != 400 || !strings.Contains(rec.Body.String(), "alt.zh") {
				t.Errorf("empty alt: %d %s", rec.Code, rec.Body)
			}
			if rec := jsonReq("PATCH", "/api/v1/operator/products/wc/photos/"+first.Key, `{"alt":{"zh":"a","en":"b"},"extra":1}`); rec.Code != 400 || !strings.Contains(rec.Body.String(), "extra") {
				t.Errorf("unknown field: %d %s", rec.Code, rec.Body)
			}
			before := countStored(t, m)
			if rec := jsonReq("DELETE", "/api/v1/operator/products/wc/photos/"+first.Key, ""); rec.Code != http.StatusNoContent {
				t.Fatalf("delete: %d %s", rec.Code, rec.Body)
			}
			if after := countStored(t, m); after >= before {
				t.Errorf("objects not removed: %d → %d", before, after)
			}
			if rec := get(t, s, u); rec.Code != http.StatusNotFound {
				t.Errorf("deleted photo still served: %d", rec.Code)
			}
			if rec := jsonReq("DELETE", "/api/v1/operator/products/wc/photos/"+first.Key, ""); rec.Code != http.StatusNotFound {
				t.Errorf("second delete: %d", rec.Code)
			}
		})
	}
}

func gifBytes(t *testing.T) []byte {
	var b bytes.Buffer
	img := image.NewPaletted(image.Rect(0, 0, 10, 10), color.Palette{color.Black, color.White})
	if err := gif.Encode(&b, img, nil); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}
