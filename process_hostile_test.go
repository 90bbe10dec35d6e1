package main_test

// End-to-end tests of what wsbridge's programs do to it, and it to them,
// as processes: the orphans they leave when wsbridge is PID 1, and the
// descriptors wsbridge inherited.

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"

	"wsbridge/bridge/wstest"
	"wsbridge/process/proctest"
)

func TestNoZombiesUnderPID1(t *testing.T) {
	t.Parallel()
	// Each session leaves a job behind, which, orphaned, becomes a child
	// of PID 1: wsbridge, in a PID namespace of its own.
	dir := t.TempDir()
	writeScript(t, filepath.Join(dir, "job.sh"), `sleep 0.2 </dev/null >/dev/null 2>&1 &
echo started`)
	cmd := exec.Command(proctest.Need(t, "unshare", "util-linux"), "--pid", "--fork", "--mount-proc", "--kill-child",
		binary, "--address=127.0.0.1", "--port=0", "--dir="+dir)
	s := launch(t, cmd, nil)
	s.waitListening()
	// unshare ignores SIGTERM: wsbridge is the one to stop, before the
	// end of the test stops unshare.
	var pid int
	for p := range children(t, cmd.Process.Pid) {
		pid = p
	}
	if pid == 0 {
		t.Fatal("no wsbridge under unshare")
	}
	t.Cleanup(func() {
		if p, err := os.FindProcess(pid); err == nil {
			p.Signal(syscall.SIGTERM)
		}
	})

	for range 5 {
		c := s.dial("/job.sh")
		wstest.Expect(t, c, websocket.MessageText, "started")
		wstest.ExpectClose(t, c, websocket.StatusNormalClosure, "")
	}
	s.event("disconnected")
	proctest.Eventually(t, 10*time.Second, func() error {
		if kids := children(t, pid); len(kids) != 0 {
			return fmt.Errorf("wsbridge, PID 1, left children (pid: state) %v", kids)
		}
		return nil
	})
}

func TestInheritedDescriptorsReachNoProgram(t *testing.T) {
	t.Parallel()
	// wsbridge is started with fd 7 open, not close-on-exec, as a
	// wrapper script may leave it; every program lists its descriptors.
	file := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(file, []byte("not for the programs\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	wrapper := []string{"sh", "-c", `exec 7<"$0"; exec "$@"`, file, binary} // ends with wsbridge
	list := []string{"ls", "-1", "/proc/self/fd"}
	// ls itself holds fd 3, the directory it lists.
	want := []string{"0", "1", "2", "3"}
	for _, tc := range []struct {
		name string
		run  func(t *testing.T, args ...string) []string
	}{
		{"pty", func(t *testing.T, args ...string) []string {
			return readUntilClose(t, startWrapped(t, wrapper, args...).dial("/"))
		}},
		{"no-pty", func(t *testing.T, args ...string) []string {
			return readUntilClose(t, startWrapped(t, wrapper, append([]string{"--no-pty"}, args...)...).dial("/"))
		}},
		{"socket activation", func(t *testing.T, args ...string) []string {
			// The activated socket must not reach the programs either.
			sock := filepath.Join(t.TempDir(), "ws.sock")
			startActivated(t, append([]string{"--listen=" + sock}, wrapper[:len(wrapper)-1]...), args...)
			return readUntilClose(t, dialWith(t, "ws://localhost/", unixDial(sock)))
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.run(t, list...); !slices.Equal(got, want) {
				t.Errorf("a program's descriptors are %v, want %v", got, want)
			}
		})
	}
}

// startWrapped starts wsbridge on a free port of 127.0.0.1 through the
// wrapper command line, which ends with the binary, and waits until it
// listens.
func startWrapped(t *testing.T, wrapper []string, args ...string) *server {
	t.Helper()
	args = append([]string{"--address=127.0.0.1", "--port=0"}, args...)
	s := launch(t, exec.Command(wrapper[0], append(wrapper[1:], args...)...), nil)
	s.waitListening()
	return s
}

// readUntilClose reads the text messages up to a normal close.
func readUntilClose(t *testing.T, c *websocket.Conn) []string {
	t.Helper()
	var lines []string
	for {
		_, msg, err := c.Read(wstest.Context(t))
		if err != nil {
			if websocket.CloseStatus(err) != websocket.StatusNormalClosure {
				t.Fatalf("after %q: %v", lines, err)
			}
			return lines
		}
		lines = append(lines, string(msg))
	}
}
