package process

import (
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"wsbridge/process/proctest"
)

func TestChildOutlivesTheThreadThatStartedIt(t *testing.T) {
	// A goroutine that exits locked to its thread ends the thread. The
	// child it started must not die with it (SIGKILL): it must live on
	// to get the stop sequence's SIGINT.
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	var p *Process
	var thread int
	release := make(chan struct{})
	defer close(release)
	for p == nil {
		done := make(chan struct{})
		go func() {
			runtime.LockOSThread()
			if thread = unix.Gettid(); thread == unix.Getpid() {
				// The main thread is never ended: hold it, so that
				// the next try runs on another.
				close(done)
				<-release
				runtime.UnlockOSThread()
				return
			}
			p, err = Start(Config{Path: exe, Env: []string{"WSBRIDGE_HELPER=sleep", "GORACE=atexit_sleep_ms=0"}})
			close(done)
		}()
		<-done
		if err != nil {
			t.Fatal(err)
		}
	}
	defer p.Stop()
	task := fmt.Sprintf("/proc/self/task/%d", thread)
	proctest.Eventually(t, 10*time.Second, func() error {
		if _, err := os.Stat(task); !errors.Is(err, os.ErrNotExist) {
			return errors.New("the thread did not end")
		}
		return nil
	})
	p.Stop()
	if err := p.Wait(); err == nil || err.Error() != "signal: interrupt" {
		t.Fatalf("child ended with %v, want signal: interrupt", err)
	}
}

// A child gets its environment as os/exec passes it: the last of entries
// that set the same variable, in order; an entry with a NUL byte is an
// error that says so.
func TestChildEnvironment(t *testing.T) {
	p, err := Start(Config{Path: "/usr/bin/env", Env: []string{"A=1", "B=2", "A=3", "C"}})
	if err != nil {
		t.Fatal(err)
	}
	out, err := io.ReadAll(p.Stdout())
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, p.Stderr())
	if err := p.Wait(); err != nil {
		t.Fatal(err)
	}
	if got, want := string(out), "B=2\nA=3\nC\n"; got != want {
		t.Fatalf("environment %q, want %q", got, want)
	}

	_, err = Start(Config{Path: "/usr/bin/env", Env: []string{"A=1\x00B=2"}})
	if err == nil || !strings.Contains(err.Error(), "environment variable contains NUL") {
		t.Fatalf("Start with a NUL in the environment: %v", err)
	}
}

// A child's stdin, stdout and stderr are blocking, as a program expects
// them, whether its stdout is a pipe or a pseudo-terminal.
func TestChildStreamsBlock(t *testing.T) {
	for _, pty := range []bool{false, true} {
		t.Run("pty="+strconv.FormatBool(pty), func(t *testing.T) {
			p, err := Start(Config{PTY: pty, Path: "/bin/sh", Args: []string{"-c", "grep -h ^flags /proc/$$/fdinfo/0 /proc/$$/fdinfo/1 /proc/$$/fdinfo/2 >&2"}})
			if err != nil {
				t.Fatal(err)
			}
			out, err := io.ReadAll(p.Stderr())
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, p.Stdout())
			if err := p.Wait(); err != nil {
				t.Fatal(err)
			}
			lines := strings.Fields(string(out))
			if len(lines) != 6 {
				t.Fatalf("fdinfo: %q", out)
			}
			for i := 1; i < len(lines); i += 2 {
				flags, err := strconv.ParseUint(lines[i], 8, 64)
				if err != nil {
					t.Fatal(err)
				}
				if flags&unix.O_NONBLOCK != 0 {
					t.Errorf("descriptor %d is non-blocking (flags %s)", i/2, lines[i])
				}
			}
		})
	}
}
