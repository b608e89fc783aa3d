package web

import "github.com/gin-gonic/gin"

// consoleRoutes registers the operator console (/operator, /api/v1/operator)
// and the platform admin console (/admin, /api/v1/admin). Each area keeps its
// routes in its own function, called from here.
func (s *Server) consoleRoutes(r *gin.Engine, v1 *gin.RouterGroup) {
	s.operatorRoutes(r, v1)
	s.adminRoutes(r, v1)
}
