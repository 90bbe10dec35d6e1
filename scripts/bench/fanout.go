//go:build linux

package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/coder/websocket"
)

const (
	// fanoutFlood is how many lines the program prints as fast as it can.
	fanoutFlood = 20_000
	// fanoutPaced is how many lines it then prints at fanoutRate a
	// second, for the time each takes to reach the clients at a load the
	// machine sustains.
	fanoutPaced = 2_000
	fanoutRate  = 200
	// syncTimeout bounds the wait for every client to have had one line,
	// once the program was asked for it.
	syncTimeout = 2 * time.Second
	// syncTries is how many times the program is asked for a line before
	// the clients that never had one are given up on.
	syncTries = 10
)

// The figures of the fanout scenarios.
var (
	fanRate     = figure{name: "lines per second to each client", format: formatRate("lines/s"), agg: median, ratio: true}
	fanP50      = figure{name: fmt.Sprintf("p50 write→receipt at %d lines/s", fanoutRate), format: formatSeconds, agg: median, ratio: true}
	fanP99      = figure{name: fmt.Sprintf("p99 write→receipt at %d lines/s", fanoutRate), format: formatSeconds, agg: median, ratio: true}
	fanCPU      = figure{name: "server CPU per delivered line", format: formatSeconds, agg: median, ratio: true}
	fanNATSCPU  = figure{name: "NATS server CPU per delivered line", format: formatSeconds, agg: median}
	fanFailures = figure{name: "failures (all runs)", format: formatCount, agg: sum}
)

// fanout returns the fanout scenarios with n clients: one program shared
// by all of them with --broadcast, in one instance (and by the ceiling,
// with no program) and over NATS with the clients spread over two
// instances.
func fanout(n int) []scenario {
	return []scenario{fanoutScenario(n, false), fanoutScenario(n, true)}
}

// fanoutScenario returns the fanout scenario with n clients, in one
// instance or, with cluster, over NATS.
func fanoutScenario(n int, cluster bool) scenario {
	self, err := os.Executable()
	if err != nil {
		self = os.Args[0]
	}
	sc := scenario{
		group: group{name: "fanout", figures: []figure{fanRate, fanP50, fanP99, fanCPU, fanFailures}},
		about: fmt.Sprintf("%s of one path share one program (`bench emit`, the harness itself) with `--broadcast`; once every client has had a line, the program prints %s of %d bytes as fast as it can, each in a write of its own and stamped with the time just before it, then %s at %d a second; the rate is the flood's lines divided by the time from asking for them to the last client's last line, the percentiles are of every paced line at every client, from its stamp to its receipt (the clients on the same machine), CPU is the server's over the flood divided by the lines delivered, program excluded; a failure is a client closed, or fed a line out of order or a gap; the ceiling makes the lines itself, at /fanout, with no program, and keeps --broadcast's bounds: it waits while every client has 64 KiB waiting, and closes with 1008 a client 1 MiB behind",
			plural(n, "client"), plural(fanoutFlood, "line"), messageSize, plural(fanoutPaced, "line"), fanoutRate),
		flags:   []string{"--broadcast", "--maxforks=0"},
		command: []string{self, "emit"},
		ceiling: true,
		timeout: 4 * time.Minute,
	}
	if !cluster {
		sc.run = func(ctx context.Context, p *process) (measurement, error) {
			return runFanout(ctx, []*process{p}, nil, n, fanoutFlood)
		}
		return sc
	}
	sc.name = "fanout over NATS"
	sc.figures = slices.Insert(slices.Clone(sc.figures), 4, fanNATSCPU)
	sc.about = fmt.Sprintf("as fanout, with the clients spread over two instances started with `--cluster=nats://… --cluster-name=bench` beside the harness's own, which stays idle, all three with the flags below; the NATS server is the Go module's (`bench nats`, JetStream on), a process of its own; server CPU is the two instances', added up")
	sc.ceiling = false
	sc.run = func(ctx context.Context, p *process) (m measurement, err error) {
		nats, err := startNATS(ctx, p)
		if err != nil {
			return nil, err
		}
		var insts []*process
		defer func() {
			for _, q := range insts {
				err = errors.Join(err, q.stop())
			}
			err = errors.Join(err, nats.stop())
		}()
		cluster := "--cluster=nats://" + nats.addr
		for i := range 2 {
			q, err := p.sibling(ctx, fmt.Sprintf("wsbridge instance %d", i+1), cluster, "--cluster-name=bench")
			if err != nil {
				return nil, err
			}
			insts = append(insts, q)
		}
		return runFanout(ctx, insts, nats, n, fanoutFlood)
	}
	return sc
}

// runFanout runs a fanout scenario on n clients spread over the servers
// insts, nats being the NATS server they share, if any, with a flood of
// flood lines.
func runFanout(ctx context.Context, insts []*process, nats *process, n int, flood int64) (measurement, error) {
	var errs errorCounter
	addrs := make([]string, len(insts))
	for i, p := range insts {
		addrs[i] = p.addr
	}
	conns := dialFanout(ctx, addrs, n, &errs)
	clients := newFanClients(conns, flood, fanoutPaced)
	defer clients.close()
	stop := context.AfterFunc(ctx, clients.close)
	defer stop()
	m := measurement{fanFailures.name: float64(errs.n)}
	fail := func(err error) (measurement, error) {
		failed, first := clients.failures()
		m[fanFailures.name] = float64(errs.n + failed)
		return m, errors.Join(err, first, errs.first)
	}
	if len(clients.conns) == 0 {
		return fail(errors.New("no client could connect"))
	}
	ask := clients.conns[0]
	send := func(b burst) error {
		if err := ask.Write(ctx, websocket.MessageText, []byte(b.String())); err != nil {
			return fmt.Errorf("asking for %s: %w", b, err)
		}
		return nil
	}

	// Every client is served once it has had a line.
	synced := false
	for try := range syncTries {
		if err := send(burst{first: int64(try), count: 1}); err != nil {
			return fail(err)
		}
		ok, err := clients.wait(ctx, &clients.synced, syncTimeout)
		if err != nil {
			return fail(err)
		}
		if synced = ok; synced {
			break
		}
	}
	if !synced {
		return fail(fmt.Errorf("some clients had no line after %d tries", syncTries))
	}

	cpu0, err := cpuTimes(insts)
	if err != nil {
		return fail(err)
	}
	var natsCPU0 time.Duration
	if nats != nil {
		if natsCPU0, err = cpuTime(nats.pid); err != nil {
			return fail(err)
		}
	}
	start := time.Now()
	if err := send(burst{first: floodFirst, count: flood}); err != nil {
		return fail(err)
	}
	if ok, err := clients.wait(ctx, &clients.flooded, time.Minute); !ok {
		return fail(errors.Join(errors.New("the flood did not reach every client within a minute"), err))
	}
	elapsed := time.Since(start)
	cpu1, err := cpuTimes(insts)
	if err != nil {
		return fail(err)
	}
	served := len(clients.conns)
	if failed, _ := clients.failures(); failed < served {
		served -= failed
		delivered := float64(flood * int64(served))
		m[fanRate.name] = float64(flood) / elapsed.Seconds()
		m[fanCPU.name] = (cpu1 - cpu0).Seconds() / delivered
		if nats != nil {
			natsCPU1, err := cpuTime(nats.pid)
			if err != nil {
				return fail(err)
			}
			m[fanNATSCPU.name] = (natsCPU1 - natsCPU0).Seconds() / delivered
		}
	}

	if err := send(burst{first: pacedFirst, count: fanoutPaced, rate: fanoutRate}); err != nil {
		return fail(err)
	}
	if ok, err := clients.wait(ctx, &clients.done, time.Minute); !ok {
		return fail(errors.Join(errors.New("the paced lines did not reach every client within a minute"), err))
	}
	m[fanP50.name] = clients.paced.percentile(50)
	m[fanP99.name] = clients.paced.percentile(99)
	if failed, _ := clients.failures(); failed > 0 || errs.n > 0 {
		return fail(fmt.Errorf("%d of %d clients failed", failed+errs.n, n))
	}
	return m, nil
}

// cpuTimes returns the CPU time the processes ps have used, added up.
func cpuTimes(ps []*process) (time.Duration, error) {
	var t time.Duration
	for _, p := range ps {
		d, err := cpuTime(p.pid)
		if err != nil {
			return 0, err
		}
		t += d
	}
	return t, nil
}

// startNATS starts a NATS server with JetStream beside p, "bench nats", a
// process of its own.
func startNATS(ctx context.Context, p *process) (*process, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("finding the harness's own binary for the NATS server: %w", err)
	}
	s := server{name: "the NATS server", argv: []string{self, "nats"}}
	return s.start(ctx, filepath.Dir(p.log.Name()), nil, nil)
}

// sibling starts another server like p, named name, on a port of its
// own, with the flags extra after p's.
func (p *process) sibling(ctx context.Context, name string, extra ...string) (*process, error) {
	args := p.cmd.Args
	at := slices.IndexFunc(args, func(a string) bool { return strings.HasPrefix(a, "--port=") })
	if at < 0 || at+1 >= len(args) || args[at+1] != "--address=127.0.0.1" {
		return nil, fmt.Errorf("starting %s: no --port and --address in %q", name, args)
	}
	// p's flags follow, up to its command's first word.
	cmd := slices.IndexFunc(args[at+2:], func(a string) bool { return !strings.HasPrefix(a, "--") }) + at + 2
	s := server{name: name, argv: args[:at], bridge: true}
	return s.start(ctx, filepath.Dir(p.log.Name()), slices.Concat(args[at+2:cmd], extra), args[cmd:])
}
