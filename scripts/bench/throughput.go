//go:build linux

package main

import (
	"context"
	"fmt"
	"time"

	"github.com/coder/websocket"
)

// throughput measures pipelined messages through cat on one connection:
// one goroutine sends them while another reads the echoes, with at most
// window of them unanswered, or without waiting at all when window is 0.
func throughput(n, window int) scenario {
	rate := figure{name: "messages per second", format: formatRate("msg/s"), agg: median, ratio: true}
	cpu := figure{name: "server CPU per message", format: formatSeconds, agg: median, ratio: true}
	name, sending := "throughput", "sent without waiting"
	if window > 0 {
		name = fmt.Sprintf("throughput, %d in flight", window)
		sending = fmt.Sprintf("sent with at most %d unanswered", window)
	}
	return scenario{
		group:   group{name: name, figures: []figure{rate, cpu}},
		about:   fmt.Sprintf("one connection to `cat`, %s of %d bytes %s while the echoes are read; CPU is the server process's user+system time, children excluded", plural(n, "message"), messageSize, sending),
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
			unanswered := make(chan struct{}, max(window, 1))
			go func() {
				for range n {
					if window > 0 {
						select {
						case unanswered <- struct{}{}:
						case <-ctx.Done():
							sent <- ctx.Err()
							return
						}
					}
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
				if window > 0 {
					<-unanswered
				}
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
