package stations

import (
	"context"
	"strings"
	"testing"

	"fuju/internal/tenancy"

	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/encoding/unicode"
)

// officeFile is a unit file as a Chinese office writes it: Chinese column
// names, products and stations by name, states in Chinese, Excel's dates.
const officeFile = "资产编号,产品,站点,状态,状况备注,购入日期\r\n" +
	"JZ-WC-7001,钢制轮椅,站st-1,可借,新购,2026/1/5\r\n" +
	"JZ-WC-7002,wc,ST-2,待清洁,九成新,2026年1月5日\r\n" +
	"JZ-WC-7003,Steel Wheelchair,Station st-1,维修中,,46027\r\n"

func TestDecodeCSV(t *testing.T) {
	gbk, err := simplifiedchinese.GBK.NewEncoder().String(officeFile)
	if err != nil {
		t.Fatal(err)
	}
	utf16 := func(order unicode.Endianness) string {
		s, err := unicode.UTF16(order, unicode.UseBOM).NewEncoder().String(officeFile)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	for _, tt := range []struct {
		name, file, enc string
	}{
		{"utf-8", officeFile, EncodingUTF8},
		{"utf-8 with bom", "\ufeff" + officeFile, EncodingUTF8},
		{"gbk as excel saves csv", gbk, EncodingGB18030},
		{"utf-16le unicode text", utf16(unicode.LittleEndian), EncodingUTF16LE},
		{"utf-16be", utf16(unicode.BigEndian), EncodingUTF16BE},
	} {
		text, enc, err := DecodeCSV([]byte(tt.file))
		if err != nil || text != officeFile || enc != tt.enc {
			t.Errorf("%s: %q as %s, %v; want the file as %s", tt.name, text, enc, err, tt.enc)
		}
	}
	for _, tt := range []struct{ name, file string }{
		{"latin-1", "tag,product_id,station_id,condition\nJZ-WC-0001,wc,st-1,caf\xe9 \xe0 c\xf4t\xe9\n"},
		{"utf-16 without bom", "t\x00a\x00g\x00"},
		{"xlsx workbook", "PK\x03\x04\x14\x00\x06\x00"},
		{"broken utf-8 after a bom", "\xef\xbb\xbftag\xff\xfe,\n"},
	} {
		if _, _, err := DecodeCSV([]byte(tt.file)); !fieldIn(err, "file") {
			t.Errorf("%s: %v, want a problem with the file", tt.name, err)
		}
	}
}

func TestImportDate(t *testing.T) {
	for _, tt := range []struct {
		in, want string
		ok       bool
	}{
		{"", "", true},
		{"2026-01-05", "2026-01-05", true},
		{"2026/1/5", "2026-01-05", true},
		{"2026-1-5", "2026-01-05", true},
		{"2026.1.5", "2026-01-05", true},
		{"2026年1月5日", "2026-01-05", true},
		{"２０２６年１月５日", "2026-01-05", true},
		{"2026/1/5 0:00", "2026-01-05", true},
		{"46027", "2026-01-05", true},
		{"46027.5", "2026-01-05", true},
		{"61", "1900-03-01", false}, // before 1950: a number, not a date
		{"2026-02-30", "", false},
		{"05/01/2026", "", false},
		{"31/12/2025", "", false},
		{"next week", "", false},
	} {
		got, ok := ImportDate(tt.in)
		if ok != tt.ok || ok && got != tt.want {
			t.Errorf("ImportDate(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestImportTemplateParses(t *testing.T) {
	rows, probs, err := ParseUnitCSV(strings.NewReader(string(ImportTemplate("钢制轮椅", "站st-1"))), 10)
	if err != nil || len(probs) != 0 || len(rows) != 1 {
		t.Fatalf("template: %+v %+v %v", rows, probs, err)
	}
	u := rows[0].Unit
	if u.ProductID != "钢制轮椅" || u.StationID != "站st-1" || u.State != Available || u.AcquiredOn != "2026-01-05" {
		t.Errorf("template row %+v", u)
	}
}

// TestImportByName imports a GBK file that names products and stations as
// people do; names that match nothing or several are reported per row.
func TestImportByName(t *testing.T) {
	ctx := context.Background()
	f, stB := manageFixture(t)
	a := tenancy.OperatorScope("op-a")
	by := tenancy.Actor{ID: "a-admin"}
	prods := owners(map[string]string{"wc": "op-a", "walker": "op-a", "walker-2": "op-a", "wc-b": "op-b"})
	f.svc.ProductsNamed = func(op, name string) []string {
		names := map[string][]string{"钢制轮椅": {"wc"}, "steel wheelchair": {"wc"}, "助行架": {"walker", "walker-2"}, "乙轮椅": {"wc-b"}}
		if op != "op-a" && name != "乙轮椅" {
			return nil
		}
		return names[NameKey(name)]
	}
	file := officeFile +
		"JZ-WC-7004,助行架,站st-1,,,\r\n" + // line 5: two products of that name
		"JZ-WC-7005,钢制轮椅,无此站,,,\r\n" + // 6: unknown station
		"JZ-WC-7006,钢制轮椅," + stB.Name.Zh + ",,,\r\n" + // 7: another operator's station by name
		"JZ-WC-7007,不存在,站st-1,,,2026/13/1\r\n" // 8: unknown product, bad date
	gbk, err := simplifiedchinese.GBK.NewEncoder().String(file)
	if err != nil {
		t.Fatal(err)
	}
	rows, probs, err := ParseUnitCSV(strings.NewReader(gbk), 100)
	if err != nil {
		t.Fatal(err)
	}
	job, err := f.svc.StartImport(ctx, a, len(rows)+len(probs), by)
	if err != nil {
		t.Fatal(err)
	}
	done, err := f.svc.RunImport(ctx, a, job, rows, probs, prods, by)
	if err != nil {
		t.Fatal(err)
	}
	res := done.Result
	if res.Created != 3 {
		t.Errorf("created %d, want 3: %+v", res.Created, res.Failed)
	}
	want := []ImportProblem{{Line: 5, Field: "product_id", Code: "ambiguous"}, {Line: 6, Field: "station_id", Code: "not_found"},
		{Line: 7, Field: "station_id", Code: "not_found"}, {Line: 8, Field: "acquired_on", Code: "date"}}
	if len(res.Failed) != len(want) {
		t.Fatalf("problems %+v, want %+v", res.Failed, want)
	}
	for i, w := range want {
		if g := res.Failed[i]; g.Line != w.Line || g.Field != w.Field || g.Code != w.Code {
			t.Errorf("problem %d: %+v, want %+v", i, g, w)
		}
	}
	for tag, want := range map[string]Unit{
		"JZ-WC-7001": {ProductID: "wc", StationID: "st-1", State: Available, Condition: "新购", AcquiredOn: "2026-01-05"},
		"JZ-WC-7002": {ProductID: "wc", StationID: "st-2", State: Cleaning, Condition: "九成新", AcquiredOn: "2026-01-05"},
		"JZ-WC-7003": {ProductID: "wc", StationID: "st-1", State: Repair, AcquiredOn: "2026-01-05"},
	} {
		u, err := f.svc.UnitIn(ctx, a, tag)
		if err != nil || u.ProductID != want.ProductID || u.StationID != want.StationID || u.State != want.State ||
			u.Condition != want.Condition || u.AcquiredOn != want.AcquiredOn {
			t.Errorf("%s: %+v %v, want %+v", tag, u, err, want)
		}
	}
}
