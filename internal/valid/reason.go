package valid

import "errors"

// Reason is why a domain refused an operation, in terms a person can act on:
// a registered code (see Reasons) with the parameters its message needs. It
// wraps the domain's sentinel error (ErrConflict, ErrUnavailable…), so
// errors.Is still picks the status, and its Error is the sentinel's: the
// detailed English text stays in the error chain around it, for logs.
type Reason struct {
	Code   string
	Params map[string]any
	Err    error
}

// Error returns the wrapped sentinel's text.
func (r *Reason) Error() string { return r.Err.Error() }

// Unwrap returns the sentinel.
func (r *Reason) Unwrap() error { return r.Err }

// Because returns sentinel with a reason: code and its parameters as
// key/value pairs, as for Error.Add. Parameters must never carry another
// operator's identifiers: they are shown to whoever made the request.
//
//	fmt.Errorf("rentals: unit %s is %s: %w", tag, u.State,
//		valid.Because(stations.ErrUnavailable, "unit_state", "tag", tag, "state", u.State))
func Because(sentinel error, code string, kv ...any) error {
	return &Reason{Code: code, Params: params(kv), Err: sentinel}
}

// ReasonOf returns the outermost reason inside err.
func ReasonOf(err error) (*Reason, bool) {
	var r *Reason
	if errors.As(err, &r) {
		return r, true
	}
	return nil, false
}
