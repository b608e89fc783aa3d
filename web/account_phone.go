package web

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"fuju/accounts"
)

// Verified phone numbers: a sign-up with a mobile number and a change of
// number wait for the code sent through the outbox (accounts/phone.go). The
// pending check's id travels in an HttpOnly cookie on pages (never in a URL)
// and in the JSON body of the API.

const checkCookie = "fuju_check"

// startSignup starts a renter's sign-up, throttled like createRenter: with
// a mobile number it sends a code and returns the pending check; with only
// an e-mail address it makes the account at once (check is then zero).
func (s *Server) startSignup(c *gin.Context, n accounts.NewUser) (accounts.User, accounts.PhoneCheck, error) {
	ctx := c.Request.Context()
	n.Role = accounts.Renter
	if err := s.auth.Check(ctx, &n); err != nil {
		return accounts.User{}, accounts.PhoneCheck{}, err
	}
	if n.Phone == "" {
		u, err := s.createRenter(c, n)
		return u, accounts.PhoneCheck{}, err
	}
	_, client := throttleKeys(c, "")
	byIP, err := s.signupByIP.take(c, client)
	if err != nil {
		return accounts.User{}, accounts.PhoneCheck{}, err
	}
	byLogin, err := s.signupByLogin.take(c, "phone:"+n.Phone)
	if err != nil {
		return accounts.User{}, accounts.PhoneCheck{}, err
	}
	chk, err := s.auth.StartSignUp(ctx, n, langOf(c))
	if errors.Is(err, accounts.ErrBusy) {
		s.giveBack(c, s.signupByIP, byIP)
		s.giveBack(c, s.signupByLogin, byLogin)
		c.Header("Retry-After", strconv.Itoa(int(busyRetry/time.Second)))
	}
	return accounts.User{}, chk, err
}

// confirmCheck confirms check id with code: a sign-up's check logs the new
// account in, a phone change's needs its account's session.
func (s *Server) confirmCheck(c *gin.Context, id, code string, remember bool) (accounts.User, error) {
	ctx := c.Request.Context()
	chk, err := s.auth.PhoneCheck(ctx, id, "")
	if err != nil {
		return accounts.User{}, err
	}
	if chk.Purpose == accounts.CheckChange {
		me, ok := userOf(c)
		if !ok {
			return accounts.User{}, errUnauthorized
		}
		return s.auth.ConfirmPhone(ctx, id, me.ID, code)
	}
	u, err := s.auth.ConfirmPhone(ctx, id, "", code)
	if err != nil {
		return accounts.User{}, err
	}
	return u, s.startSession(c, u, remember)
}

// JSON API.

type signupPending struct {
	Status string              `json:"status"`
	Check  accounts.PhoneCheck `json:"check"`
}

type confirmRequest struct {
	CheckID  string `json:"check_id" binding:"required,limit=id"`
	Code     string `json:"code" binding:"required,limit=code"`
	Remember bool   `json:"remember"`
}

func (s *Server) confirmPhoneAPI(c *gin.Context) error {
	var req confirmRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	u, err := s.confirmCheck(c, req.CheckID, req.Code, req.Remember)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, meResponse{User: u, CSRFToken: s.csrfToken(c)})
	return nil
}

type resendRequest struct {
	CheckID string `json:"check_id" binding:"required,limit=id"`
}

func (s *Server) resendCodeAPI(c *gin.Context) error {
	var req resendRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	chk, err := s.auth.ResendCode(c.Request.Context(), req.CheckID)
	if errors.Is(err, accounts.ErrResendTooSoon) && !chk.ResendAt.IsZero() {
		c.Header("Retry-After", strconv.Itoa(max(1, int(time.Until(chk.ResendAt).Seconds()))))
	}
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, signupPending{Status: "code_sent", Check: chk})
	return nil
}

type phoneChangeRequest struct {
	Phone string `json:"phone" binding:"required,limit=phone"`
}

func (s *Server) changePhoneAPI(c *gin.Context) error {
	me, ok := userOf(c)
	if !ok {
		return errUnauthorized
	}
	var req phoneChangeRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	chk, err := s.auth.StartPhoneChange(c.Request.Context(), me.ID, req.Phone, langOf(c))
	if err != nil {
		return err
	}
	c.JSON(http.StatusAccepted, signupPending{Status: "confirm_needed", Check: chk})
	return nil
}

// Pages.

type confirmPage struct {
	base
	Form  form
	Check accounts.PhoneCheck
	// Locked says too many wrong codes: start again.
	Locked bool
	// Sent says a new code was sent; TooSoon that one was sent moments ago.
	Sent, TooSoon bool
}

func (s *Server) confirmPageFor(c *gin.Context) (confirmPage, bool) {
	p := confirmPage{base: s.base(c, "phone.title", "signup")}
	id, err := c.Cookie(checkCookie)
	if err != nil || id == "" {
		return p, false
	}
	chk, err := s.auth.PhoneCheck(c.Request.Context(), id, "")
	if err != nil {
		return p, false
	}
	p.Check = chk
	p.Locked = chk.TriesLeft == 0
	return p, true
}

func (s *Server) showConfirmPhone(c *gin.Context) error {
	p, ok := s.confirmPageFor(c)
	if !ok {
		c.Redirect(http.StatusSeeOther, "/signup")
		return nil
	}
	return s.render(c, http.StatusOK, "phone_confirm", &p)
}

func (s *Server) confirmPhone(c *gin.Context) error {
	p, ok := s.confirmPageFor(c)
	if !ok {
		c.Redirect(http.StatusSeeOther, "/signup")
		return nil
	}
	p.Form = newForm(c)
	u, err := s.confirmCheck(c, p.Check.ID, p.Form.Get("code"), p.Form.Get("remember") != "")
	switch {
	case errors.Is(err, accounts.ErrCodeLocked):
		p.Locked = true
		return s.render(c, http.StatusTooManyRequests, "phone_confirm", &p)
	case err != nil:
		if p.Form.fail(err, "code", "phone") {
			if chk, cerr := s.auth.PhoneCheck(c.Request.Context(), p.Check.ID, ""); cerr == nil {
				p.Check = chk
			}
			return s.render(c, http.StatusBadRequest, "phone_confirm", &p)
		}
		return err
	}
	s.setCookie(c, checkCookie, "", -1)
	if p.Check.Purpose == accounts.CheckChange {
		s.flash(c, "flash.phone_changed")
	} else {
		s.flash(c, "flash.signedup")
	}
	c.Redirect(http.StatusSeeOther, homeFor(u))
	return nil
}

func (s *Server) resendCode(c *gin.Context) error {
	p, ok := s.confirmPageFor(c)
	if !ok {
		c.Redirect(http.StatusSeeOther, "/signup")
		return nil
	}
	chk, err := s.auth.ResendCode(c.Request.Context(), p.Check.ID)
	switch {
	case errors.Is(err, accounts.ErrResendTooSoon):
		p.TooSoon = true
		return s.render(c, http.StatusTooManyRequests, "phone_confirm", &p)
	case errors.Is(err, accounts.ErrCodeLocked):
		p.Locked = true
		return s.render(c, http.StatusTooManyRequests, "phone_confirm", &p)
	case err != nil:
		return err
	}
	p.Check, p.Sent = chk, true
	return s.render(c, http.StatusOK, "phone_confirm", &p)
}

// changePhone starts a change of the signed-in account's number from the
// account page and sends the person to type the code.
func (s *Server) changePhone(c *gin.Context) error {
	me, _ := userOf(c)
	f := newForm(c)
	chk, err := s.auth.StartPhoneChange(c.Request.Context(), me.ID, f.Get("phone"), langOf(c))
	if err != nil {
		p := confirmPage{base: s.base(c, "phone.title", "account"), Form: f}
		if p.Form.fail(err, "phone") {
			status, _ := statusOf(err)
			return s.render(c, status, "phone_change", &p)
		}
		return err
	}
	s.setCookie(c, checkCookie, chk.ID, int(accounts.CheckTTL/time.Second))
	c.Redirect(http.StatusSeeOther, "/signup/confirm")
	return nil
}

func (s *Server) showChangePhone(c *gin.Context) error {
	return s.render(c, http.StatusOK, "phone_change", &confirmPage{base: s.base(c, "phone.change_title", "account")})
}
