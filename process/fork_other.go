//go:build !linux

package process

import "os/exec"

// startChild starts cmd and returns the child's pid.
func startChild(cmd *exec.Cmd) (int, error) {
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	return cmd.Process.Pid, nil
}
