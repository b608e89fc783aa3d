package media

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestStore runs one suite against both stores, so the local default and S3
// cannot drift apart.
func TestStore(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			st := b.open(t).Store()
			ctx := context.Background()
			body := []byte("%PDF-1.4 renter proof, pretend")

			t.Run("put get stat", func(t *testing.T) {
				before := time.Now().Add(-2 * time.Second)
				if err := st.Put(ctx, Private, "proofs/r1/a.pdf", bytes.NewReader(body), int64(len(body)), "application/pdf"); err != nil {
					t.Fatal(err)
				}
				obj, err := st.Get(ctx, Private, "proofs/r1/a.pdf")
				if err != nil {
					t.Fatal(err)
				}
				got, _ := io.ReadAll(obj)
				obj.Close()
				if !bytes.Equal(got, body) {
					t.Errorf("Get = %q, want %q", got, body)
				}
				if obj.Size != int64(len(body)) || obj.ContentType != "application/pdf" || obj.Key != "proofs/r1/a.pdf" {
					t.Errorf("Info = %+v", obj.Info)
				}
				if obj.ETag == "" || strings.Contains(obj.ETag, `"`) {
					t.Errorf("ETag = %q, want a bare validator", obj.ETag)
				}
				if obj.ModTime.Before(before) {
					t.Errorf("ModTime = %v, want after %v", obj.ModTime, before)
				}
				info, err := st.Stat(ctx, Private, "proofs/r1/a.pdf")
				if err != nil || info.ETag != obj.ETag || info.Size != obj.Size {
					t.Errorf("Stat = %+v, %v; want the Get info %+v", info, err, obj.Info)
				}
				if ok, err := st.Exists(ctx, Private, "proofs/r1/a.pdf"); !ok || err != nil {
					t.Errorf("Exists = %v, %v; want true", ok, err)
				}
			})

			t.Run("areas are separate", func(t *testing.T) {
				if err := st.Put(ctx, Private, "only-private.txt", strings.NewReader("x"), 1, "text/plain"); err != nil {
					t.Fatal(err)
				}
				if _, err := st.Get(ctx, Public, "only-private.txt"); !errors.Is(err, ErrNotFound) {
					t.Errorf("public Get of a private key: %v, want ErrNotFound", err)
				}
			})

			t.Run("missing", func(t *testing.T) {
				if _, err := st.Get(ctx, Public, "no/such.jpg"); !errors.Is(err, ErrNotFound) {
					t.Errorf("Get: %v, want ErrNotFound", err)
				}
				if _, err := st.Stat(ctx, Public, "no/such.jpg"); !errors.Is(err, ErrNotFound) {
					t.Errorf("Stat: %v, want ErrNotFound", err)
				}
				if ok, err := st.Exists(ctx, Public, "no/such.jpg"); ok || err != nil {
					t.Errorf("Exists = %v, %v; want false, nil", ok, err)
				}
				if err := st.Delete(ctx, Public, "no/such.jpg"); err != nil {
					t.Errorf("Delete of a missing key: %v, want nil", err)
				}
			})

			t.Run("overwrite and seek", func(t *testing.T) {
				for _, v := range []string{"first version", "second, longer version"} {
					if err := st.Put(ctx, Public, "o/v.txt", strings.NewReader(v), int64(len(v)), "text/plain"); err != nil {
						t.Fatal(err)
					}
				}
				obj, err := st.Get(ctx, Public, "o/v.txt")
				if err != nil {
					t.Fatal(err)
				}
				defer obj.Close()
				if _, err := obj.Seek(8, io.SeekStart); err != nil {
					t.Fatal(err)
				}
				rest, _ := io.ReadAll(obj)
				if string(rest) != "longer version" {
					t.Errorf("after Seek(8): %q, want %q", rest, "longer version")
				}
			})

			t.Run("short body stores nothing", func(t *testing.T) {
				err := st.Put(ctx, Public, "short/x.bin", strings.NewReader("abc"), 10, "")
				if err == nil {
					t.Fatal("Put with fewer bytes than size succeeded")
				}
				if ok, _ := st.Exists(ctx, Public, "short/x.bin"); ok {
					t.Error("a failed Put left an object")
				}
			})

			t.Run("list and delete", func(t *testing.T) {
				for _, k := range []string{"l/a/1.jpg", "l/a/2.jpg", "l/b/1.jpg", "l/ab.jpg"} {
					if err := st.Put(ctx, Public, k, strings.NewReader(k), int64(len(k)), "image/jpeg"); err != nil {
						t.Fatal(err)
					}
				}
				list := func(prefix string) []string {
					var keys []string
					for info, err := range st.List(ctx, Public, prefix) {
						if err != nil {
							t.Fatalf("List(%q): %v", prefix, err)
						}
						keys = append(keys, info.Key)
					}
					slices.Sort(keys)
					return keys
				}
				if got, want := list("l/a/"), []string{"l/a/1.jpg", "l/a/2.jpg"}; !slices.Equal(got, want) {
					t.Errorf("List(l/a/) = %v, want %v", got, want)
				}
				if got, want := list("l/a"), []string{"l/a/1.jpg", "l/a/2.jpg", "l/ab.jpg"}; !slices.Equal(got, want) {
					t.Errorf("List(l/a) = %v, want %v", got, want)
				}
				n := 0
				for range st.List(ctx, Public, "l/") {
					n++
					break
				}
				if n != 1 {
					t.Errorf("breaking out of List yielded %d", n)
				}
				if err := st.Delete(ctx, Public, "l/a/1.jpg"); err != nil {
					t.Fatal(err)
				}
				if got, want := list("l/"), []string{"l/a/2.jpg", "l/ab.jpg", "l/b/1.jpg"}; !slices.Equal(got, want) {
					t.Errorf("after Delete, List(l/) = %v, want %v", got, want)
				}
			})

			t.Run("invalid keys", func(t *testing.T) {
				bad := []string{"", "/abs.jpg", "a/../b.jpg", "..", "a/./b", "Upper.jpg", "a//b", ".hidden", "a/", "sp ace.jpg",
					"a\\b", "ü.jpg", "a?b", "private/x.jpg", strings.Repeat("a", 513)}
				for _, k := range bad {
					if err := st.Put(ctx, Public, k, strings.NewReader("x"), 1, ""); !errors.Is(err, ErrInvalidKey) {
						t.Errorf("Put(%q): %v, want ErrInvalidKey", k, err)
					}
					if _, err := st.Get(ctx, Public, k); !errors.Is(err, ErrInvalidKey) {
						t.Errorf("Get(%q): %v, want ErrInvalidKey", k, err)
					}
				}
				if err := st.Put(ctx, Area("elsewhere"), "a.jpg", strings.NewReader("x"), 1, ""); !errors.Is(err, ErrInvalidKey) {
					t.Errorf("Put to an unknown area: %v, want ErrInvalidKey", err)
				}
				for _, err := range st.List(ctx, Public, "../") {
					if !errors.Is(err, ErrInvalidKey) {
						t.Errorf("List(../): %v, want ErrInvalidKey", err)
					}
				}
			})
		})
	}
}

func TestValidateKey(t *testing.T) {
	good := []string{"a", "p/ab/0123/320.jpg", "proofs/r-1/x_y.v2.pdf", "private-notes.txt"}
	for _, k := range good {
		if err := ValidateKey(Public, k); err != nil {
			t.Errorf("ValidateKey(%q) = %v", k, err)
		}
	}
	if err := ValidateKey(Private, "private/x.jpg"); err != nil {
		t.Errorf("a private key may start with private/: %v", err)
	}
}

func TestOpenErrors(t *testing.T) {
	ctx := context.Background()
	cfg := minioConfig(t)

	t.Run("unreachable", func(t *testing.T) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		l.Close() // nothing listens there now
		bad := cfg
		bad.Endpoint = addr
		start := time.Now()
		_, err = Open(ctx, Config{S3: bad})
		if err == nil || !strings.HasPrefix(err.Error(), "media: cannot reach object storage at "+addr+": ") {
			t.Errorf("Open = %v, want 'media: cannot reach object storage at %s: …'", err, addr)
		}
		if d := time.Since(start); d > startupTimeout {
			t.Errorf("took %v to notice", d)
		}
	})
	t.Run("wrong access key", func(t *testing.T) {
		bad := cfg
		bad.AccessKey = "nobody"
		_, err := Open(ctx, Config{S3: bad})
		if err == nil || !strings.Contains(err.Error(), `rejected the access key "nobody"`) {
			t.Errorf("Open = %v, want a rejected access key", err)
		}
	})
	t.Run("wrong secret key", func(t *testing.T) {
		bad := cfg
		bad.SecretKey = "not-the-secret"
		_, err := Open(ctx, Config{S3: bad})
		if err == nil || !strings.Contains(err.Error(), "rejected the secret key") {
			t.Errorf("Open = %v, want a rejected secret key", err)
		}
	})
	t.Run("TLS against plain HTTP", func(t *testing.T) {
		bad := cfg
		bad.TLS = true
		_, err := Open(ctx, Config{S3: bad})
		if err == nil || !strings.HasPrefix(err.Error(), "media: cannot reach object storage") {
			t.Errorf("Open = %v, want cannot reach", err)
		}
	})
	t.Run("config mistakes", func(t *testing.T) {
		same := cfg
		same.PrivateBucket = same.PublicBucket
		badName := cfg
		badName.PublicBucket = "Bad_Name"
		noKey := cfg
		noKey.SecretKey = ""
		for name, c := range map[string]Config{
			"same bucket":     {S3: same},
			"bad bucket name": {S3: badName},
			"no secret":       {S3: noKey},
			"short signing":   {Dir: t.TempDir(), SigningKey: []byte("short")},
			"nothing":         {},
		} {
			if _, err := Open(ctx, c); err == nil || !strings.HasPrefix(err.Error(), "media: ") {
				t.Errorf("%s: Open = %v, want a media: error", name, err)
			}
		}
	})
	t.Run("creates buckets, then reuses them", func(t *testing.T) {
		for range 2 {
			if _, err := Open(ctx, Config{S3: cfg}); err != nil {
				t.Fatalf("Open: %v", err)
			}
		}
	})
	t.Run("endpoint as URL", func(t *testing.T) {
		u := cfg
		u.Endpoint = "http://" + cfg.Endpoint
		if _, err := Open(ctx, Config{S3: u}); err != nil {
			t.Fatalf("Open(%s): %v", u.Endpoint, err)
		}
	})
}

// TestLocalMetaCacheNotStale: a file replaced by another process (here a
// second Local on the same directory) is described by its new sidecar, not
// by what the first Local remembered.
func TestLocalMetaCacheNotStale(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	a, err := NewLocal(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := NewLocal(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if err := a.Put(ctx, Private, "doc.txt", strings.NewReader("one"), 3, "text/plain"); err != nil {
		t.Fatal(err)
	}
	first, err := a.Stat(ctx, Private, "doc.txt")
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Put(ctx, Private, "doc.txt", strings.NewReader("second"), 6, "text/markdown"); err != nil {
		t.Fatal(err)
	}
	second, err := a.Stat(ctx, Private, "doc.txt")
	if err != nil {
		t.Fatal(err)
	}
	if second.ETag == first.ETag || second.ContentType != "text/markdown" || second.Size != 6 {
		t.Errorf("after another writer replaced it: %+v (before: %+v)", second, first)
	}
}
