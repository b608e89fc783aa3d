package catalog

import (
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// searchIndex is what search compares queries with, computed once whenever
// the products change rather than for every query: lower-cased names, the
// everyday words of each product's category, pinyin initials, and the
// vocabulary that splits a run-together query ("老人轮椅", "折叠轮椅") into
// its words.
type searchIndex struct {
	docs []searchDoc // aligned with the products slice it was built from
	// vocab holds every Chinese word the catalog knows (everyday words,
	// category names, keywords), vocabIni the pinyin initials of each.
	vocab    map[string]bool
	vocabIni map[string]bool
	maxWord  int // longest vocabulary word, in runes
}

// searchDoc is one product as search sees it.
type searchDoc struct {
	names    []string // Chinese and English name
	nameIni  initials // initials of the Chinese name
	keywords []string
	// words are the everyday words and names of the product's category.
	words []string
	// wordIni are the initials of the Chinese keywords and words.
	wordIni []initials
	desc    []string
	// typo are whole words a one-character typo is forgiven against; zhName
	// is also searched by windows for Chinese terms of three or more
	// characters.
	typo   [][]rune
	zhName []rune
}

func newSearchIndex(products []Product) *searchIndex {
	ix := &searchIndex{docs: make([]searchDoc, len(products)), vocab: map[string]bool{}, vocabIni: map[string]bool{}}
	addVocab := func(w string) {
		if n := utf8.RuneCountInString(w); n >= 2 && hasHan(w) {
			ix.vocab[w] = true
			ix.maxWord = max(ix.maxWord, n)
			for _, s := range expand(initialsOfText(w), 8) {
				ix.vocabIni[s] = true
			}
		}
	}
	for _, c := range Categories {
		addVocab(strings.ToLower(c.Name.Zh))
		for _, w := range EverydayWords[c.ID] {
			addVocab(w)
		}
	}
	for i, p := range products {
		d := searchDoc{names: []string{strings.ToLower(p.Name.Zh), strings.ToLower(p.Name.En)}, nameIni: initialsOfText(p.Name.Zh),
			desc: []string{strings.ToLower(p.Description.Zh), strings.ToLower(p.Description.En)}, zhName: []rune(strings.ToLower(p.Name.Zh))}
		typo := map[string]bool{}
		addTypo := func(w string) {
			for _, part := range strings.FieldsFunc(w, func(r rune) bool { return !unicode.IsLetter(r) }) {
				typo[part] = true
			}
		}
		for _, k := range p.Keywords {
			k = strings.ToLower(k)
			d.keywords = append(d.keywords, k)
			addVocab(k)
			addTypo(k)
			if hasHan(k) {
				d.wordIni = append(d.wordIni, initialsOfText(k))
			}
		}
		cat, _ := CategoryByID(p.Category)
		for _, w := range append([]string{strings.ToLower(cat.Name.Zh), strings.ToLower(cat.Name.En)}, EverydayWords[p.Category]...) {
			d.words = append(d.words, w)
			addTypo(w)
			if hasHan(w) {
				d.wordIni = append(d.wordIni, initialsOfText(w))
			}
		}
		addTypo(d.names[1])
		for w := range typo {
			d.typo = append(d.typo, []rune(w))
		}
		slices.SortFunc(d.typo, func(a, b []rune) int { return strings.Compare(string(a), string(b)) })
		ix.docs[i] = d
	}
	return ix
}

// expand lists the concrete letter strings initials can spell, at most
// limit of them (polyphonic characters give more than one).
func expand(in initials, limit int) []string {
	out := []string{""}
	for _, letters := range in {
		var next []string
		for _, prefix := range out {
			for i := 0; i < len(letters) && len(next) < limit; i++ {
				next = append(next, prefix+letters[i:i+1])
			}
		}
		out = next
	}
	return out
}

// term is one word of a query, prepared once per search.
type term struct {
	text string
	// initials: the term may be pinyin initials.
	initials bool
	// parts are the vocabulary words a run-together term splits into, used
	// when the term as a whole matches nothing in a product.
	parts []string
	// typo: a one-character typo may be forgiven.
	typo  bool
	runes []rune
}

func (ix *searchIndex) prepare(text string) []term {
	var out []term
	for _, t := range strings.Fields(strings.ToLower(text)) {
		tm := term{text: t, initials: asInitials(t), runes: []rune(t)}
		han := hasHan(t)
		if han {
			tm.parts = ix.split(tm.runes)
		} else if tm.initials {
			tm.parts = ix.splitInitials(t)
		}
		letters := true
		for _, r := range tm.runes {
			letters = letters && unicode.IsLetter(r)
		}
		tm.typo = letters && (han && len(tm.runes) >= 2 || !han && len(tm.runes) >= 4)
		out = append(out, tm)
	}
	return out
}

// split cuts a Chinese term into vocabulary words and fillers, fewest
// pieces first; it returns the words, or nil when the term is not made of
// them (or is a single word, which matching already tried whole).
func (ix *searchIndex) split(r []rune) []string {
	if len(r) > MaxQueryRunes {
		return nil
	}
	type cell struct {
		pieces int
		words  []string
		ok     bool
	}
	best := make([]cell, len(r)+1)
	best[0].ok = true
	for i := 0; i < len(r); i++ {
		if !best[i].ok {
			continue
		}
		try := func(n int, word bool) {
			j := i + n
			c := cell{pieces: best[i].pieces + 1, words: best[i].words, ok: true}
			if word {
				c.words = append(slices.Clip(c.words), string(r[i:j]))
			}
			if !best[j].ok || c.pieces < best[j].pieces {
				best[j] = c
			}
		}
		for n := 2; n <= ix.maxWord && i+n <= len(r); n++ {
			if ix.vocab[string(r[i:i+n])] {
				try(n, true)
			}
		}
		for _, f := range fillers {
			if fr := []rune(f); i+len(fr) <= len(r) && string(r[i:i+len(fr)]) == f {
				try(len(fr), false)
			}
		}
	}
	end := best[len(r)]
	if !end.ok || len(end.words) == 0 || end.pieces < 2 {
		return nil
	}
	return end.words
}

// splitInitials cuts a term of letters into the initials of two or more
// vocabulary words ("lyzxq" is ly + zxq).
func (ix *searchIndex) splitInitials(t string) []string {
	type cell struct {
		parts []string
		ok    bool
	}
	best := make([]cell, len(t)+1)
	best[0].ok = true
	for i := 0; i < len(t); i++ {
		if !best[i].ok {
			continue
		}
		for n := 2; n <= ix.maxWord && i+n <= len(t); n++ {
			if !ix.vocabIni[t[i:i+n]] {
				continue
			}
			c := cell{parts: append(slices.Clip(best[i].parts), t[i:i+n]), ok: true}
			if !best[i+n].ok || len(c.parts) < len(best[i+n].parts) {
				best[i+n] = c
			}
		}
	}
	if end := best[len(t)]; end.ok && len(end.parts) >= 2 {
		return end.parts
	}
	return nil
}

// Scores of one term against one product, highest first.
const (
	scoreNameExact    = 100
	scoreNamePrefix   = 60
	scoreNameContains = 40
	scoreInitialsName = 35 // initials of the name's beginning
	scoreKeywordExact = 30
	scoreWordExact    = 28 // an everyday word of the category
	scoreInitialsIn   = 25 // initials inside the name
	scoreInitialsWord = 22
	scoreKeyword      = 20
	scoreWordContains = 15
	scoreTypo         = 8
	scoreDescription  = 5
	// scoreWeak and below: a match only worth showing when nothing better
	// matches the term.
	scoreWeak = scoreTypo
)

// score rates how well one term matches the product; 0 is no match.
func (d *searchDoc) score(t term) int {
	best := 0
	for _, n := range d.names {
		switch {
		case n == t.text:
			best = max(best, scoreNameExact)
		case strings.HasPrefix(n, t.text):
			best = max(best, scoreNamePrefix)
		case strings.Contains(n, t.text):
			best = max(best, scoreNameContains)
		}
	}
	for _, k := range d.keywords {
		switch {
		case k == t.text:
			best = max(best, scoreKeywordExact)
		case strings.Contains(k, t.text):
			best = max(best, scoreKeyword)
		}
	}
	for _, w := range d.words {
		switch {
		case w == t.text:
			best = max(best, scoreWordExact)
		case strings.Contains(w, t.text):
			best = max(best, scoreWordContains)
		}
	}
	if t.initials {
		switch i := d.nameIni.find(t.text); {
		case i == 0:
			best = max(best, scoreInitialsName)
		case i > 0:
			best = max(best, scoreInitialsIn)
		}
		for _, wi := range d.wordIni {
			if wi.equals(t.text) {
				best = max(best, scoreInitialsWord)
			}
		}
	}
	if best == 0 {
		for _, s := range d.desc {
			if strings.Contains(s, t.text) {
				best = scoreDescription
			}
		}
	}
	return best
}

// relevance scores the product for each query term; every term must match.
// Matching is plain comparison of lower-cased text, never a regular
// expression, so no input can be an expensive or match-all pattern.
func (d *searchDoc) relevance(terms []term) ([]int, bool) {
	scores := make([]int, len(terms))
	for i, t := range terms {
		best := d.score(t)
		if best == 0 && len(t.parts) > 0 {
			// Every word must match; the weakest decides, a little below a
			// product that matches the whole term.
			weakest := -1
			for _, p := range t.parts {
				s := d.score(term{text: p, initials: t.initials})
				if weakest < 0 || s < weakest {
					weakest = s
				}
			}
			if weakest > 0 {
				best = max(weakest-5, 1)
			}
		}
		if best == 0 && t.typo && d.typo1(t.runes) {
			best = scoreTypo
		}
		if best == 0 {
			return nil, false
		}
		scores[i] = best
	}
	return scores, true
}

// typo1 reports whether t is one character away (a wrong, missing or extra
// character) from one of the product's words, or, for Chinese terms of three
// or more characters, from a stretch of its Chinese name.
func (d *searchDoc) typo1(t []rune) bool {
	floor := 4
	if hasHan(string(t)) {
		floor = 2
	}
	for _, w := range d.typo {
		if min(len(w), len(t)) >= floor && within1(t, w) {
			return true
		}
	}
	if floor == 2 && len(t) >= 3 {
		for n := len(t) - 1; n <= len(t)+1; n++ {
			for i := 0; i+n <= len(d.zhName); i++ {
				if within1(t, d.zhName[i:i+n]) {
					return true
				}
			}
		}
	}
	return false
}

// within1 reports whether a and b differ by at most one substituted,
// inserted or deleted character, or two neighbours swapped ("wheelchiar").
func within1(a, b []rune) bool {
	if len(a) > len(b) {
		a, b = b, a
	}
	if len(b)-len(a) > 1 {
		return false
	}
	i := 0
	for i < len(a) && a[i] == b[i] {
		i++
	}
	if i == len(a) {
		return true
	}
	if len(a) == len(b) {
		if slices.Equal(a[i+1:], b[i+1:]) {
			return true
		}
		return i+1 < len(a) && a[i] == b[i+1] && a[i+1] == b[i] && slices.Equal(a[i+2:], b[i+2:])
	}
	return slices.Equal(a[i:], b[i+1:])
}
