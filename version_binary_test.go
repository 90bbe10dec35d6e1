package main_test

// End-to-end tests of what the built wsbridge says of its version.

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
)

// TestVersionOfBinary checks what the binary the tests built says of
// itself, with --version and in /metrics, against the checkout and the
// toolchain that built it.
func TestVersionOfBinary(t *testing.T) {
	out, lines := binaryVersion(t)
	version, _ := strings.CutPrefix(lines[0], "wsbridge ")
	if version == "" || lines[len(lines)-1] != runtime.Version()+" "+runtime.GOOS+"/"+runtime.GOARCH {
		t.Fatalf("--version printed %q", out)
	}
	revision := ""
	if len(lines) == 3 {
		m := regexp.MustCompile(`^revision ([0-9a-f]{40}), (\S+)(, modified)?$`).FindStringSubmatch(lines[1])
		if m == nil {
			t.Fatalf("--version printed %q", out)
		}
		revision = m[1]
	}

	// go build stamps the revision in a git checkout whose .git is a
	// directory (not in a worktree), where git can be run.
	top, err := exec.Command("git", "rev-parse", "--show-toplevel").Output()
	head, herr := exec.Command("git", "rev-parse", "HEAD").Output()
	if fi, serr := os.Stat(filepath.Join(strings.TrimSpace(string(top)), ".git")); err == nil && herr == nil && serr == nil && fi.IsDir() {
		if want := strings.TrimSpace(string(head)); revision != want {
			t.Errorf("--version printed %q, want revision %s", out, want)
		}
		if !strings.Contains(version, revision[:12]) && !regexp.MustCompile(`^\d+\.\d+\.\d+`).MatchString(version) {
			t.Errorf("version %q is neither a release nor the revision's pseudo-version", version)
		}
	} else {
		t.Logf("not a checkout go build stamps: --version printed %q", out)
	}

	s := startServer(t, "--metrics-address=127.0.0.1:0", "cat")
	want := `wsbridge_build_info{goversion="` + runtime.Version() + `",revision="` + revision + `",version="` + version + `"} 1`
	if !metricLines(t, s.event("serving metrics")["address"].(string))[want] {
		t.Errorf("/metrics lacks %q", want)
	}
}

// binaryVersion returns what the binary the tests built prints with
// --version, whole and in lines.
func binaryVersion(t *testing.T) (string, []string) {
	t.Helper()
	out, err := exec.Command(binary, "--version").Output()
	if err != nil {
		t.Fatal(err)
	}
	return string(out), strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
}
