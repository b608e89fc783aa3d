package web

import (
	"crypto/subtle"
	"fmt"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"fuju/accounts"
	"fuju/internal/valid"
	"fuju/rentals"
	"fuju/stations"
)

// TermsVersion names the rental terms renters accept at check-out; the text is
// in the messages (staff.terms.*). Change it whenever the text changes.
const TermsVersion = "2026-11"

const deskCookie = "fuju_desk"

// deskStations are the stations the caller can work at: a staff member's own,
// an operator admin's or token's every active station of the operator. They
// come from the stations read model (every action of a desk picks its
// station, and the database would scan the stations for it), including a
// suspended operator's, whose desks can still take devices back.
func (s *Server) deskStations(c *gin.Context) []stations.Station {
	scope := scopeOf(c)
	if scope.Platform || scope.OperatorID == "" {
		return nil
	}
	var out []stations.Station
	for _, st := range s.stations.Index().OperatorStations(scope.OperatorID) {
		if scope.Station(st.OperatorID, st.ID) {
			out = append(out, st)
		}
	}
	return out
}

// deskStation is the station this desk works at: the one asked for (query,
// form or JSON), else the one remembered in a cookie, else the caller's first.
// A station asked for that is not one of the caller's is not found: it is
// never swapped for another, so nothing lands at a station nobody chose. Only
// a remembered station that is no longer the caller's falls back to the first.
func (s *Server) deskStation(c *gin.Context, asked string) (stations.Station, error) {
	if err := (&valid.Error{}).Text("station_id", asked, valid.MaxID).Err(); err != nil {
		return stations.Station{}, fmt.Errorf("web: desk station: %w", err)
	}
	mine := s.deskStations(c)
	if len(mine) == 0 {
		return stations.Station{}, fmt.Errorf("web: no station to work at: %w", errForbidden)
	}
	pick := func(id string) (stations.Station, bool) {
		for _, st := range mine {
			if st.ID == id {
				return st, true
			}
		}
		return stations.Station{}, false
	}
	if asked != "" {
		if st, ok := pick(asked); ok {
			return st, nil
		}
		return stations.Station{}, fmt.Errorf("web: station %s: %w", asked, errNotFound)
	}
	if v, err := c.Cookie(deskCookie); err == nil {
		if st, ok := pick(v); ok {
			return st, nil
		}
	}
	return mine[0], nil
}

func (s *Server) productName(b *base, id string) string {
	if p, ok := s.catalog.Lookup(id); ok {
		return b.Tx(p.Name)
	}
	return id
}

// amountFen reads a desk form's amount in yuan as fen, naming field when it
// is not one.
func amountFen(field, v string) (int64, error) {
	fen, ok := parseYuan(v)
	if !ok || fen > 1_000_000_000 {
		return 0, valid.Field(field, "yuan", "must be an amount in yuan such as 12.50")
	}
	return fen, nil
}

// linkAccount joins a renter to the family's online account: the person at
// the desk reads the code shown on their account page, for the account that
// logs in with phone.
func (s *Server) linkAccount(c *gin.Context, renterID, phone, code string) (rentals.Renter, error) {
	e := &valid.Error{}
	uid, err := s.auth.UserIDByPhone(c.Request.Context(), phone)
	if err != nil {
		e.Add("phone", "no_account", "no online account logs in with this mobile number")
	} else if subtle.ConstantTimeCompare([]byte(strings.TrimSpace(code)), []byte(s.linkCode(uid))) != 1 {
		e.Add("code", "wrong", "is not the code on that account's page")
	}
	if err := e.Err(); err != nil {
		return rentals.Renter{}, fmt.Errorf("web: link account: %w", err)
	}
	return s.rentals.LinkAccount(c.Request.Context(), scopeOf(c), renterID, uid, actorOf(c))
}

type linkRequest struct {
	Phone string `json:"phone" binding:"required,limit=phone"`
	Code  string `json:"code" binding:"required,limit=code"`
}

func (s *Server) linkAccountAPI(c *gin.Context) error {
	var req linkRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	r, err := s.linkAccount(c, c.Param("id"), req.Phone, req.Code)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, r)
	return nil
}

func (s *Server) linkAccountPage(c *gin.Context) error {
	f := newForm(c)
	if _, err := s.linkAccount(c, c.Param("id"), f.Get("phone"), f.Get("code")); err != nil {
		if f.fail(err, "phone", "code") {
			return s.renterPage(c, http.StatusBadRequest, &renterPage{Form: f})
		}
		return err
	}
	s.flash(c, "staff.done.link")
	c.Redirect(http.StatusSeeOther, "/staff/renters/"+c.Param("id"))
	return nil
}

// renterAudit is what the audit log keeps of a renter: who, not their personal
// details, which only the renter's page shows (with access logged).

// deskRoles may work at a station desk.
var deskRoles = []accounts.Role{accounts.Staff, accounts.OperatorAdmin}
