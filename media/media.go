// Package media stores Fuju's files and turns uploaded photos into the images
// the site shows.
//
// Three parts, each usable alone, and a Service that wires them together:
//
//   - Store keeps bytes in two areas: Public (product photos, served to anyone,
//     cached forever) and Private (renters' proof documents, reachable only
//     through short-lived signed URLs). NewLocal keeps them in a directory, the
//     embedded default; NewS3 keeps them in two buckets of MinIO or any
//     S3-compatible service through minio-go. Both create what they need at start
//     and fail at once, with a message that says what is wrong, when the storage
//     cannot be reached or refuses the credentials.
//   - Pipeline validates an upload and re-encodes it: JPEG, PNG and WebP only,
//     recognised by their bytes; size capped (Config.MaxBytes, 10 MiB by
//     default); the header is read before any pixel so decompression bombs are
//     refused (over 40 megapixels); the JPEG EXIF orientation is applied; every
//     variant is re-encoded as a baseline JPEG, so no metadata (GPS position,
//     camera serial) survives. Variants are 320, 800 and 1600 pixels on the long
//     edge, never upscaled.
//   - Service (built by Open from a Config) stores processed photos under
//     content-addressed keys, makes public and signed private URLs, and is the
//     http.Handler for everything under /media/.
//
// # Using it from web/ and cmd/
//
//	svc, err := media.Open(ctx, media.Config{Dir: filepath.Join(dataDir, "media"), ...})
//	defer svc.Close()
//	router.GET("/media/*key", gin.WrapH(svc)) // and router.HEAD; the handler needs the full path
//
//	// Cap the request with http.MaxBytesReader at MaxBytes plus room for the
//	// multipart envelope; SavePhoto enforces the exact limit on the file part
//	// and reports a tripped MaxBytesReader as ErrTooLarge too.
//	photo, err := svc.SavePhoto(ctx, media.Public, filePart)
//	// store photo (Hash, Width, Height, Variants) on the product
//	src, srcset := svc.URL(photo.Pick(800).Key), svc.Srcset(photo)
//	err = svc.DeletePhoto(ctx, media.Public, photo.Hash) // when no product uses it any more
//
//	// a renter's proof: private area, opened only through a signed URL
//	photo, err = svc.SavePhoto(ctx, media.Private, body)
//	u, err := svc.SignedURL(ctx, photo.Pick(1600).Key, 2*time.Minute)
//
// Seeding: DemoImage(categoryID, index, "Rollator R3") draws a deterministic
// 1200×900 product picture (pictogram of the category, colour from the index,
// the Latin short name) and returns JPEG bytes for SavePhoto.
//
// Cost (2-core dev machine, BenchmarkPipeline): a 12 MP phone JPEG takes
// about 0.6–0.8 s of one core and 160 MiB of short-lived allocations to
// decode and turn into the three variants; SavePhoto runs at most GOMAXPROCS
// of these at once and none at all for bytes it has stored before.
//
// Errors map to HTTP statuses in web/'s one table, with errors.Is:
//
//	ErrUnsupportedType  415  (message lists the formats that work; HEIC has its own)
//	ErrTooLarge         413
//	ErrTooManyPixels    422
//	ErrCorrupt          422  (empty, truncated or damaged file)
//	ErrInvalidKey       400
//	ErrNotFound         404
//
// The first four come wrapped in an *InputError whose Field and Reason fill the
// API's {"error": {"fields": {...}}} object.
//
// # URLs and caching
//
// Public objects are immutable: a photo's keys are derived from the SHA-256 of
// the uploaded bytes (p/<2 hex>/<hash>/<width>.jpg), so a key never names two
// different contents and the handler can send
// "Cache-Control: public, max-age=31536000, immutable" with a strong ETag.
// URL returns Config.PublicURL + "/" + key when a public base URL is configured
// (a CDN, or the public bucket itself made anonymously readable by the
// operator), and otherwise /media/<key>, served by the Service's handler from
// whichever store is configured. The handler is therefore also the default in S3
// mode: the URL stays stable, so browsers and proxies cache it, which presigned
// URLs (a new signature every time) would defeat.
//
// Private objects are never cached and never have stable URLs. In local mode
// SignedURL returns /media/private/<key>?exp=<unix>&sig=<hex>, an HMAC-SHA256
// over the key and expiry with Config.SigningKey, checked in constant time by
// the handler, which answers 403 to a missing, altered or expired signature and
// sends "Cache-Control: no-store". In S3 mode it returns a presigned GET URL of
// the private bucket with response-cache-control=no-store; the browser must be
// able to reach the S3 endpoint for that. Lifetimes are capped at MaxSignedTTL.
// Signed URLs carry a credential: never log them.
package media

import (
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"regexp"
	"strings"
	"time"

	"fuju/internal/valid"
)

// Area is one of the two places objects live; they differ in who may read them.
type Area string

const (
	// Public holds product photos, readable by anyone and cached forever.
	Public Area = "public"
	// Private holds renters' documents, readable only through signed URLs.
	Private Area = "private"
)

// valid reports whether a is one of the two areas.
func (a Area) valid() bool { return a == Public || a == Private }

// Info describes a stored object.
type Info struct {
	Key         string
	Size        int64
	ModTime     time.Time
	ContentType string
	// ETag is a strong validator derived from the content (SHA-256 in the local
	// store, the S3 ETag in S3), without quotes.
	ETag string
}

// Object is an open stored object. Callers must Close it. It seeks, so
// http.ServeContent can answer Range requests from it.
type Object struct {
	Info
	io.ReadSeekCloser
}

// Store keeps bytes in the two areas. Implementations are safe for concurrent
// use. Keys are validated (see ValidateKey) and are the same in both stores.
//
// Public keys must be write-once: the handler tells browsers to cache them
// forever, so putting different bytes under an existing public key would leave
// clients with the old ones.
type Store interface {
	// Put stores size bytes from r under key, replacing any object there.
	// size may be -1 when unknown. A failed Put leaves no partial object.
	Put(ctx context.Context, area Area, key string, r io.Reader, size int64, contentType string) error
	// Get opens the object at key; ErrNotFound if there is none.
	Get(ctx context.Context, area Area, key string) (*Object, error)
	// Stat describes the object at key; ErrNotFound if there is none.
	Stat(ctx context.Context, area Area, key string) (Info, error)
	// Exists reports whether an object is stored at key.
	Exists(ctx context.Context, area Area, key string) (bool, error)
	// Delete removes the object at key. Deleting a missing object is not an
	// error, so a cleanup that was interrupted can simply run again.
	Delete(ctx context.Context, area Area, key string) error
	// List yields the objects whose keys start with prefix, in no promised order.
	List(ctx context.Context, area Area, prefix string) iter.Seq2[Info, error]
}

// Errors callers test for with errors.Is. The statuses are the ones web/ maps
// them to.
var (
	// ErrNotFound means no object is stored under the key (404).
	ErrNotFound = errors.New("media: not found")
	// ErrInvalidKey means a key has characters or a shape the stores refuse (400).
	ErrInvalidKey = errors.New("media: invalid key")
	// ErrUnsupportedType means the upload is not JPEG, PNG or WebP (415).
	ErrUnsupportedType = errors.New("media: unsupported image type")
	// ErrTooLarge means the upload has more bytes than allowed (413).
	ErrTooLarge = errors.New("media: file too large")
	// ErrTooManyPixels means the image's header declares more pixels than
	// allowed, which is how decompression bombs look (422).
	ErrTooManyPixels = errors.New("media: image has too many pixels")
	// ErrCorrupt means the upload is empty, truncated or otherwise undecodable (422).
	ErrCorrupt = errors.New("media: image is damaged")
)

// InputError explains why an upload was refused in words a person can act on.
// Err is one of ErrUnsupportedType, ErrTooLarge, ErrTooManyPixels and
// ErrCorrupt, so errors.Is picks the status.
type InputError struct {
	// Field is the form field at fault: always "photo" from this package; the
	// web layer may rename it to match its form.
	Field string
	// Reason is a full English sentence, without the "media: " prefix.
	Reason string
	// Code and Params say the same for the message catalogue (see
	// internal/valid): pages and the API show it in the reader's language.
	Code   string
	Params map[string]any
	Err    error
}

// Error returns the reason prefixed with the package name.
func (e *InputError) Error() string { return "media: " + e.Reason }

// Unwrap returns the sentinel that classifies the error.
func (e *InputError) Unwrap() error { return e.Err }

// Problem is e as a field problem.
func (e *InputError) Problem() valid.Problem {
	return valid.Problem{Code: e.Code, Message: e.Reason, Params: e.Params}
}

// inputError refuses an upload with code (and its parameters as key/value
// pairs, see valid.Error.Add) and an English reason.
func inputError(kind error, code, reason string, kv ...any) error {
	p := (&valid.Error{}).Add("photo", code, reason, kv...).Fields["photo"]
	return &InputError{Field: "photo", Reason: reason, Code: code, Params: p.Params, Err: kind}
}

// maxKeyLen keeps keys well below S3's 1024-byte limit and common file name limits.
const maxKeyLen = 512

// keyPattern is the whole key grammar: lowercase slash-separated segments that
// each start with a letter or digit. That rules out a leading "/", empty and
// "."/".." segments and hidden files, and keeps keys identical on a local
// filesystem and in S3 without escaping.
var keyPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]*(/[a-z0-9][a-z0-9._-]*)*$`)

// privatePrefix is where the handler serves the private area; a public key may
// not start with it, or its URL would be read as a private one.
const privatePrefix = "private/"

// ValidateKey returns an error wrapping ErrInvalidKey unless key is a valid
// object key for area: at most 512 bytes of [a-z0-9/._-], made of non-empty
// segments that start with a letter or digit, without "..". Public keys may not
// start with "private/".
func ValidateKey(area Area, key string) error {
	if !area.valid() {
		return fmt.Errorf("media: unknown area %q: %w", area, ErrInvalidKey)
	}
	if len(key) > maxKeyLen {
		return fmt.Errorf("media: key is longer than %d bytes: %w", maxKeyLen, ErrInvalidKey)
	}
	if !keyPattern.MatchString(key) || strings.Contains(key, "..") {
		return fmt.Errorf("media: key %q must be lowercase a-z, 0-9, '/', '.', '_', '-' segments without '..': %w", key, ErrInvalidKey)
	}
	if area == Public && strings.HasPrefix(key, privatePrefix) {
		return fmt.Errorf("media: public key %q may not start with %q: %w", key, privatePrefix, ErrInvalidKey)
	}
	return nil
}

// validPrefix checks a List prefix: empty, or a key prefix that could only
// match valid keys.
func validPrefix(area Area, prefix string) error {
	if !area.valid() {
		return fmt.Errorf("media: unknown area %q: %w", area, ErrInvalidKey)
	}
	if prefix == "" {
		return nil
	}
	// A prefix ending in "/" is a directory-like prefix; check it with a
	// stand-in last segment so the key grammar applies unchanged.
	probe := prefix
	if strings.HasSuffix(probe, "/") {
		probe += "x"
	}
	if !keyPattern.MatchString(probe) || strings.Contains(prefix, "..") || len(prefix) > maxKeyLen {
		return fmt.Errorf("media: list prefix %q: %w", prefix, ErrInvalidKey)
	}
	return nil
}
