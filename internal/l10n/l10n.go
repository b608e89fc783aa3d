// Package l10n holds what is particular to the people and the place Fuju
// serves: text in both of the product's languages and the city's time zone.
package l10n

import "time"

// Local is the city's time zone. China has no daylight saving, so a fixed
// offset is exact and needs no tzdata.
var Local = time.FixedZone("Asia/Shanghai", 8*60*60)

// Text is a string in both languages of the product. Chinese is required;
// English is optional, and pages in English show the Chinese where it is
// missing (In).
type Text struct {
	Zh string `json:"zh" bson:"zh" validate:"required,limit=text"`
	En string `json:"en" bson:"en" validate:"limit=text"`
}

// In returns the text in lang ("en" or anything else for Chinese), falling back
// to the other language when one is empty.
func (t Text) In(lang string) string {
	if lang == "en" && t.En != "" || t.Zh == "" {
		return t.En
	}
	return t.Zh
}
