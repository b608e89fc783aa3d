package web

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/gin-gonic/gin"

	"fuju/accounts"
	"fuju/internal/valid"
	"fuju/rentals"
)

// The price follows the family: the list and product pages show prices for
// one tier, chosen with a control beside the search (not among the other
// filters), remembered in a cookie so it works without JavaScript, and
// carried to the product page's headline. A signed-in family whose account
// is linked to renters sees each renter's own tier as a choice, the first
// chosen by default, with whose tier it is ("按父亲 王** 的低收入档位").

// tierCookie remembers the choice for a year.
const tierCookie = "tier"

// renterChoice prefixes a linked renter's id in the tier parameter;
// accountChoice marks a remembered choice made while signed in.
const (
	renterChoice  = "renter:"
	accountChoice = "a:"
)

// priceChoice is the tier whose prices a page shows.
type priceChoice struct {
	// Value is the form value: a tier, or renterChoice + a linked renter's id.
	Value string
	Tier  rentals.Tier
	// Renter is the linked renter whose tier it is, if any.
	Renter  *rentals.LinkedRenter
	Options []tierOption
	// Headline says whose prices these are; Short is the same for a price
	// line in a list.
	Headline string
	Short    string
}

type tierOption struct {
	Value    string
	Label    string
	Selected bool
	Family   bool
}

// HasFamily reports whether any choice is a linked renter's.
func (p priceChoice) HasFamily() bool {
	for _, o := range p.Options {
		if o.Family {
			return true
		}
	}
	return false
}

// choosePrice works out the tier a page prices with: the tier parameter
// (remembered), else the remembered choice, else the first renter linked to
// the signed-in account, else the standard price. A tier parameter that is
// not a choice of this visitor is reported on errs.
func (s *Server) choosePrice(c *gin.Context, b *base, errs *valid.Error) (priceChoice, error) {
	var linked []rentals.LinkedRenter
	if b.User != nil && b.User.Role == accounts.Renter && s.rentals != nil {
		var err error
		if linked, err = s.rentals.LinkedRenters(c.Request.Context(), b.User.ID); err != nil {
			return priceChoice{}, err
		}
	}
	today := s.now()
	parse := func(v string) (priceChoice, bool) {
		if id, ok := strings.CutPrefix(v, renterChoice); ok {
			for i := range linked {
				if linked[i].ID == id {
					r := linked[i]
					return priceChoice{Value: v, Tier: r.TierOn(today), Renter: &r}, true
				}
			}
			return priceChoice{}, false
		}
		t := rentals.Tier(v)
		return priceChoice{Value: v, Tier: t}, t.Valid()
	}
	// A choice made while signed in is remembered as the account's
	// ("a:…"): a family's renter's tier is not overridden by what a visitor
	// once chose on the same phone, and a visitor after logout does not
	// see the family's choice of a renter.
	signedIn := b.User != nil
	var pc priceChoice
	found := false
	if asked := strings.TrimSpace(c.Query("tier")); asked != "" {
		if pc, found = parse(asked); found {
			remembered := asked
			if signedIn {
				remembered = accountChoice + asked
			}
			c.SetSameSite(http.SameSiteLaxMode)
			c.SetCookie(tierCookie, remembered, 365*24*3600, "/", "", c.Request.TLS != nil, true)
		} else {
			errs.Add("tier", "oneof", "is not one of the tiers offered")
		}
	}
	if !found {
		if v, err := c.Cookie(tierCookie); err == nil {
			v, mine := strings.CutPrefix(v, accountChoice)
			if mine || !signedIn || len(linked) == 0 {
				pc, found = parse(v)
			}
		}
	}
	if !found && len(linked) > 0 {
		pc, _ = parse(renterChoice + linked[0].ID)
		found = true
	}
	if !found {
		pc, _ = parse(string(rentals.Standard))
	}
	for _, r := range linked {
		v := renterChoice + r.ID
		pc.Options = append(pc.Options, tierOption{Value: v, Label: b.renterOption(r, r.TierOn(today)), Selected: v == pc.Value, Family: true})
	}
	for _, t := range rentals.Tiers {
		pc.Options = append(pc.Options, tierOption{Value: string(t), Label: b.T("tier." + string(t)), Selected: string(t) == pc.Value})
	}
	pc.Headline, pc.Short = b.whosePrice(pc)
	return pc, nil
}

// who names a linked renter for the account holder: "父亲 王**", or "" for
// the account holder themself.
func (b *base) who(r rentals.LinkedRenter) string {
	if r.Relation == rentals.RelationSelf {
		return ""
	}
	return b.T("relation.named", b.T("relation."+relationKey(r.Relation)), r.MaskedName)
}

func relationKey(r rentals.Relation) string {
	if r == rentals.RelationFamily {
		return "family"
	}
	return string(r)
}

func (b *base) renterOption(r rentals.LinkedRenter, t rentals.Tier) string {
	if r.Relation == rentals.RelationSelf {
		return b.T("price.option.self", b.T("tier."+string(t)))
	}
	return b.T("price.option.renter", b.who(r), b.T("tier."+string(t)))
}

// whosePrice says whose prices a choice shows, long and short.
func (b *base) whosePrice(pc priceChoice) (headline, short string) {
	tier := b.T("tier." + string(pc.Tier))
	if pc.Renter == nil {
		if pc.Tier == rentals.Standard {
			return b.T("price.tier.standard"), tier
		}
		return b.T("price.tier", tier), tier
	}
	r := *pc.Renter
	self := r.Relation == rentals.RelationSelf
	switch {
	case pc.Tier != rentals.Standard && self:
		headline = b.T("price.whose.self", tier)
	case pc.Tier != rentals.Standard:
		headline = b.T("price.whose", b.who(r), tier)
	case r.TierStatus.Tier != "" && r.TierStatus.Tier != rentals.Standard && self:
		headline = b.T("price.whose.self.expired", r.TierStatus.ExpiresOn)
	case r.TierStatus.Tier != "" && r.TierStatus.Tier != rentals.Standard:
		headline = b.T("price.whose.expired", b.who(r), r.TierStatus.ExpiresOn)
	case self:
		headline = b.T("price.whose.self.standard")
	default:
		headline = b.T("price.whose.standard", b.who(r))
	}
	return headline, b.renterOption(r, pc.Tier)
}

// keepQuery returns the page's query parameters but the given ones, for the
// hidden fields of a form that changes one thing (the tier) and keeps the
// search.
func keepQuery(q url.Values, drop ...string) map[string]string {
	out := map[string]string{}
	for k, v := range q {
		skip := len(v) == 0
		for _, d := range drop {
			skip = skip || k == d
		}
		if !skip {
			out[k] = v[0]
		}
	}
	return out
}

// priceForm is what the tier control partial (priceform) renders.
type priceForm struct {
	B      *base
	P      priceChoice
	Action string
	Keep   map[string]string
	Error  bool
	// Whose shows under the control whose prices these are (the product
	// page says it in its headline instead).
	Whose bool
}

// PriceForm is the product list's tier control: it keeps the search.
func (p *productsPage) PriceForm(action string) priceForm {
	_, bad := p.Errors["tier"]
	return priceForm{B: &p.base, P: p.Price, Action: action, Keep: p.TierKeep, Error: bad, Whose: true}
}

// PriceForm is the product page's tier control.
func (p *productPage) PriceForm(action string, bad bool) priceForm {
	return priceForm{B: &p.base, P: p.Price, Action: action, Error: bad}
}
