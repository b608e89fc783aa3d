package web

import (
	"github.com/gin-gonic/gin"

	"fuju/web/auth"
)

// adminRoutes registers the platform admin console and the admin API. Only a
// platform admin's session gets through: API tokens belong to operators and
// never reach these routes.
func (s *Server) adminRoutes(r *gin.Engine, v1 *gin.RouterGroup) {
	admin := s.requireRole("", auth.PlatformAdmin)

	api := v1.Group("/admin", admin)
	api.GET("/operators", s.api(s.listOperatorsAPI))
	api.POST("/operators", s.api(s.createOperatorAPI))
	api.GET("/operators/:id", s.api(s.showOperatorAPI))
	api.PATCH("/operators/:id", s.api(s.updateOperatorAPI))
	api.GET("/users", s.api(s.listUsersAPI))
	api.POST("/users", s.api(s.createUserAPI))
	api.GET("/users/:id", s.api(s.showUserAPI))
	api.PATCH("/users/:id", s.api(s.updateUserAPI))
	api.POST("/users/:id/reset-password", s.api(s.resetPasswordAPI))
	api.GET("/tier-policy", s.api(s.showPolicyAPI))
	api.PUT("/tier-policy", s.api(s.putPolicyAPI))
	api.GET("/tier-policy/versions/:n", s.api(s.showPolicyVersionAPI))
	api.GET("/audit", s.api(s.listAuditAPI))

	pages := r.Group("/admin", admin)
	pages.GET("", s.page(s.showAdminHome))
	pages.GET("/operators", s.page(s.showAdminOperators))
	pages.POST("/operators", s.page(s.createAdminOperator))
	pages.GET("/operators/:id", s.page(s.showAdminOperator))
	pages.POST("/operators/:id", s.page(s.updateAdminOperator))
	pages.GET("/operators/:id/status", s.page(s.confirmOperatorStatus))
	pages.POST("/operators/:id/status", s.page(s.setAdminOperatorStatus))
	pages.GET("/users", s.page(s.showAdminUsers))
	pages.GET("/users/new", s.page(s.showNewAdminUser))
	pages.POST("/users", s.page(s.createAdminUser))
	pages.GET("/users/:id", s.page(s.showAdminUser))
	pages.POST("/users/:id", s.page(s.updateAdminUser))
	pages.POST("/users/:id/status", s.page(s.setAdminUserStatus))
	pages.POST("/users/:id/reset-password", s.page(s.resetAdminUserPassword))
	pages.GET("/tier-policy", s.page(s.showPolicyEditor))
	pages.POST("/tier-policy", s.page(s.savePolicy))
	pages.GET("/tier-policy/versions/:n", s.page(s.showPolicyVersion))
	pages.GET("/audit", s.page(s.showAdminAudit))
}
