package web

import (
	"github.com/gin-gonic/gin"

	"fuju/web/auth"
)

// operatorRoutes registers the operator console and the operator API.
//
// Who may call what: inventory (listings, stations, units, labels) takes an
// operator admin's or the platform's session, or an operator's API token with
// inventory:read for reads and inventory:write for writes. People (staff,
// tokens) and the audit log take a session only. Tenancy is the services'
// business: each call passes the caller's scope, and another operator's
// records are 404. The photo routes of a listing are in routes.go. Money
// rules and reports (settings, waivers, losses) take a session too; only an
// operator admin approves waivers or sets the limit.
func (s *Server) operatorRoutes(r *gin.Engine, v1 *gin.RouterGroup) {
	if err := s.setupOperatorPages(); err != nil {
		// The templates are embedded: this fails in every test run, never
		// only in production.
		panic(err)
	}
	read := s.requireRole(auth.ScopeInventoryRead, auth.OperatorAdmin, auth.PlatformAdmin)
	write := s.requireRole(auth.ScopeInventoryWrite, auth.OperatorAdmin, auth.PlatformAdmin)
	admin := s.requireRole("", auth.OperatorAdmin, auth.PlatformAdmin)

	op := v1.Group("/operator")
	op.GET("/products", read, s.api(s.listOpProducts))
	op.POST("/products", write, s.api(s.createOpProduct))
	op.GET("/products/:id", read, s.api(s.showOpProduct))
	op.PATCH("/products/:id", write, s.api(s.patchOpProduct))
	op.DELETE("/products/:id", write, s.api(s.deleteOpProduct))
	op.GET("/stations", read, s.api(s.listOpStations))
	op.POST("/stations", write, s.api(s.createOpStation))
	op.GET("/stations/:id", read, s.api(s.showOpStation))
	op.PATCH("/stations/:id", write, s.api(s.patchOpStation))
	op.DELETE("/stations/:id", write, s.api(s.deleteOpStation))
	op.GET("/units", read, s.api(s.listOpUnits))
	op.POST("/units", write, s.api(s.createOpUnit))
	op.POST("/units/import", write, s.api(s.importUnitsAPI))
	op.GET("/units/:tag", read, s.api(s.showOpUnit))
	op.PATCH("/units/:tag", write, s.api(s.patchOpUnit))
	op.DELETE("/units/:tag", write, s.api(s.deleteOpUnit))
	op.GET("/labels.pdf", read, s.api(s.showLabels))
	op.GET("/tokens", admin, s.api(s.listOpTokens))
	op.POST("/tokens", admin, s.api(s.createOpToken))
	op.DELETE("/tokens/:id", admin, s.api(s.revokeOpToken))
	op.GET("/staff", admin, s.api(s.listOpStaff))
	op.POST("/staff", admin, s.api(s.createOpStaff))
	op.GET("/staff/:id", admin, s.api(s.showOpStaff))
	op.PATCH("/staff/:id", admin, s.api(s.patchOpStaff))
	op.POST("/staff/:id/password", admin, s.api(s.resetOpStaffPassword))
	op.GET("/audit", admin, s.api(s.listOpAudit))
	op.GET("/settings", admin, s.api(s.showOpSettingsAPI))
	op.PUT("/settings", admin, s.api(s.putOpSettingsAPI))
	op.GET("/waivers", admin, s.api(s.listOpWaiversAPI))
	op.POST("/waivers/:id/:decision", admin, s.api(s.decideWaiverAPI))
	op.GET("/losses", admin, s.api(s.listOpLossesAPI))

	con := r.Group("/operator", admin)
	con.GET("", s.page(s.showOpDashboard))
	con.GET("/products", s.page(s.showOpProducts))
	con.GET("/products/new", s.page(s.newOpProductPage))
	con.POST("/products", s.page(s.createOpProductPage))
	con.GET("/products/:id", s.page(s.editOpProductPage))
	con.POST("/products/:id", s.page(s.updateOpProductPage))
	con.GET("/products/:id/photos", s.page(s.showOpPhotos))
	con.POST("/products/:id/photos", s.page(s.uploadOpPhotoPage))
	con.POST("/products/:id/photos/:key/move", s.page(s.moveOpPhotoPage))
	con.POST("/products/:id/photos/:key/alt", s.page(s.altOpPhotoPage))
	con.GET("/products/:id/photos/:key/delete", s.page(s.confirmOpPhotoDelete))
	con.POST("/products/:id/photos/:key/delete", s.page(s.deleteOpPhotoPage))
	con.GET("/stations", s.page(s.showOpStations))
	con.GET("/stations/new", s.page(s.newOpStationPage))
	con.POST("/stations", s.page(s.createOpStationPage))
	con.GET("/stations/:id", s.page(s.editOpStationPage))
	con.POST("/stations/:id", s.page(s.updateOpStationPage))
	con.GET("/units", s.page(s.showOpUnits))
	con.GET("/units/new", s.page(s.newOpUnitPage))
	con.POST("/units", s.page(s.createOpUnitPage))
	con.GET("/units/:tag", s.page(s.editOpUnitPage))
	con.POST("/units/:tag", s.page(s.updateOpUnitPage))
	con.GET("/units/:tag/retire", s.page(s.retireOpUnitForm))
	con.POST("/units/:tag/retire", s.page(s.retireOpUnitPage))
	con.GET("/imports/new", s.page(s.newOpImportPage))
	con.GET("/imports/template.csv", s.page(s.showImportTemplate))
	con.POST("/imports", s.page(s.createOpImportPage))
	con.GET("/imports/:id", s.page(s.showOpImport))
	con.GET("/staff", s.page(s.showOpStaffList))
	con.GET("/staff/new", s.page(s.newOpStaffPage))
	con.POST("/staff", s.page(s.createOpStaffPage))
	con.GET("/staff/:id", s.page(s.editOpStaffPage))
	con.POST("/staff/:id", s.page(s.updateOpStaffPage))
	con.POST("/staff/:id/password", s.page(s.resetOpStaffPasswordPage))
	con.GET("/staff/:id/password", s.page(s.showOpStaffPassword))
	con.GET("/tokens", s.page(s.showOpTokens))
	con.POST("/tokens", s.page(s.createOpTokenPage))
	con.GET("/tokens/:id/secret", s.page(s.showOpTokenSecret))
	con.POST("/tokens/:id/revoke", s.page(s.revokeOpTokenPage))
	con.GET("/audit", s.page(s.showOpAudit))
	con.GET("/settings", s.page(s.showOpSettings))
	con.POST("/settings", s.page(s.saveOpSettings))
	con.GET("/waivers", s.page(s.showOpWaivers))
	con.POST("/waivers/:id/:decision", s.page(s.decideOpWaiverPage))
	con.GET("/losses", s.page(s.showOpLosses))
}
