package process

import (
	"io"
	"os"
	"os/exec"
	"testing"
	"time"
)

func TestDescriptorsPerChild(t *testing.T) {
	before := openFiles(t)
	p := startHelper(t, Config{PTY: true}, "cat")
	// stdin, stdout and stderr.
	if n := openFiles(t) - before; n != 3 {
		t.Errorf("a running child holds %d descriptors, want 3", n)
	}
	p.Stdin().Close()
	if err := p.Wait(); err != nil {
		t.Fatalf("Wait: %v", err)
	}
	io.Copy(io.Discard, p.Stdout())
	io.Copy(io.Discard, p.Stderr())
	p.Stop()
	if n := openFiles(t) - before; n != 0 {
		t.Errorf("a finished child holds %d descriptors, want 0", n)
	}
}

func openFiles(t *testing.T) int {
	t.Helper()
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(fds)
}

func TestExitedChild(t *testing.T) {
	cmd := exec.Command("true")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Until it is reaped, the exited child is seen, as often as asked.
	deadline := time.Now().Add(10 * time.Second)
	for exitedChild() != cmd.Process.Pid {
		if time.Now().After(deadline) {
			t.Fatalf("exitedChild never saw %d", cmd.Process.Pid)
		}
		time.Sleep(time.Millisecond)
	}
	if got := exitedChild(); got != cmd.Process.Pid {
		t.Fatalf("exitedChild = %d, then %d", cmd.Process.Pid, got)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
}

// Children that others start and have not reaped yet must not hide this
// package's children that exit.
func TestExitBehindAnothersChild(t *testing.T) {
	other := exec.Command("true")
	if err := other.Start(); err != nil {
		t.Fatal(err)
	}
	defer other.Wait()
	deadline := time.Now().Add(10 * time.Second)
	for exitedChild() != other.Process.Pid {
		if time.Now().After(deadline) {
			t.Fatalf("exitedChild never saw %d", other.Process.Pid)
		}
		time.Sleep(time.Millisecond)
	}
	p := startHelper(t, Config{}, "exit", "3")
	done := make(chan error, 1)
	go func() { done <- p.Wait() }()
	select {
	case err := <-done:
		if err == nil || err.Error() != "exit status 3" {
			t.Fatalf("Wait = %v, want exit status 3", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the child was not reaped")
	}
}

// Many children exiting at once raise fewer signals than exits.
func TestManyExitsAtOnce(t *testing.T) {
	var ps []*Process
	for range 50 {
		ps = append(ps, startHelper(t, Config{}, "cat"))
	}
	for _, p := range ps {
		p.Stdin().Close()
	}
	for i, p := range ps {
		done := make(chan error, 1)
		go func() { done <- p.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("child %d: %v", i, err)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("child %d was not reaped", i)
		}
	}
}
