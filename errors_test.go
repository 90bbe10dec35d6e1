package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
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
	var out, errs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errs
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		code = ee.ExitCode()
	case err != nil:
		t.Fatalf("running wsbridge %q: %v", args, err)
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
