//go:build linux

package main

import (
	"context"
	"fmt"
	"time"
)

// latency measures sequential round trips on one connection to cat.
func latency(warmUp, n int) scenario {
	p50 := figure{name: "p50 round trip", format: formatSeconds, agg: median, ratio: true}
	p99 := figure{name: "p99 round trip", format: formatSeconds, agg: median, ratio: true}
	return scenario{
		group:   group{name: "latency", figures: []figure{p50, p99}},
		about:   fmt.Sprintf("one connection to `cat`, %s of %d bytes one after the other, after %d to warm up", plural(n, "round trip"), messageSize, warmUp),
		command: []string{"cat"},
		ceiling: true,
		timeout: time.Minute,
		run: func(ctx context.Context, p *process) (measurement, error) {
			c, err := dial(ctx, p.addr)
			if err != nil {
				return nil, err
			}
			defer c.CloseNow()
			msg := textPayload(messageSize)
			for range warmUp {
				if err := roundTrip(ctx, c, msg); err != nil {
					return nil, fmt.Errorf("warming up: %w", err)
				}
			}
			rtts := make([]float64, 0, n)
			for range n {
				start := time.Now()
				if err := roundTrip(ctx, c, msg); err != nil {
					return nil, fmt.Errorf("round trip %d: %w", len(rtts)+1, err)
				}
				rtts = append(rtts, time.Since(start).Seconds())
			}
			return measurement{
				p50.name: percentile(rtts, 50),
				p99.name: percentile(rtts, 99),
			}, nil
		},
	}
}
