//go:build unix

package main_test

// Hostile CGI programs that need Unix process groups.

import (
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/coder/websocket"

	"wsbridge/bridge/wstest"
)

func TestCGIKillZeroLeavesServerRunning(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, script string }{
		// The shell idiom for "take my background jobs with me".
		{"trap kill 0", `trap 'kill 0' EXIT; printf 'Content-Type: text/plain\n\nbye\n'`},
		{"kill -9 0", `printf 'Content-Type: text/plain\n\nbye\n'; kill -9 0`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			writeScript(t, filepath.Join(dir, "kill.cgi"), tc.script)
			writeScript(t, filepath.Join(dir, "alive.cgi"), `printf 'Content-Type: text/plain\n\nalive\n'`)
			// In a session of its own, wsbridge is the leader of its
			// process group: a program in that group would signal
			// wsbridge, and nothing of the tests.
			cmd := exec.Command(binary, "--address=127.0.0.1", "--port=0", "--cgidir="+dir, "cat")
			cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
			s := launch(t, cmd, nil)
			s.waitListening()
			if status, body := httpGet(t, s.addr, "/kill.cgi"); status != 200 || body != "bye\n" {
				t.Errorf("kill.cgi: %d %q", status, body)
			}
			if status, body := httpGet(t, s.addr, "/alive.cgi"); status != 200 || body != "alive\n" {
				t.Errorf("after kill.cgi: %d %q", status, body)
			}
			c := s.dial("/")
			wstest.Send(t, c, websocket.MessageText, "still here")
			wstest.Expect(t, c, websocket.MessageText, "still here")
		})
	}
}
