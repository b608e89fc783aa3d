package media

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sync/singleflight"
)

// Config selects and configures the store, the pipeline and the URLs. cmd/fuju
// fills it from the environment (suggested names in brackets).
type Config struct {
	// Dir is the local store's directory (DATA_DIR/media), used when
	// S3.Endpoint is empty.
	Dir string
	// S3 selects object storage when S3.Endpoint is set
	// (FUJU_S3_ENDPOINT, FUJU_S3_ACCESS_KEY, FUJU_S3_SECRET_KEY, FUJU_S3_REGION,
	// FUJU_S3_TLS, FUJU_S3_PUBLIC_BUCKET, FUJU_S3_PRIVATE_BUCKET).
	S3 S3Config
	// PublicURL is the base URL of public objects when something other than
	// this service's handler serves them: a CDN, or the public bucket made
	// anonymously readable, e.g. "https://cdn.example.com/fuju-public"
	// (FUJU_MEDIA_PUBLIC_URL). Empty means "/media", the handler.
	PublicURL string
	// SigningKey signs local private URLs; at least 32 bytes
	// (FUJU_MEDIA_SIGNING_KEY). When empty a random key is made at start, so
	// links die on restart and differ between instances: fine for the
	// single-process embedded default, not for several instances.
	SigningKey []byte
	// MaxBytes caps an upload (FUJU_MEDIA_MAX_BYTES); 0 means DefaultMaxBytes.
	MaxBytes int64
	// MaxPixels caps width×height; 0 means DefaultMaxPixels.
	MaxPixels int64
	// Logger receives one line per private object served (Invariant 5: every
	// access to a renter's document is logged) and errors of the handler.
	// Nil discards.
	Logger *slog.Logger
}

// MaxSignedTTL is the longest lifetime of a signed private URL. A link to a
// renter's ID that leaks (a forwarded message, a screenshot of the address
// bar) is useless minutes later.
const MaxSignedTTL = 5 * time.Minute

// URLPrefix is the path under which the handler serves objects: /media/<key>
// for public ones and /media/private/<key>?exp=…&sig=… for private ones.
const URLPrefix = "/media/"

// immutableCache is safe because public keys are content-addressed.
const immutableCache = "public, max-age=31536000, immutable"

// Service stores photos and documents, makes their URLs and serves them. It is
// an http.Handler for URLPrefix; mount it for GET and HEAD.
type Service struct {
	store     Store
	local     *Local // nil in S3 mode
	s3        *S3    // nil in local mode
	pipeline  Pipeline
	publicURL string
	key       []byte
	log       *slog.Logger
	flight    singleflight.Group
	// decodes bounds concurrent decodes: each may hold up to MaxPixels×4 bytes.
	decodes chan struct{}
	now     func() time.Time
}

// Open builds the Service the config describes. It fails, with a message that
// names the cause, when the directory cannot be created, the object storage
// cannot be reached, or the credentials are refused.
func Open(ctx context.Context, cfg Config) (*Service, error) {
	s := &Service{
		pipeline:  Pipeline{MaxBytes: cfg.MaxBytes, MaxPixels: cfg.MaxPixels},
		publicURL: strings.TrimSuffix(cfg.PublicURL, "/"),
		log:       cfg.Logger,
		decodes:   make(chan struct{}, runtime.GOMAXPROCS(0)),
		now:       time.Now,
	}
	if s.publicURL == "" {
		s.publicURL = strings.TrimSuffix(URLPrefix, "/")
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	switch n := len(cfg.SigningKey); {
	case n == 0:
		s.key = make([]byte, 32)
		_, _ = rand.Read(s.key)
	case n < 32:
		return nil, fmt.Errorf("media: signing key is %d bytes; it must be at least 32", n)
	default:
		s.key = bytes.Clone(cfg.SigningKey)
	}
	if cfg.S3.Endpoint != "" {
		st, err := NewS3(ctx, cfg.S3)
		if err != nil {
			return nil, err
		}
		s.store, s.s3 = st, st
		return s, nil
	}
	if cfg.Dir == "" {
		return nil, errors.New("media: no storage configured: set a directory or an S3 endpoint")
	}
	st, err := NewLocal(cfg.Dir)
	if err != nil {
		return nil, err
	}
	s.store, s.local = st, st
	return s, nil
}

// Close releases the local store's directory handle; S3 needs nothing.
func (s *Service) Close() error {
	if s.local != nil {
		return s.local.Close()
	}
	return nil
}

// Store returns the store, for objects that are not photos.
func (s *Service) Store() Store { return s.store }

// Pipeline returns the pipeline SavePhoto uses, e.g. to validate without storing.
func (s *Service) Pipeline() Pipeline { return s.pipeline }

// SaveProof stores a photo of a renter's proof document in the private area
// and returns the key of its largest variant (rentals' ProofStore).
func (s *Service) SaveProof(ctx context.Context, photo []byte) (string, error) {
	saved, err := s.SavePhoto(ctx, Private, bytes.NewReader(photo))
	if err != nil {
		return "", err
	}
	return VariantKey(saved.Hash, saved.Variants[len(saved.Variants)-1].Width), nil
}

// SavePhoto validates and processes an upload and stores its variants in area,
// unless the same bytes were stored before, in which case it returns the
// earlier result without decoding anything. Refused uploads are *InputError
// values (see the package doc for statuses) and store nothing.
//
// Identical uploads racing within a process are processed once and all
// succeed; across processes they write identical bytes to identical keys, so
// one set of objects remains either way. The variants are written before the
// manifest (p/…/<hash>/photo.json), whose presence marks a complete set; an
// interrupted save is completed by the next one.
func (s *Service) SavePhoto(ctx context.Context, area Area, r io.Reader) (Photo, error) {
	if !area.valid() {
		return Photo{}, fmt.Errorf("media: unknown area %q: %w", area, ErrInvalidKey)
	}
	data, err := s.pipeline.read(r)
	if err != nil {
		return Photo{}, err
	}
	hash := hashOf(data)
	// The shared work runs detached from the first caller's context, so one
	// client hanging up does not fail the others waiting on the same photo.
	v, err, _ := s.flight.Do(string(area)+"/"+hash, func() (any, error) {
		return s.savePhoto(context.WithoutCancel(ctx), area, data, hash)
	})
	if err != nil {
		return Photo{}, err
	}
	return v.(Photo), nil
}

func (s *Service) savePhoto(ctx context.Context, area Area, data []byte, hash string) (Photo, error) {
	if p, err := s.readManifest(ctx, area, hash); err == nil {
		return p, nil
	} else if !errors.Is(err, ErrNotFound) {
		return Photo{}, err
	}
	select {
	case s.decodes <- struct{}{}:
	case <-ctx.Done():
		return Photo{}, ctx.Err()
	}
	out, err := s.pipeline.process(ctx, data, hash)
	<-s.decodes
	if err != nil {
		return Photo{}, err
	}
	for i, v := range out.Photo.Variants {
		// Content-addressed: an existing key already holds these bytes.
		ok, err := s.store.Exists(ctx, area, v.Key)
		if err != nil {
			return Photo{}, err
		}
		if ok {
			continue
		}
		if err := s.store.Put(ctx, area, v.Key, bytes.NewReader(out.Data[i]), int64(len(out.Data[i])), "image/jpeg"); err != nil {
			return Photo{}, err
		}
	}
	m, err := json.Marshal(toManifest(out.Photo))
	if err != nil {
		return Photo{}, fmt.Errorf("media: encode manifest: %w", err)
	}
	if err := s.store.Put(ctx, area, manifestKey(hash), bytes.NewReader(m), int64(len(m)), "application/json"); err != nil {
		return Photo{}, err
	}
	return out.Photo, nil
}

// manifest is the stored form of a Photo; the tags stay here, not on Photo.
type manifest struct {
	Hash     string            `json:"hash"`
	Format   string            `json:"format"`
	Width    int               `json:"width"`
	Height   int               `json:"height"`
	Variants []manifestVariant `json:"variants"`
}

type manifestVariant struct {
	Width  int    `json:"width"`
	Height int    `json:"height"`
	Key    string `json:"key"`
	Bytes  int64  `json:"bytes"`
}

func toManifest(p Photo) manifest {
	m := manifest{Hash: p.Hash, Format: p.Format, Width: p.Width, Height: p.Height}
	for _, v := range p.Variants {
		m.Variants = append(m.Variants, manifestVariant(v))
	}
	return m
}

func (m manifest) photo() Photo {
	p := Photo{Hash: m.Hash, Format: m.Format, Width: m.Width, Height: m.Height}
	for _, v := range m.Variants {
		p.Variants = append(p.Variants, Variant(v))
	}
	return p
}

func (s *Service) readManifest(ctx context.Context, area Area, hash string) (Photo, error) {
	obj, err := s.store.Get(ctx, area, manifestKey(hash))
	if err != nil {
		return Photo{}, err
	}
	defer obj.Close()
	var m manifest
	if err := json.NewDecoder(io.LimitReader(obj, 1<<20)).Decode(&m); err != nil || m.Hash != hash || len(m.Variants) == 0 {
		// Unreadable: treat as absent, so the photo is processed and the
		// manifest rewritten.
		return Photo{}, fmt.Errorf("media: manifest of %s is unreadable: %w", hash, ErrNotFound)
	}
	return m.photo(), nil
}

// hashPattern is a photo's name: a hex SHA-256.
var hashPattern = regexp.MustCompile(`^[0-9a-f]{64}$`)

// DeletePhoto removes every object of a photo (all variants, including any
// left by an older pipeline, and the manifest). Call it when no product uses
// the photo any more; the caller keeps that count, since the same bytes
// uploaded for two products are one photo. Deleting a missing photo is not an
// error.
func (s *Service) DeletePhoto(ctx context.Context, area Area, hash string) error {
	if !hashPattern.MatchString(hash) {
		return fmt.Errorf("media: photo hash %q is not a hex SHA-256: %w", hash, ErrInvalidKey)
	}
	// The manifest goes first: a photo that lost some variants must not look
	// complete to SavePhoto.
	if err := s.store.Delete(ctx, area, manifestKey(hash)); err != nil {
		return err
	}
	var keys []string
	for info, err := range s.store.List(ctx, area, PhotoPrefix(hash)) {
		if err != nil {
			return err
		}
		keys = append(keys, info.Key)
	}
	for _, k := range keys {
		if err := s.store.Delete(ctx, area, k); err != nil {
			return err
		}
	}
	return nil
}

// URL returns the URL of a public object: PublicURL/<key> when configured,
// else /media/<key>. It is stable, so it can be cached for as long as the
// object lives. Keys need no escaping (see ValidateKey).
func (s *Service) URL(key string) string { return s.publicURL + "/" + key }

// Srcset returns an HTML srcset value for a photo's variants, narrowest first:
// "/media/p/ab/…/320.jpg 320w, /media/p/ab/…/800.jpg 800w, …".
func (s *Service) Srcset(p Photo) string {
	var b strings.Builder
	for i, v := range p.Variants {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(s.URL(v.Key))
		b.WriteByte(' ')
		b.WriteString(strconv.Itoa(v.Width))
		b.WriteByte('w')
	}
	return b.String()
}

// SignedURL returns a URL that opens the private object at key for ttl
// (capped at MaxSignedTTL; zero or less means MaxSignedTTL). In local mode it
// is /media/private/<key>?exp=<unix>&sig=<hex>, served by this handler; in S3
// mode a presigned GET URL of the private bucket. It does not check that the
// object exists. The URL is a credential: do not log it. In S3 mode the
// download itself bypasses this service, so the caller logs the issuing of
// the URL (who, which key) as the access record; in local mode the handler
// also logs each download.
func (s *Service) SignedURL(ctx context.Context, key string, ttl time.Duration) (string, error) {
	if err := ValidateKey(Private, key); err != nil {
		return "", err
	}
	if ttl <= 0 || ttl > MaxSignedTTL {
		ttl = MaxSignedTTL
	}
	if s.s3 != nil {
		return s.s3.presignedGet(ctx, key, ttl)
	}
	exp := s.now().Add(ttl).Unix()
	return URLPrefix + privatePrefix + key + "?exp=" + strconv.FormatInt(exp, 10) + "&sig=" + s.sign(key, exp), nil
}

// sign is the HMAC-SHA256 of the key and expiry, with a purpose prefix so the
// same key can never be tricked into signing something else.
func (s *Service) sign(key string, exp int64) string {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte("fuju-media-private\x00" + key + "\x00" + strconv.FormatInt(exp, 10)))
	return hex.EncodeToString(m.Sum(nil))
}

// clockSkew tolerates instances whose clocks differ a little when checking
// that a link does not claim to live longer than MaxSignedTTL.
const clockSkew = time.Minute

// verify checks a private link's expiry and signature.
func (s *Service) verify(key, expParam, sigParam string) bool {
	exp, err := strconv.ParseInt(expParam, 10, 64)
	if err != nil {
		return false
	}
	now := s.now()
	if now.Unix() > exp || exp > now.Add(MaxSignedTTL+clockSkew).Unix() {
		return false
	}
	got, err := hex.DecodeString(sigParam)
	if err != nil {
		return false
	}
	want, _ := hex.DecodeString(s.sign(key, exp))
	return hmac.Equal(got, want)
}
