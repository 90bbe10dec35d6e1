package main

import (
	"bytes"
	"context"
	"errors"
	"net"
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

// runBinary runs the built wsbridge with args in dir, with env added to
// its environment, and returns its exit code and output; it must exit by
// itself.
func runBinary(t *testing.T, dir string, env []string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Dir = dir
	cmd.Env = append(append(os.Environ(), env...), "GORACE=atexit_sleep_ms=0 exitcode=66")
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

// expectRefusal runs wsbridge with args in dir and checks that it exits
// with code, printing nothing but want, one line, on stderr.
func expectRefusal(t *testing.T, dir string, code int, want string, args ...string) {
	t.Helper()
	gotCode, stdout, stderr := runBinary(t, dir, nil, args...)
	if want = "wsbridge: error: " + want + "\n"; gotCode != code || stderr != want || stdout != "" {
		t.Errorf("wsbridge %q: exit %d, stdout %q, stderr %q\nwant exit %d and %q", args, gotCode, stdout, stderr, code, want)
	}
}

func TestProgramThatCannotRunSaysWhy(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "noexec.sh"), []byte("#!/bin/sh\necho hi\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	writeScript(t, filepath.Join(dir, "run.sh"), "echo hi")
	if err := os.WriteFile(filepath.Join(dir, "python9.sh"), []byte("#!/usr/bin/python9\nprint('hi')\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"./noexec.sh"}, `program "./noexec.sh": not executable: chmod +x ./noexec.sh`},
		{[]string{"noexec.sh"}, `program "noexec.sh": not found in $PATH; did you mean ./noexec.sh, after chmod +x ./noexec.sh?`},
		{[]string{"run.sh"}, `program "run.sh": not found in $PATH; did you mean ./run.sh?`},
		{[]string{"./python9.sh"}, `program "./python9.sh": its interpreter /usr/bin/python9 (from its #! line) does not exist`},
		{nil, "no program given: wsbridge [flags] COMMAND [ARGS...], or wsbridge [flags] --dir=DIR (see wsbridge --help)"},
	} {
		// Were the program let through, it would listen where no one else does.
		expectRefusal(t, dir, exitBadArguments, tc.want, append([]string{"--address=127.0.0.1", "--port=0"}, tc.args...)...)
	}
}

func TestDirScriptThatCannotRunIsLoggedWhy(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "python9.sh"), []byte("#!/usr/bin/python9\nprint('hi')\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	s := startServer(t, "--dir="+dir)
	c := s.dial("/python9.sh")
	expectClose(t, c, websocket.StatusInternalError, "could not start program")
	ev := s.event("could not start program")
	if msg, _ := ev["error"].(string); !strings.HasSuffix(msg, ": its interpreter /usr/bin/python9 (from its #! line) does not exist") {
		t.Errorf("logged %v", ev)
	}
}

func TestBadAddressIsABadCommandLine(t *testing.T) {
	port := strconv.Itoa(freePort(t))
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--address=999.1.1.1"}, `--address "999.1.1.1": not an IP address`},
		{[]string{"--address=127.0.0.1", "--address=my host"}, `--address "my host": neither an IP address nor a host name`},
		{[]string{"--address=127.0.0.1:" + port}, `--address "127.0.0.1:` + port + `": give the port with --port=` + port + `, not in the address`},
		{[]string{"--address=127.0.0.1", "--metrics-address=999.1.1.1:9100"}, `--metrics-address=999.1.1.1:9100: not an IP address`},
		{[]string{"--address=127.0.0.1", "--port=" + port, "--redirport=" + port},
			"--redirport=" + port + ": the port of the service itself (--port); choose another"},
	} {
		expectRefusal(t, "", exitBadArguments, tc.want, append(tc.args, "cat")...)
	}
	// A host name is taken as it is, as websocketd does.
	s := startServerArgs(t, "--address=localhost", "--port=0", "rev")
	c := s.dial("/")
	send(t, c, websocket.MessageText, "abc")
	expect(t, c, websocket.MessageText, "cba")
}

func TestPortInUse(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--port=" + port}, "port " + port + " is already in use: choose another with --port"},
		{[]string{"--address=127.0.0.1", "--port=" + port}, "port " + port + " on 127.0.0.1 is already in use: choose another with --port"},
		{[]string{"--address=127.0.0.1", "--port=0", "--redirport=" + port}, "port " + port + " on 127.0.0.1 is already in use: choose another with --redirport"},
		{[]string{"--address=127.0.0.1", "--port=0", "--metrics-address=127.0.0.1:" + port}, "port " + port + " on 127.0.0.1 is already in use: choose another with --metrics-address"},
	} {
		expectRefusal(t, "", exitCannotStart, tc.want, append(tc.args, "cat")...)
	}
}

func TestPrivilegedPortSaysSo(t *testing.T) {
	start, err := os.ReadFile("/proc/sys/net/ipv4/ip_unprivileged_port_start")
	if err != nil {
		t.Skipf("no unprivileged port range to read: %v", err)
	}
	first, err := strconv.Atoi(strings.TrimSpace(string(start)))
	if err != nil || first < 2 {
		t.Skipf("every port may be listened on here (from %s)", start)
	}
	port := strconv.Itoa(first - 1)
	cmd := exec.Command(binary, "--address=127.0.0.1", "--port="+port, "cat")
	cmd.Dir = "/"
	cmd.Env = append(os.Environ(), "GORACE=atexit_sleep_ms=0 exitcode=66")
	if os.Getuid() == 0 {
		// Run it as nobody, which needs to reach the binary.
		if err := os.Chmod(filepath.Dir(binary), 0o755); err != nil {
			t.Fatal(err)
		}
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	}
	code, stdout, stderr := runCommand(t, cmd)
	want := "wsbridge: error: port " + port + " on 127.0.0.1 is reserved to privileged programs: choose one of 1024 or above with --port, or grant wsbridge CAP_NET_BIND_SERVICE\n"
	if code != exitCannotStart || stderr != want || stdout != "" {
		t.Errorf("exit %d, stdout %q, stderr %q\nwant exit %d and %q", code, stdout, stderr, exitCannotStart, want)
	}
}
