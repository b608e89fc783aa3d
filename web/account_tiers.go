package web

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"

	"github.com/gin-gonic/gin"

	"fuju/internal/valid"
	"fuju/media"
	"fuju/rentals"
)

// A family's renter profiles and tier applications (rentals/tierapply*.go):
// the account's pages under /account/tiers and the API under /api/v1/me.

// maxApplicationBody bounds a tier application's upload: three photos at
// the media limit plus room for the fields. limitBody lets this route's
// multipart bodies reach it, so a photo that is too large is answered by
// its field ("photos") rather than by the body's size.
const maxApplicationBody = rentals.MaxApplicationPhotos*rentals.MaxApplicationPhotoBytes + 1<<20

// applicationUpload reports whether path takes a tier application's photos.
func applicationUpload(path string) bool {
	return path == "/api/v1/me/tier-applications" || path == "/account/tiers/apply"
}

// readApplication reads a tier application from a multipart form with the
// photos in "photos" (one part each). Parts are read one by one, each capped
// at the photo limit plus one byte, so 50 photos or a 30 MB photo are
// answered without reading them whole.
func readApplication(c *gin.Context) (rentals.NewTierApplication, [][]byte, error) {
	mt, params, _ := mime.ParseMediaType(c.GetHeader("Content-Type"))
	if mt != "multipart/form-data" {
		return rentals.NewTierApplication{}, nil, fmt.Errorf("web: tier application: %w", &media.InputError{Field: "photos", Err: media.ErrUnsupportedType,
			Code: "unsupported_media_type", Reason: "send the application as multipart/form-data, with the photos of the proof in the field \"photos\"."})
	}
	vals := url.Values{}
	var photos [][]byte
	if mf := c.Request.MultipartForm; mf != nil {
		// A page's form, parsed already by the CSRF check.
		for k, v := range mf.Value {
			vals[k] = v
		}
		files := mf.File["photos"]
		if len(files) > rentals.MaxApplicationPhotos {
			return rentals.NewTierApplication{}, nil, fmt.Errorf("web: %w", valid.Field("photos", "max_photos", fmt.Sprintf("at most %d photos", rentals.MaxApplicationPhotos), "max", rentals.MaxApplicationPhotos))
		}
		for _, fh := range files {
			if fh.Size > rentals.MaxApplicationPhotoBytes {
				return rentals.NewTierApplication{}, nil, photoTooLarge()
			}
			f, err := fh.Open()
			if err != nil {
				return rentals.NewTierApplication{}, nil, uploadReadError(err)
			}
			b, err := io.ReadAll(f)
			f.Close()
			if err != nil {
				return rentals.NewTierApplication{}, nil, uploadReadError(err)
			}
			if len(b) > 0 {
				photos = append(photos, b)
			}
		}
		return applicationOf(vals), photos, nil
	}
	mr := multipart.NewReader(c.Request.Body, params["boundary"])
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return rentals.NewTierApplication{}, nil, uploadReadError(err)
		}
		name := part.FormName()
		if name == "photos" {
			if len(photos) == rentals.MaxApplicationPhotos {
				// A fourth photo: refused without reading it.
				return rentals.NewTierApplication{}, nil, fmt.Errorf("web: %w", valid.Field("photos", "max_photos", fmt.Sprintf("at most %d photos", rentals.MaxApplicationPhotos), "max", rentals.MaxApplicationPhotos))
			}
			b, err := io.ReadAll(io.LimitReader(part, rentals.MaxApplicationPhotoBytes+1))
			if err != nil {
				return rentals.NewTierApplication{}, nil, uploadReadError(err)
			}
			if len(b) > rentals.MaxApplicationPhotoBytes {
				return rentals.NewTierApplication{}, nil, photoTooLarge()
			}
			if len(b) > 0 {
				photos = append(photos, b)
			}
			continue
		}
		b, err := io.ReadAll(io.LimitReader(part, 4<<10))
		if err != nil {
			return rentals.NewTierApplication{}, nil, uploadReadError(err)
		}
		vals.Add(name, string(b))
	}
	return applicationOf(vals), photos, nil
}

func applicationOf(vals url.Values) rentals.NewTierApplication {
	normalizeValues(vals)
	return rentals.NewTierApplication{RenterID: vals.Get("renter_id"), Tier: rentals.Tier(vals.Get("tier")),
		ProofType: vals.Get("proof_type"), ProofNumber: vals.Get("proof_number"), ExpiresOn: vals.Get("expires_on")}
}

func photoTooLarge() error {
	return fmt.Errorf("web: %w", &media.InputError{Field: "photos", Err: media.ErrTooLarge, Code: "photo_too_large",
		Params: map[string]any{"max_mb": rentals.MaxApplicationPhotoBytes >> 20},
		Reason: fmt.Sprintf("each photo must be at most %d MB.", rentals.MaxApplicationPhotoBytes>>20)})
}

// JSON API.

type familyRenterRequest struct {
	Name          string `json:"name" binding:"required,limit=person_name"`
	Phone         string `json:"phone" binding:"limit=phone"`
	IDNumber      string `json:"id_number" binding:"required,limit=id_number"`
	MobilityNeeds string `json:"mobility_needs" binding:"limit=needs"`
	HomeStationID string `json:"home_station_id" binding:"required,limit=id"`
	Relation      string `json:"relation" binding:"limit=id"`
}

func (r familyRenterRequest) renter() rentals.FamilyRenter {
	return rentals.FamilyRenter{Name: r.Name, Phone: r.Phone, IDNumber: r.IDNumber, MobilityNeeds: r.MobilityNeeds,
		HomeStationID: r.HomeStationID, Relation: rentals.Relation(r.Relation)}
}

func (s *Server) listMyRentersAPI(c *gin.Context) error {
	me, _ := userOf(c)
	rs, err := s.rentals.LinkedRenters(c.Request.Context(), me.ID)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, whole(rs))
	return nil
}

func (s *Server) createMyRenterAPI(c *gin.Context) error {
	me, _ := userOf(c)
	var req familyRenterRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	r, err := s.rentals.CreateFamilyRenter(c.Request.Context(), me.ID, me.Phone, req.renter(), actorOf(c))
	if err != nil {
		return err
	}
	c.JSON(http.StatusCreated, r)
	return nil
}

func (s *Server) listMyApplicationsAPI(c *gin.Context) error {
	me, _ := userOf(c)
	apps, err := s.rentals.TierApplications(c.Request.Context(), me.ID)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, whole(apps))
	return nil
}

func (s *Server) submitApplication(c *gin.Context) (rentals.TierApplication, error) {
	me, _ := userOf(c)
	in, photos, err := readApplication(c)
	if err != nil {
		return rentals.TierApplication{}, err
	}
	a, err := s.rentals.SubmitTierApplication(c.Request.Context(), me.ID, in, photos, actorOf(c))
	return a, asFieldError("photos", err)
}

func (s *Server) createMyApplicationAPI(c *gin.Context) error {
	a, err := s.submitApplication(c)
	if err != nil {
		return err
	}
	c.JSON(http.StatusCreated, a)
	return nil
}

func (s *Server) withdrawMyApplicationAPI(c *gin.Context) error {
	me, _ := userOf(c)
	a, err := s.rentals.WithdrawTierApplication(c.Request.Context(), me.ID, c.Param("id"), actorOf(c))
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, a)
	return nil
}

// Pages.

type stationOption struct{ ID, Label string }

type accountTiersPage struct {
	base
	Family       []rentals.LinkedRenter
	Applications []rentals.TierApplication
	Stations     []stationOption
	Relations    []rentals.Relation
	Tiers        []rentals.Tier
	ProofTypes   []string
	// Person is the new-person form, Apply the application form.
	Person, Apply form
}

func (s *Server) accountTiersPage(c *gin.Context) (accountTiersPage, error) {
	p := accountTiersPage{base: s.base(c, "tiers.title", "account"), Relations: rentals.Relations,
		Tiers: rentals.VerifiedTiers, ProofTypes: rentals.ProofTypes}
	me, _ := userOf(c)
	ctx := c.Request.Context()
	var err error
	if p.Family, err = s.rentals.LinkedRenters(ctx, me.ID); err != nil {
		return p, err
	}
	if p.Applications, err = s.rentals.TierApplications(ctx, me.ID); err != nil {
		return p, err
	}
	sts, err := s.stations.Stations(ctx, "")
	if err != nil {
		return p, err
	}
	for _, st := range sts {
		if !st.Active {
			continue
		}
		label := st.Name.Zh
		if p.Lang == "en" && st.Name.En != "" {
			label = st.Name.En
		}
		p.Stations = append(p.Stations, stationOption{ID: st.ID, Label: label})
	}
	return p, nil
}

// RenterName names a linked renter for the family: "you" or the relation,
// and the masked name.
func (p *accountTiersPage) RenterName(id string) string {
	for _, r := range p.Family {
		if r.ID == id {
			if r.Relation == rentals.RelationSelf {
				return p.T("relation.you") + " · " + r.MaskedName
			}
			if r.Relation != rentals.RelationFamily {
				return p.T("relation."+string(r.Relation)) + " · " + r.MaskedName
			}
			return r.MaskedName
		}
	}
	return ""
}

func (s *Server) showAccountTiers(c *gin.Context) error {
	p, err := s.accountTiersPage(c)
	if err != nil {
		return err
	}
	return s.render(c, http.StatusOK, "account_tiers", &p)
}

func (s *Server) createAccountRenter(c *gin.Context) error {
	me, _ := userOf(c)
	f := newForm(c)
	_, err := s.rentals.CreateFamilyRenter(c.Request.Context(), me.ID, me.Phone, rentals.FamilyRenter{Name: f.Get("name"),
		Phone: f.Get("phone"), IDNumber: f.Get("id_number"), MobilityNeeds: f.Get("mobility_needs"),
		HomeStationID: f.Get("home_station_id"), Relation: rentals.Relation(f.Get("relation"))}, actorOf(c))
	if err != nil {
		p, perr := s.accountTiersPage(c)
		if perr != nil {
			return perr
		}
		p.Person = f
		if p.Person.fail(err, "name", "phone", "id_number", "home_station_id", "relation", "mobility_needs") {
			status, _ := statusOf(err)
			return s.render(c, status, "account_tiers", &p)
		}
		return err
	}
	s.flash(c, "flash.tiers.person")
	c.Redirect(http.StatusSeeOther, "/account/tiers#apply-h") // on to the application
	return nil
}

func (s *Server) applyForTier(c *gin.Context) error {
	_, err := s.submitApplication(c)
	if err != nil {
		p, perr := s.accountTiersPage(c)
		if perr != nil {
			return perr
		}
		p.Apply = form{Values: url.Values{}}
		if mf := c.Request.MultipartForm; mf != nil {
			p.Apply.Values = mf.Value
		}
		if p.Apply.fail(err, "renter_id", "tier", "proof_type", "proof_number", "expires_on", "photos") {
			status, _ := statusOf(err)
			return s.render(c, status, "account_tiers", &p)
		}
		return err
	}
	s.flash(c, "flash.tiers.applied")
	c.Redirect(http.StatusSeeOther, "/account/tiers#apps-h")
	return nil
}

func (s *Server) withdrawApplication(c *gin.Context) error {
	me, _ := userOf(c)
	if _, err := s.rentals.WithdrawTierApplication(c.Request.Context(), me.ID, c.Param("id"), actorOf(c)); err != nil {
		return err
	}
	s.flash(c, "flash.tiers.withdrawn")
	c.Redirect(http.StatusSeeOther, "/account/tiers")
	return nil
}
