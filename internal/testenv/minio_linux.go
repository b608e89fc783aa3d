package testenv

import (
	"os/exec"
	"syscall"
)

// configureChild makes the kernel kill MinIO when the test binary dies without
// running its exit hooks (a panic, a timeout, ^C), so no server outlives it.
func configureChild(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
