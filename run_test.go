package main

// In-process tests of run and what it is made of: how it refuses a bad
// command line, its help and version, the defaults it fills in, and where
// logs go.

import (
	"bytes"
	"io"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/alecthomas/kong"
	"github.com/creack/pty"
)

func TestBadCommandLines(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"--bogus", "cat"}, exitBadFlags, "unknown flag --bogus"},
		{[]string{"--port=abc", "cat"}, exitBadFlags, "--port"},
		{[]string{"--loglevel=loud", "cat"}, exitBadFlags, "--loglevel"},
		{[]string{"-bogus", "cat"}, exitBadFlags, "unknown flag"},
		{[]string{}, exitBadArguments, "no program given"},
		{[]string{"--"}, exitBadArguments, "no program given"},
		{[]string{"--dir=.", "cat"}, exitBadArguments, "--dir and a COMMAND"},
		{[]string{"--dir=/no/such/dir"}, exitBadArguments, "--dir /no/such/dir"},
		{[]string{"--passstderr", "--binary", "cat"}, exitBadArguments, "--passstderr"},
		{[]string{"--listdirs", "cat"}, exitBadArguments, "--listdirs needs --staticdir"},
		{[]string{"--dotfiles", "cat"}, exitBadArguments, "--dotfiles needs --dir, --staticdir or --cgidir"},
		{[]string{"--broadcast", "--maxframesize=0", "cat"}, exitBadArguments, "--broadcast needs a --maxframesize"},
		{[]string{"--broadcast-queue=0", "cat"}, exitBadArguments, "--broadcast-queue=0"},
		{[]string{"--ssl", "cat"}, exitBadArguments, "--ssl needs --sslcert and --sslkey"},
		{[]string{"--sslca=ca.pem", "cat"}, exitBadArguments, "need --ssl"},
		{[]string{"--ssl", "--sslcert=/no/cert.pem", "--sslkey=/no/key.pem", "cat"}, exitCannotStart, "/no/cert.pem"},
		{[]string{"--header=NoColon", "cat"}, exitBadArguments, "NoColon"},
		{[]string{"--protocol=chat/1", "cat"}, exitBadArguments, `--protocol "chat/1": not a subprotocol name`},
		{[]string{"--protocol=v1,,v2", "cat"}, exitBadArguments, `--protocol "": not a subprotocol name`},
		{[]string{"--origin=ftp://example.com", "cat"}, exitBadArguments, "--origin"},
		{[]string{"--redirport=70000", "cat"}, exitBadArguments, "--redirport"},
		{[]string{"--trusted-proxy=10.0.0.0/33", "cat"}, exitBadArguments, `--trusted-proxy "10.0.0.0/33"`},
		{[]string{"--trusted-proxy=proxy.example", "cat"}, exitBadArguments, `--trusted-proxy "proxy.example"`},
		{[]string{"--metrics-address=9100", "cat"}, exitBadArguments, "--metrics-address=9100: want HOST:PORT"},
		{[]string{"--metrics-address=:70000", "cat"}, exitBadArguments, "--metrics-address=:70000"},
		{[]string{"--devconsole", "--staticdir=.", "cat"}, exitConsoleConflict, "--devconsole"},
		{[]string{"--devconsole", "--cgidir=.", "cat"}, exitConsoleConflict, "--devconsole"},
		{[]string{"no-such-program-anywhere"}, exitBadArguments, "no-such-program-anywhere"},
		{[]string{"--port=70000", "cat"}, exitBadArguments, "--port=70000"},
		{[]string{"--max-per-ip=-1", "cat"}, exitBadArguments, "--max-per-ip=-1: must be 0 or more"},
		{[]string{"--max-rate=-1", "cat"}, exitBadArguments, "--max-rate=-1: must be 0 or more"},
		{[]string{"--auth-header=X-User", "cat"}, exitBadArguments, "--auth-header needs --trusted-proxy"},
		{[]string{"--auth-header=X_User", "--trusted-proxy=127.0.0.1", "cat"}, exitBadArguments, "--auth-header=X_User: not a header name"},
		{[]string{"--basic-auth-file=/no/such/file", "cat"}, exitBadArguments, "--basic-auth-file: stat /no/such/file"},
	} {
		var stdout, stderr strings.Builder
		code := run(tc.args, &stdout, &stderr)
		lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
		if code != tc.code || len(lines) != 1 || !strings.Contains(lines[0], tc.msg) || stdout.Len() != 0 {
			t.Errorf("wsbridge %q: exit %d, stderr %q, stdout %q; want exit %d and one line about %q",
				tc.args, code, stderr.String(), stdout.String(), tc.code, tc.msg)
		}
	}
}

func TestHelpAndVersion(t *testing.T) {
	var stdout, stderr strings.Builder
	if code := run([]string{"--help"}, &stdout, &stderr); code != 0 || !strings.Contains(stdout.String(), "--maxframesize") ||
		!strings.HasPrefix(stdout.String(), "Usage: wsbridge [flags] COMMAND [ARGS...]\n       wsbridge [flags] --dir=DIR\n\n") {
		t.Errorf("--help: exit %d, output %q", code, stdout.String())
	}
	stdout.Reset()
	if code := run([]string{"--version"}, &stdout, &stderr); code != 0 || !strings.HasPrefix(stdout.String(), "wsbridge ") {
		t.Errorf("--version: exit %d, output %q", code, stdout.String())
	}
}

func TestPingsOnByDefault(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want time.Duration
	}{
		{[]string{"cat"}, 30 * time.Second},
		{[]string{"--pingms=0", "cat"}, 0},
		{[]string{"--pingms=500", "cat"}, 500 * time.Millisecond},
	} {
		var c cli
		if _, err := kong.Must(&c).Parse(tc.args); err != nil {
			t.Fatal(err)
		}
		cfg, err := c.config()
		if err != nil {
			t.Fatal(err)
		}
		if got := cfg.Bridge.PingInterval; got != tc.want {
			t.Errorf("%q: pings every %v, want %v", tc.args, got, tc.want)
		}
	}
}

// Logs are for people on a terminal only: /dev/null, a character device
// too, and a pipe get JSON.
func TestIsTerminal(t *testing.T) {
	devNull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer devNull.Close()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	master, tty, err := pty.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer master.Close()
	defer tty.Close()
	for _, tc := range []struct {
		name string
		w    io.Writer
		want bool
	}{
		{os.DevNull, devNull, false},
		{"a pipe", w, false},
		{"a buffer", new(bytes.Buffer), false},
		{"a terminal", tty, true},
	} {
		if got := isTerminal(tc.w); got != tc.want {
			t.Errorf("isTerminal(%s) = %v", tc.name, got)
		}
	}
}

func TestPassedEnvGivesALocale(t *testing.T) {
	for _, tc := range []struct {
		name    string
		set     map[string]string
		passenv []string
		want    []string
	}{
		{"none set", map[string]string{"LANG": "", "LC_ALL": "", "LC_CTYPE": ""}, []string{"WSB_A"},
			[]string{"WSB_A=a", "LANG=C.UTF-8"}},
		{"LANG set", map[string]string{"LANG": "fr_FR.UTF-8", "LC_ALL": "", "LC_CTYPE": ""}, []string{"WSB_A"},
			[]string{"WSB_A=a", "LANG=fr_FR.UTF-8"}},
		{"LC_CTYPE alone", map[string]string{"LANG": "", "LC_ALL": "", "LC_CTYPE": "C"}, []string{"WSB_A"},
			[]string{"WSB_A=a", "LC_CTYPE=C"}},
		{"all three", map[string]string{"LANG": "C", "LC_ALL": "C.UTF-8", "LC_CTYPE": "C"}, nil,
			[]string{"LANG=C", "LC_ALL=C.UTF-8", "LC_CTYPE=C"}},
		{"named by --passenv", map[string]string{"LANG": "", "LC_ALL": "de_DE.UTF-8", "LC_CTYPE": ""}, []string{"LC_ALL", "WSB_A"},
			[]string{"LC_ALL=de_DE.UTF-8", "WSB_A=a"}},
		{"named by --passenv but empty", map[string]string{"LANG": "", "LC_ALL": "", "LC_CTYPE": ""}, []string{"LANG"},
			[]string{"LANG=C.UTF-8"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("WSB_A", "a")
			for k, v := range tc.set {
				t.Setenv(k, v)
			}
			if got := passedEnv(tc.passenv); !slices.Equal(got, tc.want) {
				t.Errorf("passedEnv(%q) = %q, want %q", tc.passenv, got, tc.want)
			}
		})
	}
}

func TestDefaultPort(t *testing.T) {
	nine := 9
	for _, tc := range []struct {
		c    cli
		want int
	}{
		{cli{}, 8080},
		{cli{SSL: true}, 8443},
		{cli{SSL: true, Port: &nine}, 9},
	} {
		if got := tc.c.port(); got != tc.want {
			t.Errorf("%+v: port %d, want %d", tc.c, got, tc.want)
		}
	}
}

func TestLicense(t *testing.T) {
	var stdout, stderr strings.Builder
	if code := run([]string{"--license"}, &stdout, &stderr); code != 0 || !strings.Contains(stdout.String(), "Redistribution and use") {
		t.Errorf("exit %d, output %q", code, stdout.String())
	}
}

func TestHelpListsEveryFlag(t *testing.T) {
	var stdout, stderr strings.Builder
	run([]string{"--help"}, &stdout, &stderr)
	for _, flag := range []string{
		"--port", "--address", "--unixsocket", "--redirport", "--ssl", "--sslcert", "--sslkey", "--sslca",
		"--binary", "--raw-stdin", "--[no-]pty", "--compress", "--maxframesize", "--closems", "--pingms", "--maxforks", "--passenv",
		"--passstderr", "--reverselookup", "--dir", "--staticdir", "--cgidir", "--devconsole", "--origin",
		"--sameorigin", "--protocol", "--header", "--header-ws", "--header-http", "--loglevel", "--log-format",
		"--trusted-proxy", "--metrics-address", "--basic-auth-file", "--auth-header", "--max-per-ip", "--max-rate",
		"--license", "--version",
	} {
		if !strings.Contains(stdout.String(), flag) {
			t.Errorf("--help does not list %s", flag)
		}
	}
}

func TestAllowedHostOnTheCommandLine(t *testing.T) {
	var stdout, stderr strings.Builder
	run([]string{"--help"}, &stdout, &stderr)
	if !strings.Contains(stdout.String(), "--allowed-host") {
		t.Error("--help does not list --allowed-host")
	}
	for _, arg := range []string{"--allowed-host=*", "--allowed-host=example.com:8080", "--allowed-host=http://example.com"} {
		stdout.Reset()
		stderr.Reset()
		code := run([]string{arg, "cat"}, &stdout, &stderr)
		lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
		if code != exitBadArguments || len(lines) != 1 || !strings.Contains(lines[0], "--allowed-host") {
			t.Errorf("%s: exit %d, stderr %q", arg, code, stderr.String())
		}
	}
}

func TestWriteTimeoutFlag(t *testing.T) {
	var stdout, stderr strings.Builder
	if code := run([]string{"--write-timeout-ms=-1", "cat"}, &stdout, &stderr); code != exitBadArguments ||
		stderr.String() != "wsbridge: error: --write-timeout-ms=-1: must be 0 or more\n" {
		t.Errorf("exit %d, stderr %q", code, stderr.String())
	}
	stdout.Reset()
	run([]string{"--help"}, &stdout, &stderr)
	if !strings.Contains(stdout.String(), "--write-timeout-ms=MS") {
		t.Error("--help does not list --write-timeout-ms")
	}
}
