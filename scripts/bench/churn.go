//go:build linux

package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/coder/websocket"
)

// churnTimeout bounds one connect→echo→close of the churn scenario.
const churnTimeout = 10 * time.Second

// churn measures short connections one after the other: connect, one round
// trip to cat, close; while held other clients, each with its own cat, stay
// connected, when held is not 0.
func churn(n, held int) scenario {
	rate := figure{name: "connections per second", format: formatRate("conn/s"), agg: median, ratio: true}
	p50 := figure{name: "p50 connect→echo→close", format: formatSeconds, agg: median, ratio: true}
	p99 := figure{name: "p99 connect→echo→close", format: formatSeconds, agg: median, ratio: true}
	upgrade := figure{name: "p50 connect→upgraded", format: formatSeconds, agg: median, ratio: true}
	echo := figure{name: "p50 upgraded→echo", format: formatSeconds, agg: median, ratio: true}
	closing := figure{name: "p50 echo→closed", format: formatSeconds, agg: median, ratio: true}
	cpu := figure{name: "server CPU per session", format: formatSeconds, agg: median, ratio: true}
	programCPU := figure{name: "program CPU per session", format: formatSeconds, agg: median, ratio: true}
	failures := figure{name: "failures (all runs)", format: formatCount, agg: sum}
	name := "churn"
	about := fmt.Sprintf("%s one after the other, each: connect, one round trip to `cat`, close with 1000 and wait for the server's close frame; the three p50 parts are those of each connection: until the upgrade's answer has come, until the echo has, until the server's close frame has; server CPU per session is the server process's user+system time, children excluded, over the run, divided by the sessions served; program CPU per session is that of the server's children (the copies of `cat`) it reaped over the run, divided the same way", plural(n, "connection"))
	var flags []string
	if held > 0 {
		name = fmt.Sprintf("churn, %s held", thousands(int64(held)))
		about = fmt.Sprintf("as churn, while %s, connected before with a round trip each, stay connected to a `cat` each", plural(held, "other client"))
		flags = []string{"--maxforks=0"}
	}
	return scenario{
		group:   group{name: name, figures: []figure{rate, p50, p99, upgrade, echo, closing, cpu, programCPU, failures}},
		about:   about,
		flags:   flags,
		command: []string{"cat"},
		ceiling: true,
		timeout: 3 * time.Minute,
		run: func(ctx context.Context, p *process) (measurement, error) {
			msg := textPayload(messageSize)
			if held > 0 {
				conns, _, _, errs := stormAll(ctx, held, func(ctx context.Context) (*websocket.Conn, error) {
					return dial(ctx, p.addr)
				}, msg)
				defer closeAll(conns)
				if errs.n > 0 {
					return nil, fmt.Errorf("%d of %d held clients failed, the first: %w", errs.n, held, errs.first)
				}
			}
			times := make([]float64, 0, n)
			var parts [3][]float64
			var first error
			cpu0, err := cpuTime(p.pid)
			if err != nil {
				return nil, err
			}
			programCPU0, err := childrenCPUTime(p.pid)
			if err != nil {
				return nil, err
			}
			start := time.Now()
			for range n {
				t := time.Now()
				at, err := connectEchoClose(ctx, p.addr, msg)
				if err != nil {
					if first == nil {
						first = err
					}
					if ctx.Err() != nil {
						break
					}
					continue
				}
				times = append(times, at[2].Sub(t).Seconds())
				for i := range at {
					parts[i] = append(parts[i], at[i].Sub(t).Seconds())
					t = at[i]
				}
			}
			elapsed := time.Since(start)
			cpu1, cpuErr := cpuTime(p.pid)
			programCPU1, programErr := childrenCPUTime(p.pid)
			cpuErr = errors.Join(cpuErr, programErr)
			// Connections not tried before the deadline count as failed.
			m := measurement{
				rate.name:       math.NaN(),
				p50.name:        percentile(times, 50),
				p99.name:        percentile(times, 99),
				upgrade.name:    percentile(parts[0], 50),
				echo.name:       percentile(parts[1], 50),
				closing.name:    percentile(parts[2], 50),
				cpu.name:        math.NaN(),
				programCPU.name: math.NaN(),
				failures.name:   float64(n - len(times)),
			}
			if len(times) > 0 {
				m[rate.name] = float64(len(times)) / elapsed.Seconds()
				if cpuErr == nil {
					m[cpu.name] = (cpu1 - cpu0).Seconds() / float64(len(times))
					m[programCPU.name] = (programCPU1 - programCPU0).Seconds() / float64(len(times))
				}
			}
			if cpuErr != nil {
				return m, cpuErr
			}
			if first != nil {
				return m, fmt.Errorf("%d of %d connections failed, the first: %w", n-len(times), n, first)
			}
			return m, nil
		},
	}
}

// connectEchoClose connects to addr, makes one round trip and closes the
// connection with the closing handshake. It returns when the upgrade's
// answer came, when the echo did and when the closing handshake ended.
func connectEchoClose(ctx context.Context, addr string, msg []byte) (at [3]time.Time, err error) {
	ctx, cancel := context.WithTimeout(ctx, churnTimeout)
	defer cancel()
	c, err := dial(ctx, addr)
	if err != nil {
		return at, err
	}
	defer c.CloseNow()
	at[0] = time.Now()
	if err := roundTrip(ctx, c, msg); err != nil {
		return at, err
	}
	at[1] = time.Now()
	if err := c.Close(websocket.StatusNormalClosure, ""); err != nil {
		return at, fmt.Errorf("closing: %w", err)
	}
	at[2] = time.Now()
	return at, nil
}
