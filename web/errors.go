package web

import (
	"errors"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"fuju/catalog"
	"fuju/internal/valid"
	"fuju/media"
	"fuju/rentals"
	"fuju/stations"
	"fuju/web/auth"
)

// Errors the web layer itself raises.
var (
	errNotFound           = errors.New("not found")
	errBadRequest         = errors.New("bad request")
	errUnauthorized       = errors.New("authentication required")
	errForbidden          = errors.New("forbidden")
	errForbiddenCSRF      = errors.New("the form expired or came from another site; reload the page and try again")
	errTooManyAttempts    = errors.New("too many attempts")
	errBadLogin           = errors.New("wrong login or password")
	errMustChangePassword = errors.New("change the one-time password first, on the account page")
	errUnsupportedMedia   = errors.New("send multipart/form-data with the image in the field \"photo\"")
	errTokenExpired       = errors.New("this API token expired")
)

// apiError is the body of every error response (DESIGN.md, "HTTP conventions").
type apiError struct {
	Error apiErrorBody `json:"error"`
}

type apiErrorBody struct {
	Code      string            `json:"code"`
	Message   string            `json:"message"`
	Fields    map[string]string `json:"fields,omitempty"`
	RequestID string            `json:"request_id,omitempty"`
}

// statusOf is the one table from domain errors to HTTP statuses and codes.
func statusOf(err error) (int, string) {
	switch {
	case errors.Is(err, media.ErrUnsupportedType), errors.Is(err, errUnsupportedMedia):
		return http.StatusUnsupportedMediaType, "unsupported_media_type"
	case errors.Is(err, media.ErrTooLarge):
		return http.StatusRequestEntityTooLarge, "too_large"
	case errors.Is(err, media.ErrTooManyPixels), errors.Is(err, media.ErrCorrupt):
		return http.StatusUnprocessableEntity, "unprocessable_image"
	case errors.Is(err, media.ErrInvalidKey):
		return http.StatusBadRequest, "bad_request"
	case errors.Is(err, media.ErrNotFound):
		return http.StatusNotFound, "not_found"
	case errors.Is(err, errTokenExpired):
		return http.StatusUnauthorized, "token_expired"
	case errors.Is(err, errUnauthorized):
		return http.StatusUnauthorized, "unauthorized"
	case errors.Is(err, errForbidden), errors.Is(err, stations.ErrForbidden):
		return http.StatusForbidden, "forbidden"
	case errors.Is(err, errForbiddenCSRF):
		return http.StatusForbidden, "csrf"
	case errors.Is(err, errMustChangePassword):
		return http.StatusForbidden, "password_change_required"
	case errors.Is(err, errTooManyAttempts):
		return http.StatusTooManyRequests, "too_many_attempts"
	case errors.Is(err, auth.ErrBusy):
		return http.StatusServiceUnavailable, "busy"
	case errors.Is(err, errBadLogin):
		return http.StatusUnauthorized, "bad_login"
	case errors.Is(err, auth.ErrNotFound):
		return http.StatusNotFound, "not_found"
	case errors.Is(err, auth.ErrConflict):
		return http.StatusConflict, "conflict"
	case errors.Is(err, valid.ErrInvalid):
		return http.StatusBadRequest, "validation_failed"
	case errors.Is(err, errBadRequest):
		return http.StatusBadRequest, "bad_request"
	case errors.Is(err, errNotFound), errors.Is(err, catalog.ErrNotFound),
		errors.Is(err, stations.ErrNotFound), errors.Is(err, rentals.ErrNotFound):
		return http.StatusNotFound, "not_found"
	case errors.Is(err, stations.ErrUnavailable):
		return http.StatusConflict, "unavailable"
	case errors.Is(err, catalog.ErrConflict), errors.Is(err, stations.ErrConflict),
		errors.Is(err, rentals.ErrConflict):
		return http.StatusConflict, "conflict"
	}
	return http.StatusInternalServerError, "internal"
}

// fail answers a request that ended in err: JSON for the API, a page otherwise.
// 5xx are logged with the request id and never show their cause.
func (s *Server) fail(c *gin.Context, err error, asJSON bool) {
	status, code := statusOf(err)
	rid := requestID(c)
	msg := err.Error()
	if status >= http.StatusInternalServerError && !errors.Is(err, auth.ErrBusy) {
		s.logger.ErrorContext(c.Request.Context(), "request failed", "err", err, "request_id", rid,
			"route", c.FullPath(), "method", c.Request.Method)
		msg = "Something went wrong on our side. Please try again; if it keeps happening, quote request id " + rid + "."
	}
	var fields map[string]string
	if probs, ok := valid.Fields(err); ok {
		fields = make(map[string]string, len(probs))
		for k, p := range probs {
			fields[k] = p.Message
		}
		msg = "Some fields are not valid."
	}
	if status == http.StatusNotFound && code == "not_found" {
		msg = "Not found."
	}
	var ie *media.InputError
	if errors.As(err, &ie) {
		// The media package's messages are written for people: which formats
		// work, how large a photo may be.
		msg = strings.TrimPrefix(ie.Error(), "media: ")
		fields = map[string]string{ie.Field: msg}
	}
	switch {
	case errors.Is(err, errTokenExpired):
		msg = strings.TrimPrefix(err.Error(), "web: ")
	case errors.Is(err, errUnauthorized):
		msg = "Sign in, or send a valid bearer token."
	case errors.Is(err, errForbidden):
		msg = "Your account may not do this."
	case errors.Is(err, errForbiddenCSRF):
		msg = errForbiddenCSRF.Error()
	case errors.Is(err, errMustChangePassword):
		msg = "Change the one-time password first, on the account page."
	case errors.Is(err, errTooManyAttempts):
		msg = "Too many attempts. Wait until the time in Retry-After has passed and try again."
	case errors.Is(err, auth.ErrBusy):
		msg = "Too many passwords are being checked right now. Try again in a few seconds (Retry-After)."
	case errors.Is(err, errBadLogin):
		msg = "Wrong login or password."
	}
	if asJSON {
		c.AbortWithStatusJSON(status, apiError{Error: apiErrorBody{Code: code, Message: msg, Fields: fields, RequestID: rid}})
		return
	}
	codes, _ := validFields(err)
	s.renderError(c, status, codes)
}

// api adapts a handler that returns an error into a JSON route.
func (s *Server) api(h func(*gin.Context) error) gin.HandlerFunc {
	return func(c *gin.Context) {
		if err := h(c); err != nil {
			s.fail(c, err, true)
		}
	}
}

// page adapts a handler that returns an error into an HTML route.
func (s *Server) page(h func(*gin.Context) error) gin.HandlerFunc {
	return func(c *gin.Context) {
		if err := h(c); err != nil {
			s.fail(c, err, false)
		}
	}
}

// validFields returns, for pages, each wrong field's problem code; templates
// translate it as "err.<code>".
func validFields(err error) (map[string]string, bool) {
	probs, ok := valid.Fields(err)
	if !ok {
		return nil, false
	}
	out := make(map[string]string, len(probs))
	for k, p := range probs {
		out[k] = p.Code
	}
	return out, true
}
