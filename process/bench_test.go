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
	onTerminalAndPipes(b, func(b *testing.B, cfg Config) {
		line := []byte("hello\n")
		buf := make([]byte, len(line))
		var toEcho time.Duration
		for b.Loop() {
			start := time.Now()
			p, err := Start(cfg)
			if err != nil {
				b.Fatal(err)
			}
			echo(b, p, line, buf)
			toEcho += time.Since(start)
			p.Stop()
			p.Wait()
		}
		b.ReportMetric(float64(toEcho.Microseconds())/float64(b.N), "start-to-echo-µs")
	})
}

// BenchmarkEcho measures a line's round trip through a running cat: write
// it to stdin, read it back from stdout, one line after the other.
func BenchmarkEcho(b *testing.B) {
	onTerminalAndPipes(b, func(b *testing.B, cfg Config) {
		p, err := Start(cfg)
		if err != nil {
			b.Fatal(err)
		}
		defer p.Stop()
		line := []byte("hello\n")
		buf := make([]byte, len(line))
		for b.Loop() {
			echo(b, p, line, buf)
		}
	})
}

// onTerminalAndPipes runs bench with cat's stdout on a pseudo-terminal
// ("pty") and on a pipe ("pipe").
func onTerminalAndPipes(b *testing.B, bench func(b *testing.B, cfg Config)) {
	path, err := exec.LookPath("cat")
	if err != nil {
		b.Skip("no cat:", err)
	}
	b.Run("pty", func(b *testing.B) { bench(b, Config{Path: path, PTY: true}) })
	b.Run("pipe", func(b *testing.B) { bench(b, Config{Path: path}) })
}

// echo writes line to p's stdin and reads it back from its stdout.
func echo(b *testing.B, p *Process, line, buf []byte) {
	if _, err := p.Stdin().Write(line); err != nil {
		b.Fatal(err)
	}
	if n, err := io.ReadFull(p.Stdout(), buf); err != nil || string(buf) != string(line) {
		b.Fatalf("read %q, %v", buf[:n], err)
	}
}
