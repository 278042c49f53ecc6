package devserver

import (
	"os/exec"
	"syscall"
)

// setProcessAttributes puts the server in its own process group, so that a
// Ctrl+C in the terminal reaches only our process (which stops the server in
// order), and has the kernel kill it if our process dies.
func setProcessAttributes(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

func interrupt(cmd *exec.Cmd) error { return cmd.Process.Signal(syscall.SIGINT) }
