package messages

import (
	"embed"
	"fmt"
	"strings"
	"sync"
	"text/template"
	"time"

	"fuju/internal/input"
)

//go:embed templates/*.tmpl
var templateFiles embed.FS

// tierNames are the income tiers as messages name them.
var tierNames = map[string]map[Lang]string{
	"subsistence": {Chinese: "特困/低保", English: "subsistence support"},
	"low_income":  {Chinese: "低收入", English: "low income"},
	"standard":    {Chinese: "标准", English: "standard"},
}

var enMonths = [...]string{"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"}

// funcs are the template functions for lang: names in lang, times in the
// city's zone, amounts in yuan.
func funcs(lang Lang) template.FuncMap {
	clock := func(t time.Time) string { return t.In(Local).Format("15:04") }
	day := func(t time.Time) string {
		t = t.In(Local)
		if lang == English {
			return fmt.Sprintf("%s %d", enMonths[t.Month()-1], t.Day())
		}
		return fmt.Sprintf("%d月%d日", t.Month(), t.Day())
	}
	at := func(t time.Time) string {
		if lang == English {
			return day(t) + ", " + clock(t)
		}
		return day(t) + " " + clock(t)
	}
	return template.FuncMap{
		"name": func(t Text) string { return t.in(lang) },
		"time": at,
		"window": func(from, to time.Time) string {
			if day(from) == day(to) {
				return at(from) + "–" + clock(to)
			}
			if lang == English {
				return at(from) + " to " + at(to)
			}
			return at(from) + "至" + at(to)
		},
		"date": func(s string) string {
			d, err := time.ParseInLocation(time.DateOnly, s, Local)
			if err != nil {
				return s
			}
			if lang == English {
				return fmt.Sprintf("%s %d, %d", enMonths[d.Month()-1], d.Day(), d.Year())
			}
			return fmt.Sprintf("%d年%d月%d日", d.Year(), d.Month(), d.Day())
		},
		"tier": func(s string) string {
			if n, ok := tierNames[s][lang]; ok {
				return n
			}
			return s
		},
		"yuan": func(fen int64) string {
			y := input.YuanText(fen)
			if lang == English {
				return "¥" + y
			}
			return y + "元"
		},
		"plural": func(n int, one, many string) string {
			if n == 1 {
				return one
			}
			return many
		},
	}
}

// templateSets parses the embedded templates once: one set per language,
// each with a template named after every kind.
var templateSets = sync.OnceValues(func() (map[Lang]*template.Template, error) {
	sets := map[Lang]*template.Template{}
	for _, l := range Langs {
		b, err := templateFiles.ReadFile("templates/" + string(l) + ".tmpl")
		if err != nil {
			return nil, fmt.Errorf("messages: no templates for %s: %w", l, err)
		}
		t, err := template.New(string(l)).Funcs(funcs(l)).Option("missingkey=error").Parse(string(b))
		if err != nil {
			return nil, fmt.Errorf("messages: templates for %s: %w", l, err)
		}
		sets[l] = t
	}
	return sets, nil
})

// checkTemplates reports every kind that lacks a template in some language,
// so a missing text stops the service at start rather than a message later.
func checkTemplates() error {
	sets, err := templateSets()
	if err != nil {
		return err
	}
	if missing := missingTemplates(sets); len(missing) > 0 {
		return fmt.Errorf("messages: no template for %s", strings.Join(missing, ", "))
	}
	return nil
}

// missingTemplates lists "<kind> in <lang>" for every kind a set lacks.
func missingTemplates(sets map[Lang]*template.Template) []string {
	var missing []string
	for _, l := range Langs {
		for _, k := range Kinds {
			if sets[l] == nil || sets[l].Lookup(string(k)) == nil {
				missing = append(missing, string(k)+" in "+string(l))
			}
		}
	}
	return missing
}

// Render writes a message of kind k in lang from p. Callers normally let
// Enqueue render; Render is for previews and tests.
func Render(k Kind, lang Lang, p Params) (string, error) {
	sets, err := templateSets()
	if err != nil {
		return "", err
	}
	l, ok := ParseLang(string(lang))
	if !ok {
		return "", fmt.Errorf("messages: no templates in language %q", lang)
	}
	t := sets[l].Lookup(string(k))
	if t == nil {
		return "", fmt.Errorf("messages: no template for %s in %s", k, l)
	}
	var b strings.Builder
	if err := t.Execute(&b, p); err != nil {
		return "", fmt.Errorf("messages: render %s in %s: %w", k, l, err)
	}
	return strings.TrimSpace(b.String()), nil
}
