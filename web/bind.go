package web

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/gin-gonic/gin/binding"
	"github.com/go-playground/validator/v10"

	"fuju/internal/valid"
)

func init() {
	// Unknown JSON fields are an error (a typo must not be silently
	// ignored), validation errors name fields by their JSON name, and
	// `binding:"limit=note"` holds a field to valid.Limits.
	binding.EnableDecoderDisallowUnknownFields = true
	if v, ok := binding.Validator.Engine().(*validator.Validate); ok {
		v.RegisterTagNameFunc(valid.FieldName)
		valid.RegisterLimit(v)
	}
}

// bindJSON decodes the JSON body into v, normalises its fields by what they
// hold (fieldKinds) and checks its binding tags, turning every failure into a
// field error.
func bindJSON(c *gin.Context, v any) error {
	err := decodeJSON(c, v)
	if err == nil {
		normalizeJSON(v)
		err = binding.Validator.ValidateStruct(v)
	}
	if err == nil {
		return nil
	}
	var verrs validator.ValidationErrors
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &verrs):
		return valid.FromValidator(verrs)
	case errors.As(err, &typ):
		return valid.Field(typ.Field, "type", "must be a "+typ.Type.String())
	case errors.As(err, &syn), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return valid.Field("body", "malformed", "must be a JSON object")
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return valid.Field(name, "unknown", "is not a field of this request")
	}
	return fmt.Errorf("web: %w: %v", errBadRequest, err)
}

// decodeJSON decodes the body as Gin's JSON binding does (unknown fields are
// an error), without validating yet.
func decodeJSON(c *gin.Context, v any) error {
	if c.Request == nil || c.Request.Body == nil {
		return io.EOF
	}
	dec := json.NewDecoder(c.Request.Body)
	if binding.EnableDecoderUseNumber {
		dec.UseNumber()
	}
	if binding.EnableDecoderDisallowUnknownFields {
		dec.DisallowUnknownFields()
	}
	return dec.Decode(v)
}
