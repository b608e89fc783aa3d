package web

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"fuju/internal/valid"
	"fuju/stations"
)

// words renders what went wrong in one language, from the message catalogue:
// a field problem ("err.<code>"), a domain's reason ("reason.<code>") or an
// error status ("status.<code>"), filling the message's {placeholders} from
// the problem's parameters. Pages and the JSON API share it, so a person
// reads the same sentence in both, and nothing of an error's internal text
// (ids, states, other operators' stations) ever reaches them.
type words struct {
	lang string
	msgs map[string]string
	srv  *Server
}

func (s *Server) words(lang string) words {
	m, ok := s.pages.messages[lang]
	if !ok {
		lang, m = languages[0], s.pages.messages[languages[0]]
	}
	return words{lang: lang, msgs: m, srv: s}
}

// apiLang is the language of the API's messages: the language the person
// chose on the site (its cookie), else the first the client accepts among
// ours, else English, the language integrations are written in.
func apiLang(c *gin.Context) string {
	if l, err := c.Cookie("lang"); err == nil && (l == "en" || l == "zh") {
		return l
	}
	for _, part := range strings.Split(c.GetHeader("Accept-Language"), ",") {
		tag, _, _ := strings.Cut(strings.TrimSpace(part), ";")
		switch primary, _, _ := strings.Cut(strings.ToLower(tag), "-"); primary {
		case "zh":
			return "zh"
		case "en":
			return "en"
		}
	}
	return "en"
}

// Problem is a field's problem as a phrase ("must be at most 50 characters").
// A code without a message of its own falls back to a domain reason or a
// status with that name, then to "is not valid".
func (w words) Problem(p valid.Problem) string {
	for _, key := range []string{"err." + p.Code, "reason." + p.Code, "status." + p.Code} {
		if m, ok := w.msgs[key]; ok {
			return w.fill(m, p.Params)
		}
	}
	if p.Code != "" {
		w.srv.logger.Warn("no message for problem code", "code", p.Code)
	}
	return w.msgs["err.invalid"]
}

// ImportProblem is a row's problem of a unit import: the import's own
// wording for that column and code when it has one
// ("op.import.problem.station_id.not_found" says what to write in the
// station column), else the problem's.
func (w words) ImportProblem(p stations.ImportProblem) string {
	if p.Code == "" {
		return p.Message // recorded before problems had codes
	}
	if m, ok := w.msgs["op.import.problem."+p.Field+"."+p.Code]; ok {
		return w.fill(m, p.Params)
	}
	return w.Problem(valid.Problem{Code: p.Code, Params: p.Params})
}

// Error is the sentence a person reads for err: the domain's reason when it
// gave one, else what its status means.
func (w words) Error(err error, code, requestID string) string {
	if r, ok := valid.ReasonOf(err); ok {
		if m, ok := w.msgs["reason."+r.Code]; ok {
			return w.fill(m, r.Params)
		}
		w.srv.logger.Warn("no message for reason", "code", r.Code)
	}
	if m, ok := w.msgs["status."+code]; ok {
		return w.fill(m, map[string]any{"request_id": requestID})
	}
	return w.fill(w.msgs["status.internal"], map[string]any{"request_id": requestID})
}

// fill replaces each {name} in m by the parameter, in the reader's terms:
// amounts in yuan, states and kinds in words, stations and products by name.
func (w words) fill(m string, params map[string]any) string {
	if !strings.Contains(m, "{") {
		return m
	}
	var b strings.Builder
	for {
		i := strings.IndexByte(m, '{')
		if i < 0 {
			break
		}
		j := strings.IndexByte(m[i:], '}')
		if j < 0 {
			break
		}
		b.WriteString(m[:i])
		b.WriteString(w.param(m[i+1:i+j], params[m[i+1:i+j]]))
		m = m[i+j+1:]
	}
	b.WriteString(m)
	return b.String()
}

// paramKeys names the parameters shown through a message of their own.
var paramKeys = map[string]string{"state": "state.", "from": "state.", "to": "state.", "lease_state": "lease.",
	"kind": "filekind.", "outcome": "outcome.", "method": "clean."}

func (w words) param(name string, v any) string {
	if v == nil {
		return "…"
	}
	switch {
	case strings.HasSuffix(name, "_fen"):
		if fen, ok := asInt64(v); ok {
			return yuan(fen)
		}
	case paramKeys[name] != "":
		if m, ok := w.msgs[paramKeys[name]+fmt.Sprint(v)]; ok {
			return m
		}
	case (name == "station" || name == "to_station") && w.srv.stations != nil:
		if st, ok := w.srv.stations.Index().Station(fmt.Sprint(v)); ok {
			return st.Name.In(w.lang)
		}
	case name == "product" && w.srv.catalog != nil:
		if p, ok := w.srv.catalog.Lookup(fmt.Sprint(v)); ok {
			return p.Name.In(w.lang)
		}
	}
	return fmt.Sprint(v)
}

// asInt64 reads a number that may have come back from JSON or BSON as any
// integer or float type.
func asInt64(v any) (int64, bool) {
	switch n := v.(type) {
	case int:
		return int64(n), true
	case int32:
		return int64(n), true
	case int64:
		return n, true
	case float64:
		return int64(n), true
	case string:
		i, err := strconv.ParseInt(n, 10, 64)
		return i, err == nil
	}
	return 0, false
}
