package web

import (
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/gin-gonic/gin"

	"fuju/media"
)

// maxWebhookBytes bounds a Stripe webhook's body. Stripe's event payloads
// are a few kilobytes (the object and its previous attributes); a megabyte
// leaves room for the largest while refusing floods.
const maxWebhookBytes = 1 << 20

// receiveStripeWebhook hands Stripe's event to payments as it came: the raw
// body (the signature covers its exact bytes) and the Stripe-Signature
// header. It takes no session and no CSRF token (Stripe has neither; the
// signature is the credential) and is not throttled per IP: Stripe sends
// from a few addresses and retries what fails, and a dropped retry is a
// payment the ledger never hears of. A forged, stale or wrong-version event
// is 400; an error after the event was claimed is 500, so Stripe delivers
// again (payments acknowledges the repeat and the reconciler applies the
// claim). Without STRIPE_SECRET_KEY online payment is off and the route
// answers 404: no endpoint exists to point Stripe at.
func (s *Server) receiveStripeWebhook(c *gin.Context) error {
	if s.payments == nil {
		return fmt.Errorf("web: online payment is off: %w", errNotFound)
	}
	body, err := io.ReadAll(http.MaxBytesReader(c.Writer, c.Request.Body, maxWebhookBytes))
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return fmt.Errorf("web: webhook body over %d bytes: %w", maxWebhookBytes, media.ErrTooLarge)
	}
	if err != nil {
		return fmt.Errorf("web: webhook body: %w", errBadRequest)
	}
	if err := s.payments.HandleWebhook(c.Request.Context(), body, c.GetHeader("Stripe-Signature")); err != nil {
		return err
	}
	c.JSON(http.StatusOK, webhookReceipt{Received: true})
	return nil
}

// webhookReceipt is the answer Stripe gets for an event it may stop sending.
type webhookReceipt struct {
	Received bool `json:"received"`
}
