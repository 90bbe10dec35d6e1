//go:build linux

package main

import (
	"context"
	"fmt"
	"time"

	"github.com/coder/websocket"
)

// throughput measures pipelined messages through cat on one connection:
// one goroutine sends them all while another reads the echoes.
func throughput(n int) scenario {
	rate := figure{name: "messages per second", format: formatRate("msg/s"), agg: median, ratio: true}
	cpu := figure{name: "server CPU per message", format: formatSeconds, agg: median, ratio: true}
	return scenario{
		group:   group{name: "throughput", figures: []figure{rate, cpu}},
		about:   fmt.Sprintf("one connection to `cat`, %s of %d bytes sent without waiting while the echoes are read; CPU is the server process's user+system time, children excluded", plural(n, "message"), messageSize),
		command: []string{"cat"},
		ceiling: true,
		timeout: 2 * time.Minute,
		run: func(ctx context.Context, p *process) (measurement, error) {
			c, err := dial(ctx, p.addr)
			if err != nil {
				return nil, err
			}
			defer c.CloseNow()
			wd := newWatchdog(ctx)
			defer wd.stop()
			ctx = wd.ctx
			msg := textPayload(messageSize)
			cpu0, err := cpuTime(p.pid)
			if err != nil {
				return nil, err
			}
			start := time.Now()
			sent := make(chan error, 1)
			go func() {
				for range n {
					if err := c.Write(ctx, websocket.MessageText, msg); err != nil {
						sent <- fmt.Errorf("sending: %w", err)
						return
					}
				}
				sent <- nil
			}()
			for i := range n {
				if err := expectEcho(ctx, c, msg); err != nil {
					return nil, fmt.Errorf("echo %d of %d: %w", i+1, n, wd.explain(err))
				}
				wd.tick()
			}
			elapsed := time.Since(start)
			if err := <-sent; err != nil {
				return nil, err
			}
			cpu1, err := cpuTime(p.pid)
			if err != nil {
				return nil, err
			}
			return measurement{
				rate.name: float64(n) / elapsed.Seconds(),
				cpu.name:  (cpu1 - cpu0).Seconds() / float64(n),
			}, nil
		},
	}
}
