package testenv

import (
	"os/exec"
	"syscall"
)

// apply makes cmd run as u; nil leaves it as this process's user.
func (u *userIDs) apply(cmd *exec.Cmd) {
	if u == nil {
		return
	}
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Credential = &syscall.Credential{Uid: uint32(u.uid), Gid: uint32(u.gid)}
}
