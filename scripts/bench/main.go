//go:build linux

// Bench measures wsbridge side by side with other servers that take
// websocketd's flags, and with a ceiling: an echo server with no child at
// all, the most a bridge could do on this machine. It prints a Markdown
// table on stdout, ready to paste into a README, and what it is doing on
// stderr.
//
//	go run ./scripts/bench [-quick] [-runs N] [-only NAME,...] [-wsbridge PATH] [-vs 'COMMAND LINE']...
//
// wsbridge is built from the working tree unless -wsbridge names a binary.
// Each -vs server is started as its command line followed by
// --port=PORT --address=127.0.0.1, the scenario's flags and the child's
// command line, like websocketd: -vs websocketd. Every measurement starts
// a fresh server, the servers take turns (A B C A B C ...), and every
// figure is the median of the runs. Only 127.0.0.1 is used; every server
// started is stopped and reaped, on Ctrl-C too.
//
// "bench ceiling --port=PORT --address=ADDR" runs the ceiling alone;
// "bench emit" is the fanout scenarios' program; "bench nats --port=PORT
// --address=ADDR" runs a NATS server with JetStream, as the fanout
// scenario over NATS and the browser tests do.
//
// Linux only: the server's CPU time and memory come from /proc.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"
)

// main runs the benchmark, or one of its parts alone.
func main() {
	if len(os.Args) > 1 && os.Args[1] == "ceiling" {
		if err := serveCeiling(os.Args[2:]); err != nil {
			fmt.Fprintf(os.Stderr, "bench ceiling: %v\n", err)
			os.Exit(1)
		}
		return
	}
	if len(os.Args) > 1 && os.Args[1] == "emit" {
		if err := runEmit(); err != nil {
			fmt.Fprintf(os.Stderr, "bench emit: %v\n", err)
			os.Exit(1)
		}
		return
	}
	if len(os.Args) > 1 && os.Args[1] == "nats" {
		if err := serveNATS(os.Args[2:]); err != nil {
			fmt.Fprintf(os.Stderr, "bench nats: %v\n", err)
			os.Exit(1)
		}
		return
	}
	if err := run(os.Args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return
		}
		fmt.Fprintf(os.Stderr, "bench: %v\n", err)
		os.Exit(1)
	}
}

// commandLines is a repeatable flag of command lines.
type commandLines []string

// String returns the command lines joined by commas.
func (c *commandLines) String() string { return strings.Join(*c, ", ") }

// Set adds a command line.
func (c *commandLines) Set(s string) error {
	if len(strings.Fields(s)) == 0 {
		return errors.New("empty command line")
	}
	*c = append(*c, s)
	return nil
}

// run runs the benchmark with the command line args and prints the report.
func run(args []string) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	quick := fs.Bool("quick", false, "a short run, for smoke testing: fewer messages and connections, a 10 MB line, 1 run")
	runs := fs.Int("runs", 3, "how many times each server runs each scenario; figures are medians")
	wsbridge := fs.String("wsbridge", "", "the wsbridge binary to measure (default: built from the working tree)")
	only := fs.String("only", "", "run only the scenarios whose names start with one of these comma-separated words, such as `churn,latency`")
	var vs commandLines
	fs.Var(&vs, "vs", "the command line of a server taking websocketd's flags to compare with, such as `websocketd`; repeatable; words split at spaces")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	sz := fullSizes
	if *quick {
		sz = quickSizes
		runsSet := false
		fs.Visit(func(f *flag.Flag) { runsSet = runsSet || f.Name == "runs" })
		if !runsSet {
			*runs = 1
		}
	}
	if *runs < 1 {
		return fmt.Errorf("-runs=%d: want at least 1", *runs)
	}

	scs, err := pick(scenarios(sz), *only)
	if err != nil {
		return err
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	prog := newProgress(os.Stderr)
	rep := &report{
		date:    time.Now(),
		command: commandLine(args),
		runs:    *runs,
	}
	limit, err := raiseOpenFiles()
	if err != nil {
		rep.note(prog, err.Error())
	} else if n := slices.Max(sz.held); limit < filesNeeded(n) {
		rep.note(prog, fmt.Sprintf("the open-files hard limit is %s: holding %s may take %s in a server (up to five for each) and %s in the harness, so expect failures in the concurrency scenario; raise it with `ulimit -Hn` as root",
			thousands(int64(limit)), plural(n, "connection"), thousands(int64(filesNeeded(n))), thousands(int64(n))))
	}

	dir, err := os.MkdirTemp("", "bench-")
	if err != nil {
		return fmt.Errorf("creating a temporary directory: %w", err)
	}
	defer os.RemoveAll(dir)
	rep.servers, err = servers(ctx, prog, dir, *wsbridge, vs)
	if err != nil {
		return err
	}
	refs := []string{"ceiling"}
	if len(vs) > 0 {
		refs = append(refs, vs[0])
	}
	rep.scenarios = scs
	rep.table = newTable(groups(rep.scenarios), names(rep.servers), refs)
	measureAll(ctx, prog, dir, rep)
	prog.clear()
	if ctx.Err() != nil {
		rep.note(prog, "interrupted: the table holds the runs finished before")
	}
	return rep.write(os.Stdout)
}

// measureAll runs every scenario, each run of it on every server in turn,
// and adds the figures to rep's table, until done or ctx is cancelled.
func measureAll(ctx context.Context, prog *progress, dir string, rep *report) {
	for _, sc := range rep.scenarios {
		for r := 1; r <= rep.runs; r++ {
			for _, s := range rep.servers {
				if !s.bridge && !sc.ceiling {
					continue
				}
				prog.show(fmt.Sprintf("%s · run %d of %d · %s", sc.name, r, rep.runs, s.name))
				m, err := measure(ctx, dir, sc, s)
				if ctx.Err() != nil {
					return
				}
				for _, f := range sc.figures {
					v, ok := m[f.name]
					if !ok {
						v = math.NaN()
					}
					rep.table.add(cell{sc.name, f.name, s.name}, v)
				}
				if err != nil {
					rep.note(prog, fmt.Sprintf("%s, run %d, %s: %v", sc.name, r, s.name, err))
				}
			}
		}
	}
}

// measure starts s afresh, runs sc against it within sc's time limit, and
// stops it.
func measure(ctx context.Context, dir string, sc scenario, s server) (measurement, error) {
	p, err := s.start(ctx, dir, sc.flags, sc.command)
	if err != nil {
		return nil, err
	}
	rctx, cancel := context.WithTimeout(ctx, sc.timeout)
	m, err := sc.run(rctx, p)
	if err != nil && errors.Is(rctx.Err(), context.DeadlineExceeded) {
		err = fmt.Errorf("not done within %v: %w", sc.timeout, err)
	}
	cancel()
	return m, errors.Join(err, p.stop())
}

// groups returns the row groups of the scenarios.
func groups(scs []scenario) []group {
	g := make([]group, len(scs))
	for i, sc := range scs {
		g[i] = sc.group
	}
	return g
}
