//go:build unix

package process

import (
	"bytes"
	"io"
	"os/exec"
	"testing"
	"time"
)

// benchmarkCat runs bench as a sub-benchmark for a child's stdout on a
// pseudo-terminal and on a pipe, giving it the path of cat.
func benchmarkCat(b *testing.B, bench func(b *testing.B, cat string, pty bool)) {
	cat, err := exec.LookPath("cat")
	if err != nil {
		b.Skip("no cat:", err)
	}
	for _, tc := range []struct {
		name string
		pty  bool
	}{{"pty", true}, {"pipe", false}} {
		b.Run(tc.name, func(b *testing.B) { bench(b, cat, tc.pty) })
	}
}

// BenchmarkStartEchoStop measures what a session's child costs before any
// WebSocket work: start cat, write one line, read it back, stop it and
// reap it, one child after the other. It reports the part up to the echo,
// on the path of every new connection's first answer, as start-to-echo-µs.
func BenchmarkStartEchoStop(b *testing.B) {
	benchmarkCat(b, func(b *testing.B, cat string, pty bool) {
		line := []byte("hello\n")
		buf := make([]byte, len(line))
		var toEcho time.Duration
		for b.Loop() {
			start := time.Now()
			p, err := Start(Config{Path: cat, PTY: pty})
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

// BenchmarkEchoReadFor measures the round trip of a 64-byte line through
// cat, read back with ReadFor as a session's output pump reads it: one
// system call for each read, and nothing allocated.
func BenchmarkEchoReadFor(b *testing.B) {
	benchmarkCat(b, func(b *testing.B, cat string, pty bool) {
		p, err := Start(Config{Path: cat, PTY: pty})
		if err != nil {
			b.Fatal(err)
		}
		defer func() {
			p.Stop()
			io.Copy(io.Discard, p.Stdout())
		}()
		stdout := p.Stdout().(*stream)
		line := append(bytes.Repeat([]byte("x"), 63), '\n')
		buf := make([]byte, 4<<10)
		get := func() []byte { return buf }
		put := func([]byte) {}
		b.SetBytes(int64(len(line)))
		b.ReportAllocs()
		for b.Loop() {
			if _, err := p.Stdin().Write(line); err != nil {
				b.Fatal(err)
			}
			for got := 0; got < len(line); {
				n, err := stdout.ReadFor(time.Second, get, put)
				if err != nil {
					b.Fatal(err)
				}
				got += n
			}
		}
	})
}
