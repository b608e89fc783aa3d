package web

import (
	"context"
	"io/fs"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"fuju/web/auth"
)

// routes registers every route in one place.
func (s *Server) routes() {
	r := s.engine
	r.Use(withRequestID, s.recoverPanics, s.measure, s.logRequests, securityHeaders, noStorePrivate, s.limitBody, s.identify, s.checkCSRF)
	r.NoRoute(s.notFoundPage)
	r.NoMethod(s.notFoundPage)
	r.HandleMethodNotAllowed = false

	r.GET("/healthz", s.healthz)
	r.GET("/readyz", s.readyz)
	r.GET("/metrics", gin.WrapH(promhttp.HandlerFor(s.registry, promhttp.HandlerOpts{})))

	static, _ := fs.Sub(staticFS, "static")
	fileServer := http.StripPrefix("/static/", http.FileServer(http.FS(static)))
	r.GET("/static/*file", func(c *gin.Context) {
		// Asset URLs carry a content hash (?v=…), so they never change.
		c.Header("Cache-Control", "public, max-age=31536000, immutable")
		fileServer.ServeHTTP(c.Writer, c.Request)
	})

	r.GET("/favicon.ico", serveIcon("favicon.ico", "image/x-icon"))
	r.GET("/apple-touch-icon.png", serveIcon("apple-touch-icon.png", "image/png"))
	r.GET("/apple-touch-icon-precomposed.png", serveIcon("apple-touch-icon.png", "image/png"))

	r.GET("/media/*key", s.serveMedia)
	r.HEAD("/media/*key", s.serveMedia)

	v1 := r.Group("/api/v1")
	v1.GET("/openapi.json", s.openAPI)
	v1.GET("/categories", s.api(s.listCategories))
	v1.GET("/products", s.api(s.listProducts))
	v1.GET("/products/:id", s.api(s.showProductJSON))
	v1.GET("/stations", s.api(s.listStations))
	v1.GET("/stations/:id", s.api(s.showStationJSON))
	v1.GET("/quote", s.api(s.showQuote))

	v1.POST("/auth/signup", s.api(s.signupAPI))
	v1.POST("/auth/login", s.api(s.loginAPI))
	v1.POST("/auth/logout", s.api(s.logoutAPI))
	v1.GET("/me", s.api(s.meAPI))

	inventoryWrite := s.requireRole(auth.ScopeInventoryWrite, auth.OperatorAdmin, auth.PlatformAdmin)
	op := v1.Group("/operator")
	op.POST("/products/:id/photos", inventoryWrite, s.api(s.uploadProductPhoto))
	op.PUT("/products/:id/photos/order", inventoryWrite, s.api(s.reorderProductPhotos))
	op.PATCH("/products/:id/photos/:key", inventoryWrite, s.api(s.setProductPhotoAlt))
	op.DELETE("/products/:id/photos/:key", inventoryWrite, s.api(s.deleteProductPhoto))

	r.GET("/", s.cachePage(pageHome, s.page(s.showHome)))
	r.GET("/lang/:lang", s.page(s.switchLanguage))
	r.GET("/products", s.cachePage(pageProducts, s.page(s.showProducts)))
	r.GET("/products/:id", s.cachePage(pageProduct, s.page(s.showProduct)))
	r.GET("/stations", s.cachePage(pageStations, s.page(s.showStations)))
	r.GET("/stations/:id", s.cachePage(pageStation, s.page(s.showStation)))

	r.GET("/login", s.page(s.showLogin))
	r.POST("/login", s.page(s.login))
	r.GET("/signup", s.page(s.showSignup))
	r.POST("/signup", s.page(s.signup))
	r.POST("/logout", s.page(s.logout))
	anyone := s.requireRole("", auth.Roles...)
	r.GET("/account", anyone, s.page(s.showAccount))
	r.GET("/account/rentals/:id", anyone, s.page(s.showFamilyReceipt))
	r.POST("/account/renters/:id/relation", anyone, s.page(s.setRelation))
	r.POST("/account/profile", anyone, s.page(s.updateProfile))
	r.POST("/account/password", anyone, s.page(s.changePassword))
	r.POST("/account/sessions/end", anyone, s.page(s.endSession))
	r.POST("/account/sessions/end-others", anyone, s.page(s.endOtherSessions))

	s.consoleRoutes(r, v1)
	s.staffRoutes(r, v1)
}

func (s *Server) healthz(c *gin.Context) {
	c.JSON(http.StatusOK, gin.H{"status": "ok", "version": s.cfg.Version, "uptime_s": int(time.Since(s.started).Seconds())})
}

func (s *Server) readyz(c *gin.Context) {
	ctx, cancel := context.WithTimeout(c.Request.Context(), 2*time.Second)
	defer cancel()
	if err := s.cfg.DB.Ping(ctx); err != nil {
		s.logger.Warn("readiness check failed", "err", err)
		c.JSON(http.StatusServiceUnavailable, gin.H{"status": "database unreachable"})
		return
	}
	c.JSON(http.StatusOK, gin.H{"status": "ready"})
}
