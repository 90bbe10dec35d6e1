package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestSystemdUnits checks examples/systemd's units with systemd's own
// checker, with ExecStart pointing at the wsbridge built for the tests.
func TestSystemdUnits(t *testing.T) {
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Fatalf("systemd-analyze (Debian's systemd package, which ./scripts/test installs) is needed: %v", err)
	}
	dir := t.TempDir()
	var units []string
	for _, name := range []string{"wsbridge.socket", "wsbridge.service"} {
		unit, err := os.ReadFile(filepath.Join("examples/systemd", name))
		if err != nil {
			t.Fatal(err)
		}
		text := string(unit)
		if name == "wsbridge.service" {
			if !strings.Contains(text, "\nExecStart=/usr/local/bin/wsbridge ") {
				t.Fatal("wsbridge.service does not start /usr/local/bin/wsbridge")
			}
			text = strings.ReplaceAll(text, "\nExecStart=/usr/local/bin/wsbridge ", "\nExecStart="+binary+" ")
		}
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		units = append(units, path)
	}
	// It warns about unknown settings on its output and fails on errors
	// such as a program that cannot run: both fail the test.
	out, err := exec.Command(analyze, append([]string{"verify"}, units...)...).CombinedOutput()
	if err != nil || len(out) != 0 {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
}

func TestSystemdExampleConfig(t *testing.T) {
	c, code, stderr := parseCLI(t, "--config=examples/systemd/wsbridge.toml")
	if c == nil {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !slices.Equal(c.file.command, []string{"/usr/local/lib/wsbridge/chat.sh"}) || c.PingMs != 30000 || c.LogFormat != "json" {
		t.Errorf("command %q, pingms %d, log-format %q", c.file.command, c.PingMs, c.LogFormat)
	}
}
