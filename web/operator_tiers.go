package web

import (
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"fuju/internal/l10n"
	"fuju/rentals"
)

// The operator's review of online tier applications (rentals/tierapply.go):
// a queue, oldest first, with the proof photos behind short-lived signed
// URLs (each one logged in the renter's access log), approve with an expiry
// date, reject with a reason. Another operator's application is 404.

// proofURLTTL is how long a reviewer's link to a proof photo works.
const proofURLTTL = 2 * time.Minute

// reviewedApplication is an application with links to its photos.
type reviewedApplication struct {
	rentals.TierApplication
	PhotoURLs []string `json:"photo_urls"`
}

// withPhotos signs a link to each photo of a, logging each access.
func (s *Server) withPhotos(c *gin.Context, a rentals.TierApplication) (reviewedApplication, error) {
	r := reviewedApplication{TierApplication: a, PhotoURLs: []string{}}
	if s.media == nil {
		return r, nil
	}
	ctx := c.Request.Context()
	for i := range a.PhotoCount {
		key, err := s.rentals.ApplicationPhotoKey(ctx, scopeOf(c), a.ID, i, actorOf(c))
		if err != nil {
			return r, err
		}
		u, err := s.media.SignedURL(ctx, key, proofURLTTL)
		if err != nil {
			return r, err
		}
		r.PhotoURLs = append(r.PhotoURLs, u)
	}
	return r, nil
}

// JSON API.

func (s *Server) listOpApplicationsAPI(c *gin.Context) error {
	q, err := s.rentals.ReviewQueue(c.Request.Context(), scopeOf(c))
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, whole(q))
	return nil
}

func (s *Server) showOpApplicationAPI(c *gin.Context) error {
	a, err := s.rentals.TierApplication(c.Request.Context(), scopeOf(c), "", c.Param("id"))
	if err != nil {
		return err
	}
	r, err := s.withPhotos(c, a)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, r)
	return nil
}

type approveRequest struct {
	ExpiresOn string `json:"expires_on" binding:"required,limit=id"`
}

func (s *Server) approveOpApplicationAPI(c *gin.Context) error {
	var req approveRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	a, err := s.rentals.ApproveTierApplication(c.Request.Context(), scopeOf(c), c.Param("id"), req.ExpiresOn, actorOf(c))
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, a)
	return nil
}

type rejectRequest struct {
	Reason string `json:"reason" binding:"required,limit=id"`
	Note   string `json:"note" binding:"limit=note"`
}

func (s *Server) rejectOpApplicationAPI(c *gin.Context) error {
	var req rejectRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	a, err := s.rentals.RejectTierApplication(c.Request.Context(), scopeOf(c), c.Param("id"), req.Reason, req.Note, actorOf(c))
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, a)
	return nil
}

// Pages.

type opApplicationsPage struct {
	opConsole
	Queue   []reviewedApplication
	Reasons []string
	// Failed is the application whose form was refused, Form what was typed.
	Failed string
	Form   form
	// MinExpiry is tomorrow, the earliest expiry a reviewer may give.
	MinExpiry string
}

func (s *Server) opApplicationsPage(c *gin.Context) (opApplicationsPage, error) {
	p := opApplicationsPage{opConsole: s.opConsole(c, "tiers.review.title", "tiers"), Reasons: rentals.RejectReasons,
		MinExpiry: rentals.Date(s.now().AddDate(0, 0, 1))}
	q, err := s.rentals.ReviewQueue(c.Request.Context(), scopeOf(c))
	if err != nil {
		return p, err
	}
	for _, a := range q {
		r, err := s.withPhotos(c, a)
		if err != nil {
			return p, err
		}
		p.Queue = append(p.Queue, r)
	}
	return p, nil
}

func (s *Server) showOpApplications(c *gin.Context) error {
	p, err := s.opApplicationsPage(c)
	if err != nil {
		return err
	}
	return s.render(c, http.StatusOK, "operator_tiers", &p)
}

func (s *Server) decideOpApplication(approve bool) func(*gin.Context) error {
	return func(c *gin.Context) error {
		f := newForm(c)
		var err error
		if approve {
			_, err = s.rentals.ApproveTierApplication(c.Request.Context(), scopeOf(c), c.Param("id"), f.Get("expires_on"), actorOf(c))
		} else {
			_, err = s.rentals.RejectTierApplication(c.Request.Context(), scopeOf(c), c.Param("id"), f.Get("reason"), f.Get("note"), actorOf(c))
		}
		if err != nil {
			p, perr := s.opApplicationsPage(c)
			if perr != nil {
				return perr
			}
			p.Failed, p.Form = c.Param("id"), f
			if p.Form.fail(err, "expires_on", "reason", "note") {
				status, _ := statusOf(err)
				return s.render(c, status, "operator_tiers", &p)
			}
			return err
		}
		s.flash(c, map[bool]string{true: "flash.tiers.approved", false: "flash.tiers.rejected"}[approve])
		c.Redirect(http.StatusSeeOther, "/operator/tier-applications#queue")
		return nil
	}
}

// Zone is the city's time zone, for showing times.
func (p *opApplicationsPage) Zone() *time.Location { return l10n.Local }

// PhotoLabel names photo n of an application for screen readers.
func (p *opApplicationsPage) PhotoLabel(n int) string {
	return p.T("tiers.review.photo", strconv.Itoa(n+1))
}
