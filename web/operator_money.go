package web

import (
	"fmt"
	"net/http"

	"github.com/gin-gonic/gin"

	"fuju/internal/input"
	"fuju/internal/valid"
	"fuju/rentals"
)

// The operator's money rules and reports (docs/pricing.md, rules 12 and 13):
// the waiver limit staff may use per lease (settings), the approval queue of
// waivers above it with every waiver the operator's people made, and the
// lost devices with what each cost the operator. Approving and setting the
// limit take an operator admin's session (the rentals service checks the
// role); the platform reads every operator's reports.

// ---- Settings

func (s *Server) opSettings(c *gin.Context, named string) (rentals.Settings, error) {
	op, err := opOperator(c, named)
	if err != nil {
		return rentals.Settings{}, err
	}
	return s.rentals.OperatorSettings(c.Request.Context(), scopeOf(c), op)
}

func (s *Server) showOpSettingsAPI(c *gin.Context) error {
	p := newParams(c)
	p.only("operator_id")
	named := p.str("operator_id", 64)
	if err := p.err(); err != nil {
		return err
	}
	st, err := s.opSettings(c, named)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, st)
	return nil
}

type settingsRequest struct {
	WaiverLimitFen *int64 `json:"waiver_limit_fen"`
}

// putOpSettings saves the caller's operator's settings and records the
// change.
func (s *Server) putOpSettings(c *gin.Context, limitFen int64) (rentals.Settings, error) {
	before, err := s.opSettings(c, "")
	if err != nil {
		return rentals.Settings{}, err
	}
	in := before
	in.WaiverLimitFen = limitFen
	return s.rentals.PutSettings(c.Request.Context(), scopeOf(c), in, actorOf(c))
}

func (s *Server) putOpSettingsAPI(c *gin.Context) error {
	var req settingsRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	if req.WaiverLimitFen == nil {
		return fmt.Errorf("web: settings: %w", valid.Field("waiver_limit_fen", "required", "is required"))
	}
	st, err := s.putOpSettings(c, *req.WaiverLimitFen)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, st)
	return nil
}

type opSettingsPage struct {
	opConsole
	Settings rentals.Settings
	Form     form
}

func (s *Server) opSettingsPage(c *gin.Context, status int, p *opSettingsPage) error {
	p.opConsole = s.opConsole(c, "op.settings.title", "settings")
	if p.Platform {
		return fmt.Errorf("web: the platform has no settings of its own: %w", errNotFound)
	}
	var err error
	if p.Settings, err = s.opSettings(c, ""); err != nil {
		return err
	}
	if p.Form.Values == nil {
		p.Form.Values = map[string][]string{"waiver_limit": {input.YuanText(p.Settings.WaiverLimitFen)}}
	}
	return s.render(c, status, "operator_settings", p)
}

func (s *Server) showOpSettings(c *gin.Context) error {
	return s.opSettingsPage(c, http.StatusOK, &opSettingsPage{})
}

func (s *Server) saveOpSettings(c *gin.Context) error {
	f := newForm(c)
	fen, ok := parseYuan(f.Get("waiver_limit"))
	var err error
	if !ok || f.Get("waiver_limit") == "" {
		err = valid.Field("waiver_limit", "yuan", "must be an amount in yuan with at most two decimals, such as 50")
	} else {
		_, err = s.putOpSettings(c, fen)
	}
	if err != nil {
		if f.fail(remap(err, map[string]string{"waiver_limit_fen": "waiver_limit"}), "waiver_limit") {
			return s.opSettingsPage(c, http.StatusBadRequest, &opSettingsPage{Form: f})
		}
		return err
	}
	s.flash(c, "op.settings.saved")
	c.Redirect(http.StatusSeeOther, "/operator/settings")
	return nil
}

// ---- Waivers: the approval queue and the report

func (s *Server) listOpWaiversAPI(c *gin.Context) error {
	p := newParams(c)
	p.only("state")
	state := p.str("state", 20)
	if state != "" && state != rentals.WaiverPending && state != rentals.WaiverApplied && state != rentals.WaiverRejected && state != rentals.WaiverLapsed {
		p.errs.Add("state", "oneof", "must be one of: pending, applied, rejected, lapsed")
	}
	if err := p.err(); err != nil {
		return err
	}
	ws, err := s.rentals.Waivers(c.Request.Context(), scopeOf(c), state, "")
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, whole(ws))
	return nil
}

// decideWaiver approves or rejects a waiver request and records it.
func (s *Server) decideWaiver(c *gin.Context, id, decision, note string) (rentals.Waiver, error) {
	if decision != "approve" && decision != "reject" {
		return rentals.Waiver{}, fmt.Errorf("web: %w", errNotFound)
	}
	return s.rentals.DecideWaiver(c.Request.Context(), scopeOf(c), id, decision == "approve", note, actorOf(c))
}

type decisionRequest struct {
	Note string `json:"note" binding:"limit=text"`
}

func (s *Server) decideWaiverAPI(c *gin.Context) error {
	var req decisionRequest
	if c.Request.ContentLength != 0 {
		if err := bindJSON(c, &req); err != nil {
			return err
		}
	}
	w, err := s.decideWaiver(c, c.Param("id"), c.Param("decision"), req.Note)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, w)
	return nil
}

type opWaiversPage struct {
	opConsole
	Pending []rentals.Waiver
	Decided []rentals.Waiver
	// AppliedFen sums the waivers in the ledgers; PendingFen what waits.
	AppliedFen, PendingFen int64
	// CanDecide: an operator admin's session (the platform only reads).
	CanDecide bool
	Form      form
	FormID    string
}

func (s *Server) opWaiversPage(c *gin.Context, status int, p *opWaiversPage) error {
	p.opConsole = s.opConsole(c, "op.waivers.title", "waivers")
	ws, err := s.rentals.Waivers(c.Request.Context(), scopeOf(c), "", "")
	if err != nil {
		return err
	}
	for _, w := range ws {
		switch w.State {
		case rentals.WaiverPending:
			p.Pending = append(p.Pending, w)
			p.PendingFen += w.AmountFen
		default:
			p.Decided = append(p.Decided, w)
			if w.State == rentals.WaiverApplied {
				p.AppliedFen += w.AppliedFen
			}
		}
	}
	p.CanDecide = actorOf(c).Role == rentals.ApproverRole
	return s.render(c, status, "operator_waivers", p)
}

func (s *Server) showOpWaivers(c *gin.Context) error {
	return s.opWaiversPage(c, http.StatusOK, &opWaiversPage{})
}

func (s *Server) decideOpWaiverPage(c *gin.Context) error {
	f := newForm(c)
	decision := c.Param("decision")
	if _, err := s.decideWaiver(c, c.Param("id"), decision, f.Get("decision_note")); err != nil {
		if f.fail(err, "decision_note") {
			return s.opWaiversPage(c, http.StatusBadRequest, &opWaiversPage{Form: f, FormID: c.Param("id")})
		}
		return err
	}
	s.flash(c, "op.waivers.done."+decision)
	c.Redirect(http.StatusSeeOther, "/operator/waivers")
	return nil
}

// ---- Losses

func (s *Server) listOpLossesAPI(c *gin.Context) error {
	p := newParams(c)
	p.only()
	if err := p.err(); err != nil {
		return err
	}
	ls, err := s.rentals.Losses(c.Request.Context(), scopeOf(c))
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, whole(ls))
	return nil
}

type opLossesPage struct {
	opConsole
	Losses []rentals.LossReport
	// Totals of the devices still lost: their value, what renters were
	// charged, what the operator lost.
	ReplacementFen, ChargedFen, OperatorLossFen int64
	Open, Found                                 int
}

func (s *Server) showOpLosses(c *gin.Context) error {
	p := opLossesPage{opConsole: s.opConsole(c, "op.losses.title", "losses")}
	var err error
	if p.Losses, err = s.rentals.Losses(c.Request.Context(), scopeOf(c)); err != nil {
		return err
	}
	for _, l := range p.Losses {
		if l.Loss.FoundOn != "" {
			p.Found++
			continue
		}
		p.Open++
		p.ReplacementFen += l.Loss.ReplacementFen
		p.ChargedFen += l.Loss.ChargedFen
		p.OperatorLossFen += l.Loss.OperatorLossFen
	}
	return s.render(c, http.StatusOK, "operator_losses", &p)
}
