package web

import (
	"errors"
	"net/http"

	"github.com/gin-gonic/gin"

	"fuju/accounts"
	"fuju/catalog"
	"fuju/internal/tenancy"
	"fuju/internal/valid"
	"fuju/media"
	"fuju/messages"
	online "fuju/payments"
	"fuju/rentals"
	"fuju/reports"
	"fuju/stations"
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
	errRateLimited        = errors.New("too many requests")
)

// apiError is the body of every error response (DESIGN.md, "HTTP conventions").
type apiError struct {
	Error apiErrorBody `json:"error"`
}

// apiErrorBody says what went wrong in words (message, and per field in
// fields) and in codes a client can act on (code, and per field in problems,
// with the parameters of each problem: limits, amounts in fen). The words
// come from the message catalogue, in the language of apiLang.
type apiErrorBody struct {
	Code      string                `json:"code"`
	Message   string                `json:"message"`
	Fields    map[string]string     `json:"fields,omitempty"`
	Problems  map[string]apiProblem `json:"problems,omitempty"`
	RequestID string                `json:"request_id,omitempty"`
}

type apiProblem struct {
	Code   string         `json:"code"`
	Params map[string]any `json:"params,omitempty"`
}

// statusOf is the one table from domain errors to HTTP statuses and codes.
// Each code has a message "status.<code>" in the catalogue.
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
	case errors.Is(err, tenancy.ErrSuspended):
		return http.StatusForbidden, "operator_suspended"
	case errors.Is(err, errForbidden), errors.Is(err, stations.ErrForbidden), errors.Is(err, rentals.ErrForbidden),
		errors.Is(err, reports.ErrForbidden):
		return http.StatusForbidden, "forbidden"
	case errors.Is(err, errForbiddenCSRF):
		return http.StatusForbidden, "csrf"
	case errors.Is(err, errMustChangePassword):
		return http.StatusForbidden, "password_change_required"
	case errors.Is(err, errTooManyAttempts):
		return http.StatusTooManyRequests, "too_many_attempts"
	case errors.Is(err, errRateLimited):
		return http.StatusTooManyRequests, "rate_limited"
	case errors.Is(err, accounts.ErrCodeLocked):
		return http.StatusTooManyRequests, "code_locked"
	case errors.Is(err, accounts.ErrResendTooSoon):
		return http.StatusTooManyRequests, "resend_too_soon"
	case errors.Is(err, accounts.ErrBusy):
		return http.StatusServiceUnavailable, "busy"
	case errors.Is(err, errBadLogin):
		return http.StatusUnauthorized, "bad_login"
	case errors.Is(err, accounts.ErrNotFound):
		return http.StatusNotFound, "not_found"
	case errors.Is(err, accounts.ErrConflict):
		return http.StatusConflict, "conflict"
	case errors.Is(err, valid.ErrInvalid):
		return http.StatusBadRequest, "validation_failed"
	case errors.Is(err, errBadRequest):
		return http.StatusBadRequest, "bad_request"
	case errors.Is(err, online.ErrBadWebhook):
		return http.StatusBadRequest, "bad_webhook"
	case errors.Is(err, errPaymentsOff):
		return http.StatusNotFound, "payments_off"
	case errors.Is(err, online.ErrStripeUnavailable):
		return http.StatusServiceUnavailable, "stripe_unavailable"
	case errors.Is(err, online.ErrStripeRefused):
		return http.StatusUnprocessableEntity, "stripe_refused"
	case errors.Is(err, online.ErrNotFound):
		return http.StatusNotFound, "not_found"
	case errors.Is(err, online.ErrPayAtStation):
		return http.StatusConflict, "pay_at_station"
	case errors.Is(err, online.ErrAlreadyPaid):
		return http.StatusConflict, "already_paid"
	case errors.Is(err, online.ErrConflict):
		return http.StatusConflict, "conflict"
	case errors.Is(err, errNotFound), errors.Is(err, catalog.ErrNotFound),
		errors.Is(err, stations.ErrNotFound), errors.Is(err, rentals.ErrNotFound), errors.Is(err, reports.ErrNotFound):
		return http.StatusNotFound, "not_found"
	case errors.Is(err, messages.ErrNotFound):
		return http.StatusNotFound, "not_found"
	case errors.Is(err, messages.ErrConflict):
		return http.StatusConflict, "conflict"
	case errors.Is(err, stations.ErrUnavailable):
		return http.StatusConflict, "unavailable"
	case errors.Is(err, rentals.ErrNoUnit):
		return http.StatusConflict, "no_unit"
	case errors.Is(err, rentals.ErrBlocked):
		return http.StatusConflict, "reserve_blocked"
	case errors.Is(err, rentals.ErrNothingOwed):
		return http.StatusConflict, "nothing_owed"
	case errors.Is(err, rentals.ErrNoMobile):
		return http.StatusConflict, "no_mobile"
	case errors.Is(err, catalog.ErrConflict), errors.Is(err, stations.ErrConflict),
		errors.Is(err, rentals.ErrConflict), errors.Is(err, reports.ErrConflict):
		return http.StatusConflict, "conflict"
	}
	return http.StatusInternalServerError, "internal"
}

// status is statusOf plus what only the database can tell: an error it
// calls overloaded (no answer in time: a burst queued for its connections)
// is 503 busy, not a verdict on the request; it may be sent again.
func (s *Server) status(err error) (int, string) {
	status, code := statusOf(err)
	if status == http.StatusInternalServerError && s.cfg.DB != nil && s.cfg.DB.Overloaded(err) {
		return http.StatusServiceUnavailable, "busy"
	}
	return status, code
}

// problemsOf returns the field problems inside err: a validation error's, or
// a photo the media package refused (its field and reason).
func problemsOf(err error) (map[string]valid.Problem, bool) {
	if probs, ok := valid.Fields(err); ok {
		return probs, true
	}
	var ie *media.InputError
	if errors.As(err, &ie) {
		return map[string]valid.Problem{ie.Field: ie.Problem()}, true
	}
	return nil, false
}

// asFieldError turns an error a form shows next to one field (a refused
// photo, a file that could not be imported) into that field's problem, coded
// as the error's reason or status. 5xx errors are returned unchanged.
func asFieldError(field string, err error) error {
	if probs, ok := problemsOf(err); ok {
		e := &valid.Error{}
		for k, p := range probs {
			if k == "photo" || k == "file" {
				k = field
			}
			e.Put(k, p)
		}
		return e
	}
	status, code := statusOf(err)
	if status >= http.StatusInternalServerError {
		return err
	}
	if r, ok := valid.ReasonOf(err); ok {
		return (&valid.Error{}).Put(field, valid.Problem{Code: r.Code, Message: err.Error(), Params: r.Params})
	}
	return (&valid.Error{}).Put(field, valid.Problem{Code: code, Message: err.Error()})
}

// fail answers a request that ended in err: JSON for the API, a page otherwise.
// What the person reads comes from the message catalogue (see words), never
// from err's text; 5xx are logged with the request id.
func (s *Server) fail(c *gin.Context, err error, asJSON bool) {
	status, code := s.status(err)
	if status == http.StatusInternalServerError && s.stopping.Load() {
		// Cut by the shutdown timeout (or the database closing under it):
		// not a verdict, and another instance can take it.
		status, code = http.StatusServiceUnavailable, "busy"
	}
	rid := requestID(c)
	switch {
	case status == http.StatusServiceUnavailable:
		s.logger.WarnContext(c.Request.Context(), "request not served: database busy", "err", err, "request_id", rid,
			"route", c.FullPath(), "method", c.Request.Method)
		c.Header("Retry-After", "5")
	case status >= http.StatusInternalServerError:
		s.logger.ErrorContext(c.Request.Context(), "request failed", "err", err, "request_id", rid,
			"route", c.FullPath(), "method", c.Request.Method)
	}
	lang := langOf(c)
	if asJSON {
		lang = apiLang(c)
	}
	w := s.words(lang)
	msg := w.Error(err, code, rid)
	var fields map[string]string
	var problems map[string]apiProblem
	if probs, ok := problemsOf(err); ok {
		fields = make(map[string]string, len(probs))
		problems = make(map[string]apiProblem, len(probs))
		for k, p := range probs {
			fields[k] = w.Problem(p)
			problems[k] = apiProblem{Code: p.Code, Params: p.Params}
		}
		if len(probs) == 1 {
			for k := range fields {
				msg = w.fill(w.msgs["status.field"], map[string]any{"field": w.field(k), "problem": fields[k]})
			}
		}
	}
	if asJSON {
		c.AbortWithStatusJSON(status, apiError{Error: apiErrorBody{Code: code, Message: msg, Fields: fields,
			Problems: problems, RequestID: rid}})
		return
	}
	s.renderError(c, status, msg, fields)
}

// field names a field for a message: its label when the catalogue has one.
func (w words) field(name string) string {
	if l, ok := w.msgs["field."+name]; ok {
		return l
	}
	return name
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
