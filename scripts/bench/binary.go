//go:build linux

package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"time"

	"github.com/coder/websocket"
)

// binarySize is the size of the messages of the binary scenario.
const binarySize = 64 << 10

// binary measures pipelined binary messages through cat in binary mode.
// The bytes come back in chunks of the server's choosing, so they are
// counted and checked as one stream.
func binary(n int) scenario {
	rate := figure{name: "throughput", format: formatMBps, agg: median, ratio: true}
	return scenario{
		group:   group{name: "binary", figures: []figure{rate}},
		about:   fmt.Sprintf("one connection to `cat` in `--binary` mode, %s of 64 KiB sent without waiting while the echoed bytes are read and checked; MB is 10⁶ bytes", plural(n, "message")),
		flags:   []string{"--binary"},
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
			msg := binaryPayload(binarySize)
			start := time.Now()
			sent := make(chan error, 1)
			go func() {
				for range n {
					if err := c.Write(ctx, websocket.MessageBinary, msg); err != nil {
						sent <- fmt.Errorf("sending: %w", err)
						return
					}
				}
				sent <- nil
			}()
			total := n * binarySize
			if err := readStream(ctx, c, msg, total, wd.tick); err != nil {
				return nil, wd.explain(err)
			}
			elapsed := time.Since(start)
			if err := <-sent; err != nil {
				return nil, err
			}
			return measurement{rate.name: float64(total) / elapsed.Seconds()}, nil
		},
	}
}

// binaryPayload returns n bytes that do not repeat with a period dividing
// n, so that bytes lost or reordered in the stream are noticed.
func binaryPayload(n int) []byte {
	p := make([]byte, n)
	for i := range p {
		p[i] = byte(i % 251)
	}
	return p
}

// readStream reads binary messages from c until total bytes have come and
// checks that they are msg repeated. It calls progress after each read.
func readStream(ctx context.Context, c *websocket.Conn, msg []byte, total int, progress func()) error {
	buf := make([]byte, 64<<10)
	n := 0
	for n < total {
		typ, r, err := c.Reader(ctx)
		if err != nil {
			return fmt.Errorf("reading after %d of %d bytes: %w", n, total, err)
		}
		if typ != websocket.MessageBinary {
			return fmt.Errorf("got a %v message after %d bytes", typ, n)
		}
		for {
			k, err := r.Read(buf)
			if !matchesAt(msg, n, buf[:k]) {
				return fmt.Errorf("wrong bytes between %d and %d", n, n+k)
			}
			n += k
			progress()
			if err == io.EOF {
				break
			}
			if err != nil {
				return fmt.Errorf("reading after %d of %d bytes: %w", n, total, err)
			}
		}
	}
	if n != total {
		return fmt.Errorf("got %d bytes, want %d", n, total)
	}
	return nil
}

// matchesAt reports whether p is what the endless repetition of msg holds
// from offset off.
func matchesAt(msg []byte, off int, p []byte) bool {
	for len(p) > 0 {
		i := off % len(msg)
		k := min(len(p), len(msg)-i)
		if !bytes.Equal(p[:k], msg[i:i+k]) {
			return false
		}
		p, off = p[k:], off+k
	}
	return true
}
