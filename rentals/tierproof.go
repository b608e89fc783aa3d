package rentals

import (
	"context"
	"fmt"

	"fuju/internal/tenancy"
	"fuju/internal/valid"
)

// ProofStore keeps photos of tier proofs privately (media satisfies it):
// SaveProof stores a photo and returns the key a signed URL is made from.
type ProofStore interface {
	SaveProof(ctx context.Context, photo []byte) (key string, err error)
}

// UseProofStore sets where proof photos are kept (cmd wires media).
func (s *Service) UseProofStore(p ProofStore) { s.proofs = p }

// VerifyTierProof is the desk's tier verification with the photo of the
// proof: the caller's standing, the renter and every field of the proof are
// checked first, and only then is the photo stored and the tier recorded, so
// a refused verification stores nothing.
func (s *Service) VerifyTierProof(ctx context.Context, scope tenancy.Scope, renterID string, p TierProof, photo []byte, by tenancy.Actor) (Renter, error) {
	if err := scope.MayChange(tenancy.ChangeOther); err != nil {
		return Renter{}, err
	}
	if _, _, err := s.visibleRenter(ctx, scope, renterID); err != nil {
		return Renter{}, err
	}
	check := p
	if len(photo) > 0 {
		check.ProofPhotoKey = "p/pending.jpg"
	}
	if err := check.Validate(s.now()); err != nil {
		if fields, ok := valid.Fields(err); ok {
			if _, bad := fields["proof_photo_key"]; bad {
				delete(fields, "proof_photo_key")
				fields["proof_photo"] = valid.Problem{Code: "proof_photo", Message: "a photo of the proof is required"}
			}
		}
		return Renter{}, fmt.Errorf("rentals: tier proof: %w", err)
	}
	if s.proofs == nil {
		return Renter{}, fmt.Errorf("rentals: tier proof: no proof store is set")
	}
	key, err := s.proofs.SaveProof(ctx, photo)
	if err != nil {
		return Renter{}, err
	}
	p.ProofPhotoKey = key
	return s.VerifyTier(ctx, scope, renterID, p, by)
}
