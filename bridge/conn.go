package bridge

import (
	"bufio"
	"errors"
	"net"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/coder/websocket"
)

// Conn is an accepted WebSocket connection. It is a *websocket.Conn whose
// underlying connection lets a session coalesce syscalls: the frames of
// the lines from one read of the child's stdout leave in one write, and
// the messages from one read of the socket reach stdin in one write.
type Conn struct {
	*websocket.Conn
	wire *wire
	in   tally // from the client, added to by the input pump
	out  tally // to the client, added to by the pumps of stdout and stderr
}

// Accept accepts a WebSocket handshake as websocket.Accept does, and
// returns the connection ready for Start or Broadcast.Run.
func Accept(w http.ResponseWriter, r *http.Request, opts *websocket.AcceptOptions) (*Conn, error) {
	h := &hijacker{ResponseWriter: w}
	ws, err := websocket.Accept(h, r, opts)
	if err != nil {
		return nil, err
	}
	return &Conn{Conn: ws, wire: h.wire}, nil
}

// hijacker hands websocket.Accept a connection wrapped in a wire.
type hijacker struct {
	http.ResponseWriter
	wire *wire
}

// Hijack hijacks the connection and wraps it, with the writes of the
// returned buffer going through the wire too.
func (h *hijacker) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c, brw, err := http.NewResponseController(h.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	h.wire = newWire(c)
	// The wire gathers the frames of a burst itself, and where it reads
	// the connection's descriptor, it buffers what it reads too: small
	// buffers in front of it are enough, and keep an idle session small.
	// net/http's reader may hold the start of the first frames already:
	// the wire's first reads return them.
	early, _ := brw.Reader.Peek(brw.Reader.Buffered())
	h.wire.unreadEarly(early)
	size := frameReadBufferSize
	if h.wire.raw != nil {
		size = frameHeaderBufferSize
	}
	br := bufio.NewReaderSize(h.wire, size)
	return h.wire, bufio.NewReadWriter(br, bufio.NewWriterSize(h.wire, frameBufferSize)), nil
}

// frameBufferSize is the size of the buffer the library writes frames
// into: room for a control frame, at most 127 bytes, which then leaves
// in one write; the frames of messages are gathered by the wire.
// frameReadBufferSize is that of the buffer the library reads frames
// from, and frameHeaderBufferSize that where the wire buffers what it
// reads: room for a header and a short message.
const (
	frameBufferSize       = 128
	frameReadBufferSize   = 1 << 10
	frameHeaderBufferSize = 128
)

// wireReadSize is the size of the buffers a wire reads the connection's
// descriptor into.
const wireReadSize = 16 << 10

// wireReadBuffers holds the buffers of those reads: a wire holds one
// only while it has bytes in it the library has not read yet.
var wireReadBuffers = sync.Pool{New: func() any { return new([wireReadSize]byte) }}

// heldBufferSize is the size a buffer of held writes starts at.
const heldBufferSize = 4 << 10

// heldBuffers holds the buffers writes are gathered in: a wire holds one
// only from its first held write until they are written out.
var heldBuffers = sync.Pool{New: func() any {
	b := make([]byte, 0, heldBufferSize)
	return &b
}}

// maxHeld bounds what a wire holds back before writing it anyway.
const maxHeld = 64 << 10

// maxQueued bounds what a wire queues behind a write on the network:
// room for the control frames (pings, pongs, a close frame) that must
// not wait for a client to read a backlog. Larger writes wait their turn.
const maxQueued = 1 << 10

// wire is the network connection under a session's WebSocket. Between
// hold and release, writes are gathered and leave together. A small write
// made while another is on the network is queued behind it rather than
// waiting for it: a ping is not held up, and not timed out, by output a
// client reads slowly. Before each read from the network, beforeRead
// runs. While the session's input pump rests, a read between two frames
// that finds nothing for linger gives up with errQuiet (see
// session.readInput).
type wire struct {
	net.Conn
	beforeRead func()    // set before the session starts reading
	watch      ReadWatch // set before the session starts reading; nil for none
	resting    atomic.Bool
	frames     frames // the frames read so far, followed only where watch is set

	// Where the connection has a descriptor, the wire reads it itself,
	// through raw, and holds what a read brings until it is read in
	// turn: in, from wireReadBuffers, of which unread is what is left.
	raw     syscall.RawConn
	readRaw func(fd uintptr) bool // w.readDescriptor, made once
	rawErr  error                 // the error readRaw met
	in      *[wireReadSize]byte
	unread  []byte

	// A write the client has not taken within stall gives up, and
	// sets stalled; stallMu orders the setting of write deadlines,
	// which closing leaves to Close.
	stallMu sync.Mutex
	stall   time.Duration // 0 for no limit
	closing bool
	stalled atomic.Bool

	mu      sync.Mutex
	done    sync.Cond // on mu: broadcast when a write on the network ends
	hold    bool
	held    *[]byte // from heldBuffers, nil when nothing is held
	err     error   // the error of the last write of held bytes
	writing bool    // a write is on the network, mu released
	queued  []byte  // small writes made meanwhile, written right after it
}

// newWire wraps c.
func newWire(c net.Conn) *wire {
	w := &wire{Conn: c}
	w.done.L = &w.mu
	w.readDescriptors()
	return w
}

// Read returns what an earlier read of the network left, if anything,
// and reads the network otherwise.
func (w *wire) Read(p []byte) (int, error) {
	if w.in == nil {
		n, err := w.readNetwork(p)
		if w.in == nil {
			return n, err
		}
	}
	n := copy(p, w.unread)
	w.unread = w.unread[n:]
	if len(w.unread) == 0 {
		wireReadBuffers.Put(w.in)
		w.in, w.unread = nil, nil
	}
	return n, nil
}

// unreadEarly has the wire's first reads return early, the bytes that
// net/http read past the request: at most the 4 KiB of its buffer, less
// than a read buffer holds.
func (w *wire) unreadEarly(early []byte) {
	w.frames.feed(early)
	if len(early) > 0 {
		w.in = wireReadBuffers.Get().(*[wireReadSize]byte)
		w.unread = w.in[:copy(w.in[:], early)]
	}
}

// readNetwork runs beforeRead, then reads the network: into a buffer
// from wireReadBuffers, left in w.in, where the wire reads the
// descriptor and p is smaller than such a buffer; into p otherwise.
// While the input pump rests, a read between two frames that finds
// nothing for linger gives up with errQuiet (see session.readInput).
func (w *wire) readNetwork(p []byte) (n int, err error) {
	if w.beforeRead != nil {
		w.beforeRead()
	}
	rest := w.resting.Load() && w.frames.between()
	if rest {
		w.Conn.SetReadDeadline(time.Now().Add(linger))
	}
	if w.raw != nil && len(p) < wireReadSize {
		if err = w.raw.Read(w.readRaw); err == nil {
			err, w.rawErr = w.rawErr, nil
		}
		p = w.unread
		n = len(p)
	} else {
		n, err = w.Conn.Read(p)
	}
	if rest {
		w.Conn.SetReadDeadline(time.Time{})
		if n == 0 && errors.Is(err, os.ErrDeadlineExceeded) {
			err = errQuiet
		}
	}
	if w.watch != nil {
		w.frames.feed(p[:n])
	}
	return n, err
}

// Write writes p, holds it back until release, or queues it behind the
// write on the network.
func (w *wire) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	switch {
	case w.hold:
		if w.err != nil {
			return 0, w.err
		}
		large := len(p) > maxHeld/2
		if w.held != nil && (large || len(*w.held)+len(p) > maxHeld) {
			if err := w.flushLocked(); err != nil {
				return 0, err
			}
		}
		if large {
			// A large write gains nothing from waiting for others: it
			// leaves at once, after what was held, and is not copied.
			if w.err = w.writeLocked(p); w.err != nil {
				return 0, w.err
			}
			return len(p), nil
		}
		if w.held == nil {
			w.held = heldBuffers.Get().(*[]byte)
		}
		*w.held = append(*w.held, p...)
		return len(p), nil
	case w.writing && len(w.queued)+len(p) <= maxQueued:
		w.queued = append(w.queued, p...)
		return len(p), nil
	}
	if err := w.writeLocked(p); err != nil {
		return 0, err
	}
	return len(p), nil
}

// writeLocked writes p to the network once no other write is on it, then
// what was queued meanwhile. It is called with mu held, which it releases
// while it writes.
func (w *wire) writeLocked(p []byte) error {
	for w.writing {
		w.done.Wait()
	}
	w.writing = true
	w.mu.Unlock()
	err := w.writeNetwork(p)
	w.mu.Lock()
	for err == nil && len(w.queued) > 0 {
		q := w.queued
		w.queued = nil
		w.mu.Unlock()
		err = w.writeNetwork(q)
		w.mu.Lock()
	}
	w.queued = nil
	w.writing = false
	w.done.Broadcast()
	return err
}

// writeNetwork writes p to the network. Once a limit is set (limitStall),
// it gives up when the client has not taken all of p within that long, and
// marks the wire stalled. The limit is on the whole write, not on a lack
// of progress: the kernel of a client that does not read still takes a
// few bytes now and then.
func (w *wire) writeNetwork(p []byte) error {
	w.stallMu.Lock()
	if w.stall > 0 && !w.closing {
		w.Conn.SetWriteDeadline(time.Now().Add(w.stall))
	}
	w.stallMu.Unlock()
	_, err := w.Conn.Write(p)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		w.stallMu.Lock()
		if !w.closing {
			w.stalled.Store(true)
		}
		w.stallMu.Unlock()
	}
	return err
}

// limitStall has a write that the client has not taken all of within d
// give up, unless a shorter limit is set already, the write on the
// network included.
func (w *wire) limitStall(d time.Duration) {
	w.stallMu.Lock()
	defer w.stallMu.Unlock()
	if w.stall > 0 && w.stall <= d {
		return
	}
	w.stall = d
	if !w.closing {
		w.Conn.SetWriteDeadline(time.Now().Add(d))
	}
}

// closeFlushTime bounds how long closing a wire may spend writing what it
// held back or queued.
const closeFlushTime = time.Second

// Close writes out what is held back or queued, then closes the
// connection: the library writes a close frame and closes the connection
// at once, and the frame must not be left behind. A client that does not
// read is given closeFlushTime, a write already on the network included.
func (w *wire) Close() error {
	w.stallMu.Lock()
	w.closing = true
	w.Conn.SetWriteDeadline(time.Now().Add(closeFlushTime))
	w.stallMu.Unlock()
	w.mu.Lock()
	for w.writing {
		w.done.Wait()
	}
	if w.hold {
		w.flushLocked()
	}
	w.mu.Unlock()
	if w.watch != nil {
		w.watch.End()
	}
	return w.Conn.Close()
}

// holdWrites starts gathering writes.
func (w *wire) holdWrites() {
	w.mu.Lock()
	w.hold = true
	w.mu.Unlock()
}

// release writes what was gathered since holdWrites and returns the error
// of any write since then.
func (w *wire) release() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.hold = false
	err := w.flushLocked()
	w.err = nil
	return err
}

// flushLocked writes out what is held back, with mu held, and gives its
// buffer back; after an error, what is held is dropped.
func (w *wire) flushLocked() error {
	// What is written is taken out of held: writes made while it is on
	// the network and writes are held go after it.
	held := w.held
	w.held = nil
	if held == nil {
		return w.err
	}
	if w.err == nil && len(*held) > 0 {
		w.err = w.writeLocked(*held)
	}
	if cap(*held) <= maxHeld {
		*held = (*held)[:0]
		heldBuffers.Put(held)
	}
	return w.err
}

// busy reports whether a write is on the network: the client has not yet
// made room for it.
func (w *wire) busy() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.writing
}
