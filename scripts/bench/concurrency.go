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

const (
	// dialers is how many connections the concurrency scenario opens at
	// once.
	dialers = 64
	// heldTimeout bounds each connect and each round trip of the
	// concurrency scenario.
	heldTimeout = 30 * time.Second
)

// concurrency measures n connections to cat held at once: all connect,
// then all make a few round trips at the same time.
func concurrency(n, trips int) scenario {
	failures := figure{name: "failures (all runs)", format: formatCount, agg: sum}
	p99 := figure{name: "p99 round trip", format: formatSeconds, agg: median, ratio: true}
	rss := figure{name: "server RSS per connection", format: formatBytes, agg: median, ratio: true}
	files := figure{name: "server open files per connection", format: formatDecimal, agg: median, ratio: true}
	return scenario{
		group: group{name: "concurrency " + thousands(int64(n)), figures: []figure{failures, p99, rss, files}},
		about: fmt.Sprintf("%s to `cat` opened %d at a time and held; once all are open, each makes %s at the same time as the others; RSS and open files per connection are the server process's VmRSS and entries in /proc/PID/fd with all held less those before, divided by the connections held, the RSS before being read once one connection has made a round trip and closed, so that what a server spends once on its first connection is not counted; a failure is a connection refused, broken or timed out; the flag lifts wsbridge's default cap of 1,024 children, which websocketd does not have",
			plural(n, "connection"), dialers, plural(trips, "round trip")),
		flags:   []string{"--maxforks=0"},
		command: []string{"cat"},
		ceiling: true,
		timeout: 4 * time.Minute,
		run: func(ctx context.Context, p *process) (measurement, error) {
			connect := func(ctx context.Context) (*websocket.Conn, error) {
				return dial(ctx, p.addr)
			}
			idle, idleFiles, err := warmIdle(ctx, p, connect, textPayload(messageSize))
			if err != nil {
				return nil, err
			}
			var errs errorCounter
			conns := openAll(ctx, n, &errs, connect)
			defer closeAll(conns)
			rtts := roundTripAll(ctx, conns, textPayload(messageSize), trips, &errs)
			held, err := memory(p.pid, "VmRSS")
			if err != nil {
				return nil, err
			}
			heldFiles, err := openFiles(p.pid)
			if err != nil {
				return nil, err
			}
			open := 0
			for _, c := range conns {
				if c != nil {
					open++
				}
			}
			m := measurement{
				failures.name: float64(errs.n),
				p99.name:      percentile(rtts, 99),
				rss.name:      math.NaN(),
				files.name:    math.NaN(),
			}
			if open > 0 {
				m[rss.name] = float64(held-idle) / float64(open)
				m[files.name] = float64(heldFiles-idleFiles) / float64(open)
			}
			if errs.n > 0 {
				return m, fmt.Errorf("%d of %d connections failed, the first: %w", errs.n, n, errs.first)
			}
			return m, nil
		},
	}
}

// warmIdle returns the server's VmRSS and open files once one connection
// made with dial has made a round trip of msg and its session has ended:
// what the server spends once, on its first connection, is not counted
// against those after it.
func warmIdle(ctx context.Context, p *process, dial func(context.Context) (*websocket.Conn, error), msg []byte) (rss int64, files int, err error) {
	ctx, cancel := context.WithTimeout(ctx, heldTimeout)
	defer cancel()
	files, err = openFiles(p.pid)
	if err != nil {
		return 0, 0, err
	}
	c, err := dial(ctx)
	if err != nil {
		return 0, 0, fmt.Errorf("warming up: %w", err)
	}
	err = roundTrip(ctx, c, msg)
	c.Close(websocket.StatusNormalClosure, "")
	if err == nil {
		err = waitFiles(ctx, p.pid, files)
	}
	if err != nil {
		return 0, 0, fmt.Errorf("warming up: %w", err)
	}
	rss, err = memory(p.pid, "VmRSS")
	return rss, files, err
}

// openAll opens n connections with dial, dialers at a time. A connection
// that fails is counted in errs and left nil.
func openAll(ctx context.Context, n int, errs *errorCounter, dial func(context.Context) (*websocket.Conn, error)) []*websocket.Conn {
	conns := make([]*websocket.Conn, n)
	next := make(chan int)
	var wg sync.WaitGroup
	for range dialers {
		wg.Go(func() {
			for i := range next {
				dctx, cancel := context.WithTimeout(ctx, heldTimeout)
				c, err := dial(dctx)
				cancel()
				if err != nil {
					errs.add(fmt.Errorf("connection %d: %w", i+1, err))
					continue
				}
				conns[i] = c
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	return conns
}

// roundTripAll makes trips round trips of msg on every open connection,
// all connections at once, and returns the time each took. A connection
// whose round trip fails is counted in errs, closed and set to nil.
func roundTripAll(ctx context.Context, conns []*websocket.Conn, msg []byte, trips int, errs *errorCounter) []float64 {
	rtts := make([][]float64, len(conns))
	var wg sync.WaitGroup
	for i, c := range conns {
		if c == nil {
			continue
		}
		wg.Go(func() {
			for range trips {
				tctx, cancel := context.WithTimeout(ctx, heldTimeout)
				start := time.Now()
				err := roundTrip(tctx, c, msg)
				cancel()
				if err != nil {
					errs.add(fmt.Errorf("connection %d: %w", i+1, err))
					c.CloseNow()
					conns[i] = nil
					return
				}
				rtts[i] = append(rtts[i], time.Since(start).Seconds())
			}
		})
	}
	wg.Wait()
	var all []float64
	for _, r := range rtts {
		all = append(all, r...)
	}
	return all
}

// closeAll closes the connections that are open.
func closeAll(conns []*websocket.Conn) {
	for _, c := range conns {
		if c != nil {
			c.CloseNow()
		}
	}
}

// An errorCounter counts errors from several goroutines and keeps the
// first.
type errorCounter struct {
	mu    sync.Mutex
	n     int
	first error
}

// add counts err.
func (e *errorCounter) add(err error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.n++
	if e.first == nil {
		e.first = err
	}
}
