// Package instances tests two `fuju serve` processes on one database. It is
// a package of its own, apart from cmd/fuju's end-to-end and browser tests,
// so that `go test ./...` runs the two at once: most of this test's time
// is spent waiting on timeouts and the other instance, not on the CPU.
package instances

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"fuju/internal/testenv"
)

// fujuBinary is the program the instances run, built by TestMain from
// this checkout.
var fujuBinary string

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "fuju-instances-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	fujuBinary = filepath.Join(dir, "fuju")
	build := exec.Command("go", "build", "-o", fujuBinary, "fuju/cmd/fuju")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build fuju: %v\n%s", err, out)
		return 1
	}
	return testenv.Main(m)
}

func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
