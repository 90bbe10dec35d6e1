package process

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"wsbridge/process/proctest"
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
	waitExitedChild(t, cmd.Process.Pid)
	if got := exitedChild(unix.P_ALL, 0); got != cmd.Process.Pid {
		t.Fatalf("exitedChild = %d, then %d", cmd.Process.Pid, got)
	}
	if got := exitedChild(unix.P_PID, cmd.Process.Pid); got != cmd.Process.Pid {
		t.Fatalf("exitedChild(P_PID, %d) = %d", cmd.Process.Pid, got)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
}

// waitExitedChild waits until exitedChild sees pid, exited and not yet
// reaped.
func waitExitedChild(t *testing.T, pid int) {
	t.Helper()
	proctest.Eventually(t, 10*time.Second, func() error {
		if got := exitedChild(unix.P_ALL, 0); got != pid {
			return fmt.Errorf("exitedChild saw %d, not %d", got, pid)
		}
		return nil
	})
}

// Children that others start and have not reaped yet must not hide this
// package's children that exit.
func TestExitBehindAnothersChild(t *testing.T) {
	other := exec.Command("true")
	if err := other.Start(); err != nil {
		t.Fatal(err)
	}
	defer other.Wait()
	waitExitedChild(t, other.Process.Pid)
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
	stopSparesReusedPid(t, p)
}

// So too when the child's output was held past its exit by something
// that left its group, and the group was killed at the end of the drain.
func TestStopAfterDrainSparesReusedPid(t *testing.T) {
	p := startHelper(t, Config{Drain: 50 * time.Millisecond}, "grandchild", "setsid", "exit")
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
	// The streams are closed a drain time after the last kill.
	if _, err := io.ReadAll(out); err != nil {
		t.Fatalf("reading stdout: %v", err)
	}
	stopSparesReusedPid(t, p)
}

// stopSparesReusedPid waits for p's child to be reaped, gives its pid to a
// process that leads a group of its own, stops p, and fails if that
// process is gone.
func stopSparesReusedPid(t *testing.T, p *Process) {
	t.Helper()
	waitReaped(t, p.Pid())
	other := startWithPid(t, p.Pid())
	p.Stop()
	// A signal sent would have landed by now.
	time.Sleep(100 * time.Millisecond)
	if proctest.Gone(other.Process.Pid) {
		t.Fatal("stopping the session ended the process that took its pid")
	}
}

// waitReaped waits for pid to be reaped, so that it can be given again.
func waitReaped(t *testing.T, pid int) {
	t.Helper()
	proctest.Eventually(t, 10*time.Second, func() error {
		if _, err := os.Stat("/proc/" + strconv.Itoa(pid)); !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("pid %d not reaped", pid)
		}
		return nil
	})
}

// startWithPid starts the sleep helper in a process group of its own with
// the given pid, which must be free, and kills it when the test ends.
// Choosing the next pid (ns_last_pid) takes root and a writable /proc/sys.
func startWithPid(t *testing.T, pid int) *exec.Cmd {
	t.Helper()
	for range 20 {
		err := os.WriteFile("/proc/sys/kernel/ns_last_pid", []byte(strconv.Itoa(pid-1)), 0)
		if err != nil {
			// Not root, or /proc/sys is read-only here.
			t.Skipf("cannot choose the next pid: %v", err)
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

// A child subreaper, as PID 1, adopts the orphans below it: it reaps them,
// while its own children's exits, however soon they come, still reach
// their Process, and the guardian's its Guardian. The server is another
// process, which makes itself a subreaper: TestSubreaperServer.
func TestSubreaperReapsOrphans(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-test.run=^TestSubreaperServer$")
	cmd.Env = append(os.Environ(), "WSBRIDGE_SUBREAPER=1")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	defer stdin.Close()
	var out strings.Builder
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(stdout)
	for sc.Scan() && sc.Text() != "done" {
		fmt.Fprintln(&out, sc.Text())
	}
	if sc.Text() != "done" {
		cmd.Wait()
		t.Fatalf("the server ended before it was done:\n%s", out.String())
	}
	proctest.Eventually(t, 10*time.Second, func() error {
		if kids := proctest.Children(t, cmd.Process.Pid); len(kids) != 0 {
			return fmt.Errorf("the subreaper left children (pid: state) %v", kids)
		}
		return nil
	})
	stdin.Close()
	rest, _ := io.ReadAll(stdout)
	if err := cmd.Wait(); err != nil {
		t.Errorf("the server: %v\n%s%s", err, out.String(), rest)
	}
}

// TestSubreaperServer is the server of TestSubreaperReapsOrphans, and is
// skipped unless run by it. A subreaper, it starts a guardian and twenty
// programs at once, each of which leaves a job behind and exits at once
// with status 3, waits for them and the guardian, says "done", and waits
// for stdin to end.
func TestSubreaperServer(t *testing.T) {
	if os.Getenv("WSBRIDGE_SUBREAPER") == "" {
		t.Skip("run by TestSubreaperReapsOrphans")
	}
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		t.Fatal(err)
	}
	var g Guardian
	if err := g.Start(guardianArgs, func(err error) { t.Errorf("guardian lost: %v", err) }); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() {
			p, err := Start(Config{Path: "/bin/sh", Args: []string{"-c", "sleep 0.1 </dev/null >/dev/null 2>&1 & exit 3"}, PTY: i%2 == 0, Guardian: &g})
			if err != nil {
				t.Error(err)
				return
			}
			go io.Copy(io.Discard, p.Stdout())
			go io.Copy(io.Discard, p.Stderr())
			select {
			case <-p.Done():
				if err := p.Wait(); err == nil || err.Error() != "exit status 3" {
					t.Errorf("program %d: Wait = %v, want exit status 3", i, err)
				}
			case <-time.After(10 * time.Second):
				t.Errorf("program %d: no exit seen", i)
			}
		})
	}
	wg.Wait()
	if err := g.Close(); err != nil {
		t.Errorf("closing the guardian: %v", err)
	}
	fmt.Println("done")
	io.Copy(io.Discard, os.Stdin)
}

func TestChildExitedBeforeItWasAddedIsReaped(t *testing.T) {
	// A child that exits after its start but before its Process is
	// added is left by the watcher, which has no Process to tell: adding
	// it must have it reaped, with no other child's exit to come.
	p := startHelper(t, Config{}, "cat")
	exits.mu.Lock()
	exits.running[p.pid] = nil // kept, as between the fork and add
	exits.mu.Unlock()
	p.Stdin().Close()
	proctest.Eventually(t, 5*time.Second, func() error {
		if exitedChild(unix.P_PID, p.pid) != p.pid {
			return errors.New("the child has not exited")
		}
		return nil
	})
	exits.nudge()
	time.Sleep(50 * time.Millisecond)
	if exitedChild(unix.P_PID, p.pid) != p.pid {
		t.Fatal("a kept child was reaped")
	}
	exits.add(p)
	select {
	case <-p.Done():
	case <-time.After(5 * time.Second):
		exits.nudge() // so that the test's end does not wait for it
		t.Fatal("the child was never reaped once added")
	}
}
