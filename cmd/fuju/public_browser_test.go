package main

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"fuju/cmd/internal/demo"
)

// onResults waits for a page that landed on the search results: the
// address ends in #results and the results heading is at the top of the
// phone's screen, the search form scrolled away above it.
func (p *page) onResults(what string) {
	p.t.Helper()
	p.waitFor(what, `location.hash === "#results" && document.readyState === "complete"`)
	p.waitFor(what+": results at the top of the screen", `(() => {
		const top = document.getElementById("results").getBoundingClientRect().top;
		return window.scrollY > 100 && top >= -2 && top < 80;
	})()`)
}

// set sets a form control's value as a person choosing it would.
func (p *page) set(sel, value string) {
	p.t.Helper()
	p.do("set "+sel, chromedp.WaitVisible(chromedp.CSS(sel)), chromedp.Evaluate[chromedp.Void](`(() => {
		const el = document.querySelector(`+jsString(sel)+`);
		el.value = `+jsString(value)+`;
		el.dispatchEvent(new Event("change", {bubbles: true}));
	})()`))
	if got := p.eval(`document.querySelector(` + jsString(sel) + `).value`); got != value {
		p.t.Fatalf("%s is %q, not %q", sel, got, value)
	}
}

// names lists the product names of the results.
func (p *page) names() string {
	p.t.Helper()
	return p.eval(`[...document.querySelectorAll(".products h3 a")].map(a => a.textContent.trim()).join("|")`)
}

// The family pages in a phone's browser, on the demo city: searching finds
// what people call things and lands on the results; the tier is chosen
// beside the search, remembered, carried to the product page, and for the
// demo family (linked to a father with a verified low-income tier) it is
// the father's, named as his.
func TestFamilyPagesInBrowser(t *testing.T) {
	in := start(t, map[string]string{"DATA_DIR": t.TempDir(), "FUJU_DEMO": "true"})

	t.Run("search", func(t *testing.T) {
		p := newPage(t, in.URL)
		p.open("/", "#q")
		p.fill("#q", "助行器")
		p.do("search from home", chromedp.Click(chromedp.CSS(`form.search button[type="submit"]`)))
		p.onResults("search for 助行器")
		if got := p.names(); !strings.Contains(got, "助行架") || !strings.Contains(got, "助行车") || strings.Contains(got, "轮椅") {
			t.Errorf("助行器 found %q; want walking frames and the rollator", got)
		}
		// Pinyin initials, from the list page's own search box.
		p.set("#f-q", "")
		p.fill("#f-q", "zbyi")
		p.do("search again", chromedp.Click(chromedp.CSS(`form.filters .search-row button[type="submit"]`)))
		p.onResults("search for zbyi")
		if got := p.text("#results-h"); !strings.Contains(got, "0") {
			t.Errorf("zbyi found %q", got)
		}
		p.set("#f-q", "")
		p.fill("#f-q", "zby")
		p.do("search by initials", chromedp.Click(chromedp.CSS(`form.filters .search-row button[type="submit"]`)))
		p.onResults("search for zby")
		if got := p.names(); got != "可折叠坐便椅" {
			t.Errorf("zby (坐便椅) found %q", got)
		}
		// A typo, then a sort and a filter: each lands on the results.
		p.set("#f-q", "")
		p.fill("#f-q", "轮倚")
		p.do("search with a typo", chromedp.Click(chromedp.CSS(`form.filters .search-row button[type="submit"]`)))
		p.onResults("search for 轮倚")
		if got := p.names(); strings.Count(got, "轮椅") != 4 {
			t.Errorf("轮倚 found %q; want the four wheelchairs", got)
		}
		p.do("open the filters", chromedp.Click(chromedp.CSS("details.more summary")), chromedp.WaitVisible(chromedp.CSS("#f-sort")))
		p.set("#f-sort", "price")
		p.do("sort by price", chromedp.Submit(chromedp.CSS("#f-sort")))
		p.waitFor("the sorted list", `location.search.includes("sort=price")`)
		p.onResults("sort by price")
		if got := p.names(); !strings.HasPrefix(got, "钢制标准手动轮椅|") {
			t.Errorf("by price the cheapest wheelchair is not first: %q", got)
		}
		p.do("filter: available now", chromedp.Click(chromedp.CSS(`input[name="available"]`)), chromedp.Submit(chromedp.CSS("#f-sort")))
		p.waitFor("the filtered list", `location.search.includes("available=1")`)
		p.onResults("filter available now")
		if !strings.Contains(p.eval("location.search"), "available=1") || !strings.Contains(p.eval("location.search"), "sort=price") {
			t.Errorf("the filter lost the sort: %s", p.eval("location.search"))
		}
		// The next page of a long list lands on the results too.
		p.open("/products?per_page=4", "#results")
		p.do("next page", chromedp.Click(chromedp.CSS(`.pager a[rel="next"]`)))
		p.onResults("next page")
	})

	t.Run("price follows the family", func(t *testing.T) {
		p := newPage(t, in.URL)
		p.open("/products?q="+"wheelchair", "#f-tier")
		// The tier control is on the page, not folded under "more filters".
		if p.eval(`String(document.querySelector("#f-tier").closest("details") === null && document.querySelector("#f-tier").offsetParent !== null)`) != "true" {
			t.Fatal("the tier control is hidden under more filters")
		}
		p.set("#f-tier", "low_income")
		p.do("show low-income prices", chromedp.Click(chromedp.CSS(`form.tierbar button[type="submit"]`)))
		p.waitFor("low-income prices", `location.search.includes("tier=low_income")`)
		p.onResults("prices at low income")
		if got := p.text(".products li:first-child .price"); !strings.Contains(got, "(低收入)") {
			t.Errorf("price line %q", got)
		}
		if q := p.eval("location.search"); !strings.Contains(q, "q=wheelchair") {
			t.Errorf("choosing a tier lost the search: %s", q)
		}
		p.do("open a product", chromedp.Click(chromedp.CSS(`.products a[href="/products/wc-alu-light"]`)), chromedp.WaitVisible(chromedp.CSS(".price-summary")))
		if got := p.text(".price-summary"); !strings.Contains(got, "¥1.20/天") || !strings.Contains(got, "¥24/30天") || !strings.Contains(got, "低收入档位价格") {
			t.Errorf("product headline at low income: %q", got)
		}
		// Remembered without a parameter, on both pages.
		p.open("/products", "#f-tier")
		if got := p.eval(`document.querySelector("#f-tier").value`); got != "low_income" {
			t.Errorf("the list forgot the tier: %q", got)
		}
		p.open("/products/wc-steel-standard", ".price-summary")
		if got := p.text(".price-summary .whose"); got != "低收入档位价格" {
			t.Errorf("another product: %q", got)
		}

		// The demo family: 王芳 looks after her father, verified low income.
		p.open("/login", "#f-login")
		p.fill("#f-login", "13800000005", "#f-password", demo.DemoPassword)
		p.submit(`form[action="/login"]`, "/account")
		if got := p.text("#family ~ .family"); !strings.Contains(got, "父亲 · 王**") || !strings.Contains(got, "低收入") {
			t.Errorf("the account's family: %q", got)
		}
		// Signed in, the prices are the father's by default (what the
		// visitor chose on this phone before is not the family's choice).
		p.open("/products/wc-alu-light", ".price-summary")
		if got := p.text(".price-summary"); !strings.Contains(got, "按父亲 王** 的低收入档位") || !strings.Contains(got, "¥1.20/天") {
			t.Errorf("the family's headline: %q", got)
		}
		// Looking at the standard price, then back to the father's.
		p.set("#f-tier", "standard")
		p.do("show standard prices", chromedp.Click(chromedp.CSS(`form.tierbar button[type="submit"]`)))
		p.waitFor("standard prices", `location.search.includes("tier=standard") && document.readyState === "complete"`)
		if got := p.text(".price-summary"); !strings.Contains(got, "¥6/天") {
			t.Errorf("standard headline: %q", got)
		}
		p.do("choose the father's tier", chromedp.Evaluate[chromedp.Void](`(() => {
			const sel = document.querySelector("#f-tier");
			sel.value = [...sel.options].find(o => o.value.startsWith("renter:")).value;
		})()`), chromedp.Click(chromedp.CSS(`form.tierbar button[type="submit"]`)))
		p.waitFor("the father's prices", `location.search.includes("tier=renter") && document.readyState === "complete"`)
		if got := p.text(".price-summary"); !strings.Contains(got, "按父亲 王** 的低收入档位") {
			t.Errorf("the family's headline: %q", got)
		}
		p.open("/products", "#f-tier")
		if got := p.text(".tierbar .whose"); got != "按父亲 王** 的低收入档位" {
			t.Errorf("the list says %q", got)
		}
		if got := p.text(".products li:first-child .price .muted"); !strings.Contains(got, "父亲 王**") {
			t.Errorf("price line %q", got)
		}
		// English.
		p.do("switch to English", chromedp.Click(chromedp.CSS(`a[hreflang="en"]`)), chromedp.WaitVisible(chromedp.CSS(".tierbar")))
		if got := p.text(".tierbar .whose"); got != "Low income prices, as verified for your father 王**" {
			t.Errorf("in English: %q", got)
		}
		// The header stays on one line on a 360 px phone, signed in, in
		// both languages.
		p.do("a 360 px phone", chromedp.EmulateViewport(360, 780), chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(".tierbar")))
		p.headerFits("English")
		p.do("switch to Chinese", chromedp.Click(chromedp.CSS(`a[hreflang="zh-CN"]`)), chromedp.WaitVisible(chromedp.CSS(".tierbar")))
		p.headerFits("Chinese")
	})
}

// headerFits checks that the header's links are on one line and nothing
// makes the page scroll sideways.
func (p *page) headerFits(what string) {
	p.t.Helper()
	if got := p.eval(`(() => {
			const bar = document.querySelector("header.site .bar"), links = [...bar.querySelectorAll("a, button")].filter(e => e.offsetParent !== null);
			const tops = new Set(links.map(e => Math.round(e.getBoundingClientRect().top)));
			return tops.size === 1 && document.documentElement.scrollWidth <= window.innerWidth ? "one line" :
				"lines at " + [...tops].join(",") + "; page " + document.documentElement.scrollWidth + " px wide, window " + window.innerWidth;
		})()`); got != "one line" {
		p.t.Errorf("the header on a phone, signed in (%s): %s", what, got)
	}
}
