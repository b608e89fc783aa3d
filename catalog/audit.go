package catalog

import (
	"context"
	"fuju/internal/tenancy"

	"fuju/internal/audit"
)

// recorder writes the audit log (the accounts store satisfies it through the
// wiring). Every change of a product writes one entry through it, after the
// change succeeded. Nothing of a product is about a person, so every changed
// field is recorded with its values.
type recorder interface {
	Record(ctx context.Context, e audit.Entry) error
}

// productActions name, in the audit log, each kind of product event.
var productActions = map[string]string{
	"created":          "product.create",
	"updated":          "product.update",
	"photo_added":      "product.photo_add",
	"photos_reordered": "product.photo_order",
	"photo_alt":        "product.photo_alt",
	"photo_removed":    "product.photo_remove",
}

// auditProduct records the change of a product from before (nil when
// created) to after, made as an event of kind.
func (s *Service) auditProduct(ctx context.Context, by tenancy.Actor, kind string, before *Product, after Product) {
	action, ok := productActions[kind]
	if kind == "status" {
		action, ok = "product.show", true
		if after.Status == Hidden {
			action = "product.hide"
		}
	}
	if !ok {
		action = "product." + kind
	}
	var b any
	if before != nil {
		b = *before
	}
	audit.Write(ctx, s.auditLog, s.logger, audit.Entry{Actor: tenancy.AuditActor(by), OperatorID: after.OperatorID,
		Action: action, Target: "product/" + after.ID, Changes: audit.Diff(b, after)})
}
