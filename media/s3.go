package media

import (
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/minio/minio-go/v7/pkg/s3utils"
)

// S3Config says how to reach S3-compatible object storage (MinIO, AWS S3, …).
type S3Config struct {
	// Endpoint is host:port, e.g. "127.0.0.1:9000". A URL such as
	// "https://s3.example.com" is accepted too; its scheme then decides TLS.
	Endpoint  string
	AccessKey string
	SecretKey string
	// Region defaults to "us-east-1", which MinIO accepts. Setting it also
	// spares a bucket-location request before every presigned URL.
	Region string
	// TLS selects https.
	TLS bool
	// PublicBucket holds product photos, PrivateBucket renters' documents. They
	// must differ. Both are created at start if missing.
	PublicBucket  string
	PrivateBucket string
}

// S3 is a Store in two buckets of S3-compatible object storage.
type S3 struct {
	client   *minio.Client
	endpoint string
	buckets  map[Area]string
}

// startupTimeout bounds the reachability check in NewS3 so a wrong endpoint
// fails the start within seconds instead of hanging a deploy.
const startupTimeout = 15 * time.Second

// NewS3 connects to object storage, checks that the endpoint answers and
// accepts the credentials, and creates the two buckets if they are missing.
func NewS3(ctx context.Context, cfg S3Config) (*S3, error) {
	endpoint, secure, err := parseEndpoint(cfg.Endpoint, cfg.TLS)
	if err != nil {
		return nil, err
	}
	if cfg.AccessKey == "" || cfg.SecretKey == "" {
		return nil, fmt.Errorf("media: object storage at %s needs an access key and a secret key", endpoint)
	}
	for _, b := range []string{cfg.PublicBucket, cfg.PrivateBucket} {
		if err := s3utils.CheckValidBucketNameStrict(b); err != nil {
			return nil, fmt.Errorf("media: bucket name %q: %v", b, err)
		}
	}
	if cfg.PublicBucket == cfg.PrivateBucket {
		// One bucket for both would make renters' documents as public as photos
		// the moment the bucket is opened to anonymous reads or a CDN.
		return nil, fmt.Errorf("media: public and private buckets must differ (both are %q)", cfg.PublicBucket)
	}
	region := cfg.Region
	if region == "" {
		region = "us-east-1"
	}
	opts := func(retries int) *minio.Options {
		return &minio.Options{
			Creds:      credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, ""),
			Secure:     secure,
			Region:     region,
			MaxRetries: retries,
		}
	}
	client, err := minio.New(endpoint, opts(0)) // 0: minio-go's default retries
	if err != nil {
		return nil, fmt.Errorf("media: object storage endpoint %q: %w", endpoint, err)
	}
	// The start-up check must not retry a refused connection for half a minute.
	probe, err := minio.New(endpoint, opts(1))
	if err != nil {
		return nil, fmt.Errorf("media: object storage endpoint %q: %w", endpoint, err)
	}
	s := &S3{client: client, endpoint: endpoint, buckets: map[Area]string{Public: cfg.PublicBucket, Private: cfg.PrivateBucket}}
	ctx, cancel := context.WithTimeout(ctx, startupTimeout)
	defer cancel()
	for _, b := range []string{cfg.PublicBucket, cfg.PrivateBucket} {
		if err := s.ensureBucket(ctx, probe, b, region, cfg.AccessKey); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// parseEndpoint accepts host:port or a URL and returns host:port and whether
// to use TLS.
func parseEndpoint(endpoint string, tls bool) (string, bool, error) {
	if endpoint == "" {
		return "", false, errors.New("media: object storage endpoint is empty")
	}
	if strings.Contains(endpoint, "://") {
		u, err := url.Parse(endpoint)
		if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") || (u.Path != "" && u.Path != "/") {
			return "", false, fmt.Errorf("media: object storage endpoint %q must be host:port or http(s)://host:port", endpoint)
		}
		return u.Host, u.Scheme == "https", nil
	}
	if strings.ContainsAny(endpoint, "/?#") {
		return "", false, fmt.Errorf("media: object storage endpoint %q must be host:port or http(s)://host:port", endpoint)
	}
	return endpoint, tls, nil
}

// ensureBucket lists (at most) one object of the bucket, which proves the
// endpoint answers and accepts the key, and creates the bucket if it is
// missing. A listing, unlike HEAD, comes back with an error code that tells a
// wrong access key from a wrong secret.
func (s *S3) ensureBucket(ctx context.Context, probe *minio.Client, bucket, region, accessKey string) error {
	err := firstListError(ctx, probe, bucket)
	if err == nil {
		return nil
	}
	if s3Code(err) == "NoSuchBucket" {
		err = probe.MakeBucket(ctx, bucket, minio.MakeBucketOptions{Region: region})
		if code := s3Code(err); err == nil || code == "BucketAlreadyOwnedByYou" {
			return nil // another instance may have won the race to create it
		}
	}
	return s.startupError(bucket, accessKey, err)
}

func firstListError(ctx context.Context, c *minio.Client, bucket string) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // stops the listing goroutine after the first answer
	for obj := range c.ListObjects(ctx, bucket, minio.ListObjectsOptions{MaxKeys: 1}) {
		return obj.Err
	}
	return ctx.Err()
}

// startupError says in plain words why object storage cannot be used.
func (s *S3) startupError(bucket, accessKey string, err error) error {
	var resp minio.ErrorResponse
	if !errors.As(err, &resp) || resp.Code == "" {
		return fmt.Errorf("media: cannot reach object storage at %s: %w", s.endpoint, err)
	}
	switch resp.Code {
	case "InvalidAccessKeyId":
		return fmt.Errorf("media: object storage at %s rejected the access key %q (unknown key): %w", s.endpoint, accessKey, err)
	case "SignatureDoesNotMatch":
		return fmt.Errorf("media: object storage at %s rejected the secret key of access key %q: %w", s.endpoint, accessKey, err)
	case "AccessDenied":
		return fmt.Errorf("media: object storage at %s denies access key %q the use of bucket %q: %w", s.endpoint, accessKey, bucket, err)
	}
	return fmt.Errorf("media: object storage at %s, bucket %q: %w", s.endpoint, bucket, err)
}

// s3Code returns the S3 error code of err, or "".
func s3Code(err error) string {
	var resp minio.ErrorResponse
	if errors.As(err, &resp) {
		return resp.Code
	}
	return ""
}

// objectError turns "no such key" into ErrNotFound.
func objectError(op string, area Area, key string, err error) error {
	var resp minio.ErrorResponse
	if errors.As(err, &resp) && (resp.Code == "NoSuchKey" || resp.StatusCode == http.StatusNotFound && resp.Code != "NoSuchBucket") {
		return fmt.Errorf("media: %s/%s: %w", area, key, ErrNotFound)
	}
	return fmt.Errorf("media: %s %s/%s: %w", op, area, key, err)
}

// cacheControl is stored with each object, so a CDN or a browser reading the
// bucket directly (Config.PublicURL) caches the same way as through the handler.
func cacheControl(area Area) string {
	if area == Public {
		return immutableCache
	}
	return "no-store"
}

// Put implements Store.
func (s *S3) Put(ctx context.Context, area Area, key string, r io.Reader, size int64, contentType string) error {
	if err := ValidateKey(area, key); err != nil {
		return err
	}
	if contentType == "" {
		contentType = "application/octet-stream"
	}
	_, err := s.client.PutObject(ctx, s.buckets[area], key, r, size, minio.PutObjectOptions{
		ContentType:  contentType,
		CacheControl: cacheControl(area),
	})
	if err != nil {
		return fmt.Errorf("media: put %s/%s: %w", area, key, err)
	}
	return nil
}

// Get implements Store.
func (s *S3) Get(ctx context.Context, area Area, key string) (*Object, error) {
	if err := ValidateKey(area, key); err != nil {
		return nil, err
	}
	obj, err := s.client.GetObject(ctx, s.buckets[area], key, minio.GetObjectOptions{})
	if err != nil {
		return nil, objectError("get", area, key, err)
	}
	// GetObject is lazy; Stat sends the request and surfaces "no such key".
	st, err := obj.Stat()
	if err != nil {
		obj.Close()
		return nil, objectError("get", area, key, err)
	}
	return &Object{Info: s3Info(st), ReadSeekCloser: obj}, nil
}

func s3Info(st minio.ObjectInfo) Info {
	return Info{Key: st.Key, Size: st.Size, ModTime: st.LastModified, ContentType: st.ContentType, ETag: strings.Trim(st.ETag, `"`)}
}

// Stat implements Store.
func (s *S3) Stat(ctx context.Context, area Area, key string) (Info, error) {
	if err := ValidateKey(area, key); err != nil {
		return Info{}, err
	}
	st, err := s.client.StatObject(ctx, s.buckets[area], key, minio.StatObjectOptions{})
	if err != nil {
		return Info{}, objectError("stat", area, key, err)
	}
	return s3Info(st), nil
}

// Exists implements Store.
func (s *S3) Exists(ctx context.Context, area Area, key string) (bool, error) {
	_, err := s.Stat(ctx, area, key)
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// Delete implements Store.
func (s *S3) Delete(ctx context.Context, area Area, key string) error {
	if err := ValidateKey(area, key); err != nil {
		return err
	}
	if err := s.client.RemoveObject(ctx, s.buckets[area], key, minio.RemoveObjectOptions{}); err != nil {
		return fmt.Errorf("media: delete %s/%s: %w", area, key, err)
	}
	return nil
}

// List implements Store. S3 listings carry no content type, so the yielded
// Info has none.
func (s *S3) List(ctx context.Context, area Area, prefix string) iter.Seq2[Info, error] {
	return func(yield func(Info, error) bool) {
		if err := validPrefix(area, prefix); err != nil {
			yield(Info{}, err)
			return
		}
		ctx, cancel := context.WithCancel(ctx)
		defer cancel() // stops minio-go's listing goroutine if the caller breaks early
		for obj := range s.client.ListObjects(ctx, s.buckets[area], minio.ListObjectsOptions{Prefix: prefix, Recursive: true}) {
			if obj.Err != nil {
				yield(Info{}, fmt.Errorf("media: list %s/%s: %w", area, prefix, obj.Err))
				return
			}
			if !yield(s3Info(obj), nil) {
				return
			}
		}
	}
}

// presignedGet returns a presigned GET URL for a private object that tells the
// storage to answer with Cache-Control: no-store.
func (s *S3) presignedGet(ctx context.Context, key string, ttl time.Duration) (string, error) {
	params := url.Values{"response-cache-control": {"no-store"}}
	u, err := s.client.PresignedGetObject(ctx, s.buckets[Private], key, ttl, params)
	if err != nil {
		return "", fmt.Errorf("media: presign %s/%s: %w", Private, key, err)
	}
	return u.String(), nil
}
