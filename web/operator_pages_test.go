package web

import (
	"bytes"
	"context"
	"image/color"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/encoding/unicode"

	"fuju/accounts"
	"fuju/catalog"
	"fuju/internal/l10n"
	"fuju/internal/tenancy"
	"fuju/stations"
)

// multipartForm posts a console upload form (fields and one file) as c.
func (w *opWorld) multipartForm(t *testing.T, c opCaller, target string, fields map[string]string, fileField, fileName string, data []byte) *httptest.ResponseRecorder {
	t.Helper()
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	mw.WriteField(csrfField, c.csrf)
	for k, v := range fields {
		mw.WriteField(k, v)
	}
	if fileField != "" {
		fw, _ := mw.CreateFormFile(fileField, fileName)
		fw.Write(data)
	}
	mw.Close()
	req := httptest.NewRequest(http.MethodPost, target, &b)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	req.AddCookie(c.cookie)
	rec := httptest.NewRecorder()
	w.s.ServeHTTP(rec, req)
	w.lastCookies = rec.Result().Cookies()
	return rec
}

// follow GETs loc as c's browser after a form: with the cookies the form's
// response set (a flash, a one-time secret).
func (w *opWorld) follow(t *testing.T, c opCaller, loc string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest("GET", loc, nil)
	req.AddCookie(c.cookie)
	for _, ck := range w.lastCookies {
		if ck.MaxAge >= 0 && ck.Value != "" {
			req.AddCookie(ck)
		}
	}
	return serve(w.s, req)
}

func wantRedirect(t *testing.T, rec *httptest.ResponseRecorder, prefix, what string) string {
	t.Helper()
	if rec.Code != http.StatusSeeOther || !strings.HasPrefix(rec.Header().Get("Location"), prefix) {
		t.Fatalf("%s: %d to %q, want 303 to %s…\n%.1500s", what, rec.Code, rec.Header().Get("Location"), prefix, rec.Body)
	}
	return rec.Header().Get("Location")
}

func wantBody(t *testing.T, rec *httptest.ResponseRecorder, status int, what string, wants ...string) string {
	t.Helper()
	body := rec.Body.String()
	if rec.Code != status {
		t.Fatalf("%s: status %d, want %d\n%.2000s", what, rec.Code, status, body)
	}
	for _, w := range wants {
		if !strings.Contains(body, w) {
			t.Errorf("%s: page lacks %q", what, w)
		}
	}
	if strings.Contains(body, "%!") || regexp.MustCompile(`>op\.[a-z_.]+<`).MatchString(body) {
		t.Errorf("%s: a message is missing or badly formatted", what)
	}
	return body
}

func TestOperatorConsolePages(t *testing.T) {
	w := newOpWorld(t)
	ctx := context.Background()
	a := w.adminA
	for _, p := range []string{"/operator", "/operator/products", "/operator/products/new", "/operator/stations", "/operator/stations/new",
		"/operator/units", "/operator/units?station=north&state=available", "/operator/units/new", "/operator/imports/new",
		"/operator/staff", "/operator/staff/new", "/operator/tokens", "/operator/audit", "/operator/products/wc", "/operator/products/wc/photos",
		"/operator/stations/north", "/operator/units/JZ-WC-0001", "/operator/units/JZ-WC-0001/retire", "/operator/staff/" + w.staffAID} {
		body := wantBody(t, w.page(t, a, p), 200, p)
		if !strings.Contains(body, `class="op-nav"`) {
			t.Errorf("%s lacks the console menu", p)
		}
		if n, c := strings.Count(body, `<form method="post"`), strings.Count(body, `name="_csrf"`); c < n {
			t.Errorf("%s: %d POST forms but %d form tokens", p, n, c)
		}
	}
	wantBody(t, w.page(t, a, "/operator"), 200, "dashboard", "可借", "/operator/units?state=cleaning")
	wantBody(t, w.page(t, w.platform, "/operator/products/new"), 200, "platform's new listing", `name="operator_id"`)

	// A listing: bad input keeps what was typed, names each field, focuses
	// the first; prices are typed in yuan; the English name is optional.
	bad := url.Values{"name_zh": {""}, "name_en": {"Electric bed"}, "category": {"hospital_bed"}, "status": {"active"},
		"daily_yuan": {"12.345"}, "block30_yuan": {"abc"}, "deposit_yuan": {"500"}, "seat_width_cm": {"wide"}}
	body := wantBody(t, w.form(t, a, "/operator/products", bad), 400, "bad listing", `value="Electric bed"`, `value="12.345"`,
		`id="e-name_zh"`, `id="e-daily_yuan"`, `id="e-block30_yuan"`, `id="e-seat_width_cm"`, `href="#f-daily_yuan"`, "元")
	if !regexp.MustCompile(`id="f-name_zh"[^>]*autofocus`).MatchString(body) {
		t.Error("focus is not on the first wrong field")
	}
	if strings.Contains(body, `id="e-deposit_yuan"`) || strings.Contains(body, `id="e-name_en"`) {
		t.Error("a good price or the optional English name is marked wrong")
	}
	good := url.Values{"name_zh": {"电动护理床"}, "name_en": {"Electric bed"}, "category": {"hospital_bed"}, "status": {"active"},
		"description_zh": {"三功能"}, "description_en": {"Three functions"}, "daily_yuan": {"12.5"}, "block30_yuan": {"¥300"},
		"deposit_yuan": {"1,000.05"}, "replacement_yuan": {"6800"}, "keywords": {"电动, 护理床，bed"}, "width_cm": {"95"}, "weight_kg": {"62.5"}, "adjustable_height": {"on"}}
	loc := wantRedirect(t, w.form(t, a, "/operator/products", good), "/operator/products/electric-bed/photos", "create listing (a readable id)")
	id := strings.TrimSuffix(strings.TrimPrefix(loc, "/operator/products/"), "/photos")
	pr, err := w.s.catalog.Get(ctx, tenancy.OperatorScope("op-a"), id)
	if err != nil {
		t.Fatal(err)
	}
	if pr.Rate != (catalog.RatePlan{DailyFen: 1250, Block30Fen: 30000, DepositFen: 100005, ReplacementFen: 680000}) || pr.Specs.WidthCM != 95 || pr.Specs.WeightKG != 62.5 ||
		!pr.Specs.AdjustableHeight || pr.Specs.Foldable || strings.Join(pr.Keywords, "|") != "电动|护理床|bed" || pr.OperatorID != "op-a" {
		t.Errorf("created from the form: %+v", pr)
	}
	wantBody(t, w.follow(t, a, loc), 200, "photos page after create", "品类已创建")
	// Editing: the form carries the version; a stale one is a clear conflict
	// that keeps the typed values.
	wantBody(t, w.page(t, a, "/operator/products/"+id), 200, "edit listing", `name="version" value="1"`, `value="12.50"`, `value="1000.05"`, `name="replacement_yuan" type="text" value="6800"`)
	good.Set("version", "1")
	good.Set("name_en", "Electric care bed")
	wantRedirect(t, w.form(t, a, "/operator/products/"+id, good), "/operator/products", "edit listing")
	good.Set("name_en", "Someone else's idea")
	wantBody(t, w.form(t, a, "/operator/products/"+id, good), http.StatusConflict, "stale edit", "别人刚刚修改", `value="Someone else&#39;s idea"`, `name="version" value="2"`)
	if pr, _ := w.s.catalog.Get(ctx, tenancy.OperatorScope("op-a"), id); pr.Name.En != "Electric care bed" || pr.Version != 2 {
		t.Errorf("after the conflict: %+v", pr.Name)
	}

	// Photos: upload through the page (the API's code path), describe,
	// reorder, delete after confirming.
	jpg := testJPEG(t, 800, 600, color.RGBA{10, 120, 200, 255})
	// A missing Chinese description sends the form back with the chosen
	// photo kept on the server: saving again needs no file. English is
	// optional. A forged reference is refused.
	body = wantBody(t, w.multipartForm(t, a, "/operator/products/"+id+"/photos", map[string]string{"alt_en": "Bed"}, "photo", "bed.jpg", jpg), 400,
		"upload without Chinese alt", `id="e-alt_zh"`, `value="Bed"`, `id="pending-photo"`, "不用重新选择")
	if strings.Contains(body, `id="e-alt_en"`) {
		t.Error("the optional English description is marked wrong")
	}
	pending := regexp.MustCompile(`name="pending_photo" value="([^"]+)"`).FindStringSubmatch(body)
	if pending == nil {
		t.Fatal("no pending photo field")
	}
	forged := strings.Replace(pending[1], ".800.", ".801.", 1)
	wantBody(t, w.multipartForm(t, a, "/operator/products/"+id+"/photos", map[string]string{"alt_zh": "床", "pending_photo": forged}, "", "", nil), 400,
		"forged pending photo", `id="e-photo"`)
	wantRedirect(t, w.multipartForm(t, a, "/operator/products/"+id+"/photos", map[string]string{"alt_zh": "床", "pending_photo": pending[1]}, "", "", nil),
		"/operator/products/"+id+"/photos", "upload the kept photo")
	if pr, _ := w.s.catalog.Get(ctx, tenancy.OperatorScope("op-a"), id); len(pr.Photos) != 1 || pr.Photos[0].Alt != (catalog.Text{Zh: "床"}) || pr.Photos[0].Width != 800 {
		t.Fatalf("photos after the kept upload: %+v", pr.Photos)
	}
	wantBody(t, w.multipartForm(t, a, "/operator/products/"+id+"/photos", map[string]string{"alt_zh": "床", "alt_en": "Bed"}, "photo", "x.gif", gifBytes(t)), 415,
		"upload a GIF", `id="e-photo"`)
	for i, c := range []color.RGBA{{10, 120, 200, 255}, {200, 20, 20, 255}} {
		wantRedirect(t, w.multipartForm(t, a, "/operator/products/"+id+"/photos", map[string]string{"alt_zh": "床", "alt_en": "Bed"},
			"photo", "bed.jpg", testJPEG(t, 800, 600+i, c)), "/operator/products/"+id+"/photos", "upload")
	}
	pr, _ = w.s.catalog.Get(ctx, tenancy.OperatorScope("op-a"), id)
	if len(pr.Photos) != 2 {
		t.Fatalf("photos after two uploads: %d", len(pr.Photos))
	}
	first, second := pr.Photos[0].Key, pr.Photos[1].Key
	wantRedirect(t, w.form(t, a, "/operator/products/"+id+"/photos/"+second+"/move", url.Values{"dir": {"up"}}), "/operator/products/"+id+"/photos", "move up")
	wantRedirect(t, w.form(t, a, "/operator/products/"+id+"/photos/"+first+"/alt", url.Values{"alt_zh": {"侧面"}, "alt_en": {"Side"}}), "/operator/products/", "alt")
	wantBody(t, w.form(t, a, "/operator/products/"+id+"/photos/"+first+"/alt", url.Values{"alt_zh": {""}, "alt_en": {"Side"}}), 400, "empty alt", `id="e-alt_zh"`)
	pr, _ = w.s.catalog.Get(ctx, tenancy.OperatorScope("op-a"), id)
	if pr.Photos[0].Key != second || pr.Photos[1].Alt.En != "Side" {
		t.Errorf("after move and alt: %+v", pr.Photos)
	}
	wantBody(t, w.page(t, a, "/operator/products/"+id+"/photos/"+first+"/delete"), 200, "confirm delete", "确定删除")
	wantRedirect(t, w.form(t, a, "/operator/products/"+id+"/photos/"+first+"/delete", url.Values{}), "/operator/products/"+id+"/photos", "delete photo")
	if pr, _ = w.s.catalog.Get(ctx, tenancy.OperatorScope("op-a"), id); len(pr.Photos) != 1 {
		t.Errorf("photos after delete: %d", len(pr.Photos))
	}

	// A station, with hours per weekday and closed dates.
	st := url.Values{"name_zh": {"东站"}, "name_en": {"East"}, "address_zh": {"东路"}, "address_en": {"East Rd"}, "district": {"macun"},
		"lat": {"35.25"}, "lng": {"abc"}, "phone": {"0391-3561111"}, "active": {"on"}, "closed_on": {"2026-10-01\n\n2026-10-02"}}
	for d := 1; d <= 6; d++ {
		st.Set("open_"+string(rune('0'+d)), "08:30")
		st.Set("close_"+string(rune('0'+d)), "17:00")
	}
	st.Set("close_3", "07:00")
	st.Set("closed_0", "on")
	wantBody(t, w.form(t, a, "/operator/stations", st), 400, "bad station", `id="e-lng"`, `id="e-open_3"`, `value="35.25"`)
	st.Set("lng", "113.3")
	st.Set("close_3", "17:00")
	wantRedirect(t, w.form(t, a, "/operator/stations", st), "/operator/stations", "create station")
	sts, _ := w.s.stations.StationsIn(ctx, tenancy.OperatorScope("op-a"))
	var east stations.VersionedStation
	for _, s := range sts {
		if s.Name.En == "East" {
			east = s
		}
	}
	if !east.Active || !east.Hours.Week[0].Closed || east.Hours.Week[3].Close != "17:00" || len(east.Hours.ClosedOn) != 2 || east.Lng != 113.3 {
		t.Fatalf("created station %+v", east)
	}
	wantBody(t, w.page(t, a, "/operator/stations/"+east.ID), 200, "edit station", `name="version" value="1"`, "operator.js", "js-locate")
	st.Set("version", "1")
	st.Del("active")
	wantRedirect(t, w.form(t, a, "/operator/stations/"+east.ID, st), "/operator/stations", "deactivate station")
	wantBody(t, w.form(t, a, "/operator/stations/"+east.ID, st), http.StatusConflict, "stale station", "别人刚刚修改")

	// Units: add, edit, retire.
	wantBody(t, w.form(t, a, "/operator/units", url.Values{"tag": {"JZ-WC-0001"}, "product_id": {"wc"}, "station_id": {"north"}, "state": {"available"}}),
		400, "duplicate tag", `id="e-tag"`)
	wantRedirect(t, w.form(t, a, "/operator/units", url.Values{"tag": {"jz-wc-0500"}, "product_id": {"wc"}, "station_id": {"north"},
		"state": {"cleaning"}, "acquired_on": {"2026-03-01"}}), "/operator/units/JZ-WC-0500", "add unit")
	wantBody(t, w.page(t, a, "/operator/units?station=north"), 200, "units at north", "JZ-WC-0500", "清洁消毒中")
	wantRedirect(t, w.form(t, a, "/operator/units/JZ-WC-0500", url.Values{"version": {"1"}, "condition": {"wheel squeaks"}, "acquired_on": {"2026-03-01"}}),
		"/operator/units/JZ-WC-0500", "edit unit")
	wantBody(t, w.page(t, a, "/operator/units/JZ-WC-0500"), 200, "unit page", "wheel squeaks", "修改了设备资料", `name="version" value="2"`)
	wantBody(t, w.form(t, a, "/operator/units/JZ-WC-0500/retire", url.Values{"version": {"2"}}), 400, "retire without reason", `id="e-reason"`)
	wantRedirect(t, w.form(t, a, "/operator/units/JZ-WC-0500/retire", url.Values{"version": {"2"}, "reason": {"cracked frame"}}), "/operator/units/JZ-WC-0500", "retire")
	if hist := wantBody(t, w.page(t, a, "/operator/units/JZ-WC-0500"), 200, "retired unit page", "入库，", "修改了设备资料", "报废：cracked frame"); strings.Contains(hist, "<td>retired</td>") || strings.Contains(hist, "<td>edited</td>") {
		t.Error("the unit's history shows event codes, not sentences")
	}
	if u, _ := w.s.stations.Unit(ctx, "JZ-WC-0500"); u.State != stations.Retired {
		t.Errorf("retired unit is %s", u.State)
	}

	// A CSV import in the background: the page shows progress, then the
	// report and the labels link; re-running changes nothing.
	file := unitsCSV(60, 1, "wc", "south", "new") + "JZ-WC-99999,walker,nowhere,available,,\n"
	loc = wantRedirect(t, w.multipartForm(t, a, "/operator/imports", nil, "file", "units.csv", []byte(file)), "/operator/imports/imp-", "import")
	page := waitImport(t, w, a, loc)
	for _, want := range []string{`id="count-created">60<`, `id="count-failed">1<`, "labels.pdf?import=", "<td>站点</td>", "JZ-WC-99999"} {
		if !strings.Contains(page, want) {
			t.Errorf("import report lacks %q", want)
		}
	}
	loc = wantRedirect(t, w.multipartForm(t, a, "/operator/imports", nil, "file", "units.csv", []byte(file)), "/operator/imports/imp-", "import again")
	if page := waitImport(t, w, a, loc); !strings.Contains(page, `id="count-unchanged">60<`) || !strings.Contains(page, `id="count-created">0<`) {
		t.Error("re-running the import changed something")
	}
	// As offices make it: the template (Chinese columns, one example row
	// naming the operator's product and station), filled in and saved by
	// Excel in GBK, products and stations by name or code, Excel's dates.
	tpl := w.page(t, a, "/operator/imports/template.csv")
	if tpl.Code != 200 || !strings.HasPrefix(tpl.Body.String(), "\ufeff资产编号,产品,站点,状态,状况备注,购入日期\r\n") ||
		!strings.Contains(tpl.Header().Get("Content-Disposition"), "attachment") {
		t.Fatalf("template: %d %q %q", tpl.Code, tpl.Header().Get("Content-Disposition"), tpl.Body)
	}
	office := "资产编号,产品,站点,状态,状况备注,购入日期\r\n" +
		"JZ-WC-8001,轻便轮椅,北站,可借,新购,2026/1/5\r\n" +
		"JZ-WC-8002,WC,South,待清洁,,2026年1月6日\r\n" +
		"JZ-WC-8003,助行架,西站,,,46027\r\n"
	gbk, err := simplifiedchinese.GBK.NewEncoder().String(office)
	if err != nil {
		t.Fatal(err)
	}
	loc = wantRedirect(t, w.multipartForm(t, a, "/operator/imports", nil, "file", "units.csv", []byte(gbk)), "/operator/imports/imp-", "GBK import")
	page = waitImport(t, w, a, loc)
	for _, want := range []string{`id="count-created">2<`, `id="count-failed">1<`, "找不到这个站点"} {
		if !strings.Contains(page, want) {
			t.Errorf("GBK import report lacks %q", want)
		}
	}
	if u, err := w.s.stations.Unit(ctx, "JZ-WC-8002"); err != nil || u.ProductID != "wc" || u.StationID != "south" || u.State != stations.Cleaning || u.AcquiredOn != "2026-01-06" {
		t.Errorf("unit from the GBK file: %+v %v", u, err)
	}
	wantBody(t, w.multipartForm(t, a, "/operator/imports", nil, "file", "units.csv", []byte("tag,product_id,station_id\nJZ-WC-1,caf\xe9,s\xf6d\n")), 400,
		"latin-1 file", `id="e-file"`, "CSV UTF-8")
	wantBody(t, w.multipartForm(t, a, "/operator/imports", nil, "file", "units.csv", []byte("colour\nred\n")), 400, "bad header", `id="e-file"`)
	wantBody(t, w.multipartForm(t, a, "/operator/imports", nil, "", "", nil), 400, "no file", `id="e-file"`)
	if rec := w.page(t, w.adminB, loc); rec.Code != 404 {
		t.Errorf("B sees A's import: %d", rec.Code)
	}

	// Staff: invite, password shown once, stations, disable.
	wantBody(t, w.form(t, a, "/operator/staff", url.Values{"name": {"王"}, "phone": {"123"}}), 400, "bad staff", `id="e-phone"`, `id="e-station_ids"`)
	loc = wantRedirect(t, w.form(t, a, "/operator/staff", url.Values{"name": {"王小明"}, "phone": {"13700001234"}, "station_ids": {"north", "south"}}),
		"/operator/staff/u-", "invite")
	rec := w.follow(t, a, loc)
	pwRe := regexp.MustCompile(`id="secret" class="op-secret" readonly value="([^"]+)"`)
	m := pwRe.FindStringSubmatch(rec.Body.String())
	if rec.Code != 200 || m == nil {
		t.Fatalf("password page: %d\n%.1500s", rec.Code, rec.Body)
	}
	if u, err := w.s.auth.Authenticate(ctx, "13700001234", m[1]); err != nil || !u.MustChangePassword || len(u.StationIDs) != 2 {
		t.Fatalf("invited staff cannot log in with the shown password: %v %+v", err, u)
	}
	if again := wantBody(t, w.page(t, a, loc), 200, "password page again"); pwRe.MatchString(again) {
		t.Error("the one-time password is shown twice")
	}
	staffID := strings.TrimSuffix(strings.TrimPrefix(loc, "/operator/staff/"), "/password")
	wantBody(t, w.page(t, a, "/operator/staff/"+staffID), 200, "staff page", `value="north" checked`, `value="south" checked`)
	wantRedirect(t, w.form(t, a, "/operator/staff/"+staffID, url.Values{"name": {"王小明"}, "station_ids": {"south"}, "status": {"disabled"}}), "/operator/staff", "disable staff")
	if u, _ := w.s.auth.User(ctx, staffID); u.Status != accounts.Disabled || strings.Join(u.StationIDs, ",") != "south" {
		t.Errorf("after edit: %+v", u)
	}
	wantBody(t, w.form(t, a, "/operator/staff/"+staffID, url.Values{"name": {"王小明"}, "status": {"active"}}), 400, "no station", `id="e-station_ids"`)
	wantRedirect(t, w.form(t, a, "/operator/staff/"+staffID+"/password", url.Values{}), "/operator/staff/"+staffID+"/password", "reset")

	// Tokens: create shows the secret once; revoke.
	wantBody(t, w.page(t, a, "/operator/tokens"), 200, "token form", "令牌名称", `name="expires_on" type="date"`,
		`value="`+w.s.now().In(l10n.Local).AddDate(1, 0, 0).Format(time.DateOnly)+`"`)
	wantBody(t, w.form(t, a, "/operator/tokens", url.Values{"name": {""}, "expires_on": {"2020-01-01"}}), 400, "bad token", `id="e-name"`, `id="e-scopes"`, `id="e-expires_on"`)
	nextYear := time.Now().In(l10n.Local).AddDate(1, 0, 0).Format(time.DateOnly)
	loc = wantRedirect(t, w.form(t, a, "/operator/tokens", url.Values{"name": {"仓库系统"}, "scopes": {"inventory:read", "inventory:write"}, "expires_on": {nextYear}}),
		"/operator/tokens/tok-", "create token")
	secretPage := w.follow(t, a, loc).Body.String()
	m = pwRe.FindStringSubmatch(secretPage)
	if m == nil || !strings.HasPrefix(m[1], "fuju_") {
		t.Fatal("token secret not shown")
	}
	for _, want := range []string{`class="button secondary js-copy" data-copy="#secret"`, "<noscript>"} {
		if !strings.Contains(secretPage, want) {
			t.Errorf("secret page lacks %q", want)
		}
	}
	if rec := w.call(t, opCaller{bearer: m[1]}, "GET", "/api/v1/operator/units", nil); rec.Code != 200 {
		t.Errorf("the shown token does not work: %d", rec.Code)
	}
	tokID := strings.TrimSuffix(strings.TrimPrefix(loc, "/operator/tokens/"), "/secret")
	wantBody(t, w.page(t, a, "/operator/tokens"), 200, "tokens", "仓库系统", "读取库存", "有效期至", nextYear)
	wantRedirect(t, w.form(t, a, "/operator/tokens/"+tokID+"/revoke", url.Values{}), "/operator/tokens", "revoke")
	if rec := w.call(t, opCaller{bearer: m[1]}, "GET", "/api/v1/operator/units", nil); rec.Code != 401 {
		t.Errorf("revoked token: %d", rec.Code)
	}

	// The audit log shows who changed what.
	body = wantBody(t, w.page(t, a, "/operator/audit"), 200, "audit", "admin A 修改了品类“电动护理床”（electric-bed）", "英文名称：Electric bed → Electric care bed",
		"admin A 停用了员工账号", "admin A 吊销了API 令牌", "admin A 批量导入了设备", "2026-")
	if strings.Contains(body, "op-b") {
		t.Error("A's audit page shows B")
	}
	en := &http.Cookie{Name: "lang", Value: "en"}
	req := httptest.NewRequest("GET", "/operator", nil)
	req.AddCookie(a.cookie)
	req.AddCookie(en)
	wantBody(t, serve(w.s, req), 200, "English dashboard", "Operator console", "Available")
}

// waitImport follows an import's page until it stops refreshing, and
// returns the final page.
func waitImport(t *testing.T, w *opWorld, c opCaller, loc string) string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		body := wantBody(t, w.page(t, c, loc), 200, "import page")
		if !strings.Contains(body, `http-equiv="refresh"`) {
			if !strings.Contains(body, `id="import-done"`) {
				t.Fatalf("import did not finish well:\n%.2000s", body)
			}
			return body
		}
		if !strings.Contains(body, "<progress") {
			t.Fatal("a running import shows no progress bar")
		}
		if time.Now().After(deadline) {
			t.Fatal("import still running after 30 s")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestImportExcelUnicodeText imports a unit file as Excel saves "Unicode
// text": UTF-16 little-endian with a byte order mark, cells separated by
// tabs. A file in an encoding Excel does not use is refused, naming the file.
func TestImportExcelUnicodeText(t *testing.T) {
	w := newOpWorld(t)
	ctx := context.Background()
	a := w.adminA
	office := "资产编号\t产品\t站点\t状态\t状况备注\t购入日期\r\n" +
		"JZ-WC-8101\t轻便轮椅\t北站\t可借\t新购, 带坐垫\t2026/1/5\r\n" +
		"JZ-WC-8102\tWC\tSouth\t待清洁\t\t2026年1月6日\r\n"
	utf16, err := unicode.UTF16(unicode.LittleEndian, unicode.UseBOM).NewEncoder().String(office)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(utf16, "\xff\xfe") {
		t.Fatal("the test file has no UTF-16LE byte order mark")
	}
	loc := wantRedirect(t, w.multipartForm(t, a, "/operator/imports", nil, "file", "units.txt", []byte(utf16)), "/operator/imports/imp-", "Unicode text import")
	page := waitImport(t, w, a, loc)
	for _, want := range []string{`id="count-created">2<`, `id="count-failed">0<`} {
		if !strings.Contains(page, want) {
			t.Errorf("Unicode text import report lacks %q:\n%.3000s", want, page)
		}
	}
	u, err := w.s.stations.Unit(ctx, "JZ-WC-8101")
	if err != nil || u.ProductID != "wc" || u.StationID != "north" || u.State != stations.Available || u.Condition != "新购, 带坐垫" || u.AcquiredOn != "2026-01-05" {
		t.Errorf("first unit from the Unicode text file: %+v %v", u, err)
	}
	if u, err := w.s.stations.Unit(ctx, "JZ-WC-8102"); err != nil || u.StationID != "south" || u.State != stations.Cleaning || u.AcquiredOn != "2026-01-06" {
		t.Errorf("second unit from the Unicode text file: %+v %v", u, err)
	}
	if p, err := w.s.catalog.Get(ctx, tenancy.OperatorScope("op-a"), u.ProductID); err != nil || p.Name.Zh != "轻便轮椅" {
		t.Errorf("the unit's product is %+v %v, not 轻便轮椅", p.Name, err)
	}

	// Latin-1 (an old European Excel) is neither: refused, nothing stored.
	latin1 := []byte("tag\tproduct_id\tstation_id\tcondition\r\nJZ-WC-8103\twc\tnorth\tcaf\xe9\r\n")
	wantBody(t, w.multipartForm(t, a, "/operator/imports", nil, "file", "units.txt", latin1), 400, "Latin-1 file", `id="e-file"`, "CSV UTF-8")
	if _, err := w.s.stations.Unit(ctx, "JZ-WC-8103"); err == nil {
		t.Error("a unit from the refused Latin-1 file was stored")
	}
}
