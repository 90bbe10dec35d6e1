package process

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"syscall"
	"testing"
	"time"

	"wsbridge/process/proctest"
)

// killServer starts the helper that plays a server, reads what it
// printed, and kills it with SIGKILL. It returns the guardian's pid (0 for
// none), the scripts' pids and those of their sleeps; whatever of them
// still runs at the end of the test is killed.
func killServer(t *testing.T, args ...string) (guardian int, scripts, sleeps []int) {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "WSBRIDGE_HELPER=guarded", "GORACE=atexit_sleep_ms=0")
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	defer stdin.Close()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(stdout)
	guardian, _ = strconv.Atoi(readLine(t, r))
	for range 4 {
		var script, sleep int
		if _, err := fmt.Sscan(readLine(t, r), &script, &sleep); err != nil {
			t.Fatal(err)
		}
		scripts, sleeps = append(scripts, script), append(sleeps, sleep)
	}
	t.Cleanup(func() {
		for _, pid := range append(append([]int{guardian}, scripts...), sleeps...) {
			if pid > 1 && !proctest.Gone(pid) {
				syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	})
	cmd.Process.Kill()
	cmd.Wait()
	return guardian, scripts, sleeps
}

func TestGuardianKillsWhatOutlivesTheServer(t *testing.T) {
	guardian, scripts, sleeps := killServer(t)
	// The guardian exits once it has killed the groups. The sleeps are
	// killed by the guardian alone, the scripts by it or by their
	// parent-death signal.
	proctest.WaitGone(t, guardian, 2*time.Second)
	for _, pid := range append(scripts, sleeps...) {
		proctest.WaitGone(t, pid, 2*time.Second)
	}
}

func TestChildrenDieWithTheServer(t *testing.T) {
	// Without a guardian, the parent-death signal still kills the
	// programs themselves (not what they leave in their groups).
	_, scripts, _ := killServer(t, "unguarded")
	for _, pid := range scripts {
		proctest.WaitGone(t, pid, 2*time.Second)
	}
}

// startGuardian starts a guardian for the test, and returns it with the
// channel on which it says it was lost. It is closed at the end of the
// test.
func startGuardian(t *testing.T) (*Guardian, chan error) {
	t.Helper()
	lost := make(chan error, 1)
	g := &Guardian{}
	if err := g.Start(guardianArgs, func(err error) { lost <- err }); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.Close() })
	return g, lost
}

// startGroup starts a sleep in a process group of its own, which is
// killed at the end of the test.
func startGroup(t *testing.T) int {
	t.Helper()
	cmd := exec.Command("sleep", "1000")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		cmd.Wait()
		close(done)
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-done
	})
	return cmd.Process.Pid
}

func TestGuardKillsOnlyWhatIsRegistered(t *testing.T) {
	// Sessions that ended and one that runs: only the group still
	// registered is killed; ids the table has no room for are ignored.
	ended, running, never := startGroup(t), startGroup(t), startGroup(t)
	g, _ := startGuardian(t)
	g.register(ended)
	g.register(running)
	g.unregister(ended)
	g.unregister(never)
	g.register(groupIDs + never)
	if err := g.Close(); err != nil {
		t.Fatal(err)
	}
	proctest.WaitGone(t, running, 2*time.Second)
	for _, pid := range []int{ended, never} {
		if proctest.Gone(pid) {
			t.Errorf("group %d killed", pid)
		}
	}
}

func TestGroupTableRoundTrip(t *testing.T) {
	table, err := newGroupTable()
	if err != nil {
		t.Fatal(err)
	}
	defer table.f.Close()
	want := []int{2, 31, 32, 33, 4095, 65536, groupIDs - 1}
	for _, pgid := range append([]int{0, 1, 77, groupIDs}, want...) {
		table.mark(pgid, true)
	}
	table.mark(77, false)
	got, err := markedGroups(table.f)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, want) {
		t.Errorf("marked %v, want %v", got, want)
	}
}

func TestGuardianAndChildrenReapedApart(t *testing.T) {
	// The guardian is a child too: the children's exits are not taken
	// for its, nor its for theirs.
	g, lost := startGuardian(t)
	for _, code := range []string{"0", "3"} {
		p := startHelper(t, Config{Guardian: g}, "exit", code)
		want := "exit status " + code
		if err := p.Wait(); code == "0" && err != nil || code != "0" && (err == nil || err.Error() != want) {
			t.Errorf("child exited with %v, want %s", err, want)
		}
	}
	if err := g.Close(); err != nil {
		t.Error(err)
	}
	select {
	case err := <-lost:
		t.Errorf("guardian lost: %v", err)
	default:
	}
}

func TestChildrenStartWithoutTheirGuardian(t *testing.T) {
	// A dead guardian is noticed when it is reaped; programs still start.
	g, lost := startGuardian(t)
	guarded := startGroup(t)
	g.register(guarded)
	g.cmd.Process.Kill()
	select {
	case why := <-lost:
		if why.Error() != "the guardian exited: signal: killed" {
			t.Errorf("lost: %v", why)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the guardian was never found lost")
	}
	if proctest.Gone(guarded) {
		t.Error("a killed guardian killed a group")
	}
	p := startHelper(t, Config{Guardian: g}, "exit", "0")
	if err := p.Wait(); err != nil {
		t.Errorf("child exited with %v", err)
	}
	if err := g.Close(); err != nil {
		t.Errorf("Close after the guardian was lost: %v", err)
	}
}

func TestStoppedGuardianHoldsNothingBack(t *testing.T) {
	// Registering is a store to memory: a guardian that does not run
	// delays no program, and once it runs again it still knows the
	// groups to kill.
	g, lost := startGuardian(t)
	g.cmd.Process.Signal(syscall.SIGSTOP)
	for pgid := range 20000 {
		g.register(1<<20 + pgid)
		g.unregister(1<<20 + pgid)
	}
	for range 200 {
		p := startHelper(t, Config{Guardian: g}, "exit", "0")
		if err := p.Wait(); err != nil {
			t.Fatalf("child exited with %v", err)
		}
	}
	guarded := startGroup(t)
	g.register(guarded)
	g.cmd.Process.Signal(syscall.SIGCONT)
	if err := g.Close(); err != nil {
		t.Fatal(err)
	}
	proctest.WaitGone(t, guarded, 2*time.Second)
	select {
	case err := <-lost:
		t.Errorf("guardian lost: %v", err)
	default:
	}
}
