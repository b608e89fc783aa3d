//go:build !linux

package testenv

import "os/exec"

// ConfigureChild has nothing to add outside Linux, which alone offers a
// parent-death signal; a crashed test binary may leave servers running there.
func ConfigureChild(*exec.Cmd) {}
