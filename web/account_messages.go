package web

import (
	"cmp"
	"context"
	"net/http"

	"github.com/gin-gonic/gin"

	"fuju/accounts"
	"fuju/internal/valid"
	"fuju/messages"
)

// Messages as people see them: a family's inbox and their choice about
// reminders (/account/messages, /api/v1/me/messages, /api/v1/me/preferences),
// and a station's message log for its staff and its operator's admins
// (/staff/messages, /operator/stations/:id/messages and their API). The
// outbox (package messages) masks every number and never lists a phone
// code's text; tenancy is its StationLog's scope check.

// inboxPerPage is how many messages a page of the inbox shows: a phone's
// screen of cards.
const inboxPerPage = 20

// inboxKeys are the outbox lists an account's inbox reads: what went to the
// account itself and to each renter it looks after (an elder's own number).
func (s *Server) inboxKeys(ctx context.Context, u accounts.User) ([]string, error) {
	keys := []string{messages.UserKey(u.ID)}
	if u.Role != accounts.Renter || s.rentals == nil {
		return keys, nil
	}
	linked, err := s.rentals.LinkedRenters(ctx, u.ID)
	if err != nil {
		return nil, err
	}
	for _, r := range linked {
		keys = append(keys, messages.RenterKey(r.ID))
	}
	return keys, nil
}

// inbox reads one page of the logged-in account's messages, newest first.
func (s *Server) inbox(c *gin.Context, page, perPage int) ([]messages.Message, int64, error) {
	u, ok := userOf(c)
	if !ok || s.messages == nil {
		return nil, 0, errUnauthorized
	}
	keys, err := s.inboxKeys(c.Request.Context(), u)
	if err != nil {
		return nil, 0, err
	}
	return s.messages.Inboxes(c.Request.Context(), keys, int64(page-1)*int64(perPage), int64(perPage))
}

// setReminders records the account's choice about reminders for the account
// and every renter it looks after, so a reminder to an elder's own number
// follows it too. Phone codes and notices cannot be turned off.
func (s *Server) setReminders(c *gin.Context, on bool) (messages.Preferences, error) {
	u, ok := userOf(c)
	if !ok || s.messages == nil {
		return messages.Preferences{}, errUnauthorized
	}
	keys, err := s.inboxKeys(c.Request.Context(), u)
	if err != nil {
		return messages.Preferences{}, err
	}
	a := actorOf(c)
	return s.messages.SetRemindersFor(c.Request.Context(), messages.Actor{ID: a.ID, Name: a.Name, Role: a.Role}, keys, on)
}

func (s *Server) preferences(c *gin.Context) (messages.Preferences, error) {
	u, ok := userOf(c)
	if !ok || s.messages == nil {
		return messages.Preferences{}, errUnauthorized
	}
	return s.messages.Preferences(c.Request.Context(), messages.UserKey(u.ID))
}

// JSON API.

func (s *Server) listMyMessagesAPI(c *gin.Context) error {
	q := newParams(c)
	q.only("page", "per_page")
	page, perPage := pageParams(q, inboxPerPage, messages.MaxPerPage)
	if err := q.err(); err != nil {
		return err
	}
	items, total, err := s.inbox(c, page, perPage)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, list[messages.Message]{Items: nonNil(items), Total: int(total), Page: page, PerPage: perPage})
	return nil
}

func (s *Server) showMyPreferencesAPI(c *gin.Context) error {
	p, err := s.preferences(c)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, p)
	return nil
}

type preferencesRequest struct {
	// Reminders and Lang are each optional; a body with neither changes
	// nothing and is refused.
	Reminders *bool   `json:"reminders"`
	Lang      *string `json:"lang"`
}

func (s *Server) putMyPreferencesAPI(c *gin.Context) error {
	var req preferencesRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	if req.Reminders == nil && req.Lang == nil {
		return valid.Field("reminders", "required", "is required (or lang)")
	}
	if req.Lang != nil {
		if err := s.setMessageLang(c, *req.Lang); err != nil {
			return err
		}
	}
	if req.Reminders != nil {
		if _, err := s.setReminders(c, *req.Reminders); err != nil {
			return err
		}
	}
	p, err := s.preferences(c)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, p)
	return nil
}

// setMessageLang is the account's explicit choice of the language its
// texts are written in.
func (s *Server) setMessageLang(c *gin.Context, lang string) error {
	u, ok := userOf(c)
	if !ok || s.messages == nil {
		return errUnauthorized
	}
	l, ok := messages.ParseLang(lang)
	if !ok || lang == "" {
		return valid.Field("lang", "oneof", "must be zh-CN or en")
	}
	return s.messages.SetLang(c.Request.Context(), messages.UserKey(u.ID), l)
}

// rememberLang keeps the language a family signed up or signed in with as
// the language of their texts, until they choose one on the inbox page:
// reminders and tier decisions are then written in the language they read.
// A failure here never stops a sign-in.
func (s *Server) rememberLang(c *gin.Context, u accounts.User) {
	if s.messages == nil || u.Role != accounts.Renter {
		return
	}
	key := messages.UserKey(u.ID)
	p, err := s.messages.Preferences(c.Request.Context(), key)
	if err != nil || p.Lang != "" {
		return
	}
	if err := s.messages.SetLang(c.Request.Context(), key, messages.Lang(langOf(c))); err != nil {
		s.logger.WarnContext(c.Request.Context(), "remember the language of texts", "user", u.ID, "err", err)
	}
}

func nonNil[T any](items []T) []T {
	if items == nil {
		return []T{}
	}
	return items
}

// Pages.

type inboxPage struct {
	base
	Messages  []messages.Message
	Pager     opPager
	Reminders bool
	// TextLang is the language the account's texts are written in.
	TextLang messages.Lang
}

// MessageKind names a kind of message ("还车提醒").
func (b *base) MessageKind(k messages.Kind) string { return b.T("inbox.kind." + string(k)) }

// MessageState says what became of a message, in the family's words.
func (b *base) MessageState(st messages.State) string { return b.T("inbox.state." + string(st)) }

func (s *Server) showMyMessages(c *gin.Context) error {
	q := newParams(c)
	page, _ := pageParams(q, inboxPerPage, inboxPerPage)
	if err := q.err(); err != nil {
		return err
	}
	p := inboxPage{base: s.base(c, "inbox.title", "account")}
	items, total, err := s.inbox(c, page, inboxPerPage)
	if err != nil {
		return err
	}
	prefs, err := s.preferences(c)
	if err != nil {
		return err
	}
	p.Messages, p.Reminders = items, prefs.Reminders
	p.TextLang = cmp.Or(prefs.Lang, messages.Chinese)
	p.Pager = newOpPager("/account/messages", c.Request.URL.Query(), page, inboxPerPage, total)
	return s.render(c, http.StatusOK, "account_messages", &p)
}

// savePreferences takes the inbox page's form: reminders=on or off.
func (s *Server) savePreferences(c *gin.Context) error {
	f := newForm(c)
	if f.Values.Has("lang") {
		if err := s.setMessageLang(c, f.Get("lang")); err != nil {
			return err
		}
		s.flash(c, "inbox.flash.lang")
		c.Redirect(http.StatusSeeOther, "/account/messages#textlang")
		return nil
	}
	var on bool
	switch f.Get("reminders") {
	case "on":
		on = true
	case "off":
	default:
		return valid.Field("reminders", "oneof", "must be on or off")
	}
	if _, err := s.setReminders(c, on); err != nil {
		return err
	}
	s.flash(c, map[bool]string{true: "inbox.flash.on", false: "inbox.flash.off"}[on])
	c.Redirect(http.StatusSeeOther, "/account/messages#reminders")
	return nil
}
