//go:build linux

package main

import (
	"context"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/coder/websocket"
)

// stormTimeout bounds each client's connect and round trip in the storm
// scenario.
const stormTimeout = 30 * time.Second

// storm measures a reconnect storm: n clients connect to cat at the same
// moment, as every browser does after a deploy or a network blip, and
// each makes one round trip.
func storm(n int) scenario {
	last := figure{name: "time until the last answer", format: formatSeconds, agg: median, ratio: true}
	p50 := figure{name: "p50 connect→answer", format: formatSeconds, agg: median, ratio: true}
	p99 := figure{name: "p99 connect→answer", format: formatSeconds, agg: median, ratio: true}
	cpu := figure{name: "server CPU per session", format: formatSeconds, agg: median, ratio: true}
	programCPU := figure{name: "program CPU per session", format: formatSeconds, agg: median, ratio: true}
	failures := figure{name: "failures (all runs)", format: formatCount, agg: sum}
	return scenario{
		group: group{name: "storm", figures: []figure{last, p50, p99, cpu, programCPU, failures}},
		about: fmt.Sprintf("%s to `cat` dialled at the same moment, each making one round trip of %d bytes as soon as it is open; the time until the last answer runs from the moment all start, connect→answer from each one's dial; once every client has its answer all are closed, and server CPU per session is the server process's user+system time, children excluded, from before the storm until every session has ended, divided by the sessions served, and program CPU per session that of the server's children (the copies of `cat`) it reaped meanwhile; a failure is a connection refused, broken or timed out; the flag lifts wsbridge's default cap of 1,024 children, which websocketd does not have",
			plural(n, "client"), messageSize),
		flags:   []string{"--maxforks=0"},
		command: []string{"cat"},
		ceiling: true,
		timeout: 3 * time.Minute,
		run: func(ctx context.Context, p *process) (measurement, error) {
			msg := textPayload(messageSize)
			connect := func(ctx context.Context) (*websocket.Conn, error) {
				return dial(ctx, p.addr)
			}
			_, idleFiles, err := warmIdle(ctx, p, connect, msg)
			if err != nil {
				return nil, err
			}
			cpu0, err := cpuTime(p.pid)
			if err != nil {
				return nil, err
			}
			programCPU0, err := childrenCPUTime(p.pid)
			if err != nil {
				return nil, err
			}
			conns, times, elapsed, errs := stormAll(ctx, n, connect, msg)
			closeAll(conns)
			m := measurement{
				last.name:       math.NaN(),
				p50.name:        percentile(times, 50),
				p99.name:        percentile(times, 99),
				cpu.name:        math.NaN(),
				programCPU.name: math.NaN(),
				failures.name:   float64(errs.n),
			}
			if len(times) > 0 {
				m[last.name] = elapsed.Seconds()
			}
			// Every session ends, and its program is stopped, before
			// the server's CPU time is taken.
			if err := waitFiles(ctx, p.pid, idleFiles); err != nil {
				return m, err
			}
			cpu1, err := cpuTime(p.pid)
			if err != nil {
				return m, err
			}
			programCPU1, err := childrenCPUTime(p.pid)
			if err != nil {
				return m, err
			}
			if len(times) > 0 {
				m[cpu.name] = (cpu1 - cpu0).Seconds() / float64(len(times))
				m[programCPU.name] = (programCPU1 - programCPU0).Seconds() / float64(len(times))
			}
			if errs.n > 0 {
				return m, fmt.Errorf("%d of %d clients failed, the first: %w", errs.n, n, errs.first)
			}
			return m, nil
		},
	}
}

// stormAll starts n clients at the same moment, each connecting with dial
// and making one round trip of msg. It returns the connections that got
// their answer (nil for the others, which are counted in errs), the time
// from each one's dial to its answer, and the time from the start until
// the last answer.
func stormAll(ctx context.Context, n int, dial func(context.Context) (*websocket.Conn, error), msg []byte) ([]*websocket.Conn, []float64, time.Duration, *errorCounter) {
	conns := make([]*websocket.Conn, n)
	times := make([]float64, n)
	errs := &errorCounter{}
	var ready, wg sync.WaitGroup
	start := make(chan struct{})
	ready.Add(n)
	for i := range n {
		wg.Go(func() {
			ready.Done()
			<-start
			cctx, cancel := context.WithTimeout(ctx, stormTimeout)
			defer cancel()
			t := time.Now()
			c, err := dial(cctx)
			if err == nil {
				err = roundTrip(cctx, c, msg)
				if err != nil {
					c.CloseNow()
				}
			}
			if err != nil {
				errs.add(fmt.Errorf("client %d: %w", i+1, err))
				return
			}
			times[i] = time.Since(t).Seconds()
			conns[i] = c
		})
	}
	ready.Wait()
	began := time.Now()
	close(start)
	wg.Wait()
	elapsed := time.Since(began)
	answered := times[:0]
	for i, c := range conns {
		if c != nil {
			answered = append(answered, times[i])
		}
	}
	return conns, answered, elapsed, errs
}
