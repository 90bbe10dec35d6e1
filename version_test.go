package main

import (
	"os"
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
