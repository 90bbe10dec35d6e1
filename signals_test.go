package main

// End-to-end tests of what signals to wsbridge do: SIGKILL leaves no
// program behind, SIGHUP reloads, a dead log reader stops nothing.

import (
	"bufio"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"
)

func TestProgramsGetDefaultSignals(t *testing.T) {
	t.Parallel()
	// wsbridge handles SIGPIPE and SIGHUP; its programs must not find
	// them ignored.
	s := startServer(t, "cat", "/proc/self/status")
	c := s.dial("/")
	for {
		_, line, err := c.Read(ctx(t))
		if err != nil {
			t.Fatalf("no SigIgn line: %v", err)
		}
		mask, ok := strings.CutPrefix(string(line), "SigIgn:")
		if !ok {
			continue
		}
		ignored, err := strconv.ParseUint(strings.TrimSpace(mask), 16, 64)
		if err != nil {
			t.Fatal(err)
		}
		for _, sig := range []syscall.Signal{syscall.SIGPIPE, syscall.SIGHUP} {
			if ignored&(1<<(sig-1)) != 0 {
				t.Errorf("the program starts with %v ignored", sig)
			}
		}
		return
	}
}

func TestLogReaderGone(t *testing.T) {
	t.Parallel()
	logs, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr, err := os.Create(filepath.Join(t.TempDir(), "stderr"))
	if err != nil {
		t.Fatal(err)
	}
	defer stderr.Close()
	cmd := exec.Command(binary, "--address=127.0.0.1", "--port=0", "cat")
	cmd.Env = append(os.Environ(), "GORACE=atexit_sleep_ms=0 exitcode=66")
	cmd.Stdout, cmd.Stderr = w, stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	var exit error
	exited := make(chan struct{})
	go func() {
		exit = cmd.Wait()
		close(exited)
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
	})
	var listening struct{ Address string }
	line, err := bufio.NewReader(logs).ReadBytes('\n')
	if err := json.Unmarshal(line, &listening); err != nil || listening.Address == "" {
		t.Fatalf("first log line %q: %v", line, err)
	}
	// The reader goes: the next log line fails, and those after it.
	logs.Close()
	s := &server{t: t, addr: listening.Address}
	for i := range 5 {
		c := s.dial("/")
		msg := "hello " + strconv.Itoa(i)
		send(t, c, websocket.MessageText, msg)
		expect(t, c, websocket.MessageText, msg)
		c.Close(websocket.StatusNormalClosure, "")
	}
	// It said so once on stderr.
	var said []byte
	for deadline := time.Now().Add(10 * time.Second); len(said) == 0 && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		said, _ = os.ReadFile(stderr.Name())
	}
	const lost = "wsbridge: error: writing the logs: write /dev/stdout: broken pipe; the logs are lost from here on\n"
	if string(said) != lost {
		t.Errorf("stderr %q, want %q", said, lost)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-exited:
		if exit != nil {
			t.Errorf("wsbridge exited with %v, want status 0", exit)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("wsbridge did not exit")
	}
}
