package main

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"fuju/internal/testenv"
)

// accountEnv runs an instance on the test database engine (a fresh database,
// dropped afterwards) without the demo city: these tests need accounts, not
// devices, and start in seconds.
func accountEnv(t *testing.T) map[string]string {
	t.Helper()
	return map[string]string{"MONGODB_URI": testenv.MongoURI(t), "FUJU_DB_NAME": testenv.DB(t).Name(),
		"DATA_DIR": t.TempDir(), "FUJU_LOG_LEVEL": "warn"}
}

// page drives one browser tab through the real program.
func (p *page) open(path, ready string) {
	p.t.Helper()
	p.do("open "+path, chromedp.Navigate(p.base+path), chromedp.WaitVisible(chromedp.CSS(ready)))
}

// fill types into inputs by id, in order.
func (p *page) fill(fields ...string) {
	p.t.Helper()
	for i := 0; i+1 < len(fields); i += 2 {
		p.do("type into "+fields[i], chromedp.SendKeys(chromedp.CSS(fields[i]), fields[i+1]))
	}
}

// submit clicks a form's submit button and waits until the browser has left
// the page for one whose path starts with path: the server answers forms
// with a redirect, so the next page is known.
func (p *page) submit(form, path string) {
	p.t.Helper()
	before := p.eval("location.href")
	p.do("submit "+form, chromedp.Click(chromedp.CSS(form+` button[type="submit"]`)))
	p.waitFor("leaving "+form+" for "+path, `location.href !== `+jsString(before)+` && location.pathname.startsWith(`+jsString(path)+`) && document.readyState === "complete"`)
}

// waitFor polls a JavaScript condition until it holds.
func (p *page) waitFor(what, cond string) {
	p.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		ok, err := chromedp.Run(p.ctx, chromedp.Evaluate[bool]("(() => { try { return "+cond+" } catch (e) { return false } })()"))
		if err == nil && ok {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	p.t.Fatalf("%s: still at %s, showing:\n%.1500s", what, p.eval("location.href"), p.eval(`document.querySelector("main") ? document.querySelector("main").innerText : ""`))
}

func (p *page) logout() {
	p.t.Helper()
	// A family's header on a phone has no room for it: the account page has.
	if p.eval(`String(document.querySelector('header form[action="/logout"]').offsetParent !== null)`) != "true" {
		p.open("/account", `main form[action="/logout"]`)
		p.submit(`main form[action="/logout"]`, "/")
		p.do("logged out", chromedp.WaitVisible(chromedp.CSS(`nav a[href="/login"]`)))
		return
	}
	p.submit(`form[action="/logout"]`, "/")
	p.do("logged out", chromedp.WaitVisible(chromedp.CSS(`nav a[href="/login"]`)))
}

func jsString(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(s) + `"`
}

// A family member signs up, is logged in, logs out, logs in again, and a
// wrong password is answered next to the form with the focus on the login.
func TestSignupAndLoginInBrowser(t *testing.T) {
	env := accountEnv(t)
	in := start(t, env)
	p := newPage(t, in.URL)
	const name, phone, password = "张秀兰", "13812345001", "sunny-garden-path-24"

	p.signUpInBrowser(env, name, phone, password)
	if got := p.text("main"); !strings.Contains(got, name) || !strings.Contains(got, phone) {
		t.Errorf("account page after sign-up: %q", got)
	}
	if got := p.text(".flash"); !strings.Contains(got, "注册成功") {
		t.Errorf("sign-up flash %q", got)
	}
	p.logout()

	p.open("/login", "#f-login")
	p.fill("#f-login", phone, "#f-password", password)
	p.submit(`form[action="/login"]`, "/account")
	if got := p.text("main h1"); got != "我的账户" {
		t.Errorf("after login the page is %q", got)
	}
	if got := p.text("main"); !strings.Contains(got, name) {
		t.Errorf("the account page does not show the name: %q", got)
	}
	p.logout()

	p.open("/login", "#f-login")
	p.fill("#f-login", phone, "#f-password", "not-my-password-9")
	p.do("wrong password", chromedp.Click(chromedp.CSS(`form[action="/login"] button[type="submit"]`)))
	p.waitFor("the error message", `document.querySelector("main .alert") !== null`)
	if got := p.text("main .alert"); !strings.Contains(got, "密码不对") {
		t.Errorf("wrong-password message %q", got)
	}
	if next := p.eval(`(() => { const a = document.querySelector("main .alert"); const f = document.querySelector('form[action="/login"]');
		return a && f && a.compareDocumentPosition(f) & Node.DOCUMENT_POSITION_FOLLOWING ? "form follows" : "no" })()`); next != "form follows" {
		t.Error("the error message is not next to the login form")
	}
	p.waitFor("focus on the login field", `document.activeElement && document.activeElement.id === "f-login"`)
	if v := p.eval(`document.getElementById("f-login").value`); v != phone {
		t.Errorf("the login field lost what was typed: %q", v)
	}
	if v := p.eval(`document.getElementById("f-password").value`); v != "" {
		t.Error("the password was sent back to the page")
	}
}

var oneTimeLine = regexp.MustCompile(`One-time password: (\S+)`)

// The city's first admin, made with the command line, logs in, must change
// the one-time password, admits an operator and makes its admin account; the
// operator admin can then log in.
func TestAdminOnboardsOperatorInBrowser(t *testing.T) {
	env := accountEnv(t)
	getenv := func(k string) string { return env[k] }
	var out, errs testenv.Buffer
	err := run(context.Background(), []string{"admin", "create-user", "--role", "platform_admin", "--phone", "13900001111", "--name", "市民政局管理员"},
		getenv, strings.NewReader(""), &out, &errs)
	if err != nil {
		t.Fatalf("fuju admin create-user: %v\n%s", err, errs.String())
	}
	m := oneTimeLine.FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("no one-time password in %q", out.String())
	}
	in := start(t, env)
	p := newPage(t, in.URL)
	// A PC, not a phone.
	p.do("desktop window", chromedp.EmulateViewport(1280, 900))

	p.open("/login", "#f-login")
	p.fill("#f-login", "13900001111", "#f-password", m[1])
	p.submit(`form[action="/login"]`, "/account")
	if got := p.text(`section[aria-labelledby="password"] .alert`); !strings.Contains(got, "临时密码") {
		t.Errorf("not told to change the one-time password: %q", got)
	}
	const adminPassword = "amber-river-crossing-9"
	p.fill("#f-current_password", m[1], "#f-new_password", adminPassword)
	p.submit(`form[action="/account/password"]`, "/account")
	if got := p.text(".flash"); !strings.Contains(got, "密码已") {
		t.Errorf("password change flash %q", got)
	}

	p.open("/admin", ".adm-nav")
	if got := p.text("main h1"); got != "城市管理后台" {
		t.Errorf("console heading %q", got)
	}
	p.do("operators", chromedp.Click(chromedp.CSS(`.adm-nav a[href="/admin/operators"]`)))
	p.waitFor("operators page", `location.pathname === "/admin/operators" && document.querySelector("#f-adm_op_name_zh") !== null`)
	p.fill("#f-adm_op_name_zh", "焦作康护服务中心", "#f-adm_op_name_en", "Jiaozuo Care Services", "#f-adm_op_phone", "0391-3560000")
	p.submit(`form[action="/admin/operators"]`, "/admin/operators/op-")
	if got := p.text("main h1"); got != "焦作康护服务中心" {
		t.Errorf("operator page heading %q", got)
	}

	p.do("add its admin", chromedp.Click(chromedp.CSS(`a[href^="/admin/users/new?role=operator_admin"]`)))
	p.waitFor("new account form", `location.pathname === "/admin/users/new" && document.querySelector("#f-name") !== null`)
	if role, op := p.eval(`document.getElementById("f-adm_role").value`), p.eval(`document.getElementById("f-adm_operator").selectedOptions[0].textContent`); role != "operator_admin" || op != "焦作康护服务中心" {
		t.Errorf("the form is not prefilled for the operator: role %q, operator %q", role, op)
	}
	p.fill("#f-name", "孙经理", "#f-phone", "13700002222")
	p.submit(`form[action="/admin/users"]`, "/admin/users/u-")
	otp := p.text("#otp")
	if len(otp) != 16 {
		t.Fatalf("one-time password %q", otp)
	}
	p.logout()

	p.open("/login", "#f-login")
	p.fill("#f-login", "13700002222", "#f-password", otp)
	p.submit(`form[action="/login"]`, "/account")
	if got := p.text("main"); !strings.Contains(got, "孙经理") || !strings.Contains(got, "13700002222") {
		t.Errorf("the operator admin's account page: %q", got)
	}
}
