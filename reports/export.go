package reports

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"strconv"
	"strings"
)

// Exports reproduce a statement exactly: every line and total of its
// content, the status, and the content hash, which anyone can check against
// the API's canonical content. Money is written in yuan with two decimals
// (exact: fen are whole).

// Words of the exports in each language. Codes (tiers, proof types,
// districts, charges) are printed as codes: they are the statement's
// vocabulary, the same in both languages' files.
type words struct {
	title, operator, month, status, hash, draftNote                                string
	cols                                                                           []string
	total, byTier, byStation, byDistrict, lines, standard, renter, subsidy, capped string
	adjustment                                                                     string
}

var exportWords = map[string]words{
	"zh": {title: "补贴结算单", operator: "运营方", month: "月份", status: "状态", hash: "内容哈希 SHA-256",
		draftNote: "草稿：尚未提交，内容会随数据变化",
		cols: []string{"日期", "类型", "调整", "站点", "区县", "租约", "租用人", "档位", "证明类型", "证明到期",
			"天数", "标准价(元)", "租用人付(元)", "补贴(元)", "政策版本", "年度上限扣除(元)", "本年累计(元)", "年度上限(元)", "行号"},
		total: "合计", byTier: "按档位", byStation: "按站点", byDistrict: "按区县", lines: "行数",
		standard: "标准价(元)", renter: "租用人付(元)", subsidy: "补贴(元)", capped: "上限扣除(元)", adjustment: "调整"},
	"en": {title: "Subsidy statement", operator: "Operator", month: "Month", status: "Status", hash: "Content hash SHA-256",
		draftNote: "Draft: not submitted; it changes as the data does",
		cols: []string{"Date", "Kind", "Adjustment", "Station", "District", "Lease", "Renter", "Tier", "Proof type", "Proof expires",
			"Days", "Standard (CNY)", "Renter paid (CNY)", "Subsidy (CNY)", "Policy version", "Left out by cap (CNY)", "Year total (CNY)", "Annual cap (CNY)", "Line"},
		total: "Total", byTier: "By tier", byStation: "By station", byDistrict: "By district", lines: "Lines",
		standard: "Standard (CNY)", renter: "Renter paid (CNY)", subsidy: "Subsidy (CNY)", capped: "Left out by cap (CNY)", adjustment: "adjustment"},
}

func wordsFor(lang string) words {
	if w, ok := exportWords[lang]; ok {
		return w
	}
	return exportWords["zh"]
}

// Yuan writes fen as yuan with two decimals: 7200 → 72.00, -50 → -0.50.
func Yuan(fen int64) string {
	sign := ""
	if fen < 0 {
		sign, fen = "-", -fen
	}
	return fmt.Sprintf("%s%d.%02d", sign, fen/100, fen%100)
}

// cell neutralises a value a spreadsheet would run as a formula (it starts
// with =, +, -, @, a tab or a carriage return) by putting ' before it.
// Amounts are written by the program and left as numbers.
func cell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

func (l Line) stationName(lang string) string {
	if lang == "en" && l.StationNameEn != "" {
		return l.StationNameEn
	}
	return l.StationName
}

// CSV writes the statement as UTF-8 with a byte order mark, so Excel and
// WPS open it as Unicode: a heading block (operator, month, status, hash),
// the lines, then the totals by tier, station and district.
func CSV(st Statement, lang string) []byte {
	w := wordsFor(lang)
	var buf bytes.Buffer
	buf.WriteString("\ufeff")
	cw := csv.NewWriter(&buf)
	text := func(cells ...string) {
		for i := range cells {
			cells[i] = cell(cells[i])
		}
		_ = cw.Write(cells)
	}
	c := st.Content
	text(w.title)
	text(w.operator, c.OperatorID)
	text(w.month, c.Month)
	text(w.status, string(st.Status))
	text(w.hash, st.Hash)
	if st.Status == Draft || st.Status == Returned {
		text(w.draftNote)
	}
	text()
	text(w.cols...)
	for _, l := range c.Lines {
		adj := ""
		if l.Adjustment {
			adj = w.adjustment
		}
		row := []string{l.Day, l.Kind, adj, l.stationName(lang), l.District, l.LeaseID, l.RenterName, string(l.Tier), l.ProofType, l.ProofExpires}
		for i := range row {
			row[i] = cell(row[i])
		}
		row = append(row, strconv.Itoa(l.Days), Yuan(l.StandardFen), Yuan(l.RenterFen), Yuan(l.SubsidyFen), strconv.Itoa(l.PolicyVersion),
			Yuan(l.CappedFen), Yuan(l.YearTotalFen), Yuan(l.CapFen), l.Key)
		_ = cw.Write(row)
	}
	totals := func(title string, ts []Total, name func(Total) string) {
		text()
		text(title, w.lines, w.standard, w.renter, w.subsidy, w.capped)
		for _, t := range ts {
			_ = cw.Write([]string{cell(name(t)), strconv.Itoa(t.Lines), Yuan(t.StandardFen), Yuan(t.RenterFen), Yuan(t.SubsidyFen), Yuan(t.CappedFen)})
		}
	}
	key := func(t Total) string { return t.Key }
	totals(w.byTier, c.ByTier, key)
	totals(w.byStation, c.ByStation, func(t Total) string {
		if lang == "en" && t.NameEn != "" {
			return t.NameEn
		}
		if t.Name != "" {
			return t.Name
		}
		return t.Key
	})
	totals(w.byDistrict, c.ByDistrict, key)
	totals(w.total, []Total{c.Total}, func(Total) string { return w.total })
	cw.Flush()
	return buf.Bytes()
}
