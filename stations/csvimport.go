package stations

import (
	"bytes"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/encoding/unicode"
	"golang.org/x/text/width"

	"fuju/internal/valid"
)

// Unit CSV files as offices really make them. Excel on Chinese Windows saves
// "CSV" in GBK (GB18030 is its superset), "Unicode text" in UTF-16 with a byte
// order mark, and "CSV UTF-8" with a UTF-8 byte order mark; people type column
// names and states in Chinese, dates as 2026/1/5 or 2026年1月5日, and a date
// cell Excel formatted as a number arrives as its serial number.

// Encodings DecodeCSV recognises, as reported to the operator.
const (
	EncodingUTF8    = "UTF-8"
	EncodingUTF16LE = "UTF-16LE"
	EncodingUTF16BE = "UTF-16BE"
	EncodingGB18030 = "GB18030"
)

// DecodeCSV returns the text of a file in UTF-8 and the encoding it was in:
// UTF-16 with a byte order mark (either endianness), UTF-8 (with or without
// one), or GBK/GB18030. Anything else is refused with a message saying how to
// save the file, so that no garbled text is ever stored.
func DecodeCSV(b []byte) (string, string, error) {
	refuse := func(msg string) (string, string, error) {
		return "", "", fmt.Errorf("stations: import: %w", valid.Field("file", "csv_encoding", msg))
	}
	const howToSave = "save it from Excel as \"CSV UTF-8\" or \"CSV (comma delimited)\" and upload it again"
	switch {
	case bytes.HasPrefix(b, []byte{0xFF, 0xFE}):
		return decodeWith(b, unicode.UTF16(unicode.LittleEndian, unicode.ExpectBOM), EncodingUTF16LE, howToSave)
	case bytes.HasPrefix(b, []byte{0xFE, 0xFF}):
		return decodeWith(b, unicode.UTF16(unicode.BigEndian, unicode.ExpectBOM), EncodingUTF16BE, howToSave)
	case bytes.HasPrefix(b, []byte{0xEF, 0xBB, 0xBF}):
		b = b[3:]
		if !utf8.Valid(b) {
			return refuse("starts as UTF-8 but contains bytes that are not UTF-8; " + howToSave)
		}
		return string(b), EncodingUTF8, nil
	}
	if bytes.IndexByte(b, 0) >= 0 {
		// UTF-16 without a byte order mark, or not text at all (a
		// spreadsheet saved as .xlsx): guessing would risk garbled names.
		return refuse("is not a text CSV file (it looks like UTF-16 without a byte order mark, or an Excel workbook); " + howToSave)
	}
	if utf8.Valid(b) {
		return string(b), EncodingUTF8, nil
	}
	return decodeWith(b, simplifiedchinese.GB18030, EncodingGB18030,
		"is neither UTF-8 nor GBK/GB18030 text (the encodings Excel uses); "+howToSave)
}

// decodeWith decodes b with enc, refusing the file when any byte sequence is
// not valid in it: the decoder would put U+FFFD there, which is how garbled
// names get stored.
func decodeWith(b []byte, enc encoding.Encoding, name, howToSave string) (string, string, error) {
	out, err := enc.NewDecoder().Bytes(b)
	if err != nil || bytes.ContainsRune(out, utf8.RuneError) || !utf8.Valid(out) {
		return "", "", fmt.Errorf("stations: import: %w", valid.Field("file", "csv_encoding",
			fmt.Sprintf("could not be read as %s text; %s", name, howToSave)))
	}
	return strings.TrimPrefix(string(out), "\ufeff"), name, nil
}

// importHeaders maps the names a header cell may have, in English or
// Chinese, to the column it means. The template offers the Chinese names.
var importHeaders = map[string]string{
	"tag": "tag", "asset_tag": "tag", "资产编号": "tag", "编号": "tag", "资产标签": "tag",
	"product_id": "product_id", "product": "product_id", "产品": "product_id", "产品名称": "product_id", "产品编号": "product_id",
	"station_id": "station_id", "station": "station_id", "站点": "station_id", "站点名称": "station_id", "站点编号": "station_id",
	"state": "state", "status": "state", "状态": "state",
	"condition": "condition", "状况": "condition", "状况备注": "condition", "备注": "condition",
	"acquired_on": "acquired_on", "acquired": "acquired_on", "购入日期": "acquired_on", "购置日期": "acquired_on", "入库日期": "acquired_on",
}

// TemplateHeaders are the Chinese column names of the downloadable template,
// in ImportColumns order.
var TemplateHeaders = []string{"资产编号", "产品", "站点", "状态", "状况备注", "购入日期"}

// importColumn returns the column a header cell names, or "".
func importColumn(h string) string {
	h = strings.ToLower(strings.TrimSpace(width.Narrow.String(strings.TrimPrefix(h, "\ufeff"))))
	return importHeaders[h]
}

// importStates maps a state cell, in English or as the console shows it in
// Chinese, to the state a new unit starts in.
var importStates = map[string]State{
	"available": Available, "可借": Available, "可用": Available, "在库": Available,
	"cleaning": Cleaning, "待清洁": Cleaning, "清洁": Cleaning, "清洁消毒中": Cleaning, "清洁中": Cleaning,
	"repair": Repair, "维修": Repair, "维修中": Repair, "待维修": Repair,
}

// importState reads a state cell; an unknown value is kept as typed so that
// Validate names it.
func importState(v string) State {
	v = strings.ToLower(strings.TrimSpace(v))
	if v == "" {
		return Available
	}
	if st, ok := importStates[v]; ok {
		return st
	}
	return State(v)
}

var (
	ymdRe    = regexp.MustCompile(`^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?(?:\s+\d{1,2}:\d{2}(?::\d{2})?)?$`)
	serialRe = regexp.MustCompile(`^\d{1,6}(\.\d+)?$`)
)

// excelEpoch is day 0 of Excel's date serial numbers on Windows: serial 1 is
// 1900-01-01, and Excel counts a 29 February 1900 that never was, so from
// serial 61 on the days line up with 1899-12-30.
var excelEpoch = time.Date(1899, 12, 30, 0, 0, 0, 0, time.UTC)

// ImportDate reads a date as offices type it — 2026-01-05, 2026/1/5,
// 2026.1.5, 2026年1月5日 (with full-width digits too) or an Excel serial
// number such as 46027 — and returns it as 2026-01-05. Day-first and
// month-first forms (05/01/2026) are ambiguous and refused, as is anything
// that is not a real date between 1950 and 2100.
func ImportDate(s string) (string, bool) {
	s = strings.TrimSpace(width.Narrow.String(s))
	if s == "" {
		return "", true
	}
	var t time.Time
	if m := ymdRe.FindStringSubmatch(s); m != nil {
		y, _ := strconv.Atoi(m[1])
		mo, _ := strconv.Atoi(m[2])
		d, _ := strconv.Atoi(m[3])
		t = time.Date(y, time.Month(mo), d, 0, 0, 0, 0, time.UTC)
		if t.Year() != y || int(t.Month()) != mo || t.Day() != d {
			return "", false // 2026-02-30 and the like
		}
	} else if serialRe.MatchString(s) {
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || f < 61 {
			return "", false
		}
		t = excelEpoch.AddDate(0, 0, int(f))
	} else {
		return "", false
	}
	if t.Year() < 1950 || t.Year() > 2100 {
		return "", false
	}
	return t.Format(time.DateOnly), true
}

// ImportTemplate is the downloadable template: the Chinese header row and one
// example row naming a product and a station as people know them. It starts
// with a UTF-8 byte order mark so that Excel opens it with Chinese intact.
func ImportTemplate(product, station string) []byte {
	var b bytes.Buffer
	b.WriteString("\ufeff")
	b.WriteString(strings.Join(TemplateHeaders, ",") + "\r\n")
	b.WriteString(strings.Join([]string{"JZ-WC-0101", csvCell(product), csvCell(station), "可借", "新购", "2026/1/5"}, ",") + "\r\n")
	return b.Bytes()
}

func csvCell(s string) string {
	if strings.ContainsAny(s, "\",\r\n") {
		return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
	}
	return s
}

func refKey(s string) string {
	return strings.ToLower(strings.Join(strings.Fields(width.Narrow.String(s)), " "))
}
