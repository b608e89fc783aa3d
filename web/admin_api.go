package web

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"fuju/accounts"
	"fuju/internal/l10n"
)

// The admin JSON API (/api/v1/admin). Handlers bind and check the request
// shape; the rules live in admin.go and the services.

func (s *Server) listOperatorsAPI(c *gin.Context) error {
	p := newParams(c)
	p.only()
	if err := p.err(); err != nil {
		return err
	}
	ops, err := s.stations.Operators(c.Request.Context())
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, whole(ops))
	return nil
}

type createOperatorRequest struct {
	ID    string    `json:"id" binding:"limit=id"`
	Name  l10n.Text `json:"name"`
	Phone string    `json:"phone" binding:"limit=phone"`
}

func (s *Server) createOperatorAPI(c *gin.Context) error {
	var req createOperatorRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	o, err := s.createOperator(c, operatorInput(req))
	if err != nil {
		return err
	}
	c.JSON(http.StatusCreated, o)
	return nil
}

func (s *Server) showOperatorAPI(c *gin.Context) error {
	o, err := s.stations.Operator(c.Request.Context(), c.Param("id"))
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, o)
	return nil
}

type updateOperatorRequest struct {
	Name   *l10n.Text `json:"name"`
	Phone  *string    `json:"phone" binding:"omitempty,limit=phone"`
	Status *string    `json:"status" binding:"omitempty,oneof=active suspended"`
	// Reason says why, when suspending; the operator's people read it.
	Reason *string `json:"reason" binding:"omitempty,limit=note"`
}

func (s *Server) updateOperatorAPI(c *gin.Context) error {
	var req updateOperatorRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	o, err := s.updateOperator(c, c.Param("id"), operatorPatch(req))
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, o)
	return nil
}

func (s *Server) listUsersAPI(c *gin.Context) error {
	p := newParams(c)
	p.only("q", "role", "operator", "page", "per_page")
	f := accounts.UserFilter{Text: p.str("q", 100), Role: accounts.Role(p.str("role", 20)), OperatorID: p.str("operator", 64)}
	if f.Role != "" && !f.Role.Valid() {
		p.errs.Add("role", "oneof", "must be one of: renter, staff, operator_admin, platform_admin")
	}
	page, perPage := pageParams(p, 50, 200)
	if err := p.err(); err != nil {
		return err
	}
	users, err := s.auth.ListUsers(c.Request.Context(), f, page, perPage)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, list[accounts.User]{Items: users.Items, Total: users.Total, Page: page, PerPage: perPage})
	return nil
}

type createUserRequest struct {
	Role       accounts.Role `json:"role" binding:"required"`
	Name       string        `json:"name" binding:"required,limit=person_name"`
	Phone      string        `json:"phone" binding:"limit=phone"`
	Email      string        `json:"email" binding:"limit=email"`
	Password   string        `json:"password" binding:"limit=password"`
	OperatorID string        `json:"operator_id" binding:"limit=id"`
	StationIDs []string      `json:"station_ids" binding:"limit=station_ids,dive,limit=id"`
}

// userCreated is the answer to creating a user: the one-time password
// appears here once and nowhere else.
type userCreated struct {
	User            accounts.User `json:"user"`
	OneTimePassword string        `json:"one_time_password,omitempty"`
}

func (s *Server) createUserAPI(c *gin.Context) error {
	var req createUserRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	u, pw, err := s.createUser(c, userInput(req))
	if err != nil {
		return err
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusCreated, userCreated{User: u, OneTimePassword: pw})
	return nil
}

func (s *Server) showUserAPI(c *gin.Context) error {
	u, err := s.auth.User(c.Request.Context(), c.Param("id"))
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, u)
	return nil
}

type updateUserRequest struct {
	Name       *string  `json:"name" binding:"omitempty,limit=person_name"`
	Status     *string  `json:"status" binding:"omitempty,oneof=active disabled"`
	StationIDs []string `json:"station_ids" binding:"omitempty,limit=station_ids,dive,limit=id"`
}

func (s *Server) updateUserAPI(c *gin.Context) error {
	var req updateUserRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	u, err := s.updateUser(c, c.Param("id"), accounts.UserUpdate{Name: req.Name, Status: req.Status, StationIDs: req.StationIDs})
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, u)
	return nil
}

type passwordReset struct {
	User            accounts.User `json:"user"`
	OneTimePassword string        `json:"one_time_password"`
}

func (s *Server) resetPasswordAPI(c *gin.Context) error {
	u, pw, err := s.resetPassword(c, c.Param("id"))
	if err != nil {
		return err
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, passwordReset{User: u, OneTimePassword: pw})
	return nil
}

func (s *Server) listAuditAPI(c *gin.Context) error {
	p := newParams(c)
	p.only("operator", "page", "per_page")
	op := p.str("operator", 64)
	page, perPage := pageParams(p, 50, 200)
	if err := p.err(); err != nil {
		return err
	}
	entries, total, err := s.auth.Audit(c.Request.Context(), accounts.AuditFilter{OperatorID: op,
		Limit: int64(perPage), Skip: int64((page - 1) * perPage)})
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, list[accounts.Entry]{Items: entries, Total: int(total), Page: page, PerPage: perPage})
	return nil
}
