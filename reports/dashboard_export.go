package reports

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"strconv"
)

// Namer gives a dashboard's words in the reader's language: the title of a
// table and the heading of a column (by their keys), and the name of a
// row's thing (a product, a district, a tier) by its kind and key. The web
// layer's translations satisfy it, so the CSV says what the page says.
type Namer interface {
	Word(key string) string
	Name(kind string, r Row) string
}

// Figure writes a value of measure m as the CSV and the tables show it:
// counts as they are, money in yuan with two decimals, ratios as percent
// and tenths with one decimal.
func Figure(m Measure, v int64) string {
	switch m {
	case Fen:
		return Yuan(v)
	case Permille, Tenths:
		sign := ""
		if v < 0 {
			sign, v = "-", -v
		}
		return fmt.Sprintf("%s%d.%d", sign, v/10, v%10)
	}
	return strconv.FormatInt(v, 10)
}

// DashboardCSV writes a dashboard as UTF-8 with a byte order mark (Excel,
// WPS): a heading block (dashboard, operator, range), then each table with
// its heading row, its rows and its total. Every text cell is neutralised
// as in statements (a name starting with =, +, -, @ is not run as a
// formula); figures are written by the program.
func DashboardCSV(d Dashboard, n Namer) []byte {
	var buf bytes.Buffer
	buf.WriteString("\ufeff")
	cw := csv.NewWriter(&buf)
	text := func(cells ...string) {
		for i := range cells {
			cells[i] = cell(cells[i])
		}
		_ = cw.Write(cells)
	}
	op := d.OperatorID
	if op == "" {
		op = n.Word("dash.city")
	}
	text(n.Word("dash."+d.Name), op)
	text(n.Word("dash.range"), d.Range.From, d.Range.To)
	for _, t := range d.Tables {
		text()
		text(n.Word("dash.t."+t.Title) + " · " + n.Word("dash.by."+t.RowKind))
		head := []string{n.Word("dash.by." + t.RowKind)}
		for _, c := range t.Columns {
			head = append(head, n.Word("dash.c."+c.Key))
		}
		text(head...)
		for _, r := range t.Rows {
			row := []string{cell(n.Name(t.RowKind, r))}
			for i, v := range r.Values {
				row = append(row, Figure(t.Columns[i].Measure, v))
			}
			_ = cw.Write(row)
		}
		if len(t.Rows) > 1 && hasTotal(t) {
			row := []string{cell(n.Word("dash.total"))}
			for i, v := range t.Total {
				if m := t.Columns[i].Measure; m == Count || m == Fen {
					row = append(row, Figure(m, v))
				} else {
					row = append(row, "")
				}
			}
			_ = cw.Write(row)
		}
	}
	cw.Flush()
	return buf.Bytes()
}

// hasTotal reports whether any column of t adds up.
func hasTotal(t Table) bool {
	for _, c := range t.Columns {
		if c.Measure == Count || c.Measure == Fen {
			return true
		}
	}
	return false
}
