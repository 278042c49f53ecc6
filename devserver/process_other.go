//go:build !linux

package devserver

import (
	"os"
	"os/exec"
)

func setProcessAttributes(cmd *exec.Cmd) {}

func interrupt(cmd *exec.Cmd) error { return cmd.Process.Signal(os.Interrupt) }
