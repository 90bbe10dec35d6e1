package main

import (
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"wsbridge/process/proctest"
)

// runOutput returns what wsbridge prints with args, which must exit 0
// with nothing on stderr.
func runOutput(t *testing.T, args ...string) string {
	t.Helper()
	var stdout, stderr bytes.Buffer
	if code := run(args, &stdout, &stderr); code != 0 || stderr.Len() != 0 {
		t.Fatalf("%s: exit %d, stderr %q", args, code, stderr.String())
	}
	return stdout.String()
}

// TestEveryFlagDocumented checks that every flag of the command line and
// COMMAND are in the help and in the manual page, each with its
// placeholder.
func TestEveryFlagDocumented(t *testing.T) {
	help := runOutput(t, "--help")
	man := runOutput(t, "--man")
	parser := newParser(new(cli), io.Discard, io.Discard)
	if len(parser.Model.Node.Flags) < 40 {
		t.Fatalf("only %d flags in the model", len(parser.Model.Node.Flags))
	}
	for _, f := range parser.Model.Node.Flags {
		if f.Hidden {
			continue
		}
		name := "--" + f.Name
		if f.Tag.Negatable == "_" {
			name = "--[no-]" + f.Name
		}
		if !f.IsBool() {
			name += "=" + f.FormatPlaceHolder()
		}
		if !strings.Contains(help, " "+name+" ") && !strings.Contains(help, " "+name+"\n") {
			t.Errorf("the help lacks %s", name)
		}
		if !strings.Contains(man, ".TP\n"+manFlagName(f)+"\n"+roffText(f.Help)+"\n") {
			t.Errorf("the manual page lacks %s", name)
		}
	}
	if !strings.Contains(help, "\n  COMMAND [ARGS...]  The program every client gets") {
		t.Errorf("the help does not describe COMMAND [ARGS...]:\n%s", help)
	}
	if !strings.Contains(man, ".TP\n\\fICOMMAND [ARGS...]\\fR\nThe program every client gets") {
		t.Error("the manual page does not describe COMMAND [ARGS...]")
	}
}

// TestHelpLayout checks the top of the help (the usage, then an example)
// and that the flags come in their groups.
func TestHelpLayout(t *testing.T) {
	help := runOutput(t, "--help")
	top := "Usage: wsbridge [flags] COMMAND [ARGS...]\n       wsbridge [flags] --dir=DIR\n\n" +
		"Turn a program that reads stdin and writes stdout into a WebSocket service.\n\n" +
		"Example:\n  wsbridge --port=8080 rev\n"
	if !strings.HasPrefix(help, top) {
		t.Errorf("the help does not start with the usage and an example:\n%s", help)
	}
	var headings []string
	for line := range strings.Lines(help) {
		if strings.HasSuffix(line, ":\n") && !strings.HasPrefix(line, " ") {
			headings = append(headings, strings.TrimSuffix(line, ":\n"))
		}
	}
	want := "Example Arguments Flags Listening Security Programs Limits Cluster Logs"
	if got := strings.Join(headings, " "); got != want {
		t.Errorf("headings %q, want %q", got, want)
	}
	for group, flags := range map[string][]string{
		"Listening": {"--port=PORT", "--address=ADDR", "--unixsocket=PATH", "--trusted-proxy=CIDR,..."},
		"Security":  {"--ssl", "--origin=[SCHEME://]HOST[:PORT],...", "--basic-auth-file=FILE"},
		"Programs":  {"--binary", "--[no-]pty", "--passenv=VAR,...", "--dir=DIR"},
		"Limits":    {"--maxforks=N", "--max-rate=N", "--pingms=MS"},
		"Cluster":   {"--cluster=URL", "--cluster-name=NAME", "--cluster-creds=FILE", "--cluster-tls-ca=FILE"},
		"Logs":      {"--loglevel=LEVEL", "--log-format=FORMAT"},
	} {
		_, section, _ := strings.Cut(help, "\n"+group+":\n")
		section, _, _ = strings.Cut(section, "\n\n")
		for _, f := range flags {
			if !strings.Contains(section, "  "+f+" ") && !strings.Contains(section, "  "+f+"\n") {
				t.Errorf("%s is not under %s:", f, group)
			}
		}
	}
}

// TestManPageRenders renders the manual page with man -l, as man shows a
// file, with every groff warning on: there must be none.
func TestManPageRenders(t *testing.T) {
	for _, tool := range []string{"man", "groff"} {
		proctest.Need(t, tool, map[string]string{"man": "man-db", "groff": "groff"}[tool])
	}
	page := filepath.Join(t.TempDir(), "wsbridge.1")
	if err := os.WriteFile(page, []byte(runOutput(t, "--man")), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("man", "--warnings=w", "-l", page)
	cmd.Env = append(os.Environ(), "MANWIDTH=80", "MANPAGER=cat", "PAGER=cat", "LC_ALL=C.UTF-8")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil || stderr.Len() != 0 {
		t.Fatalf("man -l: %v\n%s", err, stderr.String())
	}
	text := stdout.String()
	for _, want := range []string{"WSBRIDGE(1)", "\nNAME\n       wsbridge ", "\nOPTIONS\n       COMMAND [ARGS...]\n", "\n   Listening\n       --port=PORT\n", "\nEXIT STATUS\n"} {
		if !strings.Contains(text, want) {
			t.Errorf("man -l shows no %q:\n%s", want, text)
		}
	}
}

// TestManPageDated checks that the page is dated with the revision's day
// and names the version, so that one source gives one page.
func TestManPageDated(t *testing.T) {
	app := newParser(new(cli), io.Discard, io.Discard).Model
	page := manPage(app, build{version: "1.2.3", time: "2026-12-07T04:19:10Z"})
	if want := ".TH WSBRIDGE 1 \"2026-12-07\" \"wsbridge 1.2.3\" \"User Commands\"\n"; !strings.HasPrefix(page, want) {
		t.Errorf("page starts with %q, want %q", page[:min(len(page), 80)], want)
	}
	if again := manPage(app, build{version: "1.2.3", time: "2026-12-07T04:19:10Z"}); again != page {
		t.Error("two pages of one build differ")
	}
}

func TestRoffText(t *testing.T) {
	for in, want := range map[string]string{
		"--port and htpasswd -B, permessage-deflate": `\-\-port and htpasswd \-B, permessage-deflate`,
		"(behind a --trusted-proxy)":                 `(behind a \-\-trusted\-proxy)`,
		`a \ backslash`:                              `a \e backslash`,
		".well-known first":                          `\&.well-known first`,
		"'quoted' first":                             `\&'quoted' first`,
	} {
		if got := roffText(in); got != want {
			t.Errorf("roffText(%q) = %q, want %q", in, got, want)
		}
	}
}
