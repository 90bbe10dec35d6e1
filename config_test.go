package main

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// writeConfig writes a config file and returns its path.
func writeConfig(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "config.toml")
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// parseCLI parses args as wsbridge does and returns the result, or the
// exit code and stderr when parsing ends the run.
func parseCLI(t *testing.T, args ...string) (c *cli, code int, stderr string) {
	t.Helper()
	c = &cli{}
	var out, errs strings.Builder
	parser := newParser(c, &out, &errs)
	code, exited := parse(parser, websocketdArgs(parser, args))
	if !exited {
		return c, 0, ""
	}
	return nil, code, errs.String()
}

func TestFlagThenEnvironmentThenFileThenDefault(t *testing.T) {
	file := writeConfig(t, `
port = 9003
binary = true
pty = true
origin = ["file.example", "other.example"]
header = ["X-From: file"]
loglevel = "error"
`)
	port := func(c *cli) any {
		if c.Port == nil {
			return nil
		}
		return *c.Port
	}
	pty := func(c *cli) any {
		if c.PTY == nil {
			return nil
		}
		return *c.PTY
	}
	for _, tc := range []struct {
		name  string
		field func(*cli) any
		env   string // the variable, set to envValue in the "env" cases
		flag  string
		// values with nothing set, the file, the file and env, and all three
		def, fromFile, fromEnv, fromFlag any
		envValue                         string
	}{
		{"scalar", port, "WSBRIDGE_PORT", "--port=9001", nil, 9003, 9002, 9001, "9002"},
		{"bool", func(c *cli) any { return c.Binary }, "WSBRIDGE_BINARY", "--binary", false, true, false, true, "false"},
		{"negatable", pty, "WSBRIDGE_PTY", "--pty", nil, true, false, true, "false"},
		{"list", func(c *cli) any { return c.Origin }, "WSBRIDGE_ORIGIN", "--origin=flag.example",
			[]string(nil), []string{"file.example", "other.example"}, []string{"env.example", "env2.example"}, []string{"flag.example"}, "env.example,env2.example"},
		{"repeatable", func(c *cli) any { return c.Header }, "WSBRIDGE_HEADER", "--header=X-From: flag",
			[]string(nil), []string{"X-From: file"}, []string{"X-From: env, with a comma"}, []string{"X-From: flag"}, "X-From: env, with a comma"},
		{"enum", func(c *cli) any { return c.LogLevel }, "WSBRIDGE_LOGLEVEL", "--loglevel=debug", "access", "error", "info", "debug", "info"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			check := func(what string, want any, args ...string) {
				t.Helper()
				c, code, stderr := parseCLI(t, append(args, "cat")...)
				if c == nil {
					t.Fatalf("%s: exit %d: %s", what, code, stderr)
				}
				if got := tc.field(c); !reflect.DeepEqual(got, want) {
					t.Errorf("%s: got %#v, want %#v", what, got, want)
				}
			}
			check("default", tc.def)
			check("file", tc.fromFile, "--config="+file)
			t.Setenv(tc.env, tc.envValue)
			check("environment over file", tc.fromEnv, "--config="+file)
			check("flag over environment", tc.fromFlag, "--config="+file, tc.flag)
		})
	}
}

func TestConfigFileFromEnvironment(t *testing.T) {
	t.Setenv("WSBRIDGE_CONFIG", writeConfig(t, "port = 9004\ncommand = [\"rev\", \"-\"]\n"))
	c, code, stderr := parseCLI(t)
	if c == nil {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if c.Port == nil || *c.Port != 9004 || !slices.Equal(c.file.command, []string{"rev", "-"}) {
		t.Fatalf("port %v, command %q", c.Port, c.file.command)
	}
}

func TestConfigFileCommand(t *testing.T) {
	file := writeConfig(t, "command = [\"printf\", \"%s\\n\", \"from the file\"]\n")
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"--config=" + file}, []string{"%s\n", "from the file"}},
		{[]string{"--config=" + file, "rev"}, nil},
	} {
		c, code, stderr := parseCLI(t, tc.args...)
		if c == nil {
			t.Fatalf("%q: exit %d: %s", tc.args, code, stderr)
		}
		cfg, err := c.config()
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(cfg.Process.Args, tc.want) {
			t.Errorf("%q: program arguments %q, want %q", tc.args, cfg.Process.Args, tc.want)
		}
	}
}

func TestConfigFileSingleStrings(t *testing.T) {
	file := writeConfig(t, `
address = "127.0.0.1"
origin = "a.example,b.example"
header = "X-A: 1, 2"
passenv = "PATH"
command = "rev"
`)
	c, code, stderr := parseCLI(t, "--config="+file)
	if c == nil {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, got := range []struct {
		name      string
		got, want []string
	}{
		{"address", c.Address, []string{"127.0.0.1"}},
		{"origin", c.Origin, []string{"a.example", "b.example"}}, // split as --origin=a.example,b.example is
		{"header", c.Header, []string{"X-A: 1, 2"}},
		{"passenv", c.PassEnv, []string{"PATH"}},
		{"command", c.file.command, []string{"rev"}},
	} {
		if !slices.Equal(got.got, got.want) {
			t.Errorf("%s: %q, want %q", got.name, got.got, got.want)
		}
	}
}

func TestConfigFileErrors(t *testing.T) {
	for _, tc := range []struct {
		content string
		msg     string // after "wsbridge: error: FILE: "
	}{
		{"prot = 8080\n", `unknown key "prot"`},
		{"port = 8080\n[tls]\ncert = \"x\"\n", `unknown key "tls"`},
		{"config = \"other.toml\"\n", `unknown key "config"`},
		{"version = true\n", `unknown key "version"`},
		{`port = "abc"` + "\n", `port: want an integer, got "abc"`},
		{"ssl = \"yes\"\n", `ssl: want true or false, got "yes"`},
		{"origin = [1, 2]\n", `origin: want a string or an array of strings, got an array`},
		{"passenv = 3\n", `passenv: want a string or an array of strings, got 3`},
		{"loglevel = \"loud\"\n", `loglevel: want one of trace, debug, access, info, warn, error, fatal, got "loud"`},
		{"dir = 3\n", `dir: want a string, got 3`},
		{"command = []\n", `command: want a string or a non-empty array of strings, got an array`},
		{"command = \"\"\n", `command: want a string or a non-empty array of strings, got ""`},
		{"command = \"python3 -u bot.py\"\n", `command: "python3 -u bot.py" has spaces: give the program and its arguments as an array, ["python3", "-u", "bot.py"]`},
		{"port = \n", `toml: line 1`},
	} {
		file := writeConfig(t, tc.content)
		_, code, stderr := parseCLI(t, "--config="+file, "cat")
		want := "wsbridge: error: " + file + ": " + tc.msg
		if code != exitBadFlags || strings.Count(stderr, "\n") != 1 || !strings.HasPrefix(stderr, want) {
			t.Errorf("%q: exit %d, stderr %q; want exit %d and %q", tc.content, code, stderr, exitBadFlags, want)
		}
	}
	_, code, stderr := parseCLI(t, "--config=/no/such/config.toml", "cat")
	if want := "wsbridge: error: /no/such/config.toml: no such file or directory\n"; code != exitBadFlags || stderr != want {
		t.Errorf("missing file: exit %d, stderr %q; want %q", code, stderr, want)
	}
}

func TestEmptyVariableIsUnset(t *testing.T) {
	file := writeConfig(t, "ssl = false\nloglevel = \"error\"\n")
	t.Setenv("WSBRIDGE_SSL", "")
	t.Setenv("WSBRIDGE_LOGLEVEL", "")
	t.Setenv("WSBRIDGE_HEADER", "")
	c, code, stderr := parseCLI(t, "--config="+file, "cat")
	if c == nil {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if c.SSL || c.LogLevel != "error" || c.Header != nil {
		t.Errorf("ssl %v, loglevel %q, header %q", c.SSL, c.LogLevel, c.Header)
	}
}

func TestBadEnvironmentValue(t *testing.T) {
	t.Setenv("WSBRIDGE_PORT", "abc")
	_, code, stderr := parseCLI(t, "cat")
	if code != exitBadFlags || strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, `WSBRIDGE_PORT="abc"`) {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	// The command line comes first: a bad variable it overrides is not read.
	if c, code, stderr := parseCLI(t, "--port=9005", "cat"); c == nil || *c.Port != 9005 {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
}

func TestEveryFlagHasVariableAndKey(t *testing.T) {
	parser := newParser(&cli{}, nil, nil)
	example := map[reflect.Kind]string{
		reflect.Bool:   "true",
		reflect.Int:    "1",
		reflect.Int64:  "1",
		reflect.String: `"x"`,
		reflect.Slice:  `["x"]`,
	}
	var file strings.Builder
	names := map[string]string{}
	for _, f := range parser.Model.Node.Flags {
		switch f.Name {
		case "help", "version", "license", "completion", "man":
			if len(f.Envs) != 0 {
				t.Errorf("--%s has environment variables %q", f.Name, f.Envs)
			}
			continue
		}
		if len(f.Envs) != 1 {
			t.Errorf("--%s has environment variables %q", f.Name, f.Envs)
			continue
		}
		names[f.Name] = f.Envs[0]
		if f.Name == "config" {
			continue
		}
		typ := f.Target.Type()
		if typ.Kind() == reflect.Pointer {
			typ = typ.Elem()
		}
		value := example[typ.Kind()]
		if f.Enum != "" {
			value = fmt.Sprintf("%q", f.EnumSlice()[0])
		}
		fmt.Fprintf(&file, "%s = %s\n", f.Name, value)
	}
	for flag, env := range map[string]string{
		"port": "WSBRIDGE_PORT", "origin": "WSBRIDGE_ORIGIN", "log-format": "WSBRIDGE_LOG_FORMAT",
		"header-ws": "WSBRIDGE_HEADER_WS", "config": "WSBRIDGE_CONFIG", "sslcert": "WSBRIDGE_SSLCERT",
	} {
		if names[flag] != env {
			t.Errorf("--%s: variable %q, want %q", flag, names[flag], env)
		}
	}
	if _, err := loadConfig(writeConfig(t, file.String()), parser.Model.Node.Flags); err != nil {
		t.Errorf("a file setting every flag: %v\n%s", err, file.String())
	}
}

func TestConfigWithWebsocketdFlags(t *testing.T) {
	file := writeConfig(t, "port = 9007\npingms = 100\n")
	c, code, stderr := parseCLI(t, "-config", file, "-port", "9008", "-binary", "cat")
	if c == nil {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if *c.Port != 9008 || c.PingMs != 100 || !c.Binary || !slices.Equal(c.Command, []string{"cat"}) {
		t.Errorf("port %d, pingms %d, binary %v, command %q", *c.Port, c.PingMs, c.Binary, c.Command)
	}
}

func TestREADMEConfigExample(t *testing.T) {
	readme, err := os.ReadFile("examples/README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(readme), "with `wsbridge.toml`:\n\n")
	if !ok {
		t.Fatal("examples/README.md has no wsbridge.toml example")
	}
	var example strings.Builder
	for _, line := range strings.Split(rest, "\n") {
		code, ok := strings.CutPrefix(line, "    ")
		if !ok {
			break
		}
		example.WriteString(code + "\n")
	}
	c, code, stderr := parseCLI(t, "--config="+writeConfig(t, example.String()))
	if c == nil {
		t.Fatalf("exit %d: %s\n%s", code, stderr, example.String())
	}
	if *c.Port != 9000 || len(c.Header) != 2 || !slices.Equal(c.file.command, []string{"python3", "-u", "bot.py", "--verbose"}) {
		t.Errorf("port %d, header %q, command %q", *c.Port, c.Header, c.file.command)
	}
}

func TestHelpStatesTheVariablesAndTheFile(t *testing.T) {
	var stdout, stderr strings.Builder
	if code := run([]string{"--help"}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	help := stdout.String()
	for _, want := range []string{"--config=FILE", "--completion=SHELL", "WSBRIDGE_PORT", "WSBRIDGE_LOG_FORMAT",
		"The command line comes\nfirst, then the environment, then the file."} {
		if !strings.Contains(help, want) {
			t.Errorf("--help does not say %q:\n%s", want, help)
		}
	}
}

func TestUnknownVariableWarns(t *testing.T) {
	t.Setenv("WSBRIDGE_PROT", "9000")
	t.Setenv("WSBRIDGE_ORIGINS", "example.com")
	t.Setenv("WSBRIDGE_VERSION", "true")
	t.Setenv("WSBRIDGE_NOTHING_LIKE_IT", "x")
	t.Setenv("WSBRIDGE_SET_TO_NOTHING", "")
	t.Setenv("WSBRIDGE_TOKEN", "for the program")
	t.Setenv("WSBRIDGE_PORT", "9001")
	c := &cli{}
	var stdout, stderr strings.Builder
	if code, exited := parse(newParser(c, &stdout, &stderr), []string{"--passenv=PATH,WSBRIDGE_TOKEN", "cat"}); exited {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	got := strings.Split(strings.TrimSuffix(stderr.String(), "\n"), "\n")
	slices.Sort(got)
	want := []string{
		"wsbridge: warning: WSBRIDGE_NOTHING_LIKE_IT is no flag's variable and is ignored",
		"wsbridge: warning: WSBRIDGE_ORIGINS is no flag's variable and is ignored; did you mean WSBRIDGE_ORIGIN?",
		"wsbridge: warning: WSBRIDGE_PROT is no flag's variable and is ignored; did you mean WSBRIDGE_PORT?",
		"wsbridge: warning: WSBRIDGE_VERSION is ignored: --version comes from the command line only",
	}
	if !slices.Equal(got, want) {
		t.Errorf("stderr:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if c.Port == nil || *c.Port != 9001 || stdout.Len() != 0 {
		t.Errorf("port %v, stdout %q", c.Port, stdout.String())
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
