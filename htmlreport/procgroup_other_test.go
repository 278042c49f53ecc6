//go:build !unix

package htmlreport_test

import "os/exec"

// ownProcessGroup leaves cmd as it is: the context's cancellation kills the
// launcher only.
func ownProcessGroup(*exec.Cmd) {}
