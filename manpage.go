package main

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/alecthomas/kong"
)

// manFlag is --man: it prints the manual page and exits.
type manFlag bool

// BeforeReset prints the page as soon as kong sees the flag, before the
// environment or a config file is read.
func (manFlag) BeforeReset(k *kong.Kong) error {
	fmt.Fprint(k.Stdout, manPage(k.Model, readBuild()))
	k.Exit(0)
	return nil
}

// manPage returns the manual page of app, section 1, in roff for man(1):
// the usage, the example and the flags of the help, each group of flags
// under its own heading, then the environment and the exit status. The
// page is dated with the revision's day, so that the same source gives
// the same page.
func manPage(app *kong.Application, b build) string {
	var s strings.Builder
	date, _, _ := strings.Cut(b.time, "T")
	fmt.Fprintf(&s, ".TH WSBRIDGE 1 %q %q \"User Commands\"\n", date, "wsbridge "+b.version)
	name := strings.TrimSuffix(app.Help, ".")
	name = strings.ToLower(name[:1]) + name[1:]
	s.WriteString(".SH NAME\nwsbridge \\- " + roffText(name) + "\n")
	s.WriteString(`.SH SYNOPSIS
.B wsbridge
[\fIflags\fR] \fICOMMAND\fR [\fIARGS\fR...]
.br
.B wsbridge
[\fIflags\fR] \fB\-\-dir\fR=\fIDIR\fR
.SH DESCRIPTION
`)
	s.WriteString(roffText(manDescription) + "\n")
	s.WriteString(".SH EXAMPLE\n.EX\n" + roffText(helpExample) + "\n.EE\n")
	s.WriteString(".SH OPTIONS\n")
	for _, arg := range app.Node.Positional {
		fmt.Fprintf(&s, ".TP\n\\fI%s\\fR\n%s\n", roffText(arg.Tag.PlaceHolder), roffText(arg.Help))
	}
	// The flags with no group first, then each group in the order of its
	// first flag, as in the help.
	var titles []string
	byTitle := map[string][]*kong.Flag{}
	for _, f := range app.Node.Flags {
		if f.Hidden {
			continue
		}
		title := ""
		if f.Group != nil {
			title = strings.TrimSuffix(f.Group.Title, ":")
		}
		if _, seen := byTitle[title]; !seen {
			titles = append(titles, title)
		}
		byTitle[title] = append(byTitle[title], f)
	}
	if i := slices.Index(titles, ""); i > 0 {
		titles = slices.Insert(slices.Delete(titles, i, i+1), 0, "")
	}
	for _, title := range titles {
		if title != "" {
			fmt.Fprintf(&s, ".SS %s\n", roffText(title))
		}
		for _, f := range byTitle[title] {
			fmt.Fprintf(&s, ".TP\n%s\n%s\n", manFlagName(f), roffText(f.Help))
		}
	}
	s.WriteString(".SH ENVIRONMENT\n" + roffText(strings.TrimSpace(helpEnvironment)) + "\n")
	s.WriteString(`.SH EXIT STATUS
.TP
0
wsbridge stopped on SIGTERM or SIGINT, or printed what a flag asked for.
.TP
1
The flags parse but make no sense together.
.TP
2
The flags do not parse.
.TP
3
The server could not start: a port in use, a certificate that cannot be read.
.TP
4
\-\-devconsole was given with \-\-staticdir or \-\-cgidir.
`)
	return s.String()
}

// manDescription is the DESCRIPTION of the manual page.
const manDescription = `Every client that connects gets its own copy of COMMAND: each text message it sends becomes a line on the program's stdin, each line the program prints comes back as a text message, and when the program exits the connection closes with 1000 for exit status 0, 1011 and the status otherwise. When the client goes, the program's stdin is closed, then SIGINT, SIGTERM and SIGKILL follow. With --broadcast, the clients of a path share one copy instead.`

// manFlagName is how the manual page names flag f: its short form, its
// long form (with [no-] when it is negatable) and its placeholder.
func manFlagName(f *kong.Flag) string {
	name := "--" + f.Name
	if f.Tag.Negatable == "_" {
		name = "--[no-]" + f.Name
	}
	text := `\fB` + strings.ReplaceAll(name, "-", `\-`) + `\fR`
	if f.Short != 0 {
		text = `\fB\-` + string(f.Short) + `\fR, ` + text
	}
	if !f.IsBool() {
		text += `=\fI` + roffText(f.FormatPlaceHolder()) + `\fR`
	}
	return text
}

// dashes matches an option in running text, as "--trusted-proxy" or
// "htpasswd -B", and not a word with a hyphen.
var dashes = regexp.MustCompile(`(^|[\s("\[])-[-\w]*`)

// roffText escapes s for roff text: backslashes; the dashes of options,
// which must stay ASCII minus signs to be copied; and a leading "." or
// "'", which would start a request.
func roffText(s string) string {
	s = strings.ReplaceAll(s, `\`, `\e`)
	s = dashes.ReplaceAllStringFunc(s, func(m string) string {
		return strings.ReplaceAll(m, "-", `\-`)
	})
	var lines []string
	for line := range strings.Lines(s) {
		if strings.HasPrefix(line, ".") || strings.HasPrefix(line, "'") {
			line = `\&` + line
		}
		lines = append(lines, line)
	}
	return strings.Join(lines, "")
}
