// Package layout holds the test that keeps the package layout's arrows
// pointing one way: cmd → web → domains → internal (docs/architecture.md).
// It has no code of its own.
package layout
