package web

import "github.com/gin-gonic/gin"

// adminRoutes registers the platform admin console and the admin API.
func (s *Server) adminRoutes(r *gin.Engine, v1 *gin.RouterGroup) {}
