//go:build !linux

package testenv

import "os/exec"

// apply does nothing here: running as another user is set up on Linux only.
func (u *userIDs) apply(cmd *exec.Cmd) {}
