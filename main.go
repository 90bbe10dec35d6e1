// Command wsbridge turns any program that reads stdin and writes stdout into
// a WebSocket service: every client gets its own copy of the program, each
// message it sends becomes a line on the program's stdin and each line the
// program prints comes back as a message.
//
//	wsbridge --port=8080 rev
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/alecthomas/kong"
	"github.com/rs/zerolog"
	"golang.org/x/term"

	"wsbridge/bridge"
	"wsbridge/process"
	"wsbridge/upgrade"
	"wsbridge/upgrade/listen"
)

// Exit codes, as websocketd has them.
const (
	exitBadArguments    = 1 // the flags parse but make no sense together
	exitBadFlags        = 2 // the flags do not parse
	exitCannotStart     = 3 // the server could not start: port in use, bad certificate
	exitConsoleConflict = 4 // --devconsole with --staticdir or --cgidir
)

// cli is the command line. Flag names and meanings are websocketd's.
type cli struct {
	Port       *int     `group:"listening" placeholder:"PORT" help:"TCP port to listen on; 0 picks a free one, shown in the startup log (default: 8080, or 8443 with --ssl)."`
	Address    []string `group:"listening" sep:"none" placeholder:"ADDR" help:"Address to listen on; repeatable; IPv6 in brackets (default: all interfaces)."`
	UnixSocket string   `group:"listening" name:"unixsocket" placeholder:"PATH" help:"Also listen on a unix socket at PATH; only there when no --port, --address or --redirport is given (default: none)."`
	RedirPort  int      `group:"listening" name:"redirport" placeholder:"PORT" help:"Also listen on PORT for plain HTTP and redirect every request to the main port, keeping path and query (default: none)."`
	SSL        bool     `group:"security" name:"ssl" help:"Serve TLS (1.2 or later); needs --sslcert and --sslkey (default: off)."`
	SSLCert    string   `group:"security" name:"sslcert" placeholder:"FILE" help:"TLS certificate file, PEM (default: none)."`
	SSLKey     string   `group:"security" name:"sslkey" placeholder:"FILE" help:"TLS private key file, PEM (default: none)."`
	SSLCA      string   `group:"security" name:"sslca" placeholder:"FILE" help:"Require client certificates signed by a CA in this PEM file (mutual TLS); only with --ssl (default: none)."`

	Binary       bool  `group:"programs" help:"Binary mode: client messages go to stdin as they are and stdout comes back as binary messages (default: off)."`
	RawStdin     bool  `group:"programs" name:"raw-stdin" help:"Write client text messages to stdin exactly as they are, with no newline added; --binary always does (default: off)."`
	PTY          *bool `group:"programs" name:"pty" negatable:"" help:"Put the program's stdout on a pseudo-terminal so that it flushes every line (default: on in text mode, off in binary mode)."`
	Compress     bool  `group:"programs" name:"compress" help:"Compress messages of 512 bytes or more with permessage-deflate for clients that ask for it, each message on its own (default: off)."`
	MaxFrameSize int64 `group:"limits" name:"maxframesize" default:"1048576" placeholder:"BYTES" help:"Largest message accepted from a client; 0 means no limit; a larger one closes the connection with 1009 (default: ${default})."`
	CloseMs      int   `group:"limits" name:"closems" default:"0" placeholder:"MS" help:"Extra time given to the program before each stop signal (default: ${default})."`
	PingMs       int   `group:"limits" name:"pingms" default:"30000" placeholder:"MS" help:"Ping clients this often and drop one that misses pongs for twice as long; 0 means no pings (default: ${default})."`
	WriteTimeout int   `group:"limits" name:"write-timeout-ms" default:"60000" placeholder:"MS" help:"Drop a client that leaves a write of its output (at most 64 KiB) unfinished this long, and stop its program; 0 means no limit, but for 5 s once wsbridge shuts down (default: ${default})."`
	MaxForks     int   `group:"limits" name:"maxforks" default:"1024" placeholder:"N" help:"Most programs (WebSocket and CGI) running at once; past it requests get 429; 0 or less means no limit (default: ${default})."`
	MaxPerIP     int   `group:"limits" name:"max-per-ip" default:"0" placeholder:"N" help:"Most sessions open at once from one client address; past it upgrades get 429; 0 means no limit (default: ${default})."`
	MaxRate      int   `group:"limits" name:"max-rate" default:"0" placeholder:"N" help:"Most messages per second read from each client, in bursts of up to N; a faster client is slowed down, nothing is dropped; 0 means no limit (default: ${default})."`

	Broadcast        bool `group:"programs" name:"broadcast" help:"All clients of one path (with --dir, of one program) share one running program: every line it prints goes to all of them, and each of their messages is one line on its stdin, written whole while the others wait in their sockets; a client that stalls 10 s in the middle of a message is closed with 1008 (default: off)."`
	BroadcastQueue   int  `group:"limits" name:"broadcast-queue" default:"1048576" placeholder:"BYTES" help:"With --broadcast, how much output may wait for one client, each message counting at least 64 bytes; a client whose queue overflows while others read faster is closed with 1008 (default: ${default})."`
	BroadcastClients int  `group:"limits" name:"broadcast-clients" default:"1024" placeholder:"N" help:"With --broadcast, most clients sharing one program at once; past it upgrades get 429; 0 means no limit (default: ${default})."`

	Cluster      string `group:"cluster" name:"cluster" placeholder:"URL" help:"With --broadcast, share each program's clients with every wsbridge that uses this NATS server (nats://HOST:PORT, or tls://; a comma-separated list for a NATS cluster) and the same --cluster-name: one running program across them all, in the instance that holds its lease, taken over by another within about 4 s if that instance dies; JetStream must be on (default: none, every program in this process)."`
	ClusterName  string `group:"cluster" name:"cluster-name" placeholder:"NAME" help:"With --cluster, the service's name: instances of one name share their programs, others never meet (default: the COMMAND and its arguments, or --dir, with --binary, --raw-stdin and --passstderr when given)."`
	ClusterCreds string `group:"cluster" name:"cluster-creds" placeholder:"FILE" help:"With --cluster, the NATS credentials file (user JWT and NKey seed) to connect with (default: none)."`
	ClusterTLSCA string `group:"cluster" name:"cluster-tls-ca" placeholder:"FILE" help:"With --cluster, connect to NATS over TLS, trusting the CAs of this PEM file (default: none; tls:// URLs use the system's CAs)."`

	PassEnv       []string `group:"programs" name:"passenv" default:"PATH,LD_LIBRARY_PATH" placeholder:"VAR" help:"The variables of wsbridge's environment the programs get, besides LANG, LC_ALL and LC_CTYPE (LANG=C.UTF-8 when none of them is set); empty ones are skipped (default: ${default})."`
	PassStderr    bool     `group:"programs" name:"passstderr" help:"Send stdout and stderr lines to the client as JSON objects saying which stream each came from; not with --binary (default: off)."`
	ReverseLookup bool     `group:"programs" name:"reverselookup" help:"Set REMOTE_HOST from reverse DNS instead of the IP address (default: off)."`
	TrustedProxy  []string `group:"listening" name:"trusted-proxy" placeholder:"CIDR" help:"When the peer is in one of these ranges or addresses, take the client's address from X-Forwarded-For or X-Real-IP, and the scheme, host and port it connected to from X-Forwarded-Proto, -Host and -Port (or all from Forwarded when neither is sent); repeatable (default: none)."`

	Dir        string `group:"programs" name:"dir" placeholder:"DIR" help:"Serve a directory of programs, each its own endpoint at its path, instead of COMMAND (default: none)."`
	StaticDir  string `group:"programs" name:"staticdir" placeholder:"DIR" help:"Serve the files of DIR to plain HTTP requests (default: none)."`
	ListDirs   bool   `group:"programs" name:"listdirs" help:"List the files of a --staticdir directory that has no index.html, instead of answering 403 (default: off)."`
	CGIDir     string `group:"programs" name:"cgidir" placeholder:"DIR" help:"Run the CGI programs of DIR for plain HTTP requests (default: none)."`
	Dotfiles   bool   `group:"programs" name:"dotfiles" help:"Let paths reach names that start with \".\" in --dir, --cgidir and --staticdir, which otherwise get 404 as if absent, but for /.well-known (default: off)."`
	DevConsole bool   `group:"programs" name:"devconsole" help:"Answer plain HTTP requests with a page to talk to the endpoint at that path; not with --staticdir or --cgidir (default: off)."`

	CGIBodyTimeout time.Duration `group:"limits" name:"cgi-body-timeout" default:"30s" placeholder:"DURATION" help:"Longest time the whole body of a request may take to reach its CGI program, from the program's start (such as 30s or 2m); past it the program is stopped, its --maxforks slot given back, and the connection closed (default: ${default})."`

	Origin        []string `group:"security" name:"origin" placeholder:"[SCHEME://]HOST[:PORT]" help:"Refuse upgrades from origins not in this list; no port means any port, no scheme http or https (default: any origin)."`
	Protocol      []string `group:"programs" name:"protocol" placeholder:"NAME" help:"WebSocket subprotocols served: a client gets the first it offers that is listed, and the program sees it as WEBSOCKET_PROTOCOL; a client offering only others gets 400, one offering none no protocol (default: none negotiated)."`
	SameOrigin    bool     `group:"security" name:"sameorigin" help:"Refuse upgrades whose Origin is not the host and port they were sent to (behind a --trusted-proxy, the ones the client connected to); a page that makes its own name lead to this machine (DNS rebinding) sends both, so this does not stop it: see --allowed-host (default: off)."`
	AllowedHost   []string `group:"security" name:"allowed-host" placeholder:"HOST" help:"When every TCP address listened on is a loopback address, serve requests naming these hosts in Host too, besides localhost, *.localhost and IP addresses; others get 403, for a page of another site could send them by making its own name lead to 127.0.0.1 (DNS rebinding); .example.com stands for example.com and its subdomains; behind a proxy on this machine that passes the browser's Host on, list the names it serves; repeatable (default: none)."`
	BasicAuthFile string   `group:"security" name:"basic-auth-file" placeholder:"FILE" help:"Answer 401 to every request without a user and password of this htpasswd file of bcrypt hashes (htpasswd -B); the user is REMOTE_USER; the file is read again when it changes (default: none)."`
	AuthHeader    string   `group:"security" name:"auth-header" placeholder:"NAME" help:"Take REMOTE_USER from this request header when the peer is a --trusted-proxy, and ignore it from other peers (default: none)."`
	Header        []string `group:"security" name:"header" sep:"none" placeholder:"\"NAME: VALUE\"" help:"Add a header to every answer; repeatable (default: none)."`
	HeaderWS      []string `group:"security" name:"header-ws" sep:"none" placeholder:"\"NAME: VALUE\"" help:"Add a header to upgrade answers; repeatable (default: none)."`
	HeaderHTTP    []string `group:"security" name:"header-http" sep:"none" placeholder:"\"NAME: VALUE\"" help:"Add a header to plain HTTP answers; repeatable (default: none)."`

	MetricsAddress string `group:"listening" name:"metrics-address" placeholder:"HOST:PORT" help:"Serve /metrics (Prometheus), /healthz and /readyz on this address (default: none)."`

	LogLevel  string      `group:"logs" name:"loglevel" default:"access" enum:"trace,debug,access,info,warn,error,fatal" placeholder:"LEVEL" help:"Least important log events shown, from the most verbose: trace, debug, access (a line for each session and each plain HTTP request), info (the server's own events and the lines programs write on stderr), warn, error or fatal; as in websocketd, info hides the access lines (default: ${default})."`
	LogFormat string      `group:"logs" name:"log-format" default:"auto" enum:"auto,console,json" placeholder:"FORMAT" help:"Log format: console, json, or auto for console on a terminal and json otherwise (default: ${default})."`
	License   licenseFlag `name:"license" env:"-" help:"Print the licence and exit."`
	Version   versionFlag `env:"-" help:"Print the version, the revision it was built from and its date, and the Go version, and exit."`

	Config     string         `name:"config" placeholder:"FILE" help:"Read flags from this TOML file, keyed by their long names (default: none)."`
	Completion completionFlag `name:"completion" env:"-" placeholder:"SHELL" help:"Print the completion script for bash, zsh or fish and exit."`
	Man        manFlag        `name:"man" env:"-" help:"Print the manual page, in roff for man -l, and exit."`

	Command []string `arg:"" optional:"" passthrough:"partial" placeholder:"COMMAND [ARGS...]" help:"The program every client gets, with its arguments; everything from here on goes to it untouched."`

	file configFile // the --config file
}

// guardianArgs is the command line wsbridge starts its guardian with
// (process.Guardian): itself again, under a name no one else gives it.
var guardianArgs = []string{"wsbridge: guardian"}

func main() {
	if slices.Equal(os.Args, guardianArgs) {
		process.Guard()
		return
	}
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	var c cli
	parser := newParser(&c, stdout, stderr)
	if code, exited := parse(parser, websocketdArgs(parser, args)); exited {
		return code
	}
	fail := func(code int, err error) int {
		fmt.Fprintf(stderr, "wsbridge: error: %v\n", err)
		return code
	}
	// Take the sockets systemd may have passed, and their variables out of
	// the environment before the programs' environment is made from it.
	activated, names, err := listen.Activated()
	if err != nil {
		return fail(exitCannotStart, err)
	}
	if c.DevConsole && (c.StaticDir != "" || c.CGIDir != "") {
		return fail(exitConsoleConflict, errors.New("--devconsole cannot be used with --staticdir or --cgidir"))
	}
	cfg, err := c.config()
	if err != nil {
		return fail(exitBadArguments, err)
	}
	var cert *listen.Certificate
	if c.SSL {
		if cfg.TLS, cert, err = listen.LoadTLS(c.SSLCert, c.SSLKey, c.SSLCA); err != nil {
			return fail(exitCannotStart, err)
		}
	}
	// A write to a pipe whose reader is gone (wsbridge | tee, and tee
	// dies) fails with EPIPE instead of killing wsbridge with SIGPIPE.
	// Ignoring SIGPIPE would leave it ignored in the programs as well.
	pipes := make(chan os.Signal, 1)
	signal.Notify(pipes, syscall.SIGPIPE)
	defer signal.Stop(pipes)
	log, access := c.loggers(logOutput(stdout, stderr))
	cfg.Log, cfg.AccessLog = log, access
	var guard process.Guardian
	cfg.Process.Guardian = &guard
	srv, err := upgrade.NewServer(cfg)
	if err != nil {
		return fail(exitBadArguments, err)
	}

	// Catch the stop and reload signals before anyone can know where to
	// connect.
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	defer signal.Stop(sigs)
	lns, err := listen.Open(c.listening(activated))
	if err != nil {
		return fail(exitCannotStart, err)
	}
	// The programs' groups are killed by the guardian should wsbridge be
	// killed; without one, they still die themselves.
	if err := guard.Start(guardianArgs, func(err error) {
		log.Error().Err(err).Msg("guardian lost: if wsbridge is killed, what the programs started may outlive it")
	}); err != nil {
		log.Error().Err(err).Msg("no guardian: if wsbridge is killed, what the programs started may outlive it")
	}
	served := serve(srv, lns, names, &c, log)
	code := waitForStop(sigs, served, func() { c.reload(srv, cert, log) }, log)
	// Children get the whole stop sequence and the clients their close
	// handshake; past that, give up on them.
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second+3*time.Duration(c.CloseMs)*time.Millisecond)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Error().Err(err).Msg("shutdown incomplete")
	}
	if err := guard.Close(); err != nil {
		log.Error().Err(err).Msg("stopping the guardian")
	}
	log.Info().Msg("stopped")
	return code
}

// serve serves srv on every listener of lns, logging each: names are
// the names systemd gave the activated ones, in order. The channel gets
// the error of any listener that stops serving.
func serve(srv *upgrade.Server, lns *listen.Listeners, names []string, c *cli, log zerolog.Logger) <-chan error {
	for i, ln := range lns.Service {
		ev := log.Info().Str("address", ln.Addr().String()).Bool("tls", c.SSL && ln.Addr().Network() == "tcp")
		if i < len(names) {
			ev = ev.Str("socket", names[i])
		}
		ev.Strs("command", c.Command).Str("dir", c.Dir).Msg("listening")
	}
	served := make(chan error, 3)
	go func() { served <- srv.Serve(lns.Service...) }()
	if lns.Metrics != nil {
		log.Info().Str("address", lns.Metrics.Addr().String()).Msg("serving metrics")
		go func() { served <- srv.ServeMetrics(lns.Metrics) }()
	}
	if lns.Redirect != nil {
		scheme := "http"
		if c.SSL {
			scheme = "https"
		}
		port := lns.Port()
		log.Info().Str("address", lns.Redirect.Addr().String()).Str("to", fmt.Sprintf("%s port %d", scheme, port)).Msg("redirecting")
		go func() { served <- srv.ServeRedirect(lns.Redirect, scheme, port) }()
	}
	return served
}

// waitForStop waits for a stop signal, and returns 0, or for a listener
// to fail, and returns exitCannotStart; on each SIGHUP it calls reload.
func waitForStop(sigs <-chan os.Signal, served <-chan error, reload func(), log zerolog.Logger) int {
	for {
		select {
		case err := <-served:
			log.Error().Err(err).Msg("server stopped")
			return exitCannotStart
		case sig := <-sigs:
			if sig == syscall.SIGHUP {
				reload()
				continue
			}
			log.Info().Str("signal", sig.String()).Msg("shutting down")
			return 0
		}
	}
}

// reload reads again, on SIGHUP, what can change under the running
// sessions: the TLS certificate (cert, nil without TLS) and srv's
// --basic-auth-file; it logs what it read, or why it could not.
func (c *cli) reload(srv *upgrade.Server, cert *listen.Certificate, log zerolog.Logger) {
	if cert == nil && c.BasicAuthFile == "" {
		log.Info().Str("signal", "hangup").Msg("nothing to reload")
		return
	}
	var reloaded []string
	if cert != nil {
		if err := cert.Reload(); err != nil {
			log.Error().Err(err).Str("sslcert", c.SSLCert).Str("sslkey", c.SSLKey).Msg("cannot reload the TLS certificate; the one loaded before stays")
		} else {
			reloaded = append(reloaded, "--sslcert", "--sslkey")
		}
	}
	if c.BasicAuthFile != "" {
		if _, err := srv.ReloadBasicAuth(); err != nil {
			log.Error().Err(err).Msg("cannot reload --basic-auth-file; the users read before stay")
		} else {
			reloaded = append(reloaded, "--basic-auth-file")
		}
	}
	log.Info().Str("signal", "hangup").Strs("reloaded", reloaded).Msg("reloaded")
}

// newParser returns the parser that fills c, writing help and errors to
// stdout and stderr.
func newParser(c *cli, stdout, stderr io.Writer) *kong.Kong {
	parser, err := kong.New(c,
		kong.Name("wsbridge"),
		kong.Description("Turn a program that reads stdin and writes stdout into a WebSocket service."),
		kong.Writers(stdout, stderr),
		kong.Exit(func(code int) { panic(exitCode(code)) }),
		kong.Help(printHelp),
		kong.ExplicitGroups([]kong.Group{
			{Key: "listening", Title: "Listening:"},
			{Key: "programs", Title: "Programs:"},
			{Key: "security", Title: "Security:"},
			{Key: "limits", Title: "Limits:"},
			{Key: "cluster", Title: "Cluster:"},
			{Key: "logs", Title: "Logs:"},
		}),
		kong.DefaultEnvars(envPrefix),
		kong.Resolvers(&c.file),
		kong.ValueFormatter(func(v *kong.Value) string { return v.Help }),
	)
	if err != nil {
		panic(err)
	}
	return parser
}

// printHelp prints kong's help with a usage line that puts the flags
// where they go (before COMMAND, after which everything is the
// program's), an example, and what else can set the flags.
func printHelp(options kong.HelpOptions, ctx *kong.Context) error {
	var b strings.Builder
	out := ctx.Stdout
	ctx.Stdout = &b
	err := kong.DefaultHelpPrinter(options, ctx)
	ctx.Stdout = out
	help, _ := strings.CutPrefix(b.String(), "Usage: wsbridge [<command> ...] [flags]\n")
	description, help, _ := strings.Cut(help, "\nArguments:\n")
	help = strings.Replace(help, "  [<command> ...]  ", "  COMMAND [ARGS...]", 1)
	fmt.Fprint(out, "Usage: wsbridge [flags] COMMAND [ARGS...]\n       wsbridge [flags] --dir=DIR\n"+description)
	fmt.Fprint(out, "\nExample:\n"+indent(helpExample)+"\n\nArguments:\n"+help)
	fmt.Fprint(out, "\n"+helpEnvironment)
	return err
}

// helpExample is the example of the help and the manual page.
const helpExample = `wsbridge --port=8080 rev
    one rev per client of ws://localhost:8080/, each line back reversed`

// helpEnvironment says, in the help and the manual page, what else than
// the command line can set the flags.
const helpEnvironment = `
Every flag but --help, --version, --license, --completion and --man can
also be set by an environment variable, WSBRIDGE_ and the flag's name in
upper case with dashes as underscores (WSBRIDGE_PORT, WSBRIDGE_LOG_FORMAT),
and by a key of the --config file (port = 8080, origin = ["example.com"]);
the file may also give the program (command = ["rev"]). The command line comes
first, then the environment, then the file.
`

// indent indents every line of s by two spaces.
func indent(s string) string {
	return "  " + strings.ReplaceAll(s, "\n", "\n  ")
}

// exitCode is what kong's exit function panics with, so that parse can
// return it instead of the process exiting.
type exitCode int

// parse parses args; when kong is done with the run (--help, --version,
// --license or an error) it reports the exit code and true.
func parse(parser *kong.Kong, args []string) (code int, exited bool) {
	defer func() {
		if r := recover(); r != nil {
			c, ok := r.(exitCode)
			if !ok {
				panic(r)
			}
			code, exited = int(c), true
		}
	}()
	if _, err := parser.Parse(args); err != nil {
		fmt.Fprintf(parser.Stderr, "wsbridge: error: %v\n", err)
		return exitBadFlags, true
	}
	return 0, false
}

// websocketdArgs rewrites the single-dash long flags websocketd accepts
// (-port=8080, -port 8080, -binary) to the double-dash form, up to the
// first argument that is not a flag: from there on everything belongs to
// the program.
func websocketdArgs(parser *kong.Kong, args []string) []string {
	isBool := map[string]bool{}
	for _, f := range parser.Model.Node.Flags {
		isBool[f.Name] = f.IsBool()
	}
	out := make([]string, 0, len(args))
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" || !strings.HasPrefix(a, "-") {
			return append(out, args[i:]...)
		}
		name, hasValue := strings.CutPrefix(a, "--")
		if !hasValue {
			name = a[1:]
		}
		name, _, hasValue = strings.Cut(name, "=")
		b, known := isBool[name]
		if known && !strings.HasPrefix(a, "--") && len(name) > 1 {
			a = "-" + a
		}
		out = append(out, a)
		if known && !b && !hasValue && i+1 < len(args) {
			i++
			out = append(out, args[i])
		}
	}
	return out
}

// config turns the command line into the server's configuration.
func (c *cli) config() (upgrade.Config, error) {
	var cfg upgrade.Config
	if len(c.Command) > 0 && c.Command[0] == "--" {
		c.Command = c.Command[1:]
	}
	if len(c.Command) == 0 {
		c.Command = c.file.command
	}
	switch {
	case c.Dir == "" && len(c.Command) == 0:
		return cfg, errors.New("no program given: wsbridge [flags] COMMAND [ARGS...], or wsbridge [flags] --dir=DIR (see wsbridge --help)")
	case c.Dir != "" && len(c.Command) > 0:
		return cfg, fmt.Errorf("--dir and a COMMAND (%q) cannot be used together", c.Command[0])
	case c.Port != nil && (*c.Port < 0 || *c.Port > 65535):
		return cfg, fmt.Errorf("--port=%d: not a TCP port", *c.Port)
	case c.RedirPort < 0 || c.RedirPort > 65535:
		return cfg, fmt.Errorf("--redirport=%d: not a TCP port", c.RedirPort)
	case c.RedirPort != 0 && c.RedirPort == c.port():
		return cfg, fmt.Errorf("--redirport=%d: the port of the service itself (--port); choose another", c.RedirPort)
	case c.MaxFrameSize < 0:
		return cfg, fmt.Errorf("--maxframesize=%d: must be 0 or more", c.MaxFrameSize)
	case c.CloseMs < 0:
		return cfg, fmt.Errorf("--closems=%d: must be 0 or more", c.CloseMs)
	case c.PingMs < 0:
		return cfg, fmt.Errorf("--pingms=%d: must be 0 or more", c.PingMs)
	case c.WriteTimeout < 0:
		return cfg, fmt.Errorf("--write-timeout-ms=%d: must be 0 or more", c.WriteTimeout)
	case c.MaxPerIP < 0:
		return cfg, fmt.Errorf("--max-per-ip=%d: must be 0 or more", c.MaxPerIP)
	case c.MaxRate < 0:
		return cfg, fmt.Errorf("--max-rate=%d: must be 0 or more", c.MaxRate)
	case c.AuthHeader != "" && len(c.TrustedProxy) == 0:
		return cfg, errors.New("--auth-header needs --trusted-proxy: only a trusted proxy may name the user")
	case c.MetricsAddress != "" && !listen.IsHostPort(c.MetricsAddress):
		return cfg, fmt.Errorf("--metrics-address=%s: want HOST:PORT", c.MetricsAddress)
	case c.CGIBodyTimeout <= 0:
		return cfg, fmt.Errorf("--cgi-body-timeout=%v: must be above 0", c.CGIBodyTimeout)
	case c.ListDirs && c.StaticDir == "":
		return cfg, errors.New("--listdirs needs --staticdir: it lists that directory's files")
	case c.Dotfiles && c.Dir == "" && c.StaticDir == "" && c.CGIDir == "":
		return cfg, errors.New("--dotfiles needs --dir, --staticdir or --cgidir: it applies to their files")
	case c.PassStderr && c.Binary:
		return cfg, errors.New("--passstderr cannot be used with --binary")
	case c.Broadcast && c.MaxFrameSize == 0:
		return cfg, errors.New("--broadcast needs a --maxframesize above 0: each message keeps the broadcast program's stdin to itself until it ends")
	case c.BroadcastQueue < 1:
		return cfg, fmt.Errorf("--broadcast-queue=%d: must be 1 or more", c.BroadcastQueue)
	case c.BroadcastClients < 0:
		return cfg, fmt.Errorf("--broadcast-clients=%d: must be 0 or more", c.BroadcastClients)
	case c.Cluster != "" && !c.Broadcast:
		return cfg, errors.New("--cluster needs --broadcast: it spreads a broadcast program's clients over many instances")
	case c.Cluster == "" && (c.ClusterName != "" || c.ClusterCreds != "" || c.ClusterTLSCA != ""):
		return cfg, errors.New("--cluster-name, --cluster-creds and --cluster-tls-ca need --cluster")
	case c.SSL && (c.SSLCert == "" || c.SSLKey == ""):
		return cfg, errors.New("--ssl needs --sslcert and --sslkey")
	case !c.SSL && (c.SSLCert != "" || c.SSLKey != "" || c.SSLCA != ""):
		return cfg, errors.New("--sslcert, --sslkey and --sslca need --ssl")
	}
	for _, a := range c.Address {
		if host, port, err := net.SplitHostPort(a); err == nil && listen.CheckAddress(host) == nil {
			return cfg, fmt.Errorf("--address %q: give the port with --port=%s, not in the address", a, port)
		}
		if err := listen.CheckAddress(a); err != nil {
			return cfg, fmt.Errorf("--address %q: %w", a, err)
		}
	}
	if host, _, err := net.SplitHostPort(c.MetricsAddress); err == nil {
		if err := listen.CheckAddress(host); err != nil {
			return cfg, fmt.Errorf("--metrics-address=%s: %w", c.MetricsAddress, err)
		}
	}
	if c.Cluster != "" {
		cc, err := c.cluster()
		if err != nil {
			return cfg, err
		}
		cfg.Cluster = cc
	}
	if len(c.Command) > 0 {
		path, err := process.LookPath(c.Command[0])
		if err != nil {
			return cfg, err
		}
		cfg.Process.Path, cfg.Process.Args = path, c.Command[1:]
	}
	headers := make([]http.Header, 3)
	for i, lines := range [][]string{c.Header, c.HeaderWS, c.HeaderHTTP} {
		h, err := parseHeaders(lines)
		if err != nil {
			return cfg, err
		}
		headers[i] = h
	}
	pty := !c.Binary
	if c.PTY != nil {
		pty = *c.PTY
	}
	cfg.Process.Env = passedEnv(c.PassEnv)
	cfg.Process.PTY = pty
	cfg.Process.Grace = time.Duration(c.CloseMs) * time.Millisecond
	cfg.Dir, cfg.StaticDir, cfg.CGIDir, cfg.DevConsole = c.Dir, c.StaticDir, c.CGIDir, c.DevConsole
	cfg.CGIBodyTimeout = c.CGIBodyTimeout
	cfg.Dotfiles, cfg.ListDirs = c.Dotfiles, c.ListDirs
	cfg.Bridge = bridge.Config{
		Binary:       c.Binary,
		RawInput:     c.RawStdin,
		PassStderr:   c.PassStderr,
		PingInterval: time.Duration(c.PingMs) * time.Millisecond,
		MaxRate:      c.MaxRate,
	}
	cfg.WriteTimeout = time.Duration(c.WriteTimeout) * time.Millisecond
	cfg.Broadcast, cfg.MaxBroadcastClients = c.Broadcast, c.BroadcastClients
	cfg.BroadcastQueueSize = c.BroadcastQueue
	cfg.MaxMessageSize = c.MaxFrameSize
	cfg.Compress = c.Compress
	cfg.MaxForks, cfg.MaxPerIP = c.MaxForks, c.MaxPerIP
	cfg.BasicAuthFile, cfg.AuthHeader = c.BasicAuthFile, c.AuthHeader
	cfg.ReverseLookup = c.ReverseLookup
	cfg.TrustedProxies = c.TrustedProxy
	cfg.Origins, cfg.SameOrigin = c.Origin, c.SameOrigin
	cfg.AllowedHosts = c.AllowedHost
	cfg.Protocols = c.Protocol
	cfg.Headers, cfg.UpgradeHeaders, cfg.HTTPHeaders = headers[0], headers[1], headers[2]
	build := readBuild()
	cfg.Version, cfg.Revision = build.version, build.revision
	return cfg, nil
}

// parseHeaders parses --header values, each "Name: value".
func parseHeaders(lines []string) (http.Header, error) {
	h := http.Header{}
	for _, line := range lines {
		name, value, ok := strings.Cut(line, ":")
		name, value = strings.TrimSpace(name), strings.TrimSpace(value)
		if !ok || name == "" || strings.ContainsAny(name, " \t\r\n") || strings.ContainsAny(value, "\r\n\x00") {
			return nil, fmt.Errorf("header %q: want \"Name: value\"", line)
		}
		h.Add(name, value)
	}
	return h, nil
}

// listening says where to listen, as the command line asks: TCP on the
// port for each address, the unix socket, the redirect port and the
// metrics address. Sockets passed by socket activation take the place of
// the first two.
func (c *cli) listening(activated []net.Listener) listen.Config {
	unixOnly := c.UnixSocket != "" && c.Port == nil && len(c.Address) == 0 && c.RedirPort == 0
	return listen.Config{
		Activated:      activated,
		TCP:            !unixOnly,
		Addresses:      c.Address,
		Port:           c.port(),
		UnixSocket:     c.UnixSocket,
		RedirPort:      c.RedirPort,
		MetricsAddress: c.MetricsAddress,
	}
}

// port is the TCP port to listen on: --port, or 8080, or 8443 with --ssl.
func (c *cli) port() int {
	switch {
	case c.Port != nil:
		return *c.Port
	case c.SSL:
		return 8443
	}
	return 8080
}

// localeVars are the variables that choose the programs' character set.
var localeVars = []string{"LANG", "LC_ALL", "LC_CTYPE"}

// defaultLocale is given to the programs when the server's environment
// sets none of localeVars: messages are UTF-8 text, and a program in the
// C locale may reject or mangle anything but ASCII.
const defaultLocale = "LANG=C.UTF-8"

// passedEnv returns the named variables of the server's environment that
// are set and not empty, then those of localeVars that are and were not
// named, or defaultLocale when none of them is.
func passedEnv(names []string) []string {
	var env []string
	for _, name := range names {
		if v := os.Getenv(name); v != "" {
			env = append(env, name+"="+v)
		}
	}
	locale := false
	for _, name := range localeVars {
		v := os.Getenv(name)
		if v == "" {
			continue
		}
		locale = true
		if !slices.Contains(names, name) {
			env = append(env, name+"="+v)
		}
	}
	if !locale {
		env = append(env, defaultLocale)
	}
	return env
}

// loggers returns the server log and the access log, both writing to w.
// The levels of --loglevel are zerolog's, with access between debug and
// info: the access log writes at "access" and below.
func (c *cli) loggers(w io.Writer) (log, access zerolog.Logger) {
	if c.LogFormat == "console" || c.LogFormat == "auto" && isTerminal(w) {
		w = zerolog.ConsoleWriter{Out: w, TimeFormat: time.RFC3339}
	}
	level := map[string]zerolog.Level{
		"trace":  zerolog.TraceLevel,
		"debug":  zerolog.DebugLevel,
		"access": zerolog.InfoLevel,
		"info":   zerolog.InfoLevel,
		"warn":   zerolog.WarnLevel,
		"error":  zerolog.ErrorLevel,
		"fatal":  zerolog.FatalLevel,
	}[c.LogLevel]
	// zerolog drops trace events whatever a logger's level, unless its
	// global level lets them through.
	zerolog.SetGlobalLevel(min(level, zerolog.DebugLevel))
	log = zerolog.New(w).Level(level).With().Timestamp().Logger()
	access = zerolog.Nop()
	if level <= zerolog.InfoLevel && c.LogLevel != "info" {
		access = log.With().Str("level", "access").Logger()
	}
	return log, access
}

// isTerminal reports whether w is a terminal. A character device is not
// enough: /dev/null is one too.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
