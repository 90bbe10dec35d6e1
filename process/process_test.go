//go:build unix

package process

import (
	"bufio"
	"io"
	"strconv"
	"testing"
	"time"

	"wsbridge/process/proctest"
)

func TestEchoThroughPipes(t *testing.T) {
	for _, pty := range []bool{false, true} {
		t.Run("pty="+strconv.FormatBool(pty), func(t *testing.T) {
			p := startHelper(t, Config{PTY: pty}, "cat")
			out := bufio.NewReader(p.Stdout())
			for _, line := range []string{"hello", "", "world"} {
				if _, err := io.WriteString(p.Stdin(), line+"\n"); err != nil {
					t.Fatal(err)
				}
				if got := readLine(t, out); got != line {
					t.Fatalf("got %q, want %q", got, line)
				}
			}
			p.Stdin().Close()
			if err := p.Wait(); err != nil {
				t.Fatalf("Wait: %v", err)
			}
			if rest, err := io.ReadAll(out); err != nil || len(rest) != 0 {
				t.Fatalf("after exit: %q, %v", rest, err)
			}
		})
	}
}

func TestStdoutIsRawTerminal(t *testing.T) {
	for _, tc := range []struct {
		pty  bool
		want string
	}{
		{false, "tty=false\na\r\nb\n"},
		{true, "tty=true\na\r\nb\n"},
	} {
		p := startHelper(t, Config{PTY: tc.pty}, "tty")
		if p.PTY() != tc.pty {
			t.Errorf("PTY() = %v, want %v", p.PTY(), tc.pty)
		}
		got, err := io.ReadAll(p.Stdout())
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != tc.want {
			t.Errorf("pty=%v: stdout %q, want %q", tc.pty, got, tc.want)
		}
	}
}

func TestExitStatus(t *testing.T) {
	p := startHelper(t, Config{}, "exit", "3")
	if err := p.Wait(); err == nil || err.Error() != "exit status 3" {
		t.Fatalf("Wait = %v, want exit status 3", err)
	}
}

func TestStartMissingProgram(t *testing.T) {
	_, err := Start(Config{Path: "/nonexistent/program"})
	if err == nil {
		t.Fatal("Start succeeded")
	}
}

func TestStopClosesStdinFirst(t *testing.T) {
	// The grace keeps SIGINT well away, so that only the closing of stdin
	// can have ended the child.
	p := startHelper(t, Config{PTY: true, Grace: 5 * time.Second}, "cat")
	io.WriteString(p.Stdin(), "ready\n")
	readLine(t, bufio.NewReader(p.Stdout()))
	p.Stop()
	if err := p.Wait(); err != nil {
		t.Fatalf("cat should exit 0 on stdin EOF, got %v", err)
	}
}

func TestStopSignalsInOrder(t *testing.T) {
	const grace = 50 * time.Millisecond
	p := startHelper(t, Config{Grace: grace}, "stubborn")
	out := bufio.NewReader(p.Stdout())
	if got := readLine(t, out); got != "ready" {
		t.Fatalf("got %q", got)
	}
	start := time.Now()
	p.Stop()
	took := time.Since(start)
	if err := p.Wait(); err == nil || err.Error() != "signal: killed" {
		t.Fatalf("Wait = %v, want signal: killed", err)
	}
	if got := readLine(t, out); got != "interrupt" {
		t.Errorf("first signal %q, want interrupt", got)
	}
	if got := readLine(t, out); got != "terminated" {
		t.Errorf("second signal %q, want terminated", got)
	}
	// 100 ms + 250 ms + 500 ms, each plus the grace, must have passed.
	if min := 850*time.Millisecond + 3*grace; took < min {
		t.Errorf("Stop took %v, less than the sequence's %v", took, min)
	}
}

func TestStopKillsGroup(t *testing.T) {
	p := startHelper(t, Config{}, "grandchild")
	pid, err := strconv.Atoi(readLine(t, bufio.NewReader(p.Stdout())))
	if err != nil {
		t.Fatal(err)
	}
	p.Stop()
	proctest.WaitGone(t, pid, 2*time.Second)
}

func TestGrandchildDoesNotHoldOutputOpen(t *testing.T) {
	p := startHelper(t, Config{PTY: true, Drain: 50 * time.Millisecond}, "grandchild", "exit")
	out := bufio.NewReader(p.Stdout())
	pid, err := strconv.Atoi(readLine(t, out))
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Wait(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := io.ReadAll(out)
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("reading stdout: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("stdout still open 5 s after the child exited")
	}
	proctest.WaitGone(t, pid, 2*time.Second)
}

func TestStopAfterExit(t *testing.T) {
	p := startHelper(t, Config{}, "exit", "0")
	if err := p.Wait(); err != nil {
		t.Fatal(err)
	}
	p.Stop()
	p.Stop()
}

// What an exited child wrote is kept for a reader that comes late: the
// drain is for what holds the streams open, not for a slow reader.
func TestLateReaderGetsEverything(t *testing.T) {
	for _, pty := range []bool{false, true} {
		t.Run("pty="+strconv.FormatBool(pty), func(t *testing.T) {
			p := startHelper(t, Config{PTY: pty, Drain: 20 * time.Millisecond}, "tty")
			if err := p.Wait(); err != nil {
				t.Fatal(err)
			}
			// A reader held up well past the drain, twice over.
			time.Sleep(200 * time.Millisecond)
			got, err := io.ReadAll(p.Stdout())
			if want := "tty=" + strconv.FormatBool(pty) + "\na\r\nb\n"; err != nil || string(got) != want {
				t.Fatalf("stdout %q, %v; want %q", got, err, want)
			}
		})
	}
}
