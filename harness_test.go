package main_test

// The harness of the end-to-end tests: they build wsbridge once, start it
// as a user would, speak to it and read its JSON logs.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"

	wsbridge "wsbridge"

	"wsbridge/bridge/wstest"
	"wsbridge/process/proctest"
)

// binary is the wsbridge built for these tests.
var binary string

func TestMain(m *testing.M) {
	// A server run in this process (by run) starts its guardian from
	// this binary.
	if slices.Equal(os.Args, wsbridge.GuardianArgs) {
		wsbridge.Main()
		return
	}
	// The tests' own setting, read by proctest already, is no flag's
	// variable: wsbridge, run here or as the binary, would warn of it.
	os.Unsetenv(proctest.StrictEnv)
	dir, err := os.MkdirTemp("", "wsbridge-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "wsbridge")
	// Stamped with the revision as go build stamps it by default, even
	// where GOFLAGS turns that off; with the race detector when the tests
	// run with it.
	args := []string{"build", "-buildvcs=auto", "-o", binary}
	if raceEnabled {
		args = append(args, "-race")
	}
	build := exec.Command("go", append(args, ".")...)
	build.Stdout, build.Stderr = os.Stdout, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building wsbridge:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// server is a running wsbridge.
type server struct {
	t    *testing.T
	cmd  *exec.Cmd
	addr string // host:port it listens on
	done chan struct{}
	err  error

	listening chan string // the address of the first listener
	killed    bool        // killed by the test: it need not exit with 0

	mu   sync.Mutex
	logs []map[string]any // its JSON log events
}

// startServer starts wsbridge on a free port of 127.0.0.1 with args (flags,
// then the command) and waits until it listens.
func startServer(t *testing.T, args ...string) *server {
	t.Helper()
	return startServerArgs(t, append([]string{"--address=127.0.0.1", "--port=0"}, args...)...)
}

// startServerArgs starts wsbridge with exactly args and waits until it
// listens; addr is the address of its first listener.
func startServerArgs(t *testing.T, args ...string) *server {
	t.Helper()
	return startServerEnv(t, nil, args...)
}

// startServerEnv is startServerArgs with env added to the environment.
func startServerEnv(t *testing.T, env []string, args ...string) *server {
	t.Helper()
	s := launch(t, exec.Command(binary, args...), env)
	s.waitListening()
	return s
}

// serverEnv is what wsbridge's environment gets besides the test's: the
// race detector, when wsbridge is built with it, reports races as a
// failing exit status, and exits without its pause.
var serverEnv = []string{"GORACE=atexit_sleep_ms=0 exitcode=66"}

// launch starts cmd, a wsbridge or a program that runs one, with env
// added to its environment, and collects wsbridge's log events; it is
// stopped with SIGTERM at the end of the test and must exit with status 0,
// unless the test killed it.
func launch(t *testing.T, cmd *exec.Cmd, env []string) *server {
	t.Helper()
	s := &server{t: t, cmd: cmd, done: make(chan struct{}), listening: make(chan string, 1)}
	s.cmd.Env = append(append(os.Environ(), env...), serverEnv...)
	if s.cmd.Stderr == nil {
		s.cmd.Stderr = os.Stderr
	}
	stdout, err := s.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			var ev map[string]any
			if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
				t.Errorf("log line is not JSON: %q", sc.Text())
				continue
			}
			s.mu.Lock()
			s.logs = append(s.logs, ev)
			s.mu.Unlock()
			if ev["message"] == "listening" {
				select {
				case s.listening <- ev["address"].(string):
				default: // not the first listener
				}
			}
		}
		s.err = s.cmd.Wait()
		close(s.done)
	}()
	t.Cleanup(func() {
		if s.killed {
			return
		}
		s.cmd.Process.Signal(syscall.SIGTERM)
		if err := s.wait(); err != nil {
			t.Errorf("wsbridge exited with %v", err)
		}
	})
	return s
}

// waitListening waits until the server listens and sets addr to the
// address of its first listener.
func (s *server) waitListening() {
	s.t.Helper()
	select {
	case s.addr = <-s.listening:
	case <-s.done:
		s.t.Fatalf("wsbridge exited before listening: %v", s.err)
	case <-time.After(20 * time.Second):
		s.t.Fatal("wsbridge did not start listening")
	}
}

// wait waits for the server to exit and returns how it did.
func (s *server) wait() error {
	select {
	case <-s.done:
		return s.err
	case <-time.After(30 * time.Second):
		s.cmd.Process.Kill()
		s.t.Fatal("wsbridge did not exit")
		return nil
	}
}

// kill kills the server with SIGKILL and waits for it to be gone.
func (s *server) kill() {
	s.t.Helper()
	s.killed = true
	s.cmd.Process.Kill()
	if err := s.wait(); err == nil || err.Error() != "signal: killed" {
		s.t.Fatalf("wsbridge ended with %v, want signal: killed", err)
	}
}

// terminate sends the server SIGTERM and checks that each client reads
// "bye", its program's last line, and then 1001, and that the server
// exits with status 0.
func (s *server) terminate(clients ...*websocket.Conn) {
	s.t.Helper()
	s.cmd.Process.Signal(syscall.SIGTERM)
	for _, c := range clients {
		wstest.Expect(s.t, c, websocket.MessageText, "bye")
		wstest.ExpectClose(s.t, c, websocket.StatusGoingAway, "server shutting down")
	}
	if err := s.wait(); err != nil {
		s.t.Fatalf("server exited with %v, want status 0", err)
	}
}

// events waits until the server has logged at least n events with the
// given message and returns them.
func (s *server) events(message string, n int) []map[string]any {
	s.t.Helper()
	return s.matching(n, func(ev map[string]any) bool { return ev["message"] == message },
		fmt.Sprintf("%q events", message))
}

// event waits for a log event with the given message and returns it.
func (s *server) event(message string) map[string]any {
	s.t.Helper()
	return s.events(message, 1)[0]
}

// eventSaying waits for a log event with the given message whose field
// holds part, and returns it.
func (s *server) eventSaying(message, field, part string) map[string]any {
	s.t.Helper()
	return s.matching(1, func(ev map[string]any) bool {
		return ev["message"] == message && strings.Contains(fmt.Sprint(ev[field]), part)
	}, fmt.Sprintf("%q events with %s saying %q", message, field, part))[0]
}

// matching waits up to 20 s until the server has logged at least n events
// that match, what they are, and returns them.
func (s *server) matching(n int, match func(map[string]any) bool, what string) []map[string]any {
	s.t.Helper()
	var evs []map[string]any
	proctest.Eventually(s.t, 20*time.Second, func() error {
		s.mu.Lock()
		defer s.mu.Unlock()
		evs = evs[:0]
		for _, ev := range s.logs {
			if match(ev) {
				evs = append(evs, ev)
			}
		}
		if len(evs) < n {
			return fmt.Errorf("%d %s in the log, want %d", len(evs), what, n)
		}
		return nil
	})
	return evs
}

// dial opens a WebSocket connection to path on the server, with no limit
// on the size of messages read; it is closed at the end of the test.
func (s *server) dial(path string) *websocket.Conn {
	s.t.Helper()
	c, _, err := websocket.Dial(wstest.Context(s.t), "ws://"+s.addr+path, nil)
	if err != nil {
		s.t.Fatal(err)
	}
	c.SetReadLimit(-1)
	s.t.Cleanup(func() { c.CloseNow() })
	return c
}

// httpGet gets http://addr/path, giving up after 20 s, and returns the
// status and body of the answer.
func httpGet(t *testing.T, addr, path string) (int, string) {
	t.Helper()
	client := &http.Client{Timeout: 20 * time.Second}
	resp, err := client.Get("http://" + addr + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(body)
}

// skipShort skips t under -short: it takes seconds by design, loading the
// server to find a leak or a bound, or waiting out one of its timeouts.
func skipShort(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("takes seconds by design: runs without -short")
	}
}

// runBinary runs the built wsbridge with args in dir, with env added to
// its environment, and returns its exit code and output; it must exit by
// itself.
func runBinary(t *testing.T, dir string, env []string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Dir = dir
	cmd.Env = append(append(os.Environ(), env...), serverEnv...)
	return runCommand(t, cmd)
}

// runCommand runs cmd, which must exit by itself, and returns its exit
// code and output.
func runCommand(t *testing.T, cmd *exec.Cmd) (code int, stdout, stderr string) {
	t.Helper()
	var out, errs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errs
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		code = ee.ExitCode()
	case err != nil:
		t.Fatalf("running %q: %v", cmd.Args, err)
	}
	return code, out.String(), errs.String()
}
