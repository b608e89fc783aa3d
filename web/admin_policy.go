package web

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"golang.org/x/text/width"

	"fuju/internal/input"
	"fuju/internal/l10n"
	"fuju/internal/tenancy"
	"fuju/internal/valid"
	"fuju/rentals"
	"fuju/stations"
)

// The income-tier policy. Each save is a new version (rentals.Policies.Put);
// the editor names the version it started from, so two admins editing at once
// cannot silently overwrite each other: the second gets 409 and the latest
// values. Leases keep the version they were made with; a new version applies
// to quotes and leases made after it.

// maxPolicyVersions bounds the history shown with the current policy; older
// versions stay readable one by one.
const maxPolicyVersions = 100

// Version states in the history.
const (
	policyInForce    = "in_force"
	policyScheduled  = "scheduled"
	policySuperseded = "superseded"
)

// policyVersion is one line of the policy's history.
type policyVersion struct {
	Version   int       `json:"version"`
	At        time.Time `json:"at"`
	Effective time.Time `json:"effective"`
	// State is in_force, scheduled (takes effect later) or superseded.
	State string `json:"state"`
	By    string `json:"by"`
	// Actor is who saved it, for the pages (the demo seeder in words).
	Actor tenancy.Actor `json:"-"`
	Note  string        `json:"note"`
}

type policyOverview struct {
	// Current is the version in force now.
	Current rentals.Policy `json:"current"`
	// Latest is the newest version, which a new one is based on; it is
	// Current unless a version is scheduled.
	Latest   rentals.Policy  `json:"latest"`
	Versions []policyVersion `json:"versions"`
}

// policyHistory lists versions newest first, saying which is in force and
// which are scheduled.
func (s *Server) policyHistory(ctx context.Context, latest rentals.Policy) ([]policyVersion, error) {
	now := s.now()
	inForce := s.policies.InForce(now).Version
	out := make([]policyVersion, 0, min(latest.Version, maxPolicyVersions))
	for n := latest.Version; n >= 1 && len(out) < maxPolicyVersions; n-- {
		p, err := s.policies.Version(ctx, n)
		if err != nil {
			return nil, err
		}
		v := policyVersion{Version: p.Version, At: p.At, Effective: p.Effective(), State: policySuperseded, By: p.By.Name, Actor: p.By, Note: p.Note}
		switch {
		case p.Scheduled(now):
			v.State = policyScheduled
		case p.Version == inForce:
			v.State = policyInForce
		}
		out = append(out, v)
	}
	return out, nil
}

// latestPolicy re-reads the policy from the database, so an instance that has
// not yet applied another instance's save still answers with the newest
// version (in force or scheduled).
func (s *Server) latestPolicy(ctx context.Context) (rentals.Policy, error) {
	if err := s.policies.Reload(ctx, ""); err != nil {
		return rentals.Policy{}, err
	}
	return s.policies.Latest(), nil
}

func (s *Server) showPolicyAPI(c *gin.Context) error {
	p := newParams(c)
	p.only()
	if err := p.err(); err != nil {
		return err
	}
	latest, err := s.latestPolicy(c.Request.Context())
	if err != nil {
		return err
	}
	vs, err := s.policyHistory(c.Request.Context(), latest)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, policyOverview{Current: s.policies.InForce(s.now()), Latest: latest, Versions: vs})
	return nil
}

func (s *Server) showPolicyVersionAPI(c *gin.Context) error {
	n, err := versionParam(c)
	if err != nil {
		return err
	}
	p, err := s.policies.Version(c.Request.Context(), n)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, p)
	return nil
}

func versionParam(c *gin.Context) (int, error) {
	n, err := strconv.Atoi(c.Param("n"))
	if err != nil || n < 1 {
		return 0, fmt.Errorf("web: %w", valid.Field("n", "min", "must be a version number from 1", "min", 1))
	}
	return n, nil
}

// tierRuleRequest spells out every field: a forgotten share must not mean
// "rents free".
type tierRuleRequest struct {
	ShareBP      *int  `json:"share_bp"`
	WaiveDeposit *bool `json:"waive_deposit"`
	LateFees     *bool `json:"late_fees"`
	// LostCharge may be left out: the tier's default (rentals.DefaultLostCharge).
	LostCharge rentals.LostCharge `json:"lost_charge"`
}

type policyRequest struct {
	Version       int                              `json:"version" binding:"required,min=1"`
	Tiers         map[rentals.Tier]tierRuleRequest `json:"tiers" binding:"required"`
	AnnualCapFen  int64                            `json:"annual_cap_fen"`
	LostAfterDays int                              `json:"lost_after_days"`
	Note          string                           `json:"note" binding:"limit=note"`
	// EffectiveOn is the day (Asia/Shanghai) the version takes effect, as
	// 2026-07-01; empty is at once.
	EffectiveOn string `json:"effective_on" binding:"max=32"`
	// Reservations may be left out: the latest version's are kept.
	Reservations *rentals.ReservationRules `json:"reservations"`
}

func (s *Server) putPolicyAPI(c *gin.Context) error {
	var req policyRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	e := &valid.Error{}
	p := rentals.Policy{Tiers: map[rentals.Tier]rentals.TierRule{}, AnnualCapFen: req.AnnualCapFen,
		LostAfterDays: req.LostAfterDays, Note: strings.TrimSpace(req.Note), Reservations: s.policies.Latest().Reservations}
	if req.Reservations != nil {
		p.Reservations = *req.Reservations
	}
	for t, r := range req.Tiers {
		f := "tiers." + string(t)
		if r.ShareBP == nil {
			e.Add(f+".share_bp", "required", "is required")
		}
		if r.WaiveDeposit == nil {
			e.Add(f+".waive_deposit", "required", "is required")
		}
		if r.LateFees == nil {
			e.Add(f+".late_fees", "required", "is required")
		}
		if r.ShareBP != nil && r.WaiveDeposit != nil && r.LateFees != nil {
			p.Tiers[t] = rentals.TierRule{ShareBP: *r.ShareBP, WaiveDeposit: *r.WaiveDeposit, LateFees: *r.LateFees, LostCharge: r.LostCharge}
		}
	}
	if p.Note == "" {
		e.Add("note", "required", "say what changed and why; it is shown in the history")
	}
	if from, ok := effectiveDay(req.EffectiveOn); ok {
		p.EffectiveFrom = from
	} else {
		e.Add("effective_on", "date", "must be a date like 2026-07-01, or empty for at once")
	}
	if err := e.Err(); err != nil {
		return fmt.Errorf("web: policy: %w", err)
	}
	saved, err := s.putPolicy(c, req.Version, p)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, saved)
	return nil
}

// putPolicy saves p as the version after base and records the change.
func (s *Server) putPolicy(c *gin.Context, base int, p rentals.Policy) (rentals.Policy, error) {
	ctx := c.Request.Context()
	_, err := s.policies.Version(ctx, base)
	if errors.Is(err, rentals.ErrNotFound) {
		return rentals.Policy{}, fmt.Errorf("web: %w", valid.Field("version", "not_found", "is not a version of the policy"))
	}
	if err != nil {
		return rentals.Policy{}, err
	}
	p.By = actorOf(c)
	saved, err := s.policies.Put(ctx, base, p)
	if errors.Is(err, rentals.ErrConflict) {
		latest, lerr := s.latestPolicy(ctx)
		if lerr != nil {
			return rentals.Policy{}, lerr
		}
		return rentals.Policy{}, fmt.Errorf("web: someone saved version %d of the tier policy after version %d; load it, apply your change again and save: %w",
			latest.Version, base, err)
	}
	if err != nil {
		return rentals.Policy{}, err
	}
	return saved, nil
}

// effectiveDay reads the day a policy version takes effect: the start of
// that day in the city's time zone; empty is at once (zero).
func effectiveDay(v string) (time.Time, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return time.Time{}, true
	}
	d, ok := stations.ImportDate(v)
	if !ok {
		return time.Time{}, false
	}
	t, err := time.ParseInLocation(time.DateOnly, d, l10n.Local)
	return t, err == nil
}

// Pages.

// Policy form fields. Names carry the area's prefix so their labels
// (field.<name>) cannot clash with another area's messages.
const (
	fShare   = "adm_share_"
	fWaive   = "adm_waive_"
	fLate    = "adm_late_"
	fLostFee = "adm_lostcharge_"
	fCap     = "adm_cap"
	fLost    = "adm_lost_days"
	// The limits of online reservations.
	fResMax     = "adm_res_max"
	fResNoShows = "adm_res_noshows"
	fResWindow  = "adm_res_window"
	fResBlock   = "adm_res_block"
	fNote       = "adm_note"
	fVersion    = "adm_version"
	// fEffective is the day the version takes effect; fConfirm marks the
	// second post, after the admin saw the difference.
	fEffective = "adm_effective"
	fConfirm   = "adm_confirm"
)

type policyTierRow struct {
	Tier                        rentals.Tier
	Share, Waive, Late, LostFee string // form field names
	ShareInput                  inputField
	WaiveChecked, LateFees      bool
	LostCharge                  rentals.LostCharge
	LostCharges                 []rentals.LostCharge
}

// policyChange is one field where the admin's rejected values differ from the
// version saved in between.
type policyChange struct {
	Label, Yours, Latest string
}

type policyPage struct {
	adminBase
	Form form
	// Current is the version in force; Latest the newest (scheduled when
	// it differs).
	Current  rentals.Policy
	Latest   rentals.Policy
	Base     int
	Tiers    []policyTierRow
	Versions []policyVersion
	// Conflict: someone saved in between; the form shows their version and
	// Yours lists what this admin had typed differently.
	Conflict bool
	Yours    []policyChange
}

// policyForm fills a form with p's values for editing.
func policyForm(p rentals.Policy, now time.Time) form {
	r := p.Reservations
	v := map[string][]string{fCap: {input.YuanText(p.AnnualCapFen)}, fLost: {strconv.Itoa(p.LostAfterDays)},
		fVersion: {strconv.Itoa(p.Version)}, fResMax: {strconv.Itoa(r.MaxOpen)}, fResNoShows: {strconv.Itoa(r.NoShows)},
		fResWindow: {strconv.Itoa(r.NoShowDays)}, fResBlock: {strconv.Itoa(r.BlockDays)}}
	if p.Scheduled(now) {
		// Based on a scheduled version: a new one cannot take effect
		// before it, so its day is offered.
		v[fEffective] = []string{p.EffectiveFrom.In(l10n.Local).Format(time.DateOnly)}
	}
	for _, t := range rentals.Tiers {
		r := p.Tiers[t]
		v[fShare+string(t)] = []string{bpToPercent(r.ShareBP)}
		if r.WaiveDeposit {
			v[fWaive+string(t)] = []string{"1"}
		}
		if r.LateFees {
			v[fLate+string(t)] = []string{"1"}
		}
		v[fLostFee+string(t)] = []string{string(p.Rule(t).LostCharge)}
	}
	return form{Values: v}
}

func (s *Server) policyPage(c *gin.Context, status int, p *policyPage) error {
	ctx := c.Request.Context()
	latest, err := s.latestPolicy(ctx)
	if err != nil {
		return err
	}
	if p.Lang == "" {
		p.adminBase = s.adminBase(c, "admin.policy.title", "policy")
	}
	p.Current, p.Latest = s.policies.InForce(s.now()), latest
	if p.Form.Values == nil {
		p.Form = policyForm(latest, s.now())
	}
	if p.Base == 0 {
		p.Base = latest.Version
	}
	for _, t := range rentals.Tiers {
		row := policyTierRow{Tier: t, Share: fShare + string(t), Waive: fWaive + string(t), Late: fLate + string(t),
			LostFee: fLostFee + string(t), LostCharge: rentals.LostCharge(p.Form.Get(fLostFee + string(t))), LostCharges: rentals.LostCharges}
		row.ShareInput = p.Input(p.Form, row.Share, "text", "field."+row.Share, "off", true)
		row.ShareInput.Inputmode = "decimal"
		row.WaiveChecked = p.Form.Get(row.Waive) != ""
		row.LateFees = p.Form.Get(row.Late) != ""
		p.Tiers = append(p.Tiers, row)
	}
	if p.Versions, err = s.policyHistory(ctx, latest); err != nil {
		return err
	}
	return s.render(c, status, "admin_policy", p)
}

func (s *Server) showPolicyEditor(c *gin.Context) error {
	return s.policyPage(c, http.StatusOK, &policyPage{})
}

// readPolicyForm turns the editor's fields into a policy, with problems named
// by form field.
func readPolicyForm(f form) (rentals.Policy, int, error) {
	e := &valid.Error{}
	p := rentals.Policy{Tiers: map[rentals.Tier]rentals.TierRule{}, Note: f.Get(fNote)}
	base, err := strconv.Atoi(f.Get(fVersion))
	if err != nil || base < 1 {
		e.Add(fVersion, "reload", "the form lost its version; reload the page")
	}
	for _, t := range rentals.Tiers {
		bp, ok := percentToBP(f.Get(fShare + string(t)))
		if !ok {
			e.Add(fShare+string(t), "adm_percent", "must be a percentage from 0 to 100 with at most two decimals")
		}
		p.Tiers[t] = rentals.TierRule{ShareBP: bp, WaiveDeposit: f.Get(fWaive+string(t)) != "", LateFees: f.Get(fLate+string(t)) != "",
			LostCharge: rentals.LostCharge(f.Get(fLostFee + string(t)))}
	}
	if fen, ok := parseYuan(f.Get(fCap)); ok && fen <= 100_000_000 {
		p.AnnualCapFen = fen
	} else {
		e.Add(fCap, "adm_yuan", "must be an amount in yuan, such as 1200 or 1200.50; 0 means no cap")
	}
	if n, err := strconv.Atoi(f.Get(fLost)); err == nil {
		p.LostAfterDays = n
	} else {
		e.Add(fLost, "integer", "must be a whole number of days")
	}
	for _, x := range []struct {
		field string
		to    *int
	}{{fResMax, &p.Reservations.MaxOpen}, {fResNoShows, &p.Reservations.NoShows}, {fResWindow, &p.Reservations.NoShowDays}, {fResBlock, &p.Reservations.BlockDays}} {
		if n, err := strconv.Atoi(f.Get(x.field)); err == nil {
			*x.to = n
		} else {
			e.Add(x.field, "integer", "must be a whole number")
		}
	}
	if p.Note == "" {
		e.Add(fNote, "required", "say what changed and why")
	}
	if from, ok := effectiveDay(f.Get(fEffective)); ok {
		p.EffectiveFrom = from
	} else {
		e.Add(fEffective, "date", "must be a date like 2026-07-01, or empty for at once")
	}
	return p, base, e.Err()
}

// policyFormField maps the policy's own field names to the editor's.
func policyFormField(k string) string {
	switch {
	case strings.HasPrefix(k, "tiers.") && strings.HasSuffix(k, ".lost_charge"):
		t, _, _ := strings.Cut(strings.TrimPrefix(k, "tiers."), ".")
		return fLostFee + t
	case strings.HasPrefix(k, "tiers."):
		t, _, _ := strings.Cut(strings.TrimPrefix(k, "tiers."), ".")
		return fShare + t
	case k == "annual_cap_fen":
		return fCap
	case k == "lost_after_days":
		return fLost
	case k == "reservations.max_open":
		return fResMax
	case k == "reservations.no_shows":
		return fResNoShows
	case k == "reservations.no_show_days":
		return fResWindow
	case k == "reservations.block_days":
		return fResBlock
	case k == "note":
		return fNote
	case k == "effective_from":
		return fEffective
	}
	return k
}

var policyOrder = []string{fShare + "subsistence", fShare + "low_income", fShare + "standard", fCap, fLost,
	fResMax, fResNoShows, fResWindow, fResBlock, fEffective, fNote}

// savePolicy saves the editor's version in two steps: the first post checks
// it and shows how it differs from the version in force (and from a
// scheduled one), asking for confirmation; the confirmed post saves. A
// change of mind goes back to the editor with the values kept.
func (s *Server) savePolicy(c *gin.Context) error {
	f := newForm(c)
	p, base, err := readPolicyForm(f)
	back := f.Get("adm_back") != ""
	confirmed := f.Get(fConfirm) == "1" && !back
	if err == nil && back {
		return s.policyPage(c, http.StatusOK, &policyPage{Form: withoutConfirm(f), Base: base})
	}
	if err == nil && !confirmed {
		if err = s.policies.Check(c.Request.Context(), base, p); err == nil {
			return s.confirmPolicy(c, f, p)
		}
	}
	if err == nil {
		_, err = s.putPolicy(c, base, p)
	}
	switch {
	case err == nil:
		s.flash(c, "admin.flash.policy_saved")
		c.Redirect(http.StatusSeeOther, "/admin/tier-policy")
		return nil
	case errors.Is(err, rentals.ErrConflict):
		latest, lerr := s.latestPolicy(c.Request.Context())
		if lerr != nil {
			return lerr
		}
		pg := &policyPage{Conflict: true, Form: policyForm(latest, s.now()), Base: latest.Version}
		// The note is this admin's own words; keep it for the second try.
		pg.Form.Values[fNote] = []string{p.Note}
		pg.adminBase = s.adminBase(c, "admin.policy.title", "policy")
		pg.Yours = policyDiff(&pg.adminBase.base, p, latest)
		return s.policyPage(c, http.StatusConflict, pg)
	}
	if probs, ok := valid.Fields(err); ok {
		mapped := &valid.Error{}
		for k, pr := range probs {
			mapped.Put(policyFormField(k), pr)
		}
		f = withoutConfirm(f)
		f.fail(mapped, policyOrder...)
		return s.policyPage(c, http.StatusBadRequest, &policyPage{Form: f, Base: base})
	}
	return err
}

// policyDiff lists where mine differs from latest, in the page's words.
func policyDiff(b *base, mine, latest rentals.Policy) []policyChange {
	var out []policyChange
	yes := func(v bool) string {
		if v {
			return b.T("admin.yes")
		}
		return b.T("admin.no")
	}
	for _, t := range rentals.Tiers {
		m, l := mine.Tiers[t], latest.Tiers[t]
		tier := b.T("tier." + string(t))
		if m.ShareBP != l.ShareBP {
			out = append(out, policyChange{tier + " · " + b.T("admin.policy.share"), bpToPercent(m.ShareBP) + "%", bpToPercent(l.ShareBP) + "%"})
		}
		if m.WaiveDeposit != l.WaiveDeposit {
			out = append(out, policyChange{tier + " · " + b.T("admin.policy.waive"), yes(m.WaiveDeposit), yes(l.WaiveDeposit)})
		}
		if m.LateFees != l.LateFees {
			out = append(out, policyChange{tier + " · " + b.T("admin.policy.late"), yes(m.LateFees), yes(l.LateFees)})
		}
		if mr, lr := mine.Rule(t).LostCharge, latest.Rule(t).LostCharge; mr != lr {
			out = append(out, policyChange{tier + " · " + b.T("admin.policy.lostcharge"), b.T("lostcharge." + string(mr)), b.T("lostcharge." + string(lr))})
		}
	}
	if mine.AnnualCapFen != latest.AnnualCapFen {
		out = append(out, policyChange{b.T("field." + fCap), input.YuanText(mine.AnnualCapFen), input.YuanText(latest.AnnualCapFen)})
	}
	if mine.LostAfterDays != latest.LostAfterDays {
		out = append(out, policyChange{b.T("field." + fLost), strconv.Itoa(mine.LostAfterDays), strconv.Itoa(latest.LostAfterDays)})
	}
	mr, lr := mine.Reservations, latest.Reservations
	for _, x := range []struct {
		field    string
		mine, in int
	}{{fResMax, mr.MaxOpen, lr.MaxOpen}, {fResNoShows, mr.NoShows, lr.NoShows}, {fResWindow, mr.NoShowDays, lr.NoShowDays}, {fResBlock, mr.BlockDays, lr.BlockDays}} {
		if x.mine != x.in {
			out = append(out, policyChange{b.T("field." + x.field), strconv.Itoa(x.mine), strconv.Itoa(x.in)})
		}
	}
	return out
}

// withoutConfirm drops the confirmation marks from a form shown again.
func withoutConfirm(f form) form {
	v := maps.Clone(f.Values)
	delete(v, fConfirm)
	delete(v, "adm_back")
	delete(v, csrfField)
	f.Values = v
	return f
}

// policyConfirmPage shows what a new version changes and asks to confirm.
type policyConfirmPage struct {
	adminBase
	// Fields are the editor's values, carried in hidden fields.
	Fields  []policyHidden
	Current rentals.Policy
	Latest  rentals.Policy
	New     rentals.Policy
	// Changes are the differences from the version in force; FromLatest
	// those from a scheduled version, when there is one.
	Changes    []policyChange
	FromLatest []policyChange
}

type policyHidden struct{ Name, Value string }

func (s *Server) confirmPolicy(c *gin.Context, f form, p rentals.Policy) error {
	pg := policyConfirmPage{adminBase: s.adminBase(c, "admin.policy.confirm.title", "policy"), New: p}
	pg.Current, pg.Latest = s.policies.InForce(s.now()), s.policies.Latest()
	pg.Changes = policyDiff(&pg.base, p, pg.Current)
	if pg.Latest.Version != pg.Current.Version {
		pg.FromLatest = policyDiff(&pg.base, p, pg.Latest)
	}
	names := slices.Sorted(maps.Keys(f.Values))
	for _, k := range names {
		if k == csrfField || k == fConfirm || k == "adm_back" {
			continue
		}
		for _, v := range f.Values[k] {
			pg.Fields = append(pg.Fields, policyHidden{k, v})
		}
	}
	return s.render(c, http.StatusOK, "admin_policy_confirm", &pg)
}

// EffectiveText says when the new version takes effect.
func (p *policyConfirmPage) EffectiveText() string {
	if p.New.EffectiveFrom.IsZero() {
		return p.T("admin.policy.effective.now")
	}
	return p.T("admin.policy.effective.on", p.New.EffectiveFrom.In(l10n.Local).Format(time.DateOnly))
}

type policyVersionPage struct {
	adminBase
	Policy rentals.Policy
	// State is in_force, scheduled or superseded.
	State string
}

func (s *Server) showPolicyVersion(c *gin.Context) error {
	n, err := versionParam(c)
	if err != nil {
		return fmt.Errorf("web: %w", errNotFound)
	}
	pol, err := s.policies.Version(c.Request.Context(), n)
	if err != nil {
		return err
	}
	p := policyVersionPage{adminBase: s.adminBase(c, "admin.policy.version.title", "policy"), Policy: pol, State: policySuperseded}
	switch now := s.now(); {
	case pol.Scheduled(now):
		p.State = policyScheduled
	case pol.Version == s.policies.InForce(now).Version:
		p.State = policyInForce
	}
	p.Title = p.T("admin.policy.version.heading", n)
	return s.render(c, http.StatusOK, "admin_policy_version", &p)
}

// Numbers as people type them. Full-width digits and points (from a Chinese
// input method) count as their ASCII twins.

var decimal2 = regexp.MustCompile(`^[0-9]{1,9}(\.[0-9]{1,2})?$`)

// hundredths parses a non-negative number with at most two decimals into
// hundredths: "20" → 2000, "12.5" → 1250.
func hundredths(s string, suffixes ...string) (int64, bool) {
	s = strings.TrimSpace(width.Narrow.String(s))
	for _, suf := range suffixes {
		s = strings.TrimSpace(strings.TrimSuffix(s, suf))
	}
	if !decimal2.MatchString(s) {
		return 0, false
	}
	whole, frac, _ := strings.Cut(s, ".")
	n, err := strconv.ParseInt(whole, 10, 64)
	if err != nil {
		return 0, false
	}
	f, _ := strconv.ParseInt((frac + "00")[:2], 10, 64)
	return n*100 + f, true
}

// percentToBP reads a share typed in percent ("20", "12.5", "0.25%") as basis
// points (2000, 1250, 25).
func percentToBP(s string) (int, bool) {
	n, ok := hundredths(s, "%")
	if !ok || n > 10000 {
		return 0, false
	}
	return int(n), true
}

// bpToPercent shows basis points as a percentage without needless zeros.
func bpToPercent(bp int) string {
	return trimCents(int64(bp))
}

func trimCents(n int64) string {
	s := fmt.Sprintf("%d.%02d", n/100, n%100)
	s = strings.TrimRight(s, "0")
	return strings.TrimSuffix(s, ".")
}
