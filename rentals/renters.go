package rentals

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"fuju/internal/input"
	"fuju/internal/l10n"
	"fuju/internal/tenancy"
	"fuju/internal/valid"
)

// Renter is a person who rents devices: usually an elder, registered at a
// station desk (or online) once for the whole city. The ID number is never
// returned in clear by reads: IDMasked shows its first and last four
// characters, and RevealIDNumber (logged) shows it to the home station.
type Renter struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	Phone string `json:"phone"`
	// IDNumber is input only (registration); reads leave it empty.
	IDNumber string `json:"id_number,omitempty"`
	// IDMasked is the ID number as staff may see it, e.g. 4101**********1234
	// (a desk view shows only the last four).
	IDMasked         string  `json:"id_number_masked"`
	Address          string  `json:"address,omitempty"`
	Age              int     `json:"age,omitempty"`
	MobilityNeeds    string  `json:"mobility_needs,omitempty"`
	EmergencyContact Contact `json:"emergency_contact"`
	// UserID links an online account (LinkUser).
	UserID         string `json:"user_id,omitempty"`
	HomeStationID  string `json:"home_station_id"`
	HomeOperatorID string `json:"home_operator_id"`
	// TierStatus is the verified income tier; its proof details are left
	// out of the desk view.
	TierStatus TierStatus    `json:"tier"`
	CreatedAt  time.Time     `json:"created_at"`
	CreatedBy  tenancy.Actor `json:"created_by"`
	Seq        int64         `json:"seq"`
	// View says how much of the renter the caller sees: "full" (the home
	// station, its operator, the platform) or "desk" (another operator's desk
	// that found the renter by exact phone number: no address, no proof
	// details, only the last four characters of the ID number).
	View string `json:"view"`
}

// Renter views.
const (
	ViewFull = "full"
	ViewDesk = "desk"
)

// Contact is someone to call.
type Contact struct {
	Name  string `json:"name" bson:"name"`
	Phone string `json:"phone" bson:"phone"`
}

// TierStatus is a renter's verified tier, as the latest proof says.
type TierStatus struct {
	// Tier is the verified tier; empty when none was ever verified or it was
	// revoked (the renter is then standard).
	Tier      Tier   `json:"tier,omitempty" bson:"tier,omitempty"`
	ExpiresOn string `json:"expires_on,omitempty" bson:"expires_on,omitempty"`
	// Proof is the document staff saw; nil in the desk view.
	Proof      *TierProof    `json:"proof,omitempty" bson:"proof,omitempty"`
	VerifiedAt time.Time     `json:"verified_at,omitempty" bson:"verified_at,omitempty"`
	VerifiedBy tenancy.Actor `json:"verified_by" bson:"verified_by"`
	// VerifiedOperatorID is the operator whose desk checked the proof.
	VerifiedOperatorID string `json:"verified_operator_id,omitempty" bson:"verified_operator_id,omitempty"`
}

// Proof types staff accept.
const (
	ProofDibaoCard            = "dibao_card"             // 低保证
	ProofTekunCard            = "tekun_card"             // 特困供养证
	ProofLowIncomeCertificate = "low_income_certificate" // 低收入家庭认定证明
	ProofDisabilityCard       = "disability_card"        // 残疾证
	ProofOther                = "other"
)

// VerifiedTiers are the tiers staff verify with a proof; everyone else pays
// the standard price, which needs none.
var VerifiedTiers = []Tier{Subsistence, LowIncome}

// ProofTypes lists the accepted proof types.
var ProofTypes = []string{ProofDibaoCard, ProofTekunCard, ProofLowIncomeCertificate, ProofDisabilityCard, ProofOther}

// TierProof is the document behind a tier: staff saw it at the desk and the
// photo is in private media storage.
type TierProof struct {
	Tier        Tier   `json:"tier" bson:"tier"`
	ProofType   string `json:"proof_type" bson:"proof_type"`
	ProofNumber string `json:"proof_number" bson:"proof_number"`
	// ProofPhotoKey is the private media key of the photo; it is revealed
	// only through ProofPhotoKey, which logs the access.
	ProofPhotoKey string `json:"proof_photo_key,omitempty" bson:"proof_photo_key"`
	// ExpiresOn is the last day the tier counts (YYYY-MM-DD, city time).
	ExpiresOn string `json:"expires_on" bson:"expires_on"`
	Note      string `json:"note,omitempty" bson:"note,omitempty"`
}

// MaxProofYears is how far ahead a proof's expiry may be.
const MaxProofYears = 3

var (
	mobileRe   = regexp.MustCompile(`^1[3-9]\d{9}$`)
	anyPhoneRe = regexp.MustCompile(`^(1[3-9]\d{9}|0\d{2,3}-?\d{7,8})$`)
	mediaKeyRe = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]*(/[a-z0-9][a-z0-9._-]*)*$`)
)

// ValidMobile reports whether phone is a mainland mobile number (11 digits
// starting 13–19).
func ValidMobile(phone string) bool { return mobileRe.MatchString(phone) }

// NormalizePhone reads a phone number as people type it (full-width digits,
// spaces and dashes between digit groups, a leading +86).
func NormalizePhone(phone string) string { return input.Normalize(input.Phone, phone) }

// idWeights and idCheck are GB 11643-1999's checksum for 18-character
// resident ID numbers.
var (
	idWeights = [17]int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}
	idCheck   = "10X98765432"
)

// ValidIDNumber reports whether id is an 18-character resident ID number
// with a valid birth date and check character (upper-case X).
func ValidIDNumber(id string) bool {
	if len(id) != 18 {
		return false
	}
	sum := 0
	for i := 0; i < 17; i++ {
		c := id[i]
		if c < '0' || c > '9' {
			return false
		}
		sum += int(c-'0') * idWeights[i]
	}
	if id[17] != idCheck[sum%11] {
		return false
	}
	birth, err := time.Parse("20060102", id[6:14])
	return err == nil && birth.Year() >= 1900 && birth.Before(time.Now())
}

// NormalizeIDNumber reads an ID number as people type it (full-width, with
// spaces or dashes, a lower-case x).
func NormalizeIDNumber(id string) string { return input.Normalize(input.IDNumber, id) }

// MaskIDNumber shows the first and last four characters only.
func MaskIDNumber(id string) string {
	if len(id) < 8 {
		return strings.Repeat("*", len(id))
	}
	return id[:4] + strings.Repeat("*", len(id)-8) + id[len(id)-4:]
}

// Masked returns the ID number as staff may see it.
func (r Renter) Masked() string {
	if r.IDNumber != "" {
		return MaskIDNumber(r.IDNumber)
	}
	return r.IDMasked
}

// EffectiveTier returns the tier that prices a lease starting on day (city
// date): the verified tier until its expiry date inclusive, standard
// otherwise.
func (r Renter) EffectiveTier(day time.Time) Tier {
	return r.TierStatus.On(day)
}

// On returns the tier in force on day.
func (ts TierStatus) On(day time.Time) Tier {
	if ts.Tier == "" || ts.Tier == Standard || ts.ExpiresOn == "" {
		return Standard
	}
	if Date(day) > ts.ExpiresOn {
		return Standard
	}
	return ts.Tier
}

// Date returns t's calendar day in the city as YYYY-MM-DD (which sorts).
func Date(t time.Time) string { return t.In(l10n.Local).Format(time.DateOnly) }

// parseDate reads a YYYY-MM-DD city date as midnight in the city.
func parseDate(s string) (time.Time, error) {
	return time.ParseInLocation(time.DateOnly, s, l10n.Local)
}

// daysBetween returns to − from in calendar days (both YYYY-MM-DD).
func daysBetween(from, to string) int {
	a, err1 := parseDate(from)
	b, err2 := parseDate(to)
	if err1 != nil || err2 != nil {
		return 0
	}
	// Noon avoids any question of the day's length; the city has no DST.
	return int(b.Add(12*time.Hour).Sub(a.Add(12*time.Hour)).Hours() / 24)
}

func textLen(s string) int { return utf8.RuneCountInString(s) }

// validate checks a renter being registered.
func (r Renter) validate() error {
	e := &valid.Error{}
	if n := textLen(strings.TrimSpace(r.Name)); n < 1 || n > valid.MaxPersonName {
		e.Add("name", "length", fmt.Sprintf("must be 1 to %d characters", valid.MaxPersonName), "min", 1, "max", valid.MaxPersonName)
	}
	if !ValidMobile(r.Phone) {
		e.Add("phone", "mobile", "must be a mainland mobile number such as 13812345678")
	}
	if !ValidIDNumber(r.IDNumber) {
		e.Add("id_number", "id_number", "must be an 18-character resident ID number with a valid check character")
	}
	e.Text("address", r.Address, valid.MaxText)
	if r.Age < 0 || r.Age > 130 {
		e.Add("age", "range", "must be between 0 and 130", "min", 0, "max", 130)
	}
	e.Text("mobility_needs", r.MobilityNeeds, valid.MaxNeeds)
	if r.EmergencyContact.Name != "" || r.EmergencyContact.Phone != "" {
		if n := textLen(r.EmergencyContact.Name); n < 1 || n > valid.MaxPersonName {
			e.Add("emergency_contact.name", "length", fmt.Sprintf("must be 1 to %d characters", valid.MaxPersonName), "min", 1, "max", valid.MaxPersonName)
		}
		if !anyPhoneRe.MatchString(r.EmergencyContact.Phone) {
			e.Add("emergency_contact.phone", "phone", "must be a phone number such as 13812345678 or 0391-3561234")
		}
	}
	if r.HomeStationID == "" {
		e.Add("home_station_id", "required", "is required")
	}
	return e.Err()
}

// validate checks a proof against today's date (city time).
// Validate checks a proof as VerifyTier will, so a caller can refuse bad input
// before storing its photo; ProofPhotoKey must be set (to any valid key).
func (p TierProof) Validate(today time.Time) error { return p.validate(today) }

func (p TierProof) validate(today time.Time) error {
	e := &valid.Error{}
	if p.Tier != Subsistence && p.Tier != LowIncome {
		e.Add("tier", "oneof", "must be one of: subsistence, low_income (use revoke to return to standard)")
	}
	okType := false
	for _, t := range ProofTypes {
		okType = okType || p.ProofType == t
	}
	if !okType {
		e.Add("proof_type", "oneof", "must be one of: "+strings.Join(ProofTypes, ", "))
	}
	if n := textLen(strings.TrimSpace(p.ProofNumber)); n < 1 || n > valid.MaxCode {
		e.Add("proof_number", "length", fmt.Sprintf("must be 1 to %d characters", valid.MaxCode), "min", 1, "max", valid.MaxCode)
	}
	if len(p.ProofPhotoKey) == 0 || len(p.ProofPhotoKey) > 512 || !mediaKeyRe.MatchString(p.ProofPhotoKey) || strings.Contains(p.ProofPhotoKey, "..") {
		e.Add("proof_photo_key", "photo_key", "must be the key of an uploaded private photo")
	}
	e.Text("note", p.Note, valid.MaxNote)
	exp, err := parseDate(p.ExpiresOn)
	switch {
	case err != nil:
		e.Add("expires_on", "date", "must be a date like 2027-01-31")
	case p.ExpiresOn <= Date(today):
		e.Add("expires_on", "future", "must be after today")
	case exp.After(today.In(l10n.Local).AddDate(MaxProofYears, 0, 0)):
		e.Add("expires_on", "max_years", fmt.Sprintf("must be at most %d years ahead", MaxProofYears), "max", MaxProofYears)
	}
	return e.Err()
}

// sealer encrypts ID numbers with AES-256-GCM. The renter id is the
// additional data, so a ciphertext copied onto another renter does not open.
type sealer struct{ aead cipher.AEAD }

// sealPrefix names the key generation, so a key can be rotated later.
const sealPrefix = "v1:"

func newSealer(key []byte) (*sealer, error) {
	if len(key) != 32 {
		return nil, fmt.Errorf("rentals: the ID number key must be 32 bytes (AES-256), not %d", len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("rentals: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("rentals: %w", err)
	}
	return &sealer{aead: aead}, nil
}

func (s *sealer) seal(renterID, clear string) string {
	nonce := make([]byte, s.aead.NonceSize())
	_, _ = rand.Read(nonce)
	out := s.aead.Seal(nonce, nonce, []byte(clear), []byte(renterID))
	return sealPrefix + base64.RawStdEncoding.EncodeToString(out)
}

func (s *sealer) open(renterID, sealed string) (string, error) {
	raw, ok := strings.CutPrefix(sealed, sealPrefix)
	if !ok {
		return "", errors.New("rentals: sealed ID number has an unknown key generation")
	}
	b, err := base64.RawStdEncoding.DecodeString(raw)
	if err != nil || len(b) < s.aead.NonceSize() {
		return "", errors.New("rentals: sealed ID number is damaged")
	}
	n := s.aead.NonceSize()
	clear, err := s.aead.Open(nil, b[:n], b[n:], []byte(renterID))
	if err != nil {
		return "", errors.New("rentals: sealed ID number does not open with this key")
	}
	return string(clear), nil
}
