// Package apitest holds the API to its OpenAPI document in tests. A Contract is
// the document loaded and validated with kin-openapi; Handler wraps a server
// and Transport wraps a client so that every request and response under the
// document's server URL is checked against it, and a test fails on any
// exchange that does not match: an undocumented status, a body that does not
// fit its schema, a field the document does not name, a wrong content type.
//
// A request that breaks the document (a test sending bad input on purpose) is
// fine as long as the server refuses it with a 4xx; a server that accepts it
// contradicts the document, and fails the test.
//
// Only tests import this package.
package apitest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
)

// Contract is an OpenAPI document ready to check exchanges against.
type Contract struct {
	// Doc is the document as written, validated.
	Doc *openapi3.T
	// strict is a copy in which every object schema with named properties
	// is closed (additionalProperties: false) and allOf is merged, so a
	// field the document does not name is an error in a request and in a
	// response alike.
	strict *openapi3.T
	router routers.Router
	base   string
}

var registerOnce sync.Once

// Load parses and validates the document (doc.Validate) and prepares the
// checks.
func Load(data []byte) (*Contract, error) {
	registerOnce.Do(func() {
		// Bodies that are files: read as strings, their schema says
		// "format: binary".
		for _, ct := range []string{"application/pdf", "image/jpeg", "image/png", "image/webp", "image/gif"} {
			openapi3filter.RegisterBodyDecoder(ct, openapi3filter.FileBodyDecoder)
		}
		// CSV is a file too: the import reads it whole, as Excel makes it.
		openapi3filter.RegisterBodyDecoder("text/csv", openapi3filter.FileBodyDecoder)
	})
	ctx := context.Background()
	doc, err := openapi3.NewLoader().LoadFromData(data)
	if err != nil {
		return nil, fmt.Errorf("apitest: load: %w", err)
	}
	if err := doc.Validate(ctx); err != nil {
		return nil, fmt.Errorf("apitest: the document is not valid OpenAPI: %w", err)
	}
	strict, err := openapi3.NewLoader().LoadFromData(data)
	if err != nil {
		return nil, fmt.Errorf("apitest: load: %w", err)
	}
	closeSchemas(strict)
	router, err := gorillamux.NewRouter(strict)
	if err != nil {
		return nil, fmt.Errorf("apitest: router: %w", err)
	}
	c := &Contract{Doc: doc, strict: strict, router: router}
	if len(doc.Servers) > 0 {
		c.base = strings.TrimSuffix(doc.Servers[0].URL, "/")
	}
	return c, nil
}

// Exchange is one request and its response, bodies read.
type Exchange struct {
	Request      *http.Request
	RequestBody  []byte
	Status       int
	Header       http.Header
	ResponseBody []byte
}

// Check returns what is wrong with ex against the document, or nil. Requests
// outside the document's server URL are not its business.
func (c *Contract) Check(ex Exchange) error {
	req := ex.Request
	if !strings.HasPrefix(req.URL.Path, c.base+"/") || req.Method == http.MethodHead {
		return nil
	}
	// The validator reads and may rewrite the body: give it its own copy.
	vreq := req.Clone(context.Background())
	vreq.Body = io.NopCloser(bytes.NewReader(ex.RequestBody))
	vreq.ContentLength = int64(len(ex.RequestBody))
	vreq.GetBody = nil
	route, params, err := c.router.FindRoute(vreq)
	if err != nil {
		if ex.Status == http.StatusNotFound || ex.Status == http.StatusMethodNotAllowed {
			return nil // nothing there, as the document says
		}
		return fmt.Errorf("%s %s is not in the document, yet answered %d", req.Method, req.URL.Path, ex.Status)
	}
	opts := &openapi3filter.Options{
		MultiError:                        true,
		IncludeResponseStatus:             true,
		RejectWhenRequestBodyNotSpecified: true,
		SkipSettingDefaults:               true,
		AuthenticationFunc:                authenticate,
	}
	opts.WithCustomSchemaErrorFunc(func(err *openapi3.SchemaError) string {
		return "at /" + strings.Join(err.JSONPointer(), "/") + ": " + err.Reason
	})
	in := &openapi3filter.RequestValidationInput{Request: vreq, PathParams: params, Route: route, Options: opts}
	var problems []string
	reqErr := openapi3filter.ValidateRequest(context.Background(), in)
	if extra := undeclaredQuery(route, vreq.URL.Query()); extra != "" {
		reqErr = errors.Join(reqErr, fmt.Errorf("query parameter %q is not declared", extra))
	}
	if reqErr != nil && ex.Status < http.StatusBadRequest {
		problems = append(problems, fmt.Sprintf("the document says this request is wrong, yet the server answered %d:\n%v", ex.Status, reqErr))
	}
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: ex.Status, Header: ex.Header, Options: opts}
	out.SetBodyBytes(ex.ResponseBody)
	if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
		problems = append(problems, fmt.Sprintf("the response does not match the document: %v", err))
	}
	if ex.Status >= http.StatusBadRequest && ex.Header.Get("Content-Type") == "" && len(ex.ResponseBody) == 0 {
		problems = append(problems, "an error answered without a body")
	}
	if len(problems) == 0 {
		return nil
	}
	return fmt.Errorf("%s %s → %d (%s):\n%s\nrequest body: %.600s\nresponse body: %.600s", req.Method, req.URL.RequestURI(), ex.Status, route.Path,
		strings.Join(problems, "\n"), printable(ex.RequestBody), printable(ex.ResponseBody))
}

// printable shortens binary bodies (photos, PDFs) in messages.
func printable(b []byte) string {
	if bytes.ContainsRune(b, 0) || !utf8.Valid(b) {
		return fmt.Sprintf("(%d bytes of binary)", len(b))
	}
	return string(b)
}

// authenticate is satisfied when the request carries the credential the
// scheme names; whether it is good is the server's business.
func authenticate(_ context.Context, in *openapi3filter.AuthenticationInput) error {
	req := in.RequestValidationInput.Request
	s := in.SecurityScheme
	switch {
	case s.Type == "http" && strings.EqualFold(s.Scheme, "bearer"):
		if h := req.Header.Get("Authorization"); len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
			return nil
		}
	case s.Type == "apiKey" && s.In == "cookie":
		if _, err := req.Cookie(s.Name); err == nil {
			return nil
		}
	case s.Type == "apiKey" && s.In == "header":
		if req.Header.Get(s.Name) != "" {
			return nil
		}
	}
	return fmt.Errorf("no %s credential", in.SecuritySchemeName)
}

// undeclaredQuery returns a query parameter the operation does not declare:
// the API refuses those (a typo must not be silently ignored).
func undeclaredQuery(route *routers.Route, q url.Values) string {
	declared := map[string]bool{}
	for _, ps := range []openapi3.Parameters{route.PathItem.Parameters, route.Operation.Parameters} {
		for _, p := range ps {
			if p.Value != nil && p.Value.In == openapi3.ParameterInQuery {
				declared[p.Value.Name] = true
			}
		}
	}
	for _, k := range slices.Sorted(maps.Keys(q)) {
		if !declared[k] {
			return k
		}
	}
	return ""
}

// closeSchemas merges every allOf into one object and closes every object
// schema that names its properties and says nothing of others.
func closeSchemas(doc *openapi3.T) {
	seen := map[*openapi3.Schema]bool{}
	var all []*openapi3.Schema
	var walk func(*openapi3.SchemaRef)
	walk = func(ref *openapi3.SchemaRef) {
		if ref == nil || ref.Value == nil || seen[ref.Value] {
			return
		}
		s := ref.Value
		seen[s] = true
		all = append(all, s)
		for _, r := range s.AllOf {
			walk(r)
		}
		for _, r := range s.OneOf {
			walk(r)
		}
		for _, r := range s.AnyOf {
			walk(r)
		}
		walk(s.Not)
		walk(s.Items)
		for _, name := range slices.Sorted(maps.Keys(s.Properties)) {
			walk(s.Properties[name])
		}
		walk(s.AdditionalProperties.Schema)
	}
	if doc.Components != nil {
		for _, name := range slices.Sorted(maps.Keys(doc.Components.Schemas)) {
			walk(doc.Components.Schemas[name])
		}
		for _, r := range doc.Components.Responses {
			for _, mt := range r.Value.Content {
				walk(mt.Schema)
			}
		}
	}
	for _, path := range doc.Paths.InMatchingOrder() {
		item := doc.Paths.Value(path)
		for _, op := range item.Operations() {
			for _, p := range op.Parameters {
				walk(p.Value.Schema)
			}
			if op.RequestBody != nil {
				for _, mt := range op.RequestBody.Value.Content {
					walk(mt.Schema)
				}
			}
			for _, r := range op.Responses.Map() {
				for _, mt := range r.Value.Content {
					walk(mt.Schema)
				}
			}
		}
		for _, p := range item.Parameters {
			walk(p.Value.Schema)
		}
	}
	// Merge first, from the inside out, so a part that is itself an allOf
	// is already one object when its holder reads it.
	var merge func(*openapi3.Schema)
	merged := map[*openapi3.Schema]bool{}
	merge = func(s *openapi3.Schema) {
		if merged[s] || len(s.AllOf) == 0 {
			return
		}
		merged[s] = true
		props := openapi3.Schemas{}
		var required []string
		for _, part := range s.AllOf {
			merge(part.Value)
			maps.Copy(props, part.Value.Properties)
			required = append(required, part.Value.Required...)
		}
		maps.Copy(props, s.Properties)
		s.Properties = props
		s.Required = append(required, s.Required...)
		s.Type = &openapi3.Types{openapi3.TypeObject}
		s.AllOf = nil
	}
	for _, s := range all {
		merge(s)
	}
	no := false
	for _, s := range all {
		if len(s.Properties) > 0 && s.AdditionalProperties.Has == nil && s.AdditionalProperties.Schema == nil {
			s.AdditionalProperties = openapi3.AdditionalProperties{Has: &no}
		}
	}
}

// Reporter is where failures go: a *testing.T.
type Reporter interface {
	Errorf(format string, args ...any)
}

// Handler serves h and checks every exchange under the document's server
// URL, reporting mismatches to t. The response is buffered, then passed on
// unchanged.
func (c *Contract) Handler(t Reporter, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body []byte
		if r.Body != nil {
			body, _ = io.ReadAll(r.Body)
			r.Body.Close()
			r.Body = io.NopCloser(bytes.NewReader(body))
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		res := rec.Result()
		if err := c.Check(Exchange{Request: r, RequestBody: body, Status: res.StatusCode, Header: res.Header, ResponseBody: rec.Body.Bytes()}); err != nil {
			t.Errorf("API contract: %v", err)
		}
		maps.Copy(w.Header(), res.Header)
		w.WriteHeader(res.StatusCode)
		w.Write(rec.Body.Bytes())
	})
}

// Transport sends requests through rt (http.DefaultTransport when nil) and
// checks every exchange under the document's server URL, reporting
// mismatches to t. For end-to-end tests whose server runs in a real process.
func (c *Contract) Transport(t Reporter, rt http.RoundTripper) http.RoundTripper {
	if rt == nil {
		rt = http.DefaultTransport
	}
	return roundTripper(func(req *http.Request) (*http.Response, error) {
		var body []byte
		if req.Body != nil {
			body, _ = io.ReadAll(req.Body)
			req.Body.Close()
			req.Body = io.NopCloser(bytes.NewReader(body))
		}
		resp, err := rt.RoundTrip(req)
		if err != nil {
			return nil, err
		}
		rbody, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return nil, err
		}
		resp.Body = io.NopCloser(bytes.NewReader(rbody))
		if err := c.Check(Exchange{Request: req, RequestBody: body, Status: resp.StatusCode, Header: resp.Header, ResponseBody: rbody}); err != nil {
			t.Errorf("API contract: %v", err)
		}
		return resp, nil
	})
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
