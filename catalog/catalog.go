// Package catalog owns what families browse: categories of assistive devices,
// products (an operator's listings) with typed specs and a rate plan, and the
// search over them. Public reads are served from an in-process read model kept
// current through the change feed, joined with station availability from the
// stations package.
package catalog

import (
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"fuju/internal/l10n"
	"fuju/internal/valid"
	"fuju/stations"
)

// Errors returned by this package.
var (
	ErrNotFound = errors.New("not found")
	ErrConflict = errors.New("conflict")
)

// Text is a string in Chinese and English.
type Text = l10n.Text

// Category groups products of one kind.
type Category struct {
	ID   string `json:"id"`
	Name Text   `json:"name"`
	// Icon names the pictogram in the web package's icon set.
	Icon string `json:"icon"`
}

// Categories are fixed: they are the city's classification of devices, not
// something operators invent.
var Categories = []Category{
	{"manual_wheelchair", Text{Zh: "手动轮椅", En: "Manual wheelchair"}, "wheelchair"},
	{"transport_wheelchair", Text{Zh: "护理轮椅", En: "Transport wheelchair"}, "transport"},
	{"electric_wheelchair", Text{Zh: "电动轮椅", En: "Electric wheelchair"}, "electric"},
	{"walker", Text{Zh: "助行架", En: "Walker"}, "walker"},
	{"rollator", Text{Zh: "带轮助行器", En: "Rollator"}, "rollator"},
	{"cane", Text{Zh: "手杖", En: "Cane"}, "cane"},
	{"crutches", Text{Zh: "腋拐", En: "Crutches"}, "crutches"},
	{"shower_chair", Text{Zh: "洗澡椅", En: "Shower / bath chair"}, "shower"},
	{"commode_chair", Text{Zh: "坐便椅", En: "Commode chair"}, "commode"},
	{"hospital_bed", Text{Zh: "护理床", En: "Hospital bed"}, "bed"},
	{"pressure_mattress", Text{Zh: "防褥疮床垫", En: "Pressure-relief mattress"}, "mattress"},
	{"transfer_aid", Text{Zh: "移位辅具", En: "Transfer aid"}, "transfer"},
}

// CategoryByID returns the category with id.
func CategoryByID(id string) (Category, bool) {
	for _, c := range Categories {
		if c.ID == id {
			return c, true
		}
	}
	return Category{}, false
}

// Status says whether families can see a product.
type Status string

// Product statuses.
const (
	Active Status = "active"
	Hidden Status = "hidden"
)

// Specs are the typed facts families compare. Zero means "not applicable" and
// is not shown.
type Specs struct {
	SeatWidthCM      int     `json:"seat_width_cm" bson:"seat_width_cm" validate:"min=0,max=120"`
	SeatHeightCM     int     `json:"seat_height_cm" bson:"seat_height_cm" validate:"min=0,max=150"`
	WidthCM          int     `json:"width_cm" bson:"width_cm" validate:"min=0,max=300"`
	LengthCM         int     `json:"length_cm" bson:"length_cm" validate:"min=0,max=300"`
	WeightKG         float64 `json:"weight_kg" bson:"weight_kg" validate:"min=0,max=500"`
	MaxUserKG        int     `json:"max_user_kg" bson:"max_user_kg" validate:"min=0,max=500"`
	Foldable         bool    `json:"foldable" bson:"foldable"`
	AdjustableHeight bool    `json:"adjustable_height" bson:"adjustable_height"`
	// RangeKM is an electric wheelchair's range on one charge.
	RangeKM int `json:"range_km" bson:"range_km" validate:"min=0,max=200"`
	// Wheels is the number of wheels of a walker or rollator.
	Wheels int `json:"wheels" bson:"wheels" validate:"min=0,max=8"`
}

// RatePlan is what renting a product costs at the standard tier, in fen.
type RatePlan struct {
	DailyFen   int64 `json:"daily_fen" bson:"daily_fen" validate:"min=0,max=10000000"`
	Block30Fen int64 `json:"block30_fen" bson:"block30_fen" validate:"min=0,max=100000000"`
	DepositFen int64 `json:"deposit_fen" bson:"deposit_fen" validate:"min=0,max=100000000"`
	// ReplacementFen is what a new unit costs the operator: the value a lost
	// device is charged and reported against (docs/pricing.md, rule 13). 0
	// means not set; the deposit then stands in (Replacement).
	ReplacementFen int64 `json:"replacement_fen" bson:"replacement_fen" validate:"min=0,max=100000000"`
}

// Replacement is the value of one unit: the replacement value when set,
// else the deposit.
func (r RatePlan) Replacement() int64 {
	if r.ReplacementFen > 0 {
		return r.ReplacementFen
	}
	return r.DepositFen
}

// Photo is one picture of a product, stored in object storage by key.
type Photo struct {
	Key string `json:"key" bson:"key"`
	Alt Text   `json:"alt" bson:"alt"`
	// Widths of the stored variants, ascending.
	Widths []int `json:"widths" bson:"widths"`
	Width  int   `json:"width" bson:"width"`
	Height int   `json:"height" bson:"height"`
}

// Product is a listing: a kind of device an operator lends, with its price.
type Product struct {
	ID          string   `json:"id"`
	OperatorID  string   `json:"operator_id"`
	Category    string   `json:"category"`
	Name        Text     `json:"name"`
	Description Text     `json:"description"`
	Specs       Specs    `json:"specs"`
	Rate        RatePlan `json:"rate"`
	Status      Status   `json:"status"`
	Keywords    []string `json:"keywords"`
	Photos      []Photo  `json:"photos"`
	// Version counts edits; an editor sends back the version it saw.
	Version   int64     `json:"version"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// MaxPhotos is how many photos a product may have.
const MaxPhotos = valid.MaxPhotos

// Validate checks a product's fields.
func (p Product) Validate() error {
	e := &valid.Error{}
	if p.ID != "" && !stations.ValidID(p.ID) {
		e.Add("id", "slug", "must be 2-63 lowercase letters, digits or dashes")
	}
	if p.OperatorID == "" {
		e.Add("operator_id", "required", "is required")
	}
	if _, ok := CategoryByID(p.Category); !ok {
		ids := make([]string, len(Categories))
		for i, c := range Categories {
			ids[i] = c.ID
		}
		e.Add("category", "oneof", "must be one of: "+strings.Join(ids, ", "))
	}
	nested := func(prefix string, err error) {
		fields, _ := valid.Fields(err)
		for k, pr := range fields {
			e.Put(prefix+"."+k, pr)
		}
	}
	nested("name", valid.Struct(p.Name))
	e.Text("description.zh", p.Description.Zh, valid.MaxDescription).Text("description.en", p.Description.En, valid.MaxDescription)
	nested("specs", valid.Struct(p.Specs))
	nested("rate", valid.Struct(p.Rate))
	if p.Rate.DailyFen == 0 && p.Rate.Block30Fen == 0 {
		e.Add("rate.daily_fen", "price_required", "a daily or 30-day price is required")
	}
	if p.Rate.DailyFen > 0 && p.Rate.Block30Fen > 30*p.Rate.DailyFen {
		e.Add("rate.block30_fen", "block30_max", "must not be more than 30 days at the daily rate", "max_fen", 30*p.Rate.DailyFen)
	}
	if p.Status != Active && p.Status != Hidden {
		e.Add("status", "oneof", "must be one of: active, hidden")
	}
	e.List("keywords", len(p.Keywords), valid.MaxKeywords)
	for _, k := range p.Keywords {
		if utf8.RuneCountInString(k) > valid.MaxKeyword || strings.TrimSpace(k) == "" {
			e.Add("keywords", "keyword_length", "each keyword must be 1-40 characters", "max", valid.MaxKeyword)
			break
		}
	}
	e.List("photos", len(p.Photos), MaxPhotos)
	return e.Err()
}

// StandardPrice is the standard-tier rent for days: the cheapest combination of
// 30-day blocks and single days (DESIGN.md, "Pricing").
func (r RatePlan) StandardPrice(days int) int64 {
	_, _, fen := r.Cheapest(days)
	return fen
}

// Cheapest returns the cheapest way to rent for days: how many 30-day blocks,
// how many single days, and the total in fen. A plan without a daily price is
// rented in whole blocks; without a block price, in days.
func (r RatePlan) Cheapest(days int) (blocks, singles int, fen int64) {
	if days <= 0 {
		return 0, 0, 0
	}
	if r.DailyFen == 0 {
		b := (days + 29) / 30
		return b, 0, int64(b) * r.Block30Fen
	}
	if r.Block30Fen == 0 {
		return 0, days, int64(days) * r.DailyFen
	}
	// Try every number of blocks up to covering all days with blocks: 29 days
	// at ¥5 a day cost more than one ¥90 block, and a plan whose block is dearer
	// than 30 days must not make a long lease dearer than days alone. Ties go to
	// fewer blocks.
	fen = -1
	for b := 0; b <= (days+29)/30; b++ {
		rest := max(days-30*b, 0)
		cost := int64(b)*r.Block30Fen + int64(rest)*r.DailyFen
		if fen < 0 || cost < fen {
			blocks, singles, fen = b, rest, cost
		}
	}
	return blocks, singles, fen
}

// String helps error messages.
func (p Product) String() string { return fmt.Sprintf("product %s", p.ID) }
