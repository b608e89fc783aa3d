package web

import "github.com/gin-gonic/gin"

// operatorRoutes registers the operator console and the operator API.
func (s *Server) operatorRoutes(r *gin.Engine, v1 *gin.RouterGroup) {}
