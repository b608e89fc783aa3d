package valid

// Codes lists every field problem code a package may produce, with the
// parameters its message uses. The web layer translates code c as "err.c" in
// each language; a test walks the source for every code passed to Add, Field,
// Problem literals and media's refusals, and fails when one is missing here or
// has no message in a language. Parameters named "…_fen" are amounts in fen,
// shown in yuan.
var Codes = map[string][]string{
	// Any field.
	"required":   nil,
	"invalid":    nil,
	"oneof":      nil,
	"unknown":    nil,
	"type":       nil,
	"malformed":  nil,
	"multipart":  nil,
	"integer":    nil,
	"number":     nil,
	"boolean":    nil,
	"min":        {"min"},
	"max":        {"max"},
	"range":      {"min", "max"},
	"min_length": {"min"},
	"max_length": {"max"},
	"length":     {"min", "max"},
	"min_items":  {"min"},
	"max_items":  {"max"},
	"too_large":  {"max_kb"},
	"date":       nil,
	// Subsidy statements.
	"month":        nil,
	"month_open":   nil,
	"stmt_confirm": nil,
	// Dashboards.
	"after_from": nil,
	"range_max":  {"max"},
	"future":     nil,
	"max_years":  {"max"},
	"email":      nil,
	"latitude":   nil,
	"longitude":  nil,
	"not_found":  nil,
	"ambiguous":  {"name"},
	"forbidden":  nil,
	"wrong":      nil,
	"same":       nil,
	"mismatch":   nil,
	"reload":     nil,
	"retry":      nil,

	// What people type: numbers, places, money.
	"mobile":         nil,
	"phone":          nil,
	"phone_or_email": nil,
	"id_number":      nil,
	"tag":            nil,
	"tag_taken":      nil,
	"slug":           nil,
	"yuan":           nil,
	"lat_lng":        nil,
	"city_area":      nil,
	"clock":          nil,
	"requires":       nil,
	"query_short":    {"min"},
	"search_digits":  nil,
	"digits":         {"min", "max"},
	"url":            nil,
	"no_phone":       nil,
	"amount_range":   {"min_fen", "max_fen"},

	// Accounts.
	"taken": nil,
	// Phone codes and online tier applications (docs/tiers.md).
	"expired":                 nil,
	"wrong_code":              {"tries_left"},
	"max_photos":              {"max"},
	"id_registered_family":    {"station"},
	"phone_registered_family": nil,
	"common":                  nil,
	"personal":                nil,
	"self_disable":            nil,
	"own_password":            nil,
	"no_account":              nil,
	// An account the platform admin disabled stays disabled for its operator.
	"platform_disabled": nil,

	// Listings, stations, units.
	"price_required":       nil,
	"block30_max":          {"max_fen"},
	"keyword_length":       {"max"},
	"closes_after_opens":   nil,
	"new_state":            nil,
	"same_station":         nil,
	"incomplete":           nil,
	"labels_which":         nil,
	"no_units":             nil,
	"product_fixed":        {"product"},
	"use_transfer":         {"station"},
	"duplicate_line":       {"line"},
	"csv_empty":            {"columns"},
	"csv_unknown_column":   {"column", "columns"},
	"csv_duplicate_column": {"column"},
	"csv_missing_column":   {"column", "columns"},
	"csv_line":             {"line"},
	"csv_no_rows":          nil,
	"csv_encoding":         nil,

	// The desk: terms, payments, returns, tiers.
	"exclusive":        nil,
	"due_range":        {"max"},
	"max_total_days":   {"max"},
	"damage_outcome":   nil,
	"nothing_due":      {"refund_fen"},
	"refund_method":    {"refund_fen"},
	"pay_method":       nil,
	"waived":           nil,
	"amount_max":       {"max_fen"},
	"amount_positive":  nil,
	"reference":        nil,
	"reference_length": {"max"},
	"total_exact":      {"due_fen", "paid_fen"},
	"total_max":        {"owed_fen", "paid_fen"},
	"photo_key":        nil,
	"proof_photo":      nil,

	// The rental rules' corners: lost devices, waivers, policy dates.
	"no_lease":        nil,
	"owed":            {"owed_fen"},
	"after_scheduled": {"version", "date"},

	// Ids and references that programs (not people) send: the outbox's
	// events and recipients, payments' ledger references.
	"record_id":     nil,
	"record_path":   nil,
	"with_operator": nil,
	"send_window":   nil,
	"full_refund":   nil,
	"short_code":    nil,

	// The platform's consoles.
	"adm_percent": nil,
	"adm_yuan":    nil,
	"adm_taken":   nil,

	// Photos (media's refusals).
	"photo_too_large": {"max_mb"},
	"photo_animated":  nil,
	"photo_heic":      nil,
	"photo_avif":      nil,
	"photo_video":     nil,
	"photo_type":      {"kind"},
	"photo_empty":     nil,
	"photo_damaged":   {"format"},
	"photo_pixels":    {"max_mp"},
	"photo_feature":   {"format"},
}

// Reasons lists every code of a domain refusal (Because) with its
// parameters; the web layer translates code c as "reason.c".
var Reasons = map[string][]string{
	"stale_version":     {"current", "edited"},
	"busy":              nil,
	"changed":           nil,
	"abandoned":         nil,
	"unit_state":        {"tag", "state"},
	"unit_changed":      {"tag"},
	"unit_elsewhere":    {"tag"},
	"unit_not_here":     {"tag"},
	"unit_not_coming":   {"tag"},
	"not_your_station":  nil,
	"lease_state":       {"lease_state"},
	"statement_state":   {"status"},
	"statement_changed": nil,
	"lost_too_early":    {"after"},
	"extend_reserved":   {"due_on"},
	"phone_registered":  nil,
	// Online tier applications (docs/tiers.md).
	"application_pending":   nil,
	"application_approved":  nil,
	"application_rejected":  nil,
	"application_withdrawn": nil,
	"id_registered":         {"station"},
	"account_linked":        nil,
	"no_tier":               nil,
	"nothing_owed":          nil,
	"id_taken":              nil,
	"tag_taken":             {"tag"},
	"token_expired":         {"at"},
	// A suspended operator's people may only take devices back
	// (tenancy.Scope.MayChange).
	"operator_suspended": nil,
}
