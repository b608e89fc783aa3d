package media

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"iter"
	"mime"
	"os"
	"path"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Local is a Store in a directory, the embedded default. Objects are plain
// files at <dir>/public/<key> and <dir>/private/<key>; each one's content type
// and SHA-256 sit beside them in <dir>/.meta/<area>/<key>, and uploads are
// staged in <dir>/.tmp and renamed into place, so a reader never sees half a
// file. All access goes through an os.Root, so no key or symlink can reach
// outside dir.
type Local struct {
	root *os.Root
	dir  string

	// metas remembers sidecars already read. Reading one costs a path walk
	// and three syscalls, half of serving a 304. An entry counts only while the
	// open file's size and modification time still match, so a file replaced
	// behind our back (another process, a hand copy) is never described
	// by a stale entry.
	mu    sync.RWMutex
	metas map[string]cachedMeta
}

// cachedMeta is a sidecar as read, with the data file's size and mtime then.
type cachedMeta struct {
	localMeta
	modTime time.Time
}

// maxCachedMetas bounds the cache (~200 bytes an entry); when full it starts
// over, which costs only re-reads.
const maxCachedMetas = 100_000

// localMeta is what the sidecar file records about an object.
type localMeta struct {
	ContentType string `json:"content_type"`
	SHA256      string `json:"sha256"`
	Size        int64  `json:"size"`
}

const (
	metaDir = ".meta"
	tmpDir  = ".tmp"
	// Private documents must not be readable by other local users.
	dirPerm  = 0o750
	filePerm = 0o640
)

// NewLocal opens (creating if needed) a local store rooted at dir.
func NewLocal(dir string) (*Local, error) {
	if dir == "" {
		return nil, errors.New("media: local store needs a directory")
	}
	if err := os.MkdirAll(dir, dirPerm); err != nil {
		return nil, fmt.Errorf("media: create local store: %w", err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("media: open local store: %w", err)
	}
	for _, d := range []string{string(Public), string(Private), metaDir + "/" + string(Public), metaDir + "/" + string(Private), tmpDir} {
		if err := root.MkdirAll(d, dirPerm); err != nil {
			root.Close()
			return nil, fmt.Errorf("media: create %s in local store %s: %w", d, dir, err)
		}
	}
	return &Local{root: root, dir: dir, metas: map[string]cachedMeta{}}, nil
}

// Close releases the directory handle.
func (l *Local) Close() error { return l.root.Close() }

// Dir returns the directory the store lives in.
func (l *Local) Dir() string { return l.dir }

func dataPath(area Area, key string) string { return string(area) + "/" + key }
func metaPath(area Area, key string) string { return metaDir + "/" + string(area) + "/" + key }

// Put implements Store.
func (l *Local) Put(ctx context.Context, area Area, key string, r io.Reader, size int64, contentType string) (err error) {
	if err := ValidateKey(area, key); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if contentType == "" {
		contentType = "application/octet-stream"
	}
	tmpData, n, sum, err := l.stage(ctx, r)
	if err != nil {
		return fmt.Errorf("media: put %s/%s: %w", area, key, err)
	}
	defer func() {
		if err != nil {
			_ = l.root.Remove(tmpData)
		}
	}()
	if size >= 0 && n != size {
		return fmt.Errorf("media: put %s/%s: read %d bytes, expected %d", area, key, n, size)
	}
	meta, _ := json.Marshal(localMeta{ContentType: contentType, SHA256: sum, Size: n})
	tmpMeta, _, _, err := l.stage(ctx, strings.NewReader(string(meta)))
	if err != nil {
		return fmt.Errorf("media: put %s/%s: %w", area, key, err)
	}
	// The sidecar goes in first: a data file without its sidecar would need a
	// fallback, a sidecar without data is invisible.
	if err := l.publish(tmpMeta, metaPath(area, key)); err != nil {
		_ = l.root.Remove(tmpMeta)
		return fmt.Errorf("media: put %s/%s: %w", area, key, err)
	}
	if err := l.publish(tmpData, dataPath(area, key)); err != nil {
		return fmt.Errorf("media: put %s/%s: %w", area, key, err)
	}
	l.forget(area, key)
	return nil
}

func (l *Local) forget(area Area, key string) {
	l.mu.Lock()
	delete(l.metas, dataPath(area, key))
	l.mu.Unlock()
}

// stage copies r into a new file under .tmp, synced to disk, and returns its
// name, length and SHA-256.
func (l *Local) stage(ctx context.Context, r io.Reader) (name string, n int64, sum string, err error) {
	name = tmpDir + "/" + strings.ToLower(rand.Text())
	f, err := l.root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, filePerm)
	if err != nil {
		return "", 0, "", err
	}
	h := sha256.New()
	n, err = io.Copy(io.MultiWriter(f, h), ctxReader{ctx, r})
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = l.root.Remove(name)
		return "", 0, "", err
	}
	return name, n, hex.EncodeToString(h.Sum(nil)), nil
}

// publish renames a staged file to its place. A concurrent Delete may prune the
// parent directory between MkdirAll and Rename, so that is retried.
func (l *Local) publish(tmp, dst string) error {
	var err error
	for range 3 {
		if err = l.root.MkdirAll(path.Dir(dst), dirPerm); err != nil {
			continue
		}
		if err = l.root.Rename(tmp, dst); err == nil || !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	return err
}

// Get implements Store.
func (l *Local) Get(ctx context.Context, area Area, key string) (*Object, error) {
	if err := ValidateKey(area, key); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	f, err := l.root.Open(dataPath(area, key))
	if err != nil {
		return nil, l.pathError(area, key, err)
	}
	info, err := l.info(area, key, f)
	if err != nil {
		f.Close()
		return nil, err
	}
	return &Object{Info: info, ReadSeekCloser: f}, nil
}

// Stat implements Store.
func (l *Local) Stat(ctx context.Context, area Area, key string) (Info, error) {
	obj, err := l.Get(ctx, area, key)
	if err != nil {
		return Info{}, err
	}
	obj.Close()
	return obj.Info, nil
}

// Exists implements Store.
func (l *Local) Exists(ctx context.Context, area Area, key string) (bool, error) {
	if err := ValidateKey(area, key); err != nil {
		return false, err
	}
	if err := ctx.Err(); err != nil {
		return false, err
	}
	fi, err := l.root.Stat(dataPath(area, key))
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("media: stat %s/%s: %w", area, key, err)
	}
	return fi.Mode().IsRegular(), nil
}

// pathError turns "no such file" into ErrNotFound, including ENOTDIR, which is
// what a key through a regular file gets ("a/b" when "a" is an object).
func (l *Local) pathError(area Area, key string, err error) error {
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
		return fmt.Errorf("media: %s/%s: %w", area, key, ErrNotFound)
	}
	return fmt.Errorf("media: open %s/%s: %w", area, key, err)
}

// info describes the open data file f, from its sidecar when that matches,
// else by hashing the file (and rewinding it).
func (l *Local) info(area Area, key string, f *os.File) (Info, error) {
	fi, err := f.Stat()
	if err != nil {
		return Info{}, fmt.Errorf("media: stat %s/%s: %w", area, key, err)
	}
	if !fi.Mode().IsRegular() {
		return Info{}, fmt.Errorf("media: %s/%s: %w", area, key, ErrNotFound)
	}
	info := Info{Key: key, Size: fi.Size(), ModTime: fi.ModTime()}
	cacheKey := dataPath(area, key)
	l.mu.RLock()
	c, ok := l.metas[cacheKey]
	l.mu.RUnlock()
	if ok && c.Size == fi.Size() && c.modTime.Equal(fi.ModTime()) {
		info.ContentType, info.ETag = c.ContentType, c.SHA256
		return info, nil
	}
	var m localMeta
	if b, err := l.root.ReadFile(metaPath(area, key)); err == nil && json.Unmarshal(b, &m) == nil && m.Size == fi.Size() && m.SHA256 != "" {
		info.ContentType, info.ETag = m.ContentType, m.SHA256
		l.mu.Lock()
		if len(l.metas) >= maxCachedMetas {
			clear(l.metas)
		}
		l.metas[cacheKey] = cachedMeta{localMeta: m, modTime: fi.ModTime()}
		l.mu.Unlock()
		return info, nil
	}
	// No usable sidecar (a file copied in by hand, or a crash between the two
	// renames): derive what it would have said.
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return Info{}, fmt.Errorf("media: read %s/%s: %w", area, key, err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return Info{}, fmt.Errorf("media: read %s/%s: %w", area, key, err)
	}
	info.ETag = hex.EncodeToString(h.Sum(nil))
	info.ContentType = mime.TypeByExtension(path.Ext(key))
	if info.ContentType == "" {
		info.ContentType = "application/octet-stream"
	}
	return info, nil
}

// Delete implements Store.
func (l *Local) Delete(ctx context.Context, area Area, key string) error {
	if err := ValidateKey(area, key); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	l.forget(area, key)
	for _, p := range []string{dataPath(area, key), metaPath(area, key)} {
		if err := l.root.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("media: delete %s/%s: %w", area, key, err)
		}
		l.prune(p)
	}
	return nil
}

// prune removes the now-empty directories above p, so deleted photos do not
// leave thousands of empty p/ab/<hash>/ directories behind. Remove refuses a
// non-empty directory, which is what stops it.
func (l *Local) prune(p string) {
	for d := path.Dir(p); strings.Contains(d, "/"); d = path.Dir(d) {
		if d == metaDir+"/"+string(Public) || d == metaDir+"/"+string(Private) {
			return
		}
		if l.root.Remove(d) != nil {
			return
		}
	}
}

// List implements Store.
func (l *Local) List(ctx context.Context, area Area, prefix string) iter.Seq2[Info, error] {
	return func(yield func(Info, error) bool) {
		if err := validPrefix(area, prefix); err != nil {
			yield(Info{}, err)
			return
		}
		// Walk only the deepest directory the prefix names in full.
		start := string(area)
		if i := strings.LastIndex(prefix, "/"); i >= 0 {
			start += "/" + prefix[:i]
		}
		err := fs.WalkDir(l.root.FS(), start, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				if errors.Is(err, fs.ErrNotExist) {
					return nil // the prefix's directory does not exist (or was just pruned)
				}
				return err
			}
			if err := ctx.Err(); err != nil {
				return err
			}
			key := strings.TrimPrefix(p, string(area)+"/")
			if d.IsDir() {
				if p != start && !strings.HasPrefix(key+"/", prefix) && !strings.HasPrefix(prefix, key+"/") {
					return fs.SkipDir
				}
				return nil
			}
			if !d.Type().IsRegular() || !strings.HasPrefix(key, prefix) {
				return nil
			}
			info, err := l.Stat(ctx, area, key)
			if errors.Is(err, ErrNotFound) {
				return nil // deleted while we walked
			}
			if !yield(info, err) {
				return fs.SkipAll
			}
			return nil
		})
		if err != nil {
			yield(Info{}, fmt.Errorf("media: list %s/%s: %w", area, prefix, err))
		}
	}
}

// ctxReader stops a long copy when the request that asked for it is gone.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
