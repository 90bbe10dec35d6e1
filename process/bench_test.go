//go:build unix

package process

import (
	"io"
	"os/exec"
	"testing"
	"time"
)

// BenchmarkStartEchoStop measures what a session's child costs before any
// WebSocket work: start cat, write one line, read it back, stop it and
// reap it, one child after the other. It reports the part up to the echo,
// on the path of every new connection's first answer, as start-to-echo-µs.
func BenchmarkStartEchoStop(b *testing.B) {
	path, err := exec.LookPath("cat")
	if err != nil {
		b.Skip("no cat:", err)
	}
	for _, tc := range []struct {
		name string
		pty  bool
	}{{"pty", true}, {"pipe", false}} {
		b.Run(tc.name, func(b *testing.B) {
			line := []byte("hello\n")
			buf := make([]byte, len(line))
			var toEcho time.Duration
			for b.Loop() {
				start := time.Now()
				p, err := Start(Config{Path: path, PTY: tc.pty})
				if err != nil {
					b.Fatal(err)
				}
				if _, err := p.Stdin().Write(line); err != nil {
					b.Fatal(err)
				}
				if n, err := io.ReadFull(p.Stdout(), buf); err != nil || string(buf) != string(line) {
					b.Fatalf("read %q, %v", buf[:n], err)
				}
				toEcho += time.Since(start)
				p.Stop()
				p.Wait()
			}
			b.ReportMetric(float64(toEcho.Microseconds())/float64(b.N), "start-to-echo-µs")
		})
	}
}

// BenchmarkEcho measures a line's round trip through a running cat: write
// it to stdin, read it back from stdout, one line after the other.
func BenchmarkEcho(b *testing.B) {
	path, err := exec.LookPath("cat")
	if err != nil {
		b.Skip("no cat:", err)
	}
	for _, tc := range []struct {
		name string
		pty  bool
	}{{"pty", true}, {"pipe", false}} {
		b.Run(tc.name, func(b *testing.B) {
			p, err := Start(Config{Path: path, PTY: tc.pty})
			if err != nil {
				b.Fatal(err)
			}
			defer p.Stop()
			line := []byte("hello\n")
			buf := make([]byte, len(line))
			for b.Loop() {
				if _, err := p.Stdin().Write(line); err != nil {
					b.Fatal(err)
				}
				if n, err := io.ReadFull(p.Stdout(), buf); err != nil || string(buf) != string(line) {
					b.Fatalf("read %q, %v", buf[:n], err)
				}
			}
		})
	}
}
