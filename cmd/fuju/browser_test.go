package main

import (
	"context"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"fuju/internal/testenv"
)

// page is a headless Chromium tab on the program under test, with helpers that
// fail the test with a clear step name.
type page struct {
	t    *testing.T
	ctx  context.Context
	base string
}

func newPage(t *testing.T, base string) *page {
	return &page{t: t, ctx: testenv.Browser(t), base: base}
}

// do runs browser actions, failing the test with name when they do not finish
// within 15 s.
func (p *page) do(name string, actions ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 15*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		p.t.Fatalf("%s: %v", name, err)
	}
}

// text returns the visible text of the first element matching sel.
func (p *page) text(sel string) string {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 15*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		p.t.Fatalf("text of %s: %v", sel, err)
	}
	return s
}

// eval evaluates a JavaScript expression that yields a string.
func (p *page) eval(js string) string {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 15*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](js))
	if err != nil {
		p.t.Fatalf("evaluate %s: %v", js, err)
	}
	return s
}
