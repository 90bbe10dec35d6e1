package process

import (
	"errors"
	"fmt"
	"os"
	"runtime"
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
