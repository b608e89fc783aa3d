package web

import (
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"sort"

	"github.com/gin-gonic/gin"
)

// The OpenAPI document is kept in fragments, one per area of the API
// (openapi/*.json), merged at start. TestOpenAPICoversRoutes fails when a route
// is missing from it.
//
//go:embed openapi/*.json
var openAPIFS embed.FS

// buildOpenAPI merges the fragments: the first file (in name order) gives the
// document's header; every file adds paths, schemas, responses and security
// schemes. A path or component defined twice is an error.
func buildOpenAPI() ([]byte, error) {
	files, _ := fs.Glob(openAPIFS, "openapi/*.json")
	sort.Strings(files)
	doc := map[string]any{}
	paths := map[string]any{}
	components := map[string]map[string]any{}
	for _, f := range files {
		b, err := openAPIFS.ReadFile(f)
		if err != nil {
			return nil, err
		}
		var part map[string]any
		if err := json.Unmarshal(b, &part); err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		for k, v := range part {
			switch k {
			case "paths":
				for p, ops := range v.(map[string]any) {
					if _, dup := paths[p]; dup {
						return nil, fmt.Errorf("%s: path %s is described twice", f, p)
					}
					paths[p] = ops
				}
			case "components":
				for kind, items := range v.(map[string]any) {
					if components[kind] == nil {
						components[kind] = map[string]any{}
					}
					for name, def := range items.(map[string]any) {
						if _, dup := components[kind][name]; dup {
							return nil, fmt.Errorf("%s: component %s/%s is defined twice", f, kind, name)
						}
						components[kind][name] = def
					}
				}
			default:
				if _, ok := doc[k]; !ok {
					doc[k] = v
				}
			}
		}
	}
	doc["paths"] = paths
	doc["components"] = components
	return json.MarshalIndent(doc, "", " ")
}

func (s *Server) openAPI(c *gin.Context) {
	c.Header("Cache-Control", "no-cache")
	c.Data(http.StatusOK, "application/json", s.openAPIDoc)
}
