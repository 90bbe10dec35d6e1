package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
)

func TestVersionText(t *testing.T) {
	goLine := runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH + "\n"
	stamped := func(version string, settings ...string) *debug.BuildInfo {
		info := &debug.BuildInfo{Main: debug.Module{Path: "wsbridge", Version: version}}
		for i := 0; i < len(settings); i += 2 {
			info.Settings = append(info.Settings, debug.BuildSetting{Key: settings[i], Value: settings[i+1]})
		}
		return info
	}
	const rev = "8a1a323d8716316645e813a88eda444b92a75531"
	for _, tc := range []struct {
		name string
		info *debug.BuildInfo
		want string
	}{
		{"no build info", nil, "wsbridge devel\n" + goLine},
		{"not stamped", stamped("(devel)"), "wsbridge devel\n" + goLine},
		{"release", stamped("v1.2.3", "vcs", "git", "vcs.revision", rev, "vcs.time", "2026-11-26T14:43:00Z", "vcs.modified", "false"),
			"wsbridge 1.2.3\nrevision " + rev + ", 2026-11-26T14:43:00Z\n" + goLine},
		{"modified", stamped("v0.0.0-20261126144300-8a1a323d8716+dirty", "vcs.revision", rev, "vcs.time", "2026-11-26T14:43:00Z", "vcs.modified", "true"),
			"wsbridge 0.0.0-20261126144300-8a1a323d8716+dirty\nrevision " + rev + ", 2026-11-26T14:43:00Z, modified\n" + goLine},
	} {
		if got := buildOf(tc.info).text(); got != tc.want {
			t.Errorf("%s: got %q, want %q", tc.name, got, tc.want)
		}
	}
}

// TestVersionStamped checks that what a release build gives with -ldflags
// takes the place of what the build info says.
func TestVersionStamped(t *testing.T) {
	info := &debug.BuildInfo{Main: debug.Module{Path: "wsbridge", Version: "(devel)"}, Settings: []debug.BuildSetting{
		{Key: "vcs.revision", Value: "8a1a323d8716316645e813a88eda444b92a75531"},
		{Key: "vcs.time", Value: "2026-11-26T14:43:00Z"},
		{Key: "vcs.modified", Value: "true"},
	}}
	const rev = "0123456789abcdef0123456789abcdef01234567"
	goLine := runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH + "\n"
	for _, tc := range []struct {
		name                  string
		version, revision, at string
		want                  string
	}{
		{"nothing stamped", "", "", "", "wsbridge devel\nrevision 8a1a323d8716316645e813a88eda444b92a75531, 2026-11-26T14:43:00Z, modified\n" + goLine},
		{"version only", "v1.2.3", "", "", "wsbridge 1.2.3\nrevision 8a1a323d8716316645e813a88eda444b92a75531, 2026-11-26T14:43:00Z, modified\n" + goLine},
		{"all three", "1.2.3", rev, "2026-12-07T04:19:10Z", "wsbridge 1.2.3\nrevision " + rev + ", 2026-12-07T04:19:10Z\n" + goLine},
	} {
		if got := buildOf(info).stamped(tc.version, tc.revision, tc.at).text(); got != tc.want {
			t.Errorf("%s: got %q, want %q", tc.name, got, tc.want)
		}
	}
	if got := buildOf(nil).stamped("1.2.3", rev, "2026-12-07T04:19:10Z").text(); got != "wsbridge 1.2.3\nrevision "+rev+", 2026-12-07T04:19:10Z\n"+goLine {
		t.Errorf("no build info: got %q", got)
	}
}

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

// TestGoVersionAgrees checks that the README asks for the Go that go.mod
// names: the oldest its dependencies allow, with which the module builds.
func TestGoVersionAgrees(t *testing.T) {
	mod, err := os.ReadFile("go.mod")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^go (\d+\.\d+)(\.\d+)?$`).FindSubmatch(mod)
	if m == nil {
		t.Fatal("go.mod has no go line")
	}
	want := string(m[1])
	if patch := strings.TrimPrefix(string(m[2]), "."); patch != "" && patch != "0" {
		want += "." + patch
	}
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	named := regexp.MustCompile(`\bGo (\d+\.\d+(?:\.\d+)?) or later\b`).FindAllSubmatch(readme, -1)
	if len(named) == 0 {
		t.Fatal(`the README names no "Go 1.N or later"`)
	}
	for _, n := range named {
		if string(n[1]) != want {
			t.Errorf("the README asks for Go %s, go.mod for Go %s", n[1], want)
		}
	}
}
