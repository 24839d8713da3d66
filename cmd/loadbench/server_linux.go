package main

import (
	"os/exec"
	"syscall"
)

// endWithParent has the kernel send the server SIGKILL if loadbench dies
// without stopping it (killed itself, say), so no server outlives a run.
func endWithParent(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
