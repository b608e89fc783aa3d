package web

import (
	"bytes"
	"crypto/hmac"
	"errors"
	"fmt"
	"html/template"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"fuju/catalog"
	"fuju/internal/tenancy"
	"fuju/internal/valid"
	"fuju/media"
)

// photoJSON is a product photo with the URLs of its variants, for API clients.
type photoJSON struct {
	catalog.Photo
	URLs   map[string]string `json:"urls"`
	Srcset string            `json:"srcset"`
}

// productJSON is a product as the API shows it: photos with URLs, since the
// catalog stores only keys.
type productJSON struct {
	catalog.Product
	Photos []photoJSON `json:"photos"`
}

type hitJSON struct {
	catalog.Hit
	Product productJSON `json:"product"`
}

func (s *Server) photoView(p catalog.Photo) photoJSON {
	out := photoJSON{Photo: p, URLs: map[string]string{}}
	var set []string
	for _, w := range p.Widths {
		u := s.photoURL(p.Key, w)
		out.URLs[strconv.Itoa(w)] = u
		set = append(set, u+" "+strconv.Itoa(w)+"w")
	}
	out.Srcset = strings.Join(set, ", ")
	return out
}

func (s *Server) photoURL(hash string, width int) string {
	if s.media == nil {
		return ""
	}
	return s.media.URL(media.VariantKey(hash, width))
}

func (s *Server) productView(p catalog.Product) productJSON {
	out := productJSON{Product: p, Photos: make([]photoJSON, len(p.Photos))}
	for i, ph := range p.Photos {
		out.Photos[i] = s.photoView(ph)
	}
	return out
}

// img renders one photo as a responsive, lazily loaded image. sizes tells the
// browser how wide it will be shown so it downloads the smallest variant that
// is sharp enough.
func (s *Server) img(p catalog.Photo, alt, sizes, class string, eager bool) template.HTML {
	v := s.photoView(p)
	if len(p.Widths) == 0 {
		return ""
	}
	src := v.URLs[strconv.Itoa(p.Widths[0])]
	// The middle variant is a good default for browsers without srcset.
	if len(p.Widths) > 1 {
		src = v.URLs[strconv.Itoa(p.Widths[1])]
	}
	w, h := p.Width, p.Height
	if w == 0 || h == 0 {
		w, h = 4, 3
	}
	loading := `loading="lazy" decoding="async"`
	if eager {
		loading = `decoding="async" fetchpriority="high"`
	}
	return template.HTML(fmt.Sprintf(`<img class="%s" src="%s" srcset="%s" sizes="%s" width="%d" height="%d" alt="%s" %s>`,
		template.HTMLEscapeString(class), template.HTMLEscapeString(src), template.HTMLEscapeString(v.Srcset),
		template.HTMLEscapeString(sizes), w, h, template.HTMLEscapeString(alt), loading))
}

// serveMedia serves public photos (and signed private objects) in local mode,
// or reads through from S3 when no public URL is configured.
func (s *Server) serveMedia(c *gin.Context) {
	if s.media == nil {
		s.notFoundPage(c)
		return
	}
	s.media.ServeHTTP(c.Writer, c.Request)
}

const (
	scopeKey = "scope"
	actorKey = "actor"
)

func scopeOf(c *gin.Context) tenancy.Scope {
	if v, ok := c.Get(scopeKey); ok {
		return v.(tenancy.Scope)
	}
	return tenancy.Scope{}
}

func actorOf(c *gin.Context) tenancy.Actor {
	if v, ok := c.Get(actorKey); ok {
		return v.(tenancy.Actor)
	}
	return tenancy.Actor{}
}

// maxFieldBytes bounds each non-file field of an upload form.
const maxFieldBytes = 2 << 10

// uploadProductPhoto takes a multipart form with the image in "photo" and its
// text for screen readers in "alt_zh" and "alt_en". The whole request is read
// and checked before anything is stored, so a bad field stores nothing.
func (s *Server) uploadProductPhoto(c *gin.Context) error {
	prod, err := s.catalog.Get(c.Request.Context(), scopeOf(c), c.Param("id"))
	if err != nil {
		return err
	}
	up, err := s.readPhotoUpload(c)
	if err != nil {
		return err
	}
	prod, err = s.addProductPhoto(c, prod.ID, up)
	if err != nil {
		return err
	}
	c.JSON(http.StatusCreated, s.productView(prod))
	return nil
}

// photoUpload is a read and checked upload: the image's bytes and its alt
// text in both languages.
type photoUpload struct {
	photo []byte
	alt   catalog.Text
}

// readPhotoUpload reads a photo upload form, the API's and the operator
// console's alike. A console form arrives already parsed (the CSRF check read
// its token field), the API's is streamed under a byte cap.
func (s *Server) readPhotoUpload(c *gin.Context) (photoUpload, error) {
	mt, _, _ := mime.ParseMediaType(c.GetHeader("Content-Type"))
	if mt != "multipart/form-data" {
		return photoUpload{}, fmt.Errorf("web: upload: %w", errUnsupportedMedia)
	}
	maxBytes := s.media.Pipeline().MaxBytes
	if maxBytes == 0 {
		maxBytes = media.DefaultMaxBytes
	}
	var photo []byte
	fields := map[string]string{}
	if mf := c.Request.MultipartForm; mf != nil {
		if fhs := mf.File["photo"]; len(fhs) > 0 {
			if fhs[0].Size > maxBytes {
				return photoUpload{}, fmt.Errorf("web: upload: %w", media.ErrTooLarge)
			}
			f, err := fhs[0].Open()
			if err != nil {
				return photoUpload{}, uploadReadError(err)
			}
			photo, err = io.ReadAll(io.LimitReader(f, maxBytes+1))
			f.Close()
			if err != nil {
				return photoUpload{}, uploadReadError(err)
			}
		}
		for _, name := range []string{"alt_zh", "alt_en"} {
			if v := mf.Value[name]; len(v) > 0 {
				fields[name] = strings.TrimSpace(v[0])
			}
		}
	} else {
		// The cap covers the image plus the form's small fields and
		// boundaries; Gin's MaxMultipartMemory is not a cap.
		c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, maxBytes+64<<10)
		mr, err := c.Request.MultipartReader()
		if err != nil {
			return photoUpload{}, fmt.Errorf("web: upload: %w", valid.Field("photo", "multipart", "send multipart/form-data with the image in the field \"photo\""))
		}
		for {
			part, err := mr.NextPart()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return photoUpload{}, uploadReadError(err)
			}
			name := part.FormName()
			switch {
			case name == "photo" && photo == nil:
				b, err := io.ReadAll(io.LimitReader(part, maxBytes+1))
				if err != nil {
					return photoUpload{}, uploadReadError(err)
				}
				if int64(len(b)) > maxBytes {
					return photoUpload{}, fmt.Errorf("web: upload: %w", media.ErrTooLarge)
				}
				photo = b
			case name == "alt_zh" || name == "alt_en":
				b, err := io.ReadAll(io.LimitReader(part, maxFieldBytes+1))
				if err != nil {
					return photoUpload{}, uploadReadError(err)
				}
				fields[name] = strings.TrimSpace(string(b))
			}
			part.Close()
		}
	}
	if int64(len(photo)) > maxBytes {
		return photoUpload{}, fmt.Errorf("web: upload: %w", media.ErrTooLarge)
	}
	ve := &valid.Error{}
	if photo == nil {
		ve.Add("photo", "required", "is required: the image file in the field \"photo\"")
	}
	checkAlt(ve, fields["alt_zh"], fields["alt_en"])
	if err := ve.Err(); err != nil {
		return photoUpload{}, err
	}
	return photoUpload{photo: photo, alt: catalog.Text{Zh: fields["alt_zh"], En: fields["alt_en"]}}, nil
}

// checkAlt checks a photo's text for people who cannot see it: Chinese is
// required, English optional (English pages fall back to the Chinese).
func checkAlt(ve *valid.Error, zh, en string) {
	const max = valid.MaxText
	msg := fmt.Sprintf("must be at most %d characters", max)
	switch n := len([]rune(zh)); {
	case n == 0:
		ve.Add("alt_zh", "required", "is required: describe the photo for people who cannot see it")
	case n > max || len(zh) > maxFieldBytes:
		ve.Add("alt_zh", "max_length", msg, "max", max)
	}
	if len([]rune(en)) > max || len(en) > maxFieldBytes {
		ve.Add("alt_en", "max_length", msg, "max", max)
	}
}

// addProductPhoto stores an upload's image and adds it to the product.
func (s *Server) addProductPhoto(c *gin.Context, id string, up photoUpload) (catalog.Product, error) {
	if _, err := s.catalog.Get(c.Request.Context(), scopeOf(c), id); err != nil {
		return catalog.Product{}, err
	}
	saved, err := s.media.SavePhoto(c.Request.Context(), media.Public, bytes.NewReader(up.photo))
	if err != nil {
		return catalog.Product{}, err
	}
	return s.attachPhoto(c, id, saved, up.alt)
}

// attachPhoto adds a stored photo to the product and records it.
func (s *Server) attachPhoto(c *gin.Context, id string, saved media.Photo, alt catalog.Text) (catalog.Product, error) {
	ph := catalog.Photo{Key: saved.Hash, Alt: alt, Widths: variantWidths(saved), Width: saved.Width, Height: saved.Height}
	return s.catalog.AddPhoto(c.Request.Context(), scopeOf(c), id, ph, actorOf(c))
}

func variantWidths(p media.Photo) []int {
	widths := make([]int, len(p.Variants))
	for i, v := range p.Variants {
		widths[i] = v.Width
	}
	return widths
}

// readFormFile reads an uploaded file of a parsed multipart form, capped at
// the media pipeline's limit.
func (s *Server) readFormFile(fh *multipart.FileHeader) ([]byte, error) {
	maxBytes := s.media.Pipeline().MaxBytes
	if maxBytes == 0 {
		maxBytes = media.DefaultMaxBytes
	}
	if fh.Size > maxBytes {
		return nil, fmt.Errorf("web: upload: %w", media.ErrTooLarge)
	}
	f, err := fh.Open()
	if err != nil {
		return nil, uploadReadError(err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxBytes+1))
	if err != nil {
		return nil, uploadReadError(err)
	}
	if int64(len(b)) > maxBytes {
		return nil, fmt.Errorf("web: upload: %w", media.ErrTooLarge)
	}
	return b, nil
}

// A pending photo is an image stored for a form that came back with another
// field wrong. The hidden field carries its hash and sizes, signed with the
// server's key and bound to the session, so it can only name a photo this
// session uploaded: "hash.width.height.w1-w2-w3.mac".

func (s *Server) sealPendingPhoto(c *gin.Context, p media.Photo) string {
	ws := make([]string, 0, len(p.Variants))
	for _, w := range variantWidths(p) {
		ws = append(ws, strconv.Itoa(w))
	}
	body := fmt.Sprintf("%s.%d.%d.%s", p.Hash, p.Width, p.Height, strings.Join(ws, "-"))
	sess, _ := sessionOf(c)
	return body + "." + s.mac("pending-photo:"+sess.ID+":"+body)
}

func (s *Server) openPendingPhoto(c *gin.Context, v string) (media.Photo, bool) {
	if c == nil || v == "" || len(v) > 400 {
		return media.Photo{}, false
	}
	i := strings.LastIndexByte(v, '.')
	if i < 0 {
		return media.Photo{}, false
	}
	body, sig := v[:i], v[i+1:]
	sess, _ := sessionOf(c)
	if !hmac.Equal([]byte(sig), []byte(s.mac("pending-photo:"+sess.ID+":"+body))) {
		return media.Photo{}, false
	}
	parts := strings.Split(body, ".")
	if len(parts) != 4 {
		return media.Photo{}, false
	}
	p := media.Photo{Hash: parts[0]}
	var err1, err2 error
	p.Width, err1 = strconv.Atoi(parts[1])
	p.Height, err2 = strconv.Atoi(parts[2])
	if err1 != nil || err2 != nil {
		return media.Photo{}, false
	}
	for _, w := range strings.Split(parts[3], "-") {
		n, err := strconv.Atoi(w)
		if err != nil {
			return media.Photo{}, false
		}
		p.Variants = append(p.Variants, media.Variant{Width: n})
	}
	return p, true
}

func uploadReadError(err error) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return fmt.Errorf("web: upload: %w", media.ErrTooLarge)
	}
	return fmt.Errorf("web: upload: %w", valid.Field("photo", "malformed", "the multipart body could not be read: "+err.Error()))
}

type reorderRequest struct {
	Keys []string `json:"keys" binding:"required,limit=photos,dive,limit=id"`
}

func (s *Server) reorderProductPhotos(c *gin.Context) error {
	var req reorderRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	prod, err := s.reorderPhotos(c, c.Param("id"), req.Keys)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, s.productView(prod))
	return nil
}

// reorderPhotos puts a product's photos in the order of keys (the API's and
// the console's path).
func (s *Server) reorderPhotos(c *gin.Context, id string, keys []string) (catalog.Product, error) {
	return s.catalog.ReorderPhotos(c.Request.Context(), scopeOf(c), id, keys, actorOf(c))
}

type altRequest struct {
	Alt struct {
		Zh string `json:"zh" binding:"required,limit=text"`
		En string `json:"en" binding:"limit=text"`
	} `json:"alt" binding:"required"`
}

func (s *Server) setProductPhotoAlt(c *gin.Context) error {
	var req altRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	prod, err := s.setPhotoAlt(c, c.Param("id"), c.Param("key"), catalog.Text{Zh: req.Alt.Zh, En: req.Alt.En})
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, s.productView(prod))
	return nil
}

// setPhotoAlt changes a photo's text for screen readers.
func (s *Server) setPhotoAlt(c *gin.Context, id, key string, alt catalog.Text) (catalog.Product, error) {
	return s.catalog.SetPhotoAlt(c.Request.Context(), scopeOf(c), id, key, alt, actorOf(c))
}

// deleteProductPhoto removes a photo from the product and, when no product
// uses it any more, its stored objects.
func (s *Server) deleteProductPhoto(c *gin.Context) error {
	if err := s.removePhoto(c, c.Param("id"), c.Param("key")); err != nil {
		return err
	}
	c.Status(http.StatusNoContent)
	return nil
}

// removePhoto is deleteProductPhoto's work, shared with the console.
func (s *Server) removePhoto(c *gin.Context, id, key string) error {
	_, inUse, err := s.catalog.RemovePhoto(c.Request.Context(), scopeOf(c), id, key, actorOf(c))
	if err != nil {
		return err
	}
	if !inUse {
		if err := s.media.DeletePhoto(c.Request.Context(), media.Public, key); err != nil {
			// The product no longer shows it; a leftover object is only
			// storage, so the request still succeeds.
			s.logger.WarnContext(c.Request.Context(), "delete photo objects", "key", key, "err", err, "request_id", requestID(c))
		}
	}
	return nil
}
