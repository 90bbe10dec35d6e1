//go:build !linux

package process

import "os/exec"

// startChild starts cmd.
func startChild(cmd *exec.Cmd) error { return cmd.Start() }
