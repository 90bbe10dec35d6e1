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

// longLine measures a child that prints one line of size bytes: whether it
// arrives whole as one text message, and the server's peak memory.
func longLine(size int) scenario {
	intact := figure{name: "delivered intact (all runs)", format: formatYesNo, agg: minimum}
	peak := figure{name: "server peak RSS", format: formatBytes, agg: median, ratio: true}
	script := fmt.Sprintf(`head -c %d /dev/zero | tr '\0' x; echo`, size)
	return scenario{
		group:   group{name: "long line", figures: []figure{intact, peak}},
		about:   fmt.Sprintf("the child prints one line of %s bytes (`sh -c \"%s\"`); intact means one text message of exactly that many `x`; peak RSS is the server process's VmHWM", thousands(int64(size)), script),
		command: []string{"sh", "-c", script},
		timeout: 2 * time.Minute,
		run: func(ctx context.Context, p *process) (measurement, error) {
			c, err := dial(ctx, p.addr)
			if err != nil {
				return nil, err
			}
			defer c.CloseNow()
			readErr := readLine(ctx, c, size)
			hwm, err := memory(p.pid, "VmHWM")
			if err != nil {
				return nil, err
			}
			m := measurement{intact.name: 1, peak.name: float64(hwm)}
			if readErr != nil {
				m[intact.name] = 0
			}
			return m, readErr
		},
	}
}

// readLine reads one message from c and checks that it is a text message
// of exactly size bytes 'x', without holding it in memory.
func readLine(ctx context.Context, c *websocket.Conn, size int) error {
	typ, r, err := c.Reader(ctx)
	if err != nil {
		return fmt.Errorf("waiting for the line: %w", err)
	}
	if typ != websocket.MessageText {
		return fmt.Errorf("the line came as a %v message", typ)
	}
	buf := make([]byte, 64<<10)
	xs := bytes.Repeat([]byte{'x'}, len(buf))
	n := 0
	for {
		k, err := r.Read(buf)
		if !bytes.Equal(buf[:k], xs[:k]) {
			return fmt.Errorf("the line holds a byte other than 'x' between %d and %d", n, n+k)
		}
		n += k
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("reading the line after %d bytes: %w", n, err)
		}
	}
	if n != size {
		return fmt.Errorf("the line is %d bytes long, want %d", n, size)
	}
	return nil
}
