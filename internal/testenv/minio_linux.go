package testenv

import (
	"os/exec"
	"syscall"
)

// ConfigureChild makes the kernel kill a server the tests start (MinIO,
// PostgreSQL, an instance of the service) when the test binary dies without
// running its exit hooks (a panic, a timeout, ^C), so no server outlives it.
func ConfigureChild(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
