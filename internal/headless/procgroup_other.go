//go:build !unix

package headless

import "os/exec"

// ownProcessGroup leaves cmd as it is: the context's cancellation kills the
// launcher only.
func ownProcessGroup(*exec.Cmd) {}
