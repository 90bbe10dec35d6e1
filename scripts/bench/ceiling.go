//go:build linux

package main

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"sync"

	"github.com/coder/websocket"
)

// ceilingQueue is how many messages the ceiling holds between reading them
// and writing them back.
const ceilingQueue = 64

// serveCeiling runs the ceiling, "bench ceiling --port=PORT
// --address=ADDR": a WebSocket server that writes every message back as it
// is, with no child, the most a bridge could do on this machine, and at
// /fanout the fan-out of the fanout scenario with no program (see
// serveFanout). It serves until killed.
func serveCeiling(args []string) error {
	fs := flag.NewFlagSet("ceiling", flag.ContinueOnError)
	port := fs.Int("port", 8080, "TCP `port` to listen on")
	address := fs.String("address", "127.0.0.1", "`address` to listen on")
	if err := fs.Parse(args); err != nil {
		return err
	}
	l, err := net.Listen("tcp", net.JoinHostPort(*address, strconv.Itoa(*port)))
	if err != nil {
		return fmt.Errorf("listening: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/", echo)
	mux.HandleFunc("/fanout", serveFanout)
	return http.Serve(l, mux)
}

// A message is one WebSocket message on its way back.
type message struct {
	typ websocket.MessageType
	buf *bytes.Buffer // from buffers
}

// buffers holds the buffers of messages written back, for reuse.
var buffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// echo upgrades the request and writes every message back. Reading and
// writing are pipelined: one goroutine reads, this one writes, with a
// bounded queue between them. The messages waiting in the queue are
// written back together, in one write to the socket.
func echo(w http.ResponseWriter, r *http.Request) {
	h := &gatheringHijacker{ResponseWriter: w}
	c, err := websocket.Accept(h, r, nil)
	if err != nil {
		return
	}
	defer c.CloseNow()
	c.SetReadLimit(-1)
	// Reads and writes end when the connection closes: a context that
	// can end would cost an allocation per call.
	ctx := context.Background()
	queue := make(chan message, ceilingQueue)
	go func() {
		defer close(queue)
		for {
			typ, mr, err := c.Reader(ctx)
			if err != nil {
				return
			}
			buf := buffers.Get().(*bytes.Buffer)
			buf.Reset()
			if _, err := buf.ReadFrom(mr); err != nil {
				return
			}
			queue <- message{typ, buf}
		}
	}()
	for m := range queue {
		h.conn.hold()
		err := c.Write(ctx, m.typ, m.buf.Bytes())
		buffers.Put(m.buf)
		if len(queue) == 0 {
			if rerr := h.conn.release(); err == nil {
				err = rerr
			}
		}
		if err != nil {
			// Ends the reader; the queue is drained and closed.
			c.CloseNow()
		}
	}
}

// A gatheringHijacker hands websocket.Accept the connection wrapped in a
// gatheringConn.
type gatheringHijacker struct {
	http.ResponseWriter
	conn *gatheringConn
}

// Hijack hijacks the connection and wraps it, the writes of the returned
// buffer going through the wrapper too.
func (h *gatheringHijacker) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c, brw, err := http.NewResponseController(h.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	h.conn = &gatheringConn{Conn: c}
	brw.Writer.Reset(h.conn)
	return h.conn, brw, nil
}

// maxGathered bounds what a gatheringConn holds back before writing it.
const maxGathered = 64 << 10

// A gatheringConn is a connection whose writes, between hold and release,
// are gathered and leave in one write.
type gatheringConn struct {
	net.Conn

	mu       sync.Mutex
	holding  bool
	gathered []byte
	err      error // of the last write of gathered bytes
}

// Write writes p, or gathers it while holding.
func (g *gatheringConn) Write(p []byte) (int, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.holding {
		return g.Conn.Write(p)
	}
	if len(g.gathered)+len(p) > maxGathered {
		if err := g.flush(); err != nil {
			return 0, err
		}
	}
	g.gathered = append(g.gathered, p...)
	return len(p), nil
}

// hold starts gathering writes.
func (g *gatheringConn) hold() {
	g.mu.Lock()
	g.holding = true
	g.mu.Unlock()
}

// release stops gathering writes, writes what was gathered and returns
// the error of any write since hold.
func (g *gatheringConn) release() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.holding = false
	err := g.flush()
	g.err = nil
	return err
}

// flush writes the gathered bytes, unless a write failed already, and
// returns the error of that write. g.mu must be held.
func (g *gatheringConn) flush() error {
	if g.err == nil && len(g.gathered) > 0 {
		_, g.err = g.Conn.Write(g.gathered)
	}
	g.gathered = g.gathered[:0]
	return g.err
}
