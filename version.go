package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/alecthomas/kong"
)

// versionFlag is --version: it prints what wsbridge was built from and
// exits.
type versionFlag bool

// BeforeReset prints the version as soon as kong sees the flag, before
// anything else is checked.
func (versionFlag) BeforeReset(app *kong.Kong) error {
	fmt.Fprint(app.Stdout, readBuild().text())
	app.Exit(0)
	return nil
}

// build is what the Go toolchain stamped into the binary.
type build struct {
	version  string // the module version without its "v", or "devel"
	revision string // the version control revision; "" when not stamped
	time     string // the revision's time; "" when not stamped
	modified bool   // the tree had changes that were not committed
}

// What a release build stamps with -ldflags, where the build info cannot
// say it: the version it is released as, and the revision and its time
// when it is built where go build does not stamp them (a worktree, a
// source archive). For example:
//
//	go build -ldflags="-X main.version=1.2.3 -X main.revision=0123abc... -X main.revisionTime=2026-11-26T14:43:00Z"
var version, revision, revisionTime string

// readBuild returns what the running binary was built from.
func readBuild() build {
	info, _ := debug.ReadBuildInfo()
	return buildOf(info).stamped(version, revision, revisionTime)
}

// buildOf returns what the build info (nil for none) says: the module
// version, a release (1.2.3) or a pseudo-version made of the revision's
// time and hash, or "devel" when it has none; and the version control
// settings, when the build was stamped with them.
func buildOf(info *debug.BuildInfo) build {
	b := build{version: "devel"}
	if info == nil {
		return b
	}
	if v := info.Main.Version; v != "" && v != "(devel)" {
		b.version = strings.TrimPrefix(v, "v")
	}
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			b.revision = s.Value
		case "vcs.time":
			b.time = s.Value
		case "vcs.modified":
			b.modified = s.Value == "true"
		}
	}
	return b
}

// stamped returns b with the version, revision and time given by -ldflags
// in place of those of the build info, each when it is not "".
func (b build) stamped(version, revision, time string) build {
	if version != "" {
		b.version = strings.TrimPrefix(version, "v")
	}
	if revision != "" {
		b.revision, b.modified = revision, false
	}
	if time != "" {
		b.time = time
	}
	return b
}

// text describes the build in a few lines: the module version, then, when
// the build was stamped with them, the revision, its time and "modified"
// if the tree had changes that were not committed, and last the Go version
// and platform.
//
//	wsbridge 1.2.3
//	revision 0123456789abcdef0123456789abcdef01234567, 2026-11-26T14:43:00Z, modified
//	go1.26.8 linux/amd64
func (b build) text() string {
	var s strings.Builder
	fmt.Fprintf(&s, "wsbridge %s\n", b.version)
	if b.revision != "" {
		s.WriteString("revision " + b.revision)
		if b.time != "" {
			s.WriteString(", " + b.time)
		}
		if b.modified {
			s.WriteString(", modified")
		}
		s.WriteString("\n")
	}
	fmt.Fprintf(&s, "%s %s/%s\n", runtime.Version(), runtime.GOOS, runtime.GOARCH)
	return s.String()
}
