package apitest

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

const testDoc = `{
 "openapi": "3.0.3",
 "info": {"title": "t", "version": "1"},
 "servers": [{"url": "/api/v1"}],
 "paths": {
  "/things/{id}": {
   "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}],
   "get": {
    "parameters": [{"name": "lang", "in": "query", "schema": {"type": "string", "enum": ["zh", "en"]}}],
    "responses": {
     "200": {"description": "a thing", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Thing"}}}},
     "404": {"description": "none", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    }
   },
   "put": {
    "security": [{"session": []}],
    "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["name"],
      "properties": {"name": {"type": "string", "maxLength": 5}}}}}},
    "responses": {
     "200": {"description": "changed", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Thing"}}}},
     "400": {"description": "bad", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
     "401": {"description": "who?", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    }
   }
  }
 },
 "components": {
  "securitySchemes": {"session": {"type": "apiKey", "in": "cookie", "name": "sid"}},
  "schemas": {
   "Base": {"type": "object", "properties": {"id": {"type": "string"}}},
   "Thing": {"allOf": [{"$ref": "#/components/schemas/Base"}, {"type": "object", "properties": {"name": {"type": "string"}}}]},
   "Error": {"type": "object", "properties": {"error": {"type": "object", "properties": {"code": {"type": "string"}}}}}
  }
 }
}`

// recorder keeps what the contract reports.
type recorder struct{ errs []string }

func (r *recorder) Errorf(format string, args ...any) {
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

func TestContract(t *testing.T) {
	c, err := Load([]byte(testDoc))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Load([]byte(strings.Replace(testDoc, `"$ref": "#/components/schemas/Thing"`, `"$ref": "#/components/schemas/Nothing"`, 1))); err == nil {
		t.Error("a document with a dangling reference loaded")
	}
	tests := []struct {
		name, method, target, body, cookie string
		status                             int
		answer                             string
		wrong                              string // part of the complaint; "" for none
	}{
		{"documented", "GET", "/api/v1/things/a?lang=en", "", "", 200, `{"id":"a","name":"A"}`, ""},
		{"fields of both parts of an allOf", "GET", "/api/v1/things/a", "", "", 200, `{"id":"a"}`, ""},
		{"a field the document does not name", "GET", "/api/v1/things/a", "", "", 200, `{"id":"a","secret":1}`, `property "secret" is unsupported`},
		{"a wrong type", "GET", "/api/v1/things/a", "", "", 200, `{"id":7}`, "at /id"},
		{"an undocumented status", "GET", "/api/v1/things/a", "", "", 500, `{"error":{"code":"internal"}}`, "status is not supported"},
		{"a wrong content type", "GET", "/api/v1/things/a", "", "", 200, `<p>hi</p>`, "Content-Type has unexpected value"},
		{"an undeclared query parameter, accepted", "GET", "/api/v1/things/a?colour=red", "", "", 200, `{"id":"a"}`, `"colour" is not declared`},
		{"an undeclared query parameter, refused", "GET", "/api/v1/things/a?colour=red", "", "", 404, `{"error":{"code":"not_found"}}`, ""},
		{"a bad value accepted", "GET", "/api/v1/things/a?lang=fr", "", "", 200, `{"id":"a"}`, "yet the server answered 200"},
		{"a body over its limit accepted", "PUT", "/api/v1/things/a", `{"name":"toolong"}`, "sid=1", 200, `{"id":"a"}`, "maximum string length"},
		{"a body over its limit refused", "PUT", "/api/v1/things/a", `{"name":"toolong"}`, "sid=1", 400, `{"error":{"code":"validation_failed"}}`, ""},
		{"an unknown body field accepted", "PUT", "/api/v1/things/a", `{"name":"b","x":1}`, "sid=1", 200, `{"id":"a"}`, `property "x" is unsupported`},
		{"no credential, accepted", "PUT", "/api/v1/things/a", `{"name":"b"}`, "", 200, `{"id":"a"}`, "security requirement"},
		{"no credential, refused", "PUT", "/api/v1/things/a", `{"name":"b"}`, "", 401, `{"error":{"code":"unauthorized"}}`, ""},
		{"a route the document lacks", "GET", "/api/v1/other", "", "", 200, `{}`, "not in the document"},
		{"nothing there", "GET", "/api/v1/other", "", "", 404, `{}`, ""},
		{"not the API", "GET", "/other", "", "", 500, `oops`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				io.Copy(io.Discard, r.Body)
				if strings.HasPrefix(tt.answer, "<") {
					w.Header().Set("Content-Type", "text/html")
				} else {
					w.Header().Set("Content-Type", "application/json")
				}
				w.WriteHeader(tt.status)
				io.WriteString(w, tt.answer)
			})
			for _, via := range []string{"handler", "transport"} {
				rep := &recorder{}
				var status int
				var body string
				if via == "handler" {
					req := httptest.NewRequest(tt.method, tt.target, strings.NewReader(tt.body))
					req.Header.Set("Content-Type", "application/json")
					if tt.cookie != "" {
						req.Header.Set("Cookie", tt.cookie)
					}
					rec := httptest.NewRecorder()
					c.Handler(rep, h).ServeHTTP(rec, req)
					status, body = rec.Code, rec.Body.String()
				} else {
					srv := httptest.NewServer(h)
					req, _ := http.NewRequest(tt.method, srv.URL+tt.target, strings.NewReader(tt.body))
					req.Header.Set("Content-Type", "application/json")
					if tt.cookie != "" {
						req.Header.Set("Cookie", tt.cookie)
					}
					resp, err := (&http.Client{Transport: c.Transport(rep, nil)}).Do(req)
					if err != nil {
						t.Fatal(err)
					}
					b, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					srv.Close()
					status, body = resp.StatusCode, string(b)
				}
				if status != tt.status || body != tt.answer {
					t.Errorf("%s: the answer changed on its way: %d %q", via, status, body)
				}
				got := strings.Join(rep.errs, "\n")
				switch {
				case tt.wrong == "" && got != "":
					t.Errorf("%s: complained: %s", via, got)
				case tt.wrong != "" && !strings.Contains(got, tt.wrong):
					t.Errorf("%s: complaint %q does not say %q", via, got, tt.wrong)
				}
			}
		})
	}
}
