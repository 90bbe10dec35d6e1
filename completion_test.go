package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"wsbridge/process/proctest"
)

// completionCases are lines typed before a tab, with candidates that must
// be offered and ones that must not. Candidates are compared by what
// follows the "=" of a --flag=value and by base name, since each shell
// shows values and paths its own way.
func completionCases(dir string) []struct {
	line      string
	want, not []string
} {
	return []struct {
		line      string
		want, not []string
	}{
		{"wsbridge --log", []string{"--loglevel", "--log-format"}, []string{"--port", "--license"}},
		{"wsbridge --loglevel=", []string{"trace", "debug", "access", "info", "warn", "error", "fatal"}, []string{"json"}},
		{"wsbridge --loglevel ", []string{"trace", "debug", "access", "info", "warn", "error", "fatal"}, []string{"json"}},
		{"wsbridge --log-format=j", []string{"json"}, []string{"debug"}},
		{"wsbridge --no-p", []string{"--no-pty"}, nil},
		{"wsbridge --sslcert " + dir + "/ce", []string{"cert.pem"}, nil},
		{"wsbridge --dir=" + dir + "/su", []string{"sub"}, []string{"subfile"}},
		{"wsbridge --port 8080 wsbridge-test-prog", []string{"wsbridge-test-program"}, []string{"--port"}},
		{"wsbridge -- wsbridge-test-prog", []string{"wsbridge-test-program"}, nil},
		{"wsbridge wsbridge-test-program --lo", nil, []string{"--loglevel", "--log-format"}},
	}
}

// completionScript returns the script wsbridge --completion=shell prints,
// written to a file.
func completionScript(t *testing.T, shell string) string {
	t.Helper()
	var stdout, stderr strings.Builder
	if code := run([]string{"--completion=" + shell}, &stdout, &stderr); code != 0 || stderr.Len() != 0 {
		t.Fatalf("--completion=%s: exit %d, stderr %q", shell, code, stderr.String())
	}
	path := filepath.Join(t.TempDir(), "wsbridge."+shell)
	if err := os.WriteFile(path, []byte(stdout.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// completionDir makes the files and program the cases complete, and puts
// the program on PATH for the shells.
func completionDir(t *testing.T) (dir string, env []string) {
	t.Helper()
	dir = t.TempDir()
	for _, name := range []string{"cert.pem", "subfile"} {
		if err := os.WriteFile(filepath.Join(dir, name), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "bin")
	if err := os.Mkdir(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(bin, "wsbridge-test-program"), []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	env = append(os.Environ(), "PATH="+bin+":"+os.Getenv("PATH"), "HOME="+dir, "XDG_CONFIG_HOME="+dir, "XDG_DATA_HOME="+dir)
	return dir, env
}

// checkCandidates compares what a shell offered with a case.
func checkCandidates(t *testing.T, line string, got, want, not []string) {
	t.Helper()
	var names []string
	for _, c := range got {
		if strings.HasPrefix(c, "-") {
			if _, v, ok := strings.Cut(c, "="); ok {
				c = v
			}
		}
		names = append(names, filepath.Base(strings.TrimSuffix(c, "/")))
	}
	for _, w := range want {
		if !slices.Contains(names, w) {
			t.Errorf("%q: %q not offered; got %q", line, w, got)
		}
	}
	for _, n := range not {
		if slices.Contains(names, n) {
			t.Errorf("%q: %q offered; got %q", line, n, got)
		}
	}
}

func runShell(t *testing.T, env []string, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, proctest.Need(t, name, name), args...)
	cmd.Env = env
	out, err := cmd.Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("%s %q: %v\n%s%s", name, args, err, out, stderr)
	}
	return string(out)
}

func TestBashCompletion(t *testing.T) {
	script := completionScript(t, "bash")
	dir, env := completionDir(t)
	got := runShell(t, env, "bash", "--norc", "--noprofile", "-c", "source "+quote(script)+"; complete -p wsbridge")
	if strings.TrimSpace(got) != "complete -o filenames -F _wsbridge wsbridge" {
		t.Fatalf("complete -p wsbridge: %q", got)
	}
	for _, tc := range completionCases(dir) {
		// Split the line as readline does, at spaces and at "=".
		var words []string
		for _, field := range strings.Split(tc.line, " ") {
			parts := strings.Split(field, "=")
			for i, p := range parts {
				if i > 0 {
					words = append(words, "=")
				}
				if p != "" || i == len(parts)-1 {
					words = append(words, p)
				}
			}
		}
		quoted := make([]string, len(words))
		for i, w := range words {
			quoted[i] = quote(w)
		}
		out := runShell(t, env, "bash", "--norc", "--noprofile", "-c", "source "+quote(script)+
			"\nCOMP_WORDS=("+strings.Join(quoted, " ")+")\nCOMP_CWORD="+strconv.Itoa(len(words)-1)+
			"\n_wsbridge\nprintf '%s\\n' \"${COMPREPLY[@]}\"")
		checkCandidates(t, tc.line, strings.Fields(out), tc.want, tc.not)
	}
}

func TestZshCompletion(t *testing.T) {
	script := completionScript(t, "zsh")
	dir, env := completionDir(t)
	for _, tc := range completionCases(dir) {
		out := filepath.Join(t.TempDir(), "offered")
		runShell(t, env, "zsh", "-f", "testdata/complete.zsh", script, out, tc.line)
		offered, err := os.ReadFile(out)
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		checkCandidates(t, tc.line, strings.Fields(string(offered)), tc.want, tc.not)
	}
}

func TestFishCompletion(t *testing.T) {
	script := completionScript(t, "fish")
	dir, env := completionDir(t)
	for _, tc := range completionCases(dir) {
		out := runShell(t, env, "fish", "--no-config", "-c", "source "+quote(script)+"; complete -C"+quote(tc.line))
		var got []string
		for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
			candidate, _, _ := strings.Cut(line, "\t")
			got = append(got, candidate)
		}
		checkCandidates(t, tc.line, got, tc.want, tc.not)
	}
}

func TestCompletionBadShell(t *testing.T) {
	var stdout, stderr strings.Builder
	code := run([]string{"--completion=tcsh"}, &stdout, &stderr)
	if code != exitBadFlags || strings.TrimSpace(stderr.String()) != "wsbridge: error: --completion=tcsh: want bash, zsh or fish" {
		t.Fatalf("exit %d, stderr %q", code, stderr.String())
	}
}
