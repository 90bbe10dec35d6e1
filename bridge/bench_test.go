package bridge

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"syscall"
	"testing"

	"github.com/coder/websocket"

	"wsbridge/bridge/wstest"
)

// line64 is a 64-byte line, newline included.
var line64 = append(bytes.Repeat([]byte("x"), 63), '\n')

func BenchmarkLineSplitter(b *testing.B) {
	chunk := bytes.Repeat(line64, binaryReadSize/len(line64))
	s := &lineSplitter{emit: func([]byte, bool) error { return nil }}
	b.SetBytes(int64(len(line64)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i += len(chunk) / len(line64) {
		s.write(chunk)
	}
}

// BenchmarkStdoutToMessages measures the child's stdout → text message
// path: a child writing 64-byte lines as fast as it can, a client reading.
func BenchmarkStdoutToMessages(b *testing.B) {
	benchmarkStdoutToMessages(b, line64, nil, nil)
}

// benchmarkStdoutToMessages has a child write line b.N times as fast as it
// can, through a connection accepted and dialled with the options given,
// to a client that reads each message.
func benchmarkStdoutToMessages(b *testing.B, line []byte, accept *websocket.AcceptOptions, dial *websocket.DialOptions) {
	n := b.N
	child := startFake(func(_ io.Reader, stdout, _ io.Writer) error {
		w := bufio.NewWriterSize(stdout, binaryReadSize)
		for i := 0; i < n; i++ {
			w.Write(line)
		}
		return w.Flush()
	})
	c, results := serveWith(b, context.Background(), child, SessionConfig{}, 0, accept, dial)
	b.SetBytes(int64(len(line)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < n; i++ {
		// Read into a reused buffer, unlike Read: the allocations
		// counted are the server's.
		_, r, err := c.Reader(context.Background())
		if err == nil {
			_, err = io.Copy(io.Discard, r)
		}
		if err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	wstest.ExpectClose(b, c, websocket.StatusNormalClosure, "")
	result(b, results)
}

// BenchmarkMessagesToStdin measures the client message → stdin path: a
// client writing 63-byte messages as fast as it can, a child reading lines.
func BenchmarkMessagesToStdin(b *testing.B) {
	benchmarkMessagesToStdin(b, SessionConfig{})
}

// BenchmarkMessagesToStdinMaxRate is BenchmarkMessagesToStdin with a
// MaxRate too high to hold any message back: what taking a token costs.
func BenchmarkMessagesToStdinMaxRate(b *testing.B) {
	benchmarkMessagesToStdin(b, SessionConfig{Config: Config{MaxRate: 1e9}})
}

// BenchmarkMessagesToStdinWatched is BenchmarkMessagesToStdin with the
// connection watched, as a server watches it: what reading the client
// with a wait that may rest costs.
func BenchmarkMessagesToStdinWatched(b *testing.B) {
	benchmarkMessagesToStdin(b, SessionConfig{WatchRead: func(syscall.Conn) ReadWatch { return alwaysReady{} }})
}

// alwaysReady is a ReadWatch that tells at once that the connection is
// ready.
type alwaysReady struct{}

func (alwaysReady) NotifyRead(f func()) bool { go f(); return true }
func (alwaysReady) End()                     {}

func benchmarkMessagesToStdin(b *testing.B, cfg SessionConfig) {
	n := b.N
	got := make(chan int, 1)
	child := startFake(func(stdin io.Reader, _, _ io.Writer) error {
		r := bufio.NewReaderSize(stdin, binaryReadSize)
		lines := 0
		for lines < n {
			if _, err := r.ReadSlice('\n'); err != nil {
				break
			}
			lines++
		}
		got <- lines
		return nil
	})
	c, results := serve(b, context.Background(), child, cfg, 0)
	msg := line64[:63]
	b.SetBytes(int64(len(line64)))
	b.ReportAllocs()
	b.ResetTimer()
	go func() {
		for i := 0; i < n; i++ {
			if c.Write(context.Background(), websocket.MessageText, msg) != nil {
				return
			}
		}
	}()
	if lines := <-got; lines != n {
		b.Fatalf("child read %d lines of %d", lines, n)
	}
	b.StopTimer()
	wstest.ExpectClose(b, c, websocket.StatusNormalClosure, "")
	result(b, results)
}

// BenchmarkCompressedStdoutToMessages is BenchmarkStdoutToMessages with
// 1 KiB lines compressed with permessage-deflate, each on its own.
func BenchmarkCompressedStdoutToMessages(b *testing.B) {
	line := append(bytes.Repeat([]byte(`{"level":"info","user":12345,"path":"/api/v1/items/678"} `), 1024/58), '\n')
	benchmarkStdoutToMessages(b, line, compressed,
		&websocket.DialOptions{CompressionMode: websocket.CompressionNoContextTakeover})
}
