package web

import (
	"context"
	"io/fs"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"fuju/accounts"
	"fuju/reports"
)

// routes registers every route of the service, in one place, top to bottom:
// operations, static files and media, the public API and pages, logging in
// and the account, the operator console and its API, the platform admin's
// console and its API, and the station desk's API and pages. Who may call
// what is docs/access.md; requireRole guards each group.
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
	v1.GET("/stations/:id/slots", s.api(s.listSlotsAPI))
	v1.GET("/stations/:id/delivery", s.api(s.showDeliveryOptionsAPI))

	v1.POST("/auth/signup", s.api(s.signupAPI))
	v1.POST("/auth/login", s.api(s.loginAPI))
	v1.POST("/auth/logout", s.api(s.logoutAPI))
	v1.GET("/me", s.api(s.meAPI))
	v1.GET("/me/messages", s.requireRole("", accounts.Roles...), s.api(s.listMyMessagesAPI))
	v1.GET("/me/preferences", s.requireRole("", accounts.Roles...), s.api(s.showMyPreferencesAPI))
	v1.PUT("/me/preferences", s.requireRole("", accounts.Roles...), s.api(s.putMyPreferencesAPI))
	// Stripe's webhooks: signed by Stripe, no session (receiveStripeWebhook).
	v1.POST("/payments/stripe/webhook", s.api(s.receiveStripeWebhook))

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
	anyone := s.requireRole("", accounts.Roles...)
	// A family's reservations and waitlist places: their own session only.
	family := v1.Group("/me", s.requireRole("", accounts.Renter))
	family.GET("/reservations", s.api(s.listMyReservationsAPI))
	family.POST("/reservations", s.api(s.createReservationAPI))
	family.GET("/reservations/:id", s.api(s.showMyReservationAPI))
	family.POST("/reservations/:id/cancel", s.api(s.cancelMyReservationAPI))
	family.GET("/waitlist", s.api(s.listMyWaitlistAPI))
	family.POST("/waitlist", s.api(s.joinWaitlistAPI))
	family.DELETE("/waitlist/:id", s.api(s.leaveWaitlistAPI))
	family.POST("/waitlist/:id/accept", s.api(s.acceptOfferAPI))

	r.GET("/account", anyone, s.page(s.showAccount))
	r.GET("/account/rentals/:id", anyone, s.page(s.showFamilyReceipt))
	r.POST("/account/renters/:id/relation", anyone, s.page(s.setRelation))
	r.POST("/account/profile", anyone, s.page(s.updateProfile))
	r.POST("/account/password", anyone, s.page(s.changePassword))
	r.POST("/account/sessions/end", anyone, s.page(s.endSession))
	r.POST("/account/sessions/end-others", anyone, s.page(s.endOtherSessions))
	r.GET("/account/messages", anyone, s.page(s.showMyMessages))
	// Reservations and the waitlist (reserve_pages.go).
	r.GET("/products/:id/reserve", anyone, s.page(s.showReserve))
	r.POST("/products/:id/reserve", anyone, s.page(s.reserveForm))
	r.POST("/products/:id/waitlist", anyone, s.page(s.joinWaitlist))
	r.GET("/account/reservations", anyone, s.page(s.showMyReservations))
	r.GET("/account/reservations/:id", anyone, s.page(s.showMyReservation))
	r.POST("/account/reservations/:id/cancel", anyone, s.page(s.cancelMyReservation))
	r.POST("/account/waitlist/:id/accept", anyone, s.page(s.acceptOfferPage))
	r.POST("/account/waitlist/:id/leave", anyone, s.page(s.leaveWaitlistPage))
	r.POST("/account/preferences", anyone, s.page(s.savePreferences))

	// The operator console and the operator API. Who may call what: inventory (listings, stations, units, labels) takes an
	// operator admin's or the platform's session, or an operator's API token with
	// inventory:read for reads and inventory:write for writes. People (staff,
	// tokens) and the audit log take a session only. Tenancy is the services'
	// business: each call passes the caller's scope, and another operator's
	// records are 404. Money
	// rules and reports (settings, waivers, losses) take a session too; only an
	// operator admin approves waivers or sets the limit.
	read := s.requireRole(accounts.ScopeInventoryRead, accounts.OperatorAdmin, accounts.PlatformAdmin)
	write := s.requireRole(accounts.ScopeInventoryWrite, accounts.OperatorAdmin, accounts.PlatformAdmin)
	admin := s.requireRole("", accounts.OperatorAdmin, accounts.PlatformAdmin)

	op := v1.Group("/operator")
	op.GET("/products", read, s.api(s.listOpProducts))
	op.POST("/products", write, s.api(s.createOpProduct))
	op.GET("/products/:id", read, s.api(s.showOpProduct))
	op.PATCH("/products/:id", write, s.api(s.patchOpProduct))
	op.DELETE("/products/:id", write, s.api(s.deleteOpProduct))
	op.POST("/products/:id/photos", write, s.api(s.uploadProductPhoto))
	op.PUT("/products/:id/photos/order", write, s.api(s.reorderProductPhotos))
	op.PATCH("/products/:id/photos/:key", write, s.api(s.setProductPhotoAlt))
	op.DELETE("/products/:id/photos/:key", write, s.api(s.deleteProductPhoto))
	op.GET("/stations", read, s.api(s.listOpStations))
	op.POST("/stations", write, s.api(s.createOpStation))
	op.GET("/stations/:id", read, s.api(s.showOpStation))
	op.GET("/stations/:id/messages", admin, s.api(s.listOpStationMessagesAPI))
	op.PATCH("/stations/:id", write, s.api(s.patchOpStation))
	op.DELETE("/stations/:id", write, s.api(s.deleteOpStation))
	op.GET("/stations/:id/slots", read, s.api(s.showSlotSettingsAPI))
	op.PUT("/stations/:id/slots", write, s.api(s.putSlotSettingsAPI))
	op.GET("/stations/:id/delivery", read, s.api(s.showSlotSettingsAPI))
	op.PUT("/stations/:id/delivery", write, s.api(s.putDeliverySettingsAPI))
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
	// Subsidy statements: the operator's own admin only (the platform reads
	// them under /api/v1/admin/statements).
	opAdmin := s.requireRole("", accounts.OperatorAdmin)
	op.GET("/statements", opAdmin, s.api(s.listOpStatementsAPI))
	op.GET("/statements/:month", opAdmin, s.api(s.showOpStatementAPI))
	op.GET("/statements/:month/csv", opAdmin, s.api(s.exportOpStatement("csv")))
	op.GET("/statements/:month/pdf", opAdmin, s.api(s.exportOpStatement("pdf")))
	op.POST("/statements/:month/submit", opAdmin, s.api(s.submitOpStatementAPI))
	// Dashboards: the operator's own admin, its own stations.
	op.GET("/reports/:dashboard", opAdmin, s.api(s.dashboardAPI(false, "json")))
	op.GET("/reports/:dashboard/csv", opAdmin, s.api(s.dashboardAPI(false, "csv")))
	// Online payment (Stripe): the operator's own admin only; the platform
	// sees every operator's account under /api/v1/admin/payments.
	op.GET("/payments/account", opAdmin, s.api(s.showPayAccountAPI))
	op.POST("/payments/account", opAdmin, s.api(s.createPayAccountAPI))
	op.POST("/payments/account/link", opAdmin, s.api(s.createPayLinkAPI))
	op.GET("/payments", opAdmin, s.api(s.listPaymentsAPI))
	op.GET("/payments/queue", opAdmin, s.api(s.listPayQueueAPI))

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
	con.GET("/stations/:id/messages", s.page(s.showOpStationMessages))
	con.GET("/stations/:id/reservations", s.page(s.showOpReservations))
	con.POST("/stations/:id/reservations", s.page(s.saveOpReservations))
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
	// Subsidy statements, as their API: the operator's own admin only.
	con.GET("/statements", opAdmin, s.page(s.showOpStatements))
	con.GET("/statements/:month", opAdmin, s.page(s.showOpStatement))
	con.POST("/statements/:month/submit", opAdmin, s.page(s.submitOpStatementPage))
	con.GET("/reports", opAdmin, s.page(s.showOpDashboards))
	// Online payment, as its API: the operator's own admin only.
	con.GET("/payments", opAdmin, s.page(s.showOpPayments))
	con.POST("/payments/connect", opAdmin, s.page(s.connectOpPayments))
	con.POST("/payments/refresh", opAdmin, s.page(s.refreshOpPayments))
	con.GET("/payments/return", opAdmin, s.page(s.returnOpPayments))
	con.POST("/payments/queue/:id/acknowledge", opAdmin, s.page(s.acknowledgeOpPayQueue))

	// The platform admin console and the admin API. Only a platform admin's
	// session gets through: API tokens belong to operators and never reach
	// these routes.
	platform := s.requireRole("", accounts.PlatformAdmin)

	admAPI := v1.Group("/admin", platform)
	admAPI.GET("/operators", s.api(s.listOperatorsAPI))
	admAPI.POST("/operators", s.api(s.createOperatorAPI))
	admAPI.GET("/operators/:id", s.api(s.showOperatorAPI))
	admAPI.PATCH("/operators/:id", s.api(s.updateOperatorAPI))
	admAPI.GET("/users", s.api(s.listUsersAPI))
	admAPI.POST("/users", s.api(s.createUserAPI))
	admAPI.GET("/users/:id", s.api(s.showUserAPI))
	admAPI.PATCH("/users/:id", s.api(s.updateUserAPI))
	admAPI.POST("/users/:id/reset-password", s.api(s.resetPasswordAPI))
	admAPI.GET("/tier-policy", s.api(s.showPolicyAPI))
	admAPI.PUT("/tier-policy", s.api(s.putPolicyAPI))
	admAPI.GET("/tier-policy/versions/:n", s.api(s.showPolicyVersionAPI))
	admAPI.GET("/audit", s.api(s.listAuditAPI))
	admAPI.GET("/statements", s.api(s.listAdminStatementsAPI))
	admAPI.GET("/statements/:operator/:month", s.api(s.showAdminStatementAPI))
	admAPI.GET("/statements/:operator/:month/csv", s.api(s.exportAdminStatement("csv")))
	admAPI.GET("/statements/:operator/:month/pdf", s.api(s.exportAdminStatement("pdf")))
	admAPI.POST("/statements/:operator/:month/approve", s.api(s.decideStatementAPI(reports.Approved)))
	admAPI.POST("/statements/:operator/:month/return", s.api(s.decideStatementAPI(reports.Returned)))
	admAPI.POST("/statements/:operator/:month/paid", s.api(s.decideStatementAPI(reports.Paid)))
	admAPI.GET("/reports/:dashboard", s.api(s.dashboardAPI(true, "json")))
	admAPI.GET("/reports/:dashboard/csv", s.api(s.dashboardAPI(true, "csv")))
	admAPI.GET("/payments/accounts", s.api(s.listPayAccountsAPI))

	admPages := r.Group("/admin", platform)
	admPages.GET("", s.page(s.showAdminHome))
	admPages.GET("/operators", s.page(s.showAdminOperators))
	admPages.POST("/operators", s.page(s.createAdminOperator))
	admPages.GET("/operators/:id", s.page(s.showAdminOperator))
	admPages.POST("/operators/:id", s.page(s.updateAdminOperator))
	admPages.GET("/operators/:id/status", s.page(s.confirmOperatorStatus))
	admPages.POST("/operators/:id/status", s.page(s.setAdminOperatorStatus))
	admPages.GET("/users", s.page(s.showAdminUsers))
	admPages.GET("/users/new", s.page(s.showNewAdminUser))
	admPages.POST("/users", s.page(s.createAdminUser))
	admPages.GET("/users/:id", s.page(s.showAdminUser))
	admPages.POST("/users/:id", s.page(s.updateAdminUser))
	admPages.POST("/users/:id/status", s.page(s.setAdminUserStatus))
	admPages.POST("/users/:id/reset-password", s.page(s.resetAdminUserPassword))
	admPages.GET("/tier-policy", s.page(s.showPolicyEditor))
	admPages.POST("/tier-policy", s.page(s.savePolicy))
	admPages.GET("/tier-policy/versions/:n", s.page(s.showPolicyVersion))
	admPages.GET("/audit", s.page(s.showAdminAudit))
	admPages.GET("/statements", s.page(s.showAdminStatements))
	admPages.GET("/statements/:operator/:month", s.page(s.showAdminStatement))
	admPages.POST("/statements/:operator/:month/approve", s.page(s.decideStatementPage(reports.Approved)))
	admPages.POST("/statements/:operator/:month/return", s.page(s.decideStatementPage(reports.Returned)))
	admPages.POST("/statements/:operator/:month/paid", s.page(s.decideStatementPage(reports.Paid)))
	admPages.GET("/reports", s.page(s.showAdminDashboards))
	admPages.GET("/payments", s.page(s.showAdminPayments))

	// The station desk: its JSON API and its pages.
	desk := s.requireRole(accounts.ScopeDesk, deskRoles...)
	deskAPI := v1.Group("/staff", desk)
	deskAPI.POST("/renters", s.api(s.registerRenterAPI))
	deskAPI.POST("/renters/search", s.api(s.searchRentersAPI))
	deskAPI.GET("/renters/:id", s.api(s.showRenterAPI))
	deskAPI.POST("/renters/:id/tier", s.api(s.verifyTierAPI))
	deskAPI.POST("/renters/:id/link", s.api(s.linkAccountAPI))
	deskAPI.GET("/quote", s.api(s.staffQuoteAPI))
	deskAPI.POST("/checkouts", s.api(s.checkoutAPI))
	deskAPI.POST("/checkins", s.api(s.checkinAPI))
	deskAPI.POST("/checkins/preview", s.api(s.previewCheckinAPI))
	deskAPI.GET("/units/:tag", s.api(s.showUnitAPI))
	deskAPI.POST("/units/:tag/:action", s.api(s.unitActionAPI))
	deskAPI.GET("/leases/:id", s.api(s.showLeaseAPI))
	deskAPI.POST("/leases/:id/extend", s.api(s.extendLeaseAPI))
	deskAPI.POST("/leases/:id/lost", s.api(s.lostLeaseAPI))
	deskAPI.POST("/leases/:id/settle", s.api(s.settleLeaseAPI))
	deskAPI.POST("/leases/:id/waivers", s.api(s.waiveAPI))
	deskAPI.GET("/leases/:id/waivers", s.api(s.leaseWaiversAPI))
	deskAPI.POST("/leases/:id/refund", s.api(s.refundLeaseAPI))
	deskAPI.POST("/found", s.api(s.foundAPI))
	deskAPI.GET("/queues", s.api(s.queuesAPI))
	deskAPI.GET("/messages", s.api(s.listStaffMessagesAPI))
	deskAPI.GET("/pickups", s.api(s.listPickupsAPI))
	deskAPI.GET("/deliveries", s.api(s.listDeliveryRunsAPI))
	deskAPI.GET("/waitlist", s.api(s.listStationWaitlistAPI))
	deskAPI.GET("/reservations/:id", s.api(s.showStaffReservationAPI))
	deskAPI.POST("/reservations/:id/fulfil", s.api(s.fulfilReservationAPI))
	deskAPI.POST("/reservations/:id/substitute", s.api(s.substituteUnitAPI))
	deskAPI.POST("/reservations/:id/cancel", s.api(s.cancelStaffReservationAPI))
	deskAPI.GET("/reservation-codes/:code", s.api(s.showReservationByCodeAPI))
	deskAPI.GET("/renters/:id/no-show-block", s.api(s.showNoShowBlockAPI))
	deskAPI.POST("/renters/:id/no-show-block/lift", s.api(s.liftNoShowBlockAPI))

	// The pages are for people at a desk: sessions only. A desk token
	// works the JSON API, which has no route showing a full ID number.
	deskPages := r.Group("/staff", s.requireRole("", deskRoles...))
	deskPages.GET("", s.page(s.showStaffHome))
	deskPages.GET("/scan", s.page(s.scan))
	deskPages.GET("/messages", s.page(s.showStaffMessages))
	deskPages.GET("/pickups", s.page(s.showPickups))
	deskPages.GET("/pickups/find", s.page(s.findPickup))
	deskPages.GET("/deliveries", s.page(s.showDeliveries))
	deskPages.GET("/reservations/:id", s.page(s.showStaffReservation))
	deskPages.POST("/reservations/:id/fulfil", s.page(s.fulfilReservation))
	deskPages.POST("/reservations/:id/substitute", s.page(s.substituteReservation))
	deskPages.POST("/reservations/:id/cancel", s.page(s.cancelReservationStaff))
	deskPages.GET("/units/:tag", s.page(s.showStaffUnit))
	deskPages.POST("/units/:tag/:action", s.page(s.unitActionPage))
	deskPages.GET("/checkout", s.page(s.showCheckout))
	deskPages.POST("/checkout", s.page(s.checkout))
	deskPages.POST("/checkout/find", s.page(s.findCheckoutRenter))
	deskPages.POST("/checkout/quote", s.page(s.requoteCheckout))
	deskPages.POST("/checkout/tier", s.page(s.verifyTierAtCheckout))
	deskPages.GET("/checkin", s.page(s.showCheckin))
	deskPages.POST("/checkin", s.page(s.checkin))
	deskPages.GET("/found", s.page(s.showFound))
	deskPages.POST("/found", s.page(s.foundForm))
	deskPages.GET("/leases/:id", s.page(s.showLease))
	deskPages.GET("/leases/:id/receipt", s.page(s.showReceipt))
	deskPages.POST("/leases/:id/waive", s.page(s.waiveLeasePage))
	deskPages.POST("/leases/:id/refund", s.page(s.refundLeasePage))
	deskPages.POST("/leases/:id/:action", s.page(s.leaseActionPage))
	deskPages.GET("/renters", s.page(s.showRenters))
	deskPages.POST("/renters", s.page(s.registerRenterPage))
	deskPages.POST("/renters/find", s.page(s.findRenter))
	deskPages.GET("/renters/:id", s.page(s.showRenter))
	deskPages.POST("/renters/:id/reveal", s.page(s.revealRenter))
	deskPages.POST("/renters/:id/tier", s.page(s.verifyTierPage))
	deskPages.POST("/renters/:id/link", s.page(s.linkAccountPage))
}

func (s *Server) healthz(c *gin.Context) {
	c.JSON(http.StatusOK, gin.H{"status": "ok", "version": s.cfg.Version, "uptime_s": int(time.Since(s.started).Seconds())})
}

func (s *Server) readyz(c *gin.Context) {
	if s.stopping.Load() {
		c.JSON(http.StatusServiceUnavailable, gin.H{"status": "stopping"})
		return
	}
	ctx, cancel := context.WithTimeout(c.Request.Context(), 2*time.Second)
	defer cancel()
	if err := s.cfg.DB.Ping(ctx); err != nil {
		s.logger.Warn("readiness check failed", "err", err)
		c.JSON(http.StatusServiceUnavailable, gin.H{"status": "database unreachable"})
		return
	}
	c.JSON(http.StatusOK, gin.H{"status": "ready"})
}
