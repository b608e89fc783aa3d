//go:build !linux

package testenv

import "os/exec"

// configureChild has nothing to add outside Linux, which alone offers a
// parent-death signal; a crashed test binary may leave MinIO running there.
func configureChild(*exec.Cmd) {}
