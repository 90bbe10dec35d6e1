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
	info, _ := debug.ReadBuildInfo()
	fmt.Fprint(app.Stdout, versionText(info))
	app.Exit(0)
	return nil
}

// versionText describes the build info (nil for none) in a few lines: the
// module version, then, when the build was stamped with them, the
// version control revision, its time and "modified" if the tree had
// changes that were not committed, and last the Go version and platform.
//
//	wsbridge 1.2.3
//	revision 0123456789abcdef0123456789abcdef01234567, 2026-11-26T14:43:00Z, modified
//	go1.26.8 linux/amd64
func versionText(info *debug.BuildInfo) string {
	var b strings.Builder
	fmt.Fprintf(&b, "wsbridge %s\n", moduleVersion(info))
	settings := map[string]string{}
	if info != nil {
		for _, s := range info.Settings {
			settings[s.Key] = s.Value
		}
	}
	if rev := settings["vcs.revision"]; rev != "" {
		b.WriteString("revision " + rev)
		if t := settings["vcs.time"]; t != "" {
			b.WriteString(", " + t)
		}
		if settings["vcs.modified"] == "true" {
			b.WriteString(", modified")
		}
		b.WriteString("\n")
	}
	fmt.Fprintf(&b, "%s %s/%s\n", runtime.Version(), runtime.GOOS, runtime.GOARCH)
	return b.String()
}

// moduleVersion is the version of the module wsbridge was built from, as
// the build info (nil for none) has it, without its "v": a release
// (1.2.3) or a pseudo-version made of the revision's time and hash; or
// "devel" when it has none.
func moduleVersion(info *debug.BuildInfo) string {
	if info == nil || info.Main.Version == "" || info.Main.Version == "(devel)" {
		return "devel"
	}
	return strings.TrimPrefix(info.Main.Version, "v")
}
