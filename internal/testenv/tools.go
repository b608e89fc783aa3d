package testenv

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// findTool finds the program a test server runs: $envVar, else name on PATH,
// else $(go env GOPATH)/bin/name. When none exists it installs module (a
// pinned path@version) with go install, outside this module so go.mod is
// neither read nor touched; slow says how long that takes.
func findTool(logf func(string, ...any), envVar, name, module, slow string) (string, error) {
	if p := os.Getenv(envVar); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("%s=%s: %w", envVar, p, err)
		}
		return p, nil
	}
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	gopath, err := exec.Command("go", "env", "GOPATH").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOPATH: %w", err)
	}
	p := filepath.Join(strings.TrimSpace(strings.SplitN(string(gopath), string(os.PathListSeparator), 2)[0]), "bin", name)
	if _, err := os.Stat(p); err == nil {
		return p, nil
	}
	logf("testenv: %s not found; installing %s (%s)", name, module, slow)
	cmd := exec.Command("go", "install", module)
	cmd.Dir = os.TempDir()
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("go install %s: %w\n%s", module, err, lastBytes(out.Bytes(), 4000))
	}
	logf("testenv: installed %s in %s", name, time.Since(start).Round(time.Second))
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("go install %s succeeded but %s is missing (is GOBIN set? then set %s)", module, p, envVar)
	}
	return p, nil
}

// lastBytes returns the last n bytes of b, for quoting a program's log.
func lastBytes(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}
