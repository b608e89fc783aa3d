package web

import (
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"fuju/accounts"
	"fuju/internal/valid"
	"fuju/rentals"
	"fuju/reports"
	"fuju/stations"
)

// homeFor is where a user lands after logging in.
func homeFor(u accounts.User) string {
	switch u.Role {
	case accounts.Staff:
		return "/staff"
	case accounts.OperatorAdmin:
		return "/operator"
	case accounts.PlatformAdmin:
		return "/admin"
	}
	return "/account"
}

// throttleKeys are the login throttle's keys for an attempt: the account, by
// its normalised login name (so "+86 138-…" and "138…" share one counter),
// and the client, by IP address (IPv6 clients by their /64, which one
// subscriber usually has whole).
func throttleKeys(c *gin.Context, login string) (account, client string) {
	account = accounts.LoginKey(login)
	if account == "" {
		account = strings.ToLower(strings.TrimSpace(login))
	}
	ip := c.ClientIP()
	if addr, err := netip.ParseAddr(ip); err == nil && addr.Is6() && !addr.Is4In6() {
		if p, err := addr.Prefix(64); err == nil {
			ip = p.String()
		}
	}
	return "acct:" + account, "ip:" + ip
}

// authenticate runs a throttled login attempt. The client's and the
// account's attempts are counted before the password is checked, so a burst
// of parallel guesses is counted whole and never reaches the hasher past the
// limits; a success refunds both, and so does a hasher too busy to check
// anything (accounts.ErrBusy, answered 503 with Retry-After).
func (s *Server) authenticate(c *gin.Context, login, password string) (accounts.User, error) {
	acct, client := throttleKeys(c, login)
	byIP, err := s.loginByIP.take(c, client)
	if err != nil {
		return accounts.User{}, err
	}
	byAccount, err := s.loginByAccount.take(c, acct)
	if err != nil {
		return accounts.User{}, err
	}
	u, err := s.auth.Authenticate(c.Request.Context(), login, password)
	if errors.Is(err, accounts.ErrBadCredentials) {
		// Neither the password nor the login name is logged: the name is
		// often a phone number.
		s.logger.InfoContext(c.Request.Context(), "login failed", "request_id", requestID(c), "client_ip", c.ClientIP())
		return accounts.User{}, err
	}
	if err == nil || errors.Is(err, accounts.ErrBusy) {
		s.giveBack(c, s.loginByIP, byIP)
		s.giveBack(c, s.loginByAccount, byAccount)
	}
	if errors.Is(err, accounts.ErrBusy) {
		c.Header("Retry-After", strconv.Itoa(int(busyRetry/time.Second)))
	}
	return u, err
}

// createRenter signs a renter up, throttled per client IP and per phone
// number (or e-mail address). The form is checked first, without hashing, so
// a mistake costs nothing and is not counted; a hasher too busy to hash the
// password refunds both.
func (s *Server) createRenter(c *gin.Context, n accounts.NewUser) (accounts.User, error) {
	ctx := c.Request.Context()
	n.Role = accounts.Renter
	if err := s.auth.Check(ctx, &n); err != nil {
		return accounts.User{}, err
	}
	_, client := throttleKeys(c, "")
	byIP, err := s.signupByIP.take(c, client)
	if err != nil {
		return accounts.User{}, err
	}
	login := "phone:" + n.Phone
	if n.Phone == "" {
		login = "email:" + n.Email
	}
	byLogin, err := s.signupByLogin.take(c, login)
	if err != nil {
		return accounts.User{}, err
	}
	u, err := s.auth.SignUp(ctx, n)
	if errors.Is(err, accounts.ErrBusy) {
		s.giveBack(c, s.signupByIP, byIP)
		s.giveBack(c, s.signupByLogin, byLogin)
		c.Header("Retry-After", strconv.Itoa(int(busyRetry/time.Second)))
	}
	return u, err
}

// JSON API.

type signupRequest struct {
	Name     string `json:"name" binding:"required,limit=person_name"`
	Phone    string `json:"phone" binding:"limit=phone"`
	Email    string `json:"email" binding:"limit=email"`
	Password string `json:"password" binding:"required,limit=password"`
	Remember bool   `json:"remember"`
}

type meResponse struct {
	User      accounts.User `json:"user"`
	CSRFToken string        `json:"csrf_token"`
}

// linkCode is the code a family reads from their account page to the desk, so
// staff can join the online account to the renter they registered: it proves
// the person at the desk controls the account (a phone number alone does not,
// anyone can type one in at sign-up).
func (s *Server) linkCode(userID string) string {
	sum := s.mac("link:" + userID)
	var b strings.Builder
	for i := 0; b.Len() < 8 && i < len(sum); i++ {
		if c := sum[i]; c >= '0' && c <= '9' {
			b.WriteByte(c)
		}
	}
	for b.Len() < 8 {
		b.WriteByte('0')
	}
	return b.String()
}

func (s *Server) signupAPI(c *gin.Context) error {
	var req signupRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	u, chk, err := s.startSignup(c, accounts.NewUser{Name: req.Name, Phone: req.Phone, Email: req.Email, Password: req.Password})
	if err != nil {
		return err
	}
	if chk.ID != "" {
		// The account exists once the code is confirmed (/auth/phone/confirm).
		c.JSON(http.StatusAccepted, signupPending{Status: "confirm_needed", Check: chk})
		return nil
	}
	if err := s.startSession(c, u, req.Remember); err != nil {
		return err
	}
	c.JSON(http.StatusCreated, meResponse{User: u, CSRFToken: s.csrfToken(c)})
	return nil
}

type loginRequest struct {
	Login    string `json:"login" binding:"required,limit=email"`
	Password string `json:"password" binding:"required,limit=password"`
	Remember bool   `json:"remember"`
}

func (s *Server) loginAPI(c *gin.Context) error {
	var req loginRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	u, err := s.authenticate(c, req.Login, req.Password)
	if errors.Is(err, accounts.ErrBadCredentials) {
		return fmt.Errorf("web: %w", errBadLogin)
	}
	if err != nil {
		return err
	}
	if err := s.startSession(c, u, req.Remember); err != nil {
		return err
	}
	c.JSON(http.StatusOK, meResponse{User: u, CSRFToken: s.csrfToken(c)})
	return nil
}

func (s *Server) logoutAPI(c *gin.Context) error {
	if v, err := c.Cookie(sessionCookie); err == nil && v != "" {
		if err := s.auth.EndSession(c.Request.Context(), v); err != nil {
			return err
		}
	}
	s.setCookie(c, sessionCookie, "", -1)
	c.Status(http.StatusNoContent)
	return nil
}

func (s *Server) meAPI(c *gin.Context) error {
	u, ok := userOf(c)
	if !ok {
		return errUnauthorized
	}
	c.JSON(http.StatusOK, meResponse{User: u, CSRFToken: s.csrfToken(c)})
	return nil
}

// Pages.

type loginPage struct {
	base
	Form form
	Next string
	// Failed says the login name or password was wrong, without saying which.
	Failed   bool
	Throttle bool
	// Busy says no password could be checked now: try again in a moment.
	Busy bool
}

func (s *Server) showLogin(c *gin.Context) error {
	p := loginPage{base: s.base(c, "login.title", "login"), Next: localPath(c.Query("next"))}
	if u, ok := userOf(c); ok {
		c.Redirect(http.StatusSeeOther, homeFor(u))
		return nil
	}
	return s.render(c, http.StatusOK, "login", &p)
}

func (s *Server) login(c *gin.Context) error {
	f := newForm(c)
	p := loginPage{base: s.base(c, "login.title", "login"), Form: f, Next: localPath(f.Get("next"))}
	if f.Get("login") == "" || f.Values.Get("password") == "" {
		p.Form.fail(valid.Field(map[bool]string{true: "login", false: "password"}[f.Get("login") == ""], "required", ""), "login", "password")
		return s.render(c, http.StatusBadRequest, "login", &p)
	}
	u, err := s.authenticate(c, f.Get("login"), f.Values.Get("password"))
	switch {
	case errors.Is(err, errTooManyAttempts):
		p.Throttle = true
		return s.render(c, http.StatusTooManyRequests, "login", &p)
	case errors.Is(err, accounts.ErrBusy):
		p.Busy = true
		return s.render(c, http.StatusServiceUnavailable, "login", &p)
	case errors.Is(err, accounts.ErrBadCredentials):
		p.Failed = true
		p.Form.First = "login"
		return s.render(c, http.StatusUnauthorized, "login", &p)
	case err != nil:
		return err
	}
	if err := s.startSession(c, u, f.Get("remember") != ""); err != nil {
		return err
	}
	next := p.Next
	if next == "/" || next == "/login" {
		next = homeFor(u)
	}
	s.flash(c, "flash.welcome")
	c.Redirect(http.StatusSeeOther, next)
	return nil
}

type signupPage struct {
	base
	Form form
	// Throttle says too many sign-ups came from here or for this number;
	// Busy that the password could not be hashed now (try again shortly).
	Throttle, Busy bool
}

func (s *Server) showSignup(c *gin.Context) error {
	return s.render(c, http.StatusOK, "signup", &signupPage{base: s.base(c, "signup.title", "signup")})
}

func (s *Server) signup(c *gin.Context) error {
	f := newForm(c)
	p := signupPage{base: s.base(c, "signup.title", "signup"), Form: f}
	u, chk, err := s.startSignup(c, accounts.NewUser{Name: f.Get("name"), Phone: f.Get("phone"),
		Email: f.Get("email"), Password: f.Values.Get("password")})
	switch {
	case errors.Is(err, errTooManyAttempts):
		p.Throttle = true
		return s.render(c, http.StatusTooManyRequests, "signup", &p)
	case errors.Is(err, accounts.ErrBusy):
		p.Busy = true
		return s.render(c, http.StatusServiceUnavailable, "signup", &p)
	}
	if err != nil {
		if p.Form.fail(err, "name", "phone", "email", "password") {
			return s.render(c, http.StatusBadRequest, "signup", &p)
		}
		return err
	}
	if chk.ID != "" {
		s.setCookie(c, checkCookie, chk.ID, int(accounts.CheckTTL/time.Second))
		c.Redirect(http.StatusSeeOther, "/signup/confirm")
		return nil
	}
	if err := s.startSession(c, u, f.Get("remember") != ""); err != nil {
		return err
	}
	s.flash(c, "flash.signedup")
	c.Redirect(http.StatusSeeOther, "/account")
	return nil
}

func (s *Server) logout(c *gin.Context) error {
	if v, err := c.Cookie(sessionCookie); err == nil && v != "" {
		_ = s.auth.EndSession(c.Request.Context(), v)
	}
	s.setCookie(c, sessionCookie, "", -1)
	s.flash(c, "flash.loggedout")
	c.Redirect(http.StatusSeeOther, "/")
	return nil
}

type accountPage struct {
	base
	// Family are the renters linked to this account (an elder, or both
	// parents), Rentals their leases and totals; Past is cut to the newest
	// pastShown unless AllPast.
	Family    []rentals.LinkedRenter
	Rentals   rentals.AccountRentals
	Past      []rentals.Lease
	AllPast   bool
	Relations []rentals.Relation
	// LinkCode joins the account to a renter the desk registered.
	LinkCode string
	Account  accounts.User
	Sessions []accounts.Session
	Current  string
	Profile  form
	Password form
}

// pastShown is how many past rentals the account page lists before "show
// all".
const pastShown = 10

func (s *Server) accountPage(c *gin.Context, status int, p *accountPage) error {
	u, _ := userOf(c)
	sess, _ := sessionOf(c)
	p.base = s.base(c, "account.title", "account")
	p.Account, p.Current = u, sess.ID
	var err error
	if p.Sessions, err = s.auth.Sessions(c.Request.Context(), u.ID); err != nil {
		return err
	}
	if p.Profile.Values == nil {
		p.Profile.Values = map[string][]string{"name": {u.Name}}
	}
	if u.Role == accounts.Renter && s.rentals != nil {
		p.LinkCode = s.linkCode(u.ID)
		p.Relations = rentals.Relations
		// Only this account's renters and their leases, read by _id.
		if p.Rentals, err = s.rentals.AccountRentals(c.Request.Context(), u.ID); err != nil {
			return err
		}
		p.Family = p.Rentals.Renters
		p.AllPast = c.Query("past") == "all"
		p.Past = p.Rentals.Past
		if !p.AllPast && len(p.Past) > pastShown {
			p.Past = p.Past[:pastShown]
		}
	}
	return s.render(c, status, "account", p)
}

// RenterOf names the linked renter a lease is for ("父亲 王**").
func (p *accountPage) RenterOf(id string) string {
	for _, r := range p.Family {
		if r.ID == id {
			if w := p.who(r); w != "" {
				return w
			}
			return p.T("relation.you")
		}
	}
	return ""
}

// Now is the time the page was made.
func (b *base) Now() time.Time { return b.srv.now() }

// RelationName is a relation in words.
func (b *base) RelationName(r rentals.Relation) string { return b.T("relation." + relationKey(r)) }

// TierToday is the tier in force for a linked renter now.
func (b *base) TierToday(r rentals.LinkedRenter) rentals.Tier { return r.TierOn(b.srv.now()) }

// StationPhone is a station's phone number, for calling about a rental.
func (b *base) StationPhone(id string) string {
	if st, ok := b.srv.stations.Index().Station(id); ok {
		return st.Phone
	}
	return ""
}

func (s *Server) showAccount(c *gin.Context) error {
	return s.accountPage(c, http.StatusOK, &accountPage{})
}

func (s *Server) updateProfile(c *gin.Context) error {
	u, _ := userOf(c)
	f := newForm(c)
	if _, err := s.auth.UpdateProfile(c.Request.Context(), u.ID, f.Get("name")); err != nil {
		if f.fail(err, "name") {
			return s.accountPage(c, http.StatusBadRequest, &accountPage{Profile: f})
		}
		return err
	}
	s.flash(c, "flash.saved")
	c.Redirect(http.StatusSeeOther, "/account")
	return nil
}

func (s *Server) changePassword(c *gin.Context) error {
	u, _ := userOf(c)
	sess, _ := sessionOf(c)
	f := newForm(c)
	err := s.auth.ChangePassword(c.Request.Context(), u.ID, f.Values.Get("current_password"), f.Values.Get("new_password"), sess.ID)
	if err != nil {
		if f.fail(err, "current_password", "new_password") {
			return s.accountPage(c, http.StatusBadRequest, &accountPage{Password: f})
		}
		return err
	}
	s.flash(c, "flash.passwordchanged")
	c.Redirect(http.StatusSeeOther, "/account")
	return nil
}

func (s *Server) endSession(c *gin.Context) error {
	u, _ := userOf(c)
	if err := s.auth.EndSessionByID(c.Request.Context(), u.ID, c.PostForm("session")); err != nil {
		return err
	}
	s.flash(c, "flash.sessionended")
	c.Redirect(http.StatusSeeOther, "/account#sessions")
	return nil
}

// setRelation records who a linked renter is to the account holder.
func (s *Server) setRelation(c *gin.Context) error {
	u, _ := userOf(c)
	if s.rentals == nil {
		return errNotFound
	}
	err := s.rentals.SetRelation(c.Request.Context(), u.ID, c.Param("id"), rentals.Relation(c.PostForm("relation")))
	if err != nil {
		return err
	}
	s.flash(c, "flash.saved")
	c.Redirect(http.StatusSeeOther, "/account#family")
	return nil
}

type familyReceiptPage struct {
	base
	Lease    rentals.Lease
	Ledger   rentals.Ledger
	Renter   rentals.LinkedRenter
	Station  stations.Station
	Operator stations.Operator
	// Paid is what the family paid, Refunded what came back.
	Paid, Refunded int64
	// Balance is the open balance of a returned lease and whether it can
	// be paid online (nil when nothing is owed).
	Balance *balanceOffer
}

// showFamilyReceipt is a printable receipt of one rental of the family's: what it
// was, when, at which station, and every charge, subsidy and payment.
func (s *Server) showFamilyReceipt(c *gin.Context) error {
	u, _ := userOf(c)
	if s.rentals == nil || u.Role != accounts.Renter {
		return errNotFound
	}
	l, led, who, err := s.rentals.AccountLease(c.Request.Context(), u.ID, c.Param("id"))
	if err != nil {
		return err
	}
	p := familyReceiptPage{base: s.base(c, "receipt.title", "account"), Lease: l, Ledger: led, Renter: who}
	p.Title = p.T("receipt.title") + " " + l.ID
	if st, ok := s.stations.Index().Station(l.StationID); ok {
		p.Station = st
	}
	if op, err := s.stations.Operator(c.Request.Context(), l.OperatorID); err == nil {
		p.Operator = op
	}
	sums := reports.Sums(led)
	p.Paid, p.Refunded = sums.PaidFen, sums.RefundedFen
	if o, err := s.balanceOf(c.Request.Context(), l); err == nil {
		p.Balance = &o
	} else if !errors.Is(err, rentals.ErrNothingOwed) {
		return err
	}
	return s.render(c, http.StatusOK, "receipt", &p)
}

// ForWhom names the renter of the receipt for the account holder:
// "父亲 王**".
func (p *familyReceiptPage) ForWhom() string {
	if w := p.who(p.Renter); w != "" {
		return w
	}
	return p.T("relation.you") + " " + p.Renter.MaskedName
}

func (s *Server) endOtherSessions(c *gin.Context) error {
	u, _ := userOf(c)
	sess, _ := sessionOf(c)
	if err := s.auth.EndAllSessions(c.Request.Context(), u.ID, sess.ID); err != nil {
		return err
	}
	s.flash(c, "flash.sessionsended")
	c.Redirect(http.StatusSeeOther, "/account#sessions")
	return nil
}
