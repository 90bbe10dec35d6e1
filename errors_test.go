package main_test

import (
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/coder/websocket"

	wsbridge "wsbridge"

	"wsbridge/bridge/wstest"
)

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
		expectRefusal(t, dir, wsbridge.ExitBadArguments, tc.want, append([]string{"--address=127.0.0.1", "--port=0"}, tc.args...)...)
	}
}

func TestDirScriptThatCannotRunIsLoggedWhy(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "python9.sh"), []byte("#!/usr/bin/python9\nprint('hi')\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	s := startServer(t, "--dir="+dir)
	c := s.dial("/python9.sh")
	wstest.ExpectClose(t, c, websocket.StatusInternalError, "could not start program")
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
		expectRefusal(t, "", wsbridge.ExitBadArguments, tc.want, append(tc.args, "cat")...)
	}
	// A host name is taken as it is, as websocketd does.
	s := startServerArgs(t, "--address=localhost", "--port=0", "rev")
	c := s.dial("/")
	wstest.Send(t, c, websocket.MessageText, "abc")
	wstest.Expect(t, c, websocket.MessageText, "cba")
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
		expectRefusal(t, "", wsbridge.ExitCannotStart, tc.want, append(tc.args, "cat")...)
	}
}
