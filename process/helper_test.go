//go:build unix

package process

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"
	"golang.org/x/sys/unix"
)

// guardianArgs is the command line the tests start a guardian with: this
// test binary, which TestMain then has guard.
var guardianArgs = []string{"process-test-guardian"}

// The test binary doubles as the child program: with WSBRIDGE_HELPER set it
// runs the helper named there instead of the tests, the way os/exec tests
// itself; started with guardianArgs, it is a guardian.
func TestMain(m *testing.M) {
	if slices.Equal(os.Args, guardianArgs) {
		Guard()
		os.Exit(0)
	}
	if mode := os.Getenv("WSBRIDGE_HELPER"); mode != "" {
		runHelper(mode, os.Args[1:])
		os.Exit(0)
	}
	// Guardians, started with this environment, exit without the race
	// detector's pause.
	os.Setenv("GORACE", "atexit_sleep_ms=0")
	// The goroutines that wait for the exits of all children and for
	// their output, and the one that starts them, live as long as the
	// process.
	goleak.VerifyTestMain(m,
		goleak.IgnoreAnyFunction("wsbridge/process.(*exitWatcher).run"),
		goleak.IgnoreAnyFunction("wsbridge/process/readwatch.(*readPoller).run"),
		goleak.IgnoreAnyFunction("wsbridge/process.(*forkThreads).run"))
}

func runHelper(mode string, args []string) {
	switch mode {
	case "cat":
		io.Copy(os.Stdout, os.Stdin)
	case "tty":
		// Reports whether stdout is a terminal, then writes two lines
		// that raw mode must leave untouched.
		_, err := unix.IoctlGetTermios(1, ioctlGetTermios)
		fmt.Printf("tty=%v\na\r\nb\n", err == nil)
	case "exit":
		code, _ := strconv.Atoi(args[0])
		os.Exit(code)
	case "stubborn":
		// Ignores SIGINT and SIGTERM, reports each, and never exits by
		// itself: only SIGKILL ends it.
		sigs := make(chan os.Signal, 2)
		signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
		fmt.Println("ready")
		for s := range sigs {
			fmt.Println(s)
		}
	case "grandchild":
		// Starts a grandchild that sleeps holding stdout, in a session
		// of its own with "setsid", prints its pid, and either exits at
		// once ("exit") or waits for stdin EOF.
		cmd := exec.Command(os.Args[0])
		cmd.Env = append(os.Environ(), "WSBRIDGE_HELPER=sleep")
		cmd.Stdout = os.Stdout
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: slices.Contains(args, "setsid")}
		if err := cmd.Start(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		fmt.Println(cmd.Process.Pid)
		if !slices.Contains(args, "exit") {
			io.Copy(io.Discard, os.Stdin)
		}
	case "sleep":
		time.Sleep(time.Hour)
	case "guarded":
		runGuarded(slices.Contains(args, "unguarded"))
	default:
		fmt.Fprintf(os.Stderr, "unknown helper %q\n", mode)
		os.Exit(2)
	}
}

// stubbornScript ignores SIGINT, SIGTERM and SIGHUP, as does the sleep it
// leaves in its process group, prints its pid and the sleep's, and waits.
const stubbornScript = `trap '' INT TERM HUP; sleep 1000 & echo $$ $!; wait`

// runGuarded is the helper that plays a server: it starts four stubborn
// scripts, two on a terminal and two on pipes, under a guardian unless
// unguarded, prints the guardian's pid (0 for none) and then each
// script's line, and waits to be killed.
func runGuarded(unguarded bool) {
	var g Guardian
	if !unguarded {
		if err := g.Start(guardianArgs, nil); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
	if g.cmd != nil {
		fmt.Println(g.cmd.Process.Pid)
	} else {
		fmt.Println(0)
	}
	for i := range 4 {
		p, err := Start(Config{Path: "/bin/sh", Args: []string{"-c", stubbornScript}, PTY: i%2 == 0, Guardian: &g})
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		line, _ := bufio.NewReader(p.Stdout()).ReadString('\n')
		fmt.Print(line)
	}
	io.Copy(io.Discard, os.Stdin)
}

// startHelper starts this test binary as the helper mode, with stdout on a
// pipe unless pty is set.
func startHelper(t *testing.T, cfg Config, mode string, args ...string) *Process {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cfg.Path = exe
	cfg.Args = args
	// Without the race detector's pause at exit, helpers end at once.
	cfg.Env = []string{"WSBRIDGE_HELPER=" + mode, "GORACE=atexit_sleep_ms=0"}
	p, err := Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		p.Stop()
		io.Copy(io.Discard, p.Stdout())
		io.Copy(io.Discard, p.Stderr())
	})
	return p
}

// readLine reads one line of the child's stdout.
func readLine(t *testing.T, r *bufio.Reader) string {
	t.Helper()
	line, err := r.ReadString('\n')
	if err != nil {
		t.Fatalf("reading child's stdout: %v (got %q)", err, line)
	}
	return strings.TrimSuffix(line, "\n")
}
