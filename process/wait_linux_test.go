package process

import (
	"bufio"
	"errors"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
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
	for _, script := range []string{"exit 0", "exit 3", "kill -KILL $$"} {
		cmd := exec.Command("sh", "-c", script)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		pid := cmd.Process.Pid
		// Until it is reaped, the exited child is seen, as often as
		// asked, and told of alike by its pid.
		ws := waitExited(t, pid)
		if got, again := exitedChild(unix.P_ALL, 0); got != pid || again != ws {
			t.Fatalf("%s: exitedChild = %d, %#x, then %d, %#x", script, pid, ws, got, again)
		}
		if got, again := exitedChild(unix.P_PID, pid); got != pid || again != ws {
			t.Fatalf("%s: exitedChild(P_PID) = %d, %#x; want %d, %#x", script, got, again, pid, ws)
		}
		cmd.Wait()
		if want := cmd.ProcessState.Sys().(syscall.WaitStatus); ws != want {
			t.Errorf("%s: wait status %#x, wait4 says %#x", script, ws, want)
		}
	}
}

// waitExited waits for exitedChild to see pid and returns its wait status.
func waitExited(t *testing.T, pid int) syscall.WaitStatus {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		got, ws := exitedChild(unix.P_ALL, 0)
		if got == pid {
			return ws
		}
		if time.Now().After(deadline) {
			t.Fatalf("exitedChild never saw %d", pid)
		}
		time.Sleep(time.Millisecond)
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
	waitExited(t, other.Process.Pid)
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

// Once a child is reaped its pid, which is its process group's id too, may
// be given to another process: stopping the session after that must not
// signal the group of that other process.
func TestStopSparesReusedPid(t *testing.T) {
	p := startHelper(t, Config{}, "exit", "0")
	if err := p.Wait(); err != nil {
		t.Fatal(err)
	}
	waitReaped(t, p.Pid())
	other := startWithPid(t, p.Pid())
	p.Stop()
	// A signal sent would have landed by now.
	time.Sleep(100 * time.Millisecond)
	if gone(other.Process.Pid) {
		t.Fatal("stopping the session ended the process that took its pid")
	}
}

// waitReaped waits for pid to be reaped, so that it can be given again.
func waitReaped(t *testing.T, pid int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err := os.Stat("/proc/" + strconv.Itoa(pid))
		if os.IsNotExist(err) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("pid %d not reaped after 10 s", pid)
		}
		time.Sleep(time.Millisecond)
	}
}

// startWithPid starts the sleep helper in a process group of its own with
// the given pid, which must be free, and kills it when the test ends.
// Choosing the next pid (ns_last_pid) takes root.
func startWithPid(t *testing.T, pid int) *exec.Cmd {
	t.Helper()
	for range 20 {
		err := os.WriteFile("/proc/sys/kernel/ns_last_pid", []byte(strconv.Itoa(pid-1)), 0)
		if errors.Is(err, fs.ErrPermission) {
			t.Skip("choosing a process's pid takes root")
		}
		if err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(os.Args[0])
		cmd.Env = []string{"WSBRIDGE_HELPER=sleep"}
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		if cmd.Process.Pid == pid {
			t.Cleanup(func() {
				cmd.Process.Kill()
				cmd.Wait()
			})
			return cmd
		}
		// Another process took the pid first: try again.
		cmd.Process.Kill()
		cmd.Wait()
	}
	t.Fatalf("could not start a process with pid %d", pid)
	return nil
}

// While something that left the child's process group holds its output,
// the exited child is kept unreaped through the drain time, so that its pid,
// the group's id, is nobody else's until the group is killed a last time.
func TestChildKeptThroughDrain(t *testing.T) {
	const drain = 300 * time.Millisecond
	p := startHelper(t, Config{Drain: drain}, "grandchild", "setsid", "exit")
	out := bufio.NewReader(p.Stdout())
	grandchild, err := strconv.Atoi(readLine(t, out))
	if err != nil {
		t.Fatal(err)
	}
	// Outside the group, it is nobody's to kill but the test's.
	defer syscall.Kill(grandchild, syscall.SIGKILL)
	if err := p.Wait(); err != nil {
		t.Fatal(err)
	}
	exited := time.Now()
	if state := procState(p.Pid()); state != 'Z' {
		t.Fatalf("the exited child's state is %q while the drain runs, want 'Z'", state)
	}
	waitReaped(t, p.Pid())
	if took := time.Since(exited); took < drain/2 {
		t.Errorf("the child was reaped %v after it exited, before the drain of %v", took, drain)
	}
	if _, err := io.ReadAll(out); err != nil {
		t.Fatalf("reading stdout: %v", err)
	}
}
