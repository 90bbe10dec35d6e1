//go:build unix

package main_test

// Refusals that need Unix users.

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	wsbridge "wsbridge"
)

func TestPrivilegedPortSaysSo(t *testing.T) {
	start, err := os.ReadFile("/proc/sys/net/ipv4/ip_unprivileged_port_start")
	if err != nil {
		t.Skipf("no unprivileged port range to read: %v", err)
	}
	first, err := strconv.Atoi(strings.TrimSpace(string(start)))
	if err != nil || first < 2 {
		t.Skipf("every port may be listened on here (from %s)", start)
	}
	port := strconv.Itoa(first - 1)
	cmd := exec.Command(binary, "--address=127.0.0.1", "--port="+port, "cat")
	cmd.Dir = "/"
	cmd.Env = append(os.Environ(), serverEnv...)
	if os.Getuid() == 0 {
		// Run it as nobody, which needs to reach the binary.
		if err := os.Chmod(filepath.Dir(binary), 0o755); err != nil {
			t.Fatal(err)
		}
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	}
	code, stdout, stderr := runCommand(t, cmd)
	want := "wsbridge: error: port " + port + " on 127.0.0.1 is reserved to privileged programs: choose one of 1024 or above with --port, or grant wsbridge CAP_NET_BIND_SERVICE\n"
	if code != wsbridge.ExitCannotStart || stderr != want || stdout != "" {
		t.Errorf("exit %d, stdout %q, stderr %q\nwant exit %d and %q", code, stdout, stderr, wsbridge.ExitCannotStart, want)
	}
}
