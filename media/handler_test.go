package media

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestServePublic checks the handler's caching contract through a real HTTP
// server, for both stores (in S3 mode the handler proxies the bucket).
func TestServePublic(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			svc := b.open(t)
			srv := httptest.NewServer(svc)
			defer srv.Close()
			jpg, _ := DemoImage("walker", 1, "Walker")
			p, err := svc.SavePhoto(context.Background(), Public, bytes.NewReader(jpg))
			if err != nil {
				t.Fatal(err)
			}
			v := p.Pick(800)
			want := readObject(t, svc.Store(), Public, v.Key)
			u := srv.URL + svc.URL(v.Key)

			resp := do(t, http.MethodGet, u, nil)
			body := readBody(t, resp)
			if resp.StatusCode != http.StatusOK || !bytes.Equal(body, want) {
				t.Fatalf("GET: %d, %d bytes; want 200 and %d bytes", resp.StatusCode, len(body), len(want))
			}
			etag := resp.Header.Get("ETag")
			checkHeaders(t, resp, map[string]string{
				"Content-Type":           "image/jpeg",
				"Cache-Control":          "public, max-age=31536000, immutable",
				"X-Content-Type-Options": "nosniff",
				"Content-Length":         strconv.Itoa(len(want)),
			})
			if len(etag) < 10 || !strings.HasPrefix(etag, `"`) || !strings.HasSuffix(etag, `"`) {
				t.Errorf("ETag %q, want a strong (quoted, not W/) validator", etag)
			}

			resp = do(t, http.MethodGet, u, http.Header{"If-None-Match": {etag}})
			if body := readBody(t, resp); resp.StatusCode != http.StatusNotModified || len(body) != 0 {
				t.Errorf("If-None-Match: %d with %d bytes, want 304 and none", resp.StatusCode, len(body))
			}
			resp = do(t, http.MethodGet, u, http.Header{"If-None-Match": {`"something-else"`}})
			if readBody(t, resp); resp.StatusCode != http.StatusOK {
				t.Errorf("stale If-None-Match: %d, want 200", resp.StatusCode)
			}

			resp = do(t, http.MethodGet, u, http.Header{"Range": {"bytes=100-199"}})
			body = readBody(t, resp)
			if resp.StatusCode != http.StatusPartialContent || !bytes.Equal(body, want[100:200]) ||
				resp.Header.Get("Content-Range") != "bytes 100-199/"+strconv.Itoa(len(want)) {
				t.Errorf("Range: %d %q, %d bytes; want 206 with bytes 100-199", resp.StatusCode, resp.Header.Get("Content-Range"), len(body))
			}

			resp = do(t, http.MethodHead, u, nil)
			if body := readBody(t, resp); resp.StatusCode != http.StatusOK || len(body) != 0 || resp.Header.Get("ETag") != etag {
				t.Errorf("HEAD: %d, %d bytes, ETag %q", resp.StatusCode, len(body), resp.Header.Get("ETag"))
			}
			resp = do(t, http.MethodPost, u, nil)
			if readBody(t, resp); resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != "GET, HEAD" {
				t.Errorf("POST: %d, Allow %q", resp.StatusCode, resp.Header.Get("Allow"))
			}
			for _, path := range []string{"/media/p/00/missing/320.jpg", "/media/..%2f..%2fetc%2fpasswd", "/media/", "/elsewhere/x.jpg", "/media/P/AB/x.jpg"} {
				resp = do(t, http.MethodGet, srv.URL+path, nil)
				if readBody(t, resp); resp.StatusCode != http.StatusNotFound {
					t.Errorf("GET %s: %d, want 404", path, resp.StatusCode)
				}
				if cc := resp.Header.Get("Cache-Control"); strings.Contains(cc, "immutable") {
					t.Errorf("GET %s: a 404 must not be cached forever (%q)", path, cc)
				}
			}
		})
	}
}

// TestPrivateLocal: only a valid, unexpired signature opens a private object.
func TestPrivateLocal(t *testing.T) {
	svc := openLocal(t)
	now := time.Unix(1_800_000_000, 0)
	svc.now = func() time.Time { return now }
	srv := httptest.NewServer(svc)
	defer srv.Close()
	ctx := context.Background()
	doc := []byte("renter 42 low-income certificate")
	const key = "proofs/r42/cert.pdf"
	if err := svc.Store().Put(ctx, Private, key, bytes.NewReader(doc), int64(len(doc)), "application/pdf"); err != nil {
		t.Fatal(err)
	}
	signed, err := svc.SignedURL(ctx, key, 2*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(signed)
	if u.Path != "/media/private/"+key || u.Query().Get("exp") != strconv.FormatInt(now.Add(2*time.Minute).Unix(), 10) || len(u.Query().Get("sig")) != 64 {
		t.Fatalf("SignedURL = %s", signed)
	}

	resp := do(t, http.MethodGet, srv.URL+signed, nil)
	body := readBody(t, resp)
	if resp.StatusCode != http.StatusOK || !bytes.Equal(body, doc) {
		t.Fatalf("valid link: %d %q", resp.StatusCode, body)
	}
	checkHeaders(t, resp, map[string]string{"Cache-Control": "no-store", "Content-Type": "application/pdf", "Referrer-Policy": "no-referrer"})

	sig := u.Query().Get("sig")
	exp := u.Query().Get("exp")
	flipped := sig[:10] + string("0123456789abcdef"[(strings.IndexByte("0123456789abcdef", sig[10])+1)%16]) + sig[11:]
	expired := now.Add(-time.Second).Unix()
	far := now.Add(time.Hour).Unix()
	for name, path := range map[string]string{
		"unsigned":              "/media/private/" + key,
		"no exp":                "/media/private/" + key + "?sig=" + sig,
		"tampered signature":    "/media/private/" + key + "?exp=" + exp + "&sig=" + flipped,
		"signature for another": "/media/private/proofs/r43/cert.pdf?exp=" + exp + "&sig=" + sig,
		"extended expiry":       "/media/private/" + key + "?exp=" + strconv.FormatInt(now.Add(3*time.Minute).Unix(), 10) + "&sig=" + sig,
		"expired":               "/media/private/" + key + "?exp=" + strconv.FormatInt(expired, 10) + "&sig=" + svc.sign(key, expired),
		"valid but too far":     "/media/private/" + key + "?exp=" + strconv.FormatInt(far, 10) + "&sig=" + svc.sign(key, far),
		"garbage sig":           "/media/private/" + key + "?exp=" + exp + "&sig=zz",
		"public path":           "/media/" + key,
	} {
		resp := do(t, http.MethodGet, srv.URL+path, nil)
		body := readBody(t, resp)
		want := http.StatusForbidden
		if name == "public path" {
			want = http.StatusNotFound // the public area has no such key
		}
		if resp.StatusCode != want || bytes.Contains(body, doc) {
			t.Errorf("%s: %d, want %d without the document", name, resp.StatusCode, want)
		}
		if want == http.StatusForbidden && resp.Header.Get("Cache-Control") != "no-store" {
			t.Errorf("%s: Cache-Control %q, want no-store", name, resp.Header.Get("Cache-Control"))
		}
	}

	now = now.Add(2*time.Minute + time.Second) // the first link has now expired
	resp = do(t, http.MethodGet, srv.URL+signed, nil)
	if readBody(t, resp); resp.StatusCode != http.StatusForbidden {
		t.Errorf("link after its expiry: %d, want 403", resp.StatusCode)
	}

	long, _ := svc.SignedURL(ctx, key, time.Hour)
	lu, _ := url.Parse(long)
	if e, _ := strconv.ParseInt(lu.Query().Get("exp"), 10, 64); e != now.Add(MaxSignedTTL).Unix() {
		t.Errorf("an hour-long request got exp %d, want capped at %d", e, now.Add(MaxSignedTTL).Unix())
	}
	if _, err := svc.SignedURL(ctx, "../x", time.Minute); err == nil {
		t.Error("SignedURL accepted an invalid key")
	}
}

// TestPrivateMinIO: in S3 mode the signed URL is MinIO's presigned GET; it
// works, says no-store, expires within five minutes, and an altered signature
// is refused by MinIO itself. The private bucket is not readable anonymously.
func TestPrivateMinIO(t *testing.T) {
	cfg := minioConfig(t)
	svc, err := Open(context.Background(), Config{S3: cfg})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	doc := []byte("renter 7 subsistence certificate")
	const key = "proofs/r7/cert.jpg"
	if err := svc.Store().Put(ctx, Private, key, bytes.NewReader(doc), int64(len(doc)), "image/jpeg"); err != nil {
		t.Fatal(err)
	}
	signed, err := svc.SignedURL(ctx, key, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(signed)
	if err != nil || u.Host != cfg.Endpoint {
		t.Fatalf("SignedURL = %s, want a URL on %s", signed, cfg.Endpoint)
	}
	if e, _ := strconv.Atoi(u.Query().Get("X-Amz-Expires")); e <= 0 || e > 300 {
		t.Errorf("X-Amz-Expires = %d, want at most 300", e)
	}
	resp := do(t, http.MethodGet, signed, nil)
	body := readBody(t, resp)
	if resp.StatusCode != http.StatusOK || !bytes.Equal(body, doc) {
		t.Fatalf("presigned GET: %d %q", resp.StatusCode, body)
	}
	checkHeaders(t, resp, map[string]string{"Cache-Control": "no-store"})

	q := u.Query()
	sig := q.Get("X-Amz-Signature")
	q.Set("X-Amz-Signature", strings.Repeat("0", len(sig)))
	u.RawQuery = q.Encode()
	resp = do(t, http.MethodGet, u.String(), nil)
	if body := readBody(t, resp); resp.StatusCode != http.StatusForbidden || bytes.Contains(body, doc) {
		t.Errorf("altered signature: %d, want 403 from MinIO", resp.StatusCode)
	}
	resp = do(t, http.MethodGet, "http://"+cfg.Endpoint+"/"+cfg.PrivateBucket+"/"+key, nil)
	if body := readBody(t, resp); resp.StatusCode != http.StatusForbidden || bytes.Contains(body, doc) {
		t.Errorf("anonymous GET of the private bucket: %d, want 403", resp.StatusCode)
	}
}

func do(t *testing.T, method, u string, h http.Header) *http.Response {
	t.Helper()
	req, err := http.NewRequest(method, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range h {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func readBody(t *testing.T, resp *http.Response) []byte {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func checkHeaders(t *testing.T, resp *http.Response, want map[string]string) {
	t.Helper()
	for k, v := range want {
		if got := resp.Header.Get(k); got != v {
			t.Errorf("%s: %q, want %q", k, got, v)
		}
	}
}
