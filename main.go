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
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/alecthomas/kong"
	"github.com/rs/zerolog"

	"wsbridge/bridge"
	"wsbridge/process"
	"wsbridge/upgrade"
)

// Exit codes, as websocketd has them.
const (
	exitBadArguments = 1 // the flags parse but make no sense together
	exitBadFlags     = 2 // the flags do not parse
	exitCannotStart  = 3 // the server could not start listening
)

// cli is the command line. Flag names and meanings are websocketd's.
type cli struct {
	Port         int              `default:"8080" help:"TCP port to listen on; 0 picks a free one, shown in the startup log (default: ${default})."`
	Address      []string         `sep:"none" placeholder:"ADDR" help:"Address to listen on; repeatable; IPv6 in brackets (default: all interfaces)."`
	Binary       bool             `help:"Binary mode: client messages go to stdin as they are and stdout comes back as binary messages."`
	PTY          *bool            `name:"pty" negatable:"" help:"Put the program's stdout on a pseudo-terminal so that it flushes every line (default: on in text mode, off in binary mode)."`
	MaxFrameSize int64            `name:"maxframesize" default:"1048576" placeholder:"BYTES" help:"Largest message accepted from a client; 0 means no limit; a larger one closes the connection with 1009 (default: ${default})."`
	CloseMs      int              `name:"closems" default:"0" placeholder:"MS" help:"Extra time given to the program before each stop signal (default: ${default})."`
	PingMs       int              `name:"pingms" default:"0" placeholder:"MS" help:"Ping clients this often and drop one that misses pongs for twice as long; 0 means no pings (default: ${default})."`
	LogLevel     string           `name:"loglevel" default:"access" enum:"debug,trace,access,info,error,fatal" help:"Least important log events shown: debug, trace, access, info, error or fatal (default: ${default})."`
	LogFormat    string           `name:"log-format" default:"auto" enum:"auto,console,json" help:"Log format: console, json, or auto for console on a terminal and json otherwise (default: ${default})."`
	Version      kong.VersionFlag `help:"Print the version and exit."`

	Command []string `arg:"" passthrough:"partial" placeholder:"COMMAND [ARGS...]" help:"The program every client gets, with its arguments; everything from here on goes to it untouched."`
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	var c cli
	parser, err := kong.New(&c,
		kong.Name("wsbridge"),
		kong.Description("Turn a program that reads stdin and writes stdout into a WebSocket service."),
		kong.Vars{"version": "wsbridge " + version()},
		kong.Writers(stdout, stderr),
		kong.Exit(func(code int) { panic(exitCode(code)) }),
	)
	if err != nil {
		panic(err)
	}
	if code, exited := parse(parser, args); exited {
		return code
	}
	if len(c.Command) > 0 && c.Command[0] == "--" {
		c.Command = c.Command[1:]
	}
	if len(c.Command) == 0 {
		fmt.Fprintln(stderr, "wsbridge: error: no program given: wsbridge [flags] COMMAND [ARGS...]")
		return exitBadArguments
	}

	cfg, err := c.config()
	if err != nil {
		fmt.Fprintf(stderr, "wsbridge: error: %v\n", err)
		return exitBadArguments
	}
	log, access := c.loggers(stdout)
	cfg.Log, cfg.AccessLog = log, access

	listeners, err := upgrade.Listen(c.Address, c.Port)
	if err != nil {
		fmt.Fprintf(stderr, "wsbridge: error: %v\n", err)
		return exitCannotStart
	}
	srv := upgrade.NewServer(cfg)
	for _, ln := range listeners {
		log.Info().Str("address", ln.Addr().String()).Strs("command", c.Command).Msg("listening")
	}

	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(sigs)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(listeners...) }()
	select {
	case err := <-served:
		log.Error().Err(err).Msg("server stopped")
		return exitCannotStart
	case sig := <-sigs:
		log.Info().Str("signal", sig.String()).Msg("shutting down")
	}
	// Children get the whole stop sequence and the clients their close
	// handshake; past that, give up on them.
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second+3*time.Duration(c.CloseMs)*time.Millisecond)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Error().Err(err).Msg("shutdown incomplete")
	}
	<-served
	log.Info().Msg("stopped")
	return 0
}

// exitCode is what kong's exit function panics with, so that parse can
// return it instead of the process exiting.
type exitCode int

// parse parses args; when kong is done with the run (--help, --version or
// an error) it reports the exit code and true.
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

// config turns the command line into the server's configuration.
func (c *cli) config() (upgrade.Config, error) {
	path, err := exec.LookPath(c.Command[0])
	if err != nil {
		return upgrade.Config{}, fmt.Errorf("program %q: %w", c.Command[0], errors.Unwrap(err))
	}
	switch {
	case c.Port < 0 || c.Port > 65535:
		return upgrade.Config{}, fmt.Errorf("--port=%d: not a TCP port", c.Port)
	case c.MaxFrameSize < 0:
		return upgrade.Config{}, fmt.Errorf("--maxframesize=%d: must be 0 or more", c.MaxFrameSize)
	case c.CloseMs < 0:
		return upgrade.Config{}, fmt.Errorf("--closems=%d: must be 0 or more", c.CloseMs)
	case c.PingMs < 0:
		return upgrade.Config{}, fmt.Errorf("--pingms=%d: must be 0 or more", c.PingMs)
	}
	pty := !c.Binary
	if c.PTY != nil {
		pty = *c.PTY
	}
	return upgrade.Config{
		Process: process.Config{
			Path:  path,
			Args:  c.Command[1:],
			Env:   passedEnv("PATH", "LD_LIBRARY_PATH"),
			PTY:   pty,
			Grace: time.Duration(c.CloseMs) * time.Millisecond,
		},
		Bridge: bridge.Config{
			Binary:       c.Binary,
			PingInterval: time.Duration(c.PingMs) * time.Millisecond,
		},
		MaxMessageSize: c.MaxFrameSize,
	}, nil
}

// passedEnv returns the named variables of the server's environment that
// are set and not empty.
func passedEnv(names ...string) []string {
	var env []string
	for _, name := range names {
		if v := os.Getenv(name); v != "" {
			env = append(env, name+"="+v)
		}
	}
	return env
}

// loggers returns the server log and the access log, both writing to w.
// websocketd's levels map onto zerolog's, with access events shown at
// "access" and below.
func (c *cli) loggers(w io.Writer) (log, access zerolog.Logger) {
	if c.LogFormat == "console" || c.LogFormat == "auto" && isTerminal(w) {
		w = zerolog.ConsoleWriter{Out: w, TimeFormat: time.RFC3339}
	}
	level := map[string]zerolog.Level{
		"debug":  zerolog.TraceLevel,
		"trace":  zerolog.DebugLevel,
		"access": zerolog.InfoLevel,
		"info":   zerolog.InfoLevel,
		"error":  zerolog.ErrorLevel,
		"fatal":  zerolog.FatalLevel,
	}[c.LogLevel]
	log = zerolog.New(w).Level(level).With().Timestamp().Logger()
	access = zerolog.Nop()
	if level <= zerolog.InfoLevel && c.LogLevel != "info" {
		access = log.With().Str("level", "access").Logger()
	}
	return log, access
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// version is the module version wsbridge was built from.
func version() string {
	if info, ok := debug.ReadBuildInfo(); ok && info.Main.Version != "" && info.Main.Version != "(devel)" {
		return strings.TrimPrefix(info.Main.Version, "v")
	}
	return "devel"
}
