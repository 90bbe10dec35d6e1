//go:build linux

package main

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
)

// compressedSize is the size of the lines of the compression scenarios.
const compressedSize = 1024

// compression measures lines of JSON through cat with clients that ask
// for permessage-deflate, as browsers do, against a server whose
// compression is on (--compress) or off: first held connections, each
// making one round trip, for the memory each costs; then pipelined
// messages on one connection, for the throughput, the server's CPU per
// message and the bytes each takes on the network.
func compression(n, held int, on bool) scenario {
	rate := figure{name: "messages per second", format: formatRate("msg/s"), agg: median, ratio: true}
	cpu := figure{name: "server CPU per message", format: formatSeconds, agg: median, ratio: true}
	wire := figure{name: "bytes sent per message", format: formatBytes, agg: median, ratio: true}
	rss := figure{name: "server RSS per held connection", format: formatBytes, agg: median, ratio: true}
	failures := figure{name: "failures (all runs)", format: formatCount, agg: sum}
	name, flags := "compression off", []string(nil)
	if on {
		name, flags = "compression on", []string{"--compress"}
	}
	lines := jsonLines(64, compressedSize)
	return scenario{
		group: group{name: name, figures: []figure{rate, cpu, wire, rss, failures}},
		about: fmt.Sprintf("clients that ask for permessage-deflate talk to `cat` with lines of %d bytes of JSON records (deflated on its own, such a line takes about 40 %% of its size): %s opened %d at a time and held, each making one round trip, then, once they have ended, on one connection %s sent without waiting while the echoes are read; bytes sent per message is what the server wrote to the network for each echo, framing included; RSS as in the concurrency scenario",
			compressedSize, plural(held, "connection"), dialers, plural(n, "message")),
		flags:   append(flags, "--maxforks=0"),
		command: []string{"cat"},
		timeout: 4 * time.Minute,
		run: func(ctx context.Context, p *process) (measurement, error) {
			m := measurement{failures.name: 0}
			var received atomic.Int64
			dial := func(ctx context.Context) (*websocket.Conn, error) {
				return dialCompressed(ctx, p.addr, &received)
			}

			idle, idleFiles, err := warmIdle(ctx, p, dial, lines[0])
			if err != nil {
				return m, err
			}
			var errs errorCounter
			conns := openAll(ctx, held, &errs, dial)
			roundTripAll(ctx, conns, lines[0], 1, &errs)
			heldRSS, err := memory(p.pid, "VmRSS")
			open := 0
			for _, c := range conns {
				if c != nil {
					open++
				}
			}
			closeAll(conns)
			m[failures.name] = float64(errs.n)
			if err != nil {
				return m, err
			}
			m[rss.name] = math.NaN()
			if open > 0 {
				m[rss.name] = float64(heldRSS-idle) / float64(open)
			}
			if errs.n > 0 {
				return m, fmt.Errorf("%d of %d connections failed, the first: %w", errs.n, held, errs.first)
			}
			// The sessions end, and their programs are stopped, before
			// the server's CPU time is taken.
			if err := waitFiles(ctx, p.pid, idleFiles); err != nil {
				return m, err
			}

			c, err := dial(ctx)
			if err != nil {
				return m, err
			}
			defer c.CloseNow()
			wd := newWatchdog(ctx)
			defer wd.stop()
			ctx = wd.ctx
			cpu0, err := cpuTime(p.pid)
			if err != nil {
				return m, err
			}
			received0 := received.Load()
			start := time.Now()
			sent := make(chan error, 1)
			go func() {
				for i := range n {
					if err := c.Write(ctx, websocket.MessageText, lines[i%len(lines)]); err != nil {
						sent <- fmt.Errorf("sending: %w", err)
						return
					}
				}
				sent <- nil
			}()
			for i := range n {
				if err := expectEcho(ctx, c, lines[i%len(lines)]); err != nil {
					return m, fmt.Errorf("echo %d of %d: %w", i+1, n, wd.explain(err))
				}
				wd.tick()
			}
			elapsed := time.Since(start)
			if err := <-sent; err != nil {
				return m, err
			}
			cpu1, err := cpuTime(p.pid)
			if err != nil {
				return m, err
			}
			m[rate.name] = float64(n) / elapsed.Seconds()
			m[cpu.name] = (cpu1 - cpu0).Seconds() / float64(n)
			m[wire.name] = float64(received.Load()-received0) / float64(n)
			return m, nil
		},
	}
}

// waitFiles waits until the process pid has no more than n files open.
func waitFiles(ctx context.Context, pid, n int) error {
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		open, err := openFiles(pid)
		if err != nil || open <= n {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for the sessions to end, %d files still open: %w", open-n, ctx.Err())
		case <-tick.C:
		}
	}
}

// dialCompressed opens a connection to addr that asks for
// permessage-deflate, and counts the bytes read from the network in
// received.
func dialCompressed(ctx context.Context, addr string, received *atomic.Int64) (*websocket.Conn, error) {
	transport := &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			return &countingConn{Conn: c, received: received}, nil
		},
	}
	c, _, err := websocket.Dial(ctx, "ws://"+addr+"/", &websocket.DialOptions{
		HTTPClient:      &http.Client{Transport: transport},
		CompressionMode: websocket.CompressionContextTakeover,
	})
	if err != nil {
		return nil, fmt.Errorf("connecting: %w", err)
	}
	c.SetReadLimit(-1)
	return c, nil
}

// A countingConn counts the bytes read from it.
type countingConn struct {
	net.Conn
	received *atomic.Int64
}

func (c *countingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.received.Add(int64(n))
	return n, err
}

// jsonLines returns n different lines of size bytes, each a run of JSON
// records of the kind a service logs, with the same keys and varying
// values, cut to size.
func jsonLines(n, size int) [][]byte {
	r := rand.New(rand.NewPCG(1, 2))
	levels := []string{"info", "info", "info", "warn", "error"}
	paths := []string{"/api/v1/items", "/api/v1/users", "/api/v1/orders", "/healthz", "/static/app.js"}
	lines := make([][]byte, n)
	for i := range lines {
		var b []byte
		for len(b) < size {
			b = fmt.Appendf(b, `{"time":"2026-11-24T23:%02d:%02d.%03dZ","level":%q,"request_id":"%016x","user":%d,"method":"GET","path":"%s/%d","status":%d,"duration_ms":%d.%03d,"bytes":%d} `,
				r.IntN(60), r.IntN(60), r.IntN(1000), levels[r.IntN(len(levels))], r.Uint64(), r.IntN(100000),
				paths[r.IntN(len(paths))], r.IntN(10000), []int{200, 200, 200, 304, 404, 500}[r.IntN(6)],
				r.IntN(500), r.IntN(1000), r.IntN(1<<20))
		}
		lines[i] = b[:size]
	}
	return lines
}
