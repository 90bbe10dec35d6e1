package bridge

import (
	"bytes"
	"context"
	"errors"
	"io"
	"sync"
	"time"

	"github.com/coder/websocket"
)

// DefaultQueueSize is the BroadcastConfig.QueueSize used when it is zero:
// 1 MiB.
const DefaultQueueSize = 1 << 20

// minMessageCost is the least a queued message counts for against a
// client's queue: holding even an empty one costs something.
const minMessageCost = 64

// readAhead is how much output may wait for the fastest client before the
// child's output is not read any more, or half the queue if that is less.
const readAhead = 64 << 10

// inputChunk is the most of a client's message read at once on its way
// to the child's stdin: a message that fits is read whole before it waits
// for its turn at stdin, a longer one is passed on in chunks of this size
// while it has the turn.
const inputChunk = 16 << 10

// inputBuffer holds a chunk of a client's message, and the newline that
// may follow it.
type inputBuffer [inputChunk + 1]byte

// inputBuffers holds the buffers of the clients' messages: a client holds
// one only while it has a message on its way to stdin.
var inputBuffers = sync.Pool{New: func() any { return new(inputBuffer) }}

// maxTurnWait bounds the time a client that has its turn at the child's
// stdin, in the middle of a message longer than a chunk, may keep the
// others waiting for the rest of it: the time spent waiting for the
// client, not for the child to read.
const maxTurnWait = 10 * time.Second

// errSlowSender is the Result.ClientErr of a Broadcast's client that did not
// send the rest of a message within maxTurnWait; it is closed with 1008.
var errSlowSender = errors.New("client did not send the rest of its message in time")

// slowSenderReason comes with the 1008 sent to such a client.
const slowSenderReason = "too slow: message not sent in time"

// newline ends a message in text mode without RawInput.
var newline = []byte{'\n'}

// ErrSlowClient is the Result.ClientErr of a Broadcast's client that was
// closed with 1008 because its queue overflowed.
var ErrSlowClient = errors.New("client fell a whole queue behind")

// slowReason comes with the 1008 sent to a client whose queue overflowed.
const slowReason = "too slow: output queue full"

// BroadcastConfig says how NewBroadcast shares a program: Config, and the
// bound of what waits for each client. The zero value is that of Config,
// with queues of DefaultQueueSize.
type BroadcastConfig struct {
	Config
	// QueueSize bounds the output waiting to be sent to one client, in
	// bytes, each message counting for at least 64 bytes: a client whose
	// queue would overflow, because the others read faster, is closed
	// with 1008. Zero means DefaultQueueSize. (Start has no such queue:
	// there, a client that does not read stops the reading of the
	// child's output.)
	QueueSize int
}

// MessageEnder is a child's stdin that is told where each client message
// ends: a Broadcast calls EndMessage after writing the last of a message,
// or the newline that ends one its client did not finish. An error breaks
// stdin, as a failed Write does.
type MessageEnder interface {
	EndMessage() error
}

// Broadcast is one child shared by many clients. Every line the child prints
// goes to every client served at the time (a client that comes in the
// middle of a line gets the lines after it); every client message is
// written to the child's stdin whole, as one line in text mode, so that
// lines from different clients never mix.
//
// One client at a time has its turn at the child's stdin, for one
// message; the others wait for theirs without reading their sockets, so
// that a child that does not read slows its clients down by TCP, each of
// them holding at most a buffer of 16 KiB. A message that fits in it is
// read whole before its turn; a longer one is passed on while it has the
// turn, and a client that keeps the child waiting more than 10 seconds in
// all for the rest of it is closed with 1008: the child then gets the
// start of the message, ended with a newline in text mode without
// RawInput so that the next message is a line of its own. So it is for
// a message that the client does not finish for another reason.
//
// The child's output is read as fast as the fastest client takes it: it
// waits while every client has 64 KiB (or half its queue, if less) or
// more still to be sent. A client whose queue (BroadcastConfig.QueueSize) would
// overflow, because the others read faster, is closed with 1008
// (ErrSlowClient), so that no client holds the others back; a client with
// less than that waiting, such as the fastest, never is.
//
// The broadcast ends when its last client leaves, which stops the child, or
// when the child exits: every client is then closed with the exit status,
// as by Start, once it has been sent everything the child printed. Create
// one with NewBroadcast.
type Broadcast struct {
	child Child
	cfg   Config
	queue int // the bound of each client's queue
	ahead int // what may wait for the fastest client before the output waits

	stdin    chan stdinWrite // to pumpStdin
	turn     chan struct{}   // holds a value while a client has its turn at stdin
	turnWait time.Duration   // maxTurnWait, shorter in tests
	stop     chan struct{}   // closed when the last client leaves
	done     chan struct{}   // closed once the broadcast has ended

	mu       sync.Mutex
	room     sync.Cond            // on mu: broadcast when what publish waits for may have changed
	members  map[*member]struct{} // the clients being served
	count    int                  // clients counted in and not yet gone
	started  bool                 // a client has been served: output is passed on from then on
	ending   bool                 // no client may join any more
	lineOpen bool                 // pieces of a stdout line were published, and not its end
	finished bool                 // the child was reaped and all its output published
	exit     error                // how the child exited, once finished
	code     websocket.StatusCode // the close status of a client sent all the output, once finished
	reason   string

	lastErr []byte // the stderr pump's: the start of the last line of stderr that is not blank
}

// stdinWrite is a client message, or a chunk of one, on its way to the
// child's stdin. done is sent a value once it has been written or
// dropped.
type stdinWrite struct {
	p    []byte
	from *member // the client whose message it is
	end  bool    // p ends the message
	done chan<- struct{}
}

// piece is a message for every client, or a piece of a long one. Clients
// share it: nothing changes it once it is published.
type piece struct {
	typ   websocket.MessageType
	data  []byte
	final bool // the last piece of its message
}

// cost is what p counts for against a client's queue.
func (p *piece) cost() int { return max(len(p.data), minMessageCost) }

// NewBroadcast starts sharing child, with its first client counted in: that
// client then calls Run, or Leave if its connection could not be
// accepted. The child's output waits for the first client to be served.
// When ctx is done (the server shuts down) the child is stopped, its last
// output delivered and every client closed with 1001. cfg.Stderr receives
// the child's stderr lines.
func NewBroadcast(ctx context.Context, child Child, cfg BroadcastConfig) *Broadcast {
	b := &Broadcast{
		child:    child,
		cfg:      cfg.Config,
		queue:    cfg.QueueSize,
		stdin:    make(chan stdinWrite),
		turn:     make(chan struct{}, 1),
		turnWait: maxTurnWait,
		stop:     make(chan struct{}),
		done:     make(chan struct{}),
		members:  make(map[*member]struct{}),
		count:    1,
	}
	if b.queue <= 0 {
		b.queue = DefaultQueueSize
	}
	b.ahead = max(min(readAhead, b.queue/2), 1)
	b.room.L = &b.mu
	go b.run(ctx)
	return b
}

// Join counts one more client in, who then calls Run (or Leave), and
// reports whether it could: a broadcast whose child is being stopped or has
// exited takes no more clients, and the next one needs a new broadcast.
func (b *Broadcast) Join() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	select {
	case <-b.child.Done():
		return false
	default:
	}
	if b.ending {
		return false
	}
	b.count++
	return true
}

// Leave counts out a client counted in that will not be served, its
// connection not having been accepted. As with Run, the last client out
// waits for the broadcast to end.
func (b *Broadcast) Leave() {
	b.leave()
}

// Done returns a channel that is closed once the broadcast has ended: its
// child reaped, all its output queued for the clients and the broadcast's own
// goroutines ended.
func (b *Broadcast) Done() <-chan struct{} { return b.done }

// Wait waits for the broadcast to end and returns how its child exited: nil
// for status 0.
func (b *Broadcast) Wait() error {
	<-b.done
	return b.exit
}

// Run serves conn, a client counted in by NewBroadcast or Join, until the
// client goes or is sent all of the broadcast's output, and returns how its
// session went; Result.Exit is the child's exit if the broadcast has ended by
// then. ending, when not nil, is called as the client's session ends,
// before it is sent its close frame, as SessionConfig.Ending is for Start. The
// last client out stops the child, and its Run returns once the broadcast has
// ended.
func (b *Broadcast) Run(conn *Conn, ending func()) Result {
	m := &member{
		peer:    peer{conn: conn, rate: newRate(b.cfg.MaxRate)},
		lost:    make(chan struct{}),
		b:       b,
		ending:  ending,
		wake:    make(chan struct{}, 1),
		slow:    make(chan struct{}),
		quit:    make(chan struct{}),
		written: make(chan struct{}, 1),
	}
	m.lose = func() { m.lostOnce.Do(func() { close(m.lost) }) }
	m.pieces = pieceWriter{conn: conn}
	b.mu.Lock()
	b.members[m] = struct{}{}
	b.started = true
	m.midLine = b.lineOpen
	b.room.Broadcast()
	b.mu.Unlock()

	r := m.run()
	b.leave()
	select {
	case <-b.done:
		r.Exit = b.exit
	default:
	}
	return r
}

// leave counts a client out. The last one stops the child and waits for
// the broadcast to end.
func (b *Broadcast) leave() {
	b.mu.Lock()
	b.count--
	last := b.count == 0
	if last {
		b.ending = true
		close(b.stop)
	}
	b.room.Broadcast()
	b.mu.Unlock()
	if last {
		<-b.done
	}
}

// run runs the pumps until the child exits, the last client leaves or ctx
// is done, stops the child in the latter two cases, and ends the broadcast
// once the child is reaped and its output published.
func (b *Broadcast) run(ctx context.Context) {
	var pumps sync.WaitGroup
	pumps.Go(b.pumpOutput)
	pumps.Go(b.pumpStderr)
	pumps.Go(b.pumpStdin)
	exited := b.child.Done()
	select {
	case <-exited:
	case <-b.stop:
	case <-ctx.Done():
	}
	b.mu.Lock()
	b.ending = true
	b.mu.Unlock()
	select {
	case <-exited:
	default:
		b.child.Stop()
	}
	exit := b.child.Wait()
	pumps.Wait()

	b.mu.Lock()
	b.finished, b.exit = true, exit
	b.code, b.reason = exitStatus(exit, ctx.Err() != nil, b.lastErr)
	for m := range b.members {
		m.wakeUp()
	}
	b.mu.Unlock()
	close(b.done)
}

// pumpOutput publishes what the child writes on stdout until EOF: each
// line as a text message, a long one in pieces, or in binary mode each
// chunk read as a binary message.
func (b *Broadcast) pumpOutput() {
	stdout := b.child.Stdout()
	if b.cfg.Binary {
		readChunks(stdout, binaryReadBuffers, func(p []byte) error {
			b.publish(&piece{typ: websocket.MessageBinary, data: bytes.Clone(p), final: true}, false)
			return nil
		})
		return
	}
	open := false // pieces of the current line were published
	lines := &lineSplitter{emit: func(p []byte, final bool) error {
		var data []byte
		if b.cfg.PassStderr {
			data = make([]byte, 0, len(stdoutPrefix)+len(p)+len(jsonSuffix))
			if !open {
				data = append(data, stdoutPrefix...)
			}
			data = appendJSONString(data, p)
			if final {
				data = append(data, jsonSuffix...)
			}
		} else {
			data = bytes.Clone(p)
		}
		open = !final
		b.publish(&piece{typ: websocket.MessageText, data: data, final: final}, false)
		return nil
	}}
	readChunks(stdout, textReadBuffers, lines.write)
	lines.flush()
}

// pumpStderr passes each line of the child's stderr to Config.Stderr until
// EOF, and with PassStderr publishes it too. It keeps the last line that
// is not blank in b.lastErr.
func (b *Broadcast) pumpStderr() {
	stderrLines(b.child.Stderr(), func(line []byte, first bool) {
		if first {
			b.lastErr = keepLine(b.lastErr, line)
		}
		if b.cfg.Stderr != nil {
			b.cfg.Stderr(line)
		}
		if b.cfg.PassStderr {
			msg := make([]byte, 0, len(stderrPrefix)+len(line)+len(jsonSuffix))
			msg = append(msg, stderrPrefix...)
			msg = appendJSONString(msg, line)
			msg = append(msg, jsonSuffix...)
			b.publish(&piece{typ: websocket.MessageText, data: msg, final: true}, true)
		}
	})
}

// pumpStdin writes the clients' messages to the child's stdin, in the
// chunks they come in, until the child has exited. Once stdin is broken,
// messages are dropped. A message a client did not finish is ended with a
// newline in text mode without RawInput before the next one begins. A
// stdin that is a MessageEnder is told where each message ends.
func (b *Broadcast) pumpStdin() {
	stdin := b.child.Stdin()
	ender, _ := stdin.(MessageEnder)
	lines := !b.cfg.Binary && !b.cfg.RawInput
	broken := false
	var open *member // whose message was begun and not ended
	write := func(p []byte) {
		if !broken && len(p) > 0 {
			_, err := stdin.Write(p)
			broken = err != nil
		}
	}
	end := func() {
		if !broken && ender != nil {
			broken = ender.EndMessage() != nil
		}
	}
	for {
		select {
		case w := <-b.stdin:
			if open != nil && open != w.from {
				if lines {
					write(newline)
				}
				end()
			}
			write(w.p)
			open = w.from
			if w.end {
				open = nil
				end()
			}
			w.done <- struct{}{}
		case <-b.child.Done():
			return
		}
	}
}

// publish queues p for every client being served. It waits for the first
// client to be served (unless the broadcast ends before), and then for some
// client to have less than b.ahead waiting. A client whose queue p would
// overflow is dropped instead, unless it has less than b.ahead waiting:
// the fastest client is never dropped, whatever the size of p. A
// stderr message waits for a stdout line published in pieces to end: two
// messages cannot be sent at once on a WebSocket.
func (b *Broadcast) publish(p *piece, stderr bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for !b.started && b.count > 0 || stderr && b.lineOpen || b.behind() {
		b.room.Wait()
	}
	if !stderr {
		if b.lineOpen && p.final {
			b.room.Broadcast()
		}
		b.lineOpen = !p.final
	}
	cost := p.cost()
	for m := range b.members {
		switch {
		case m.midLine:
			m.midLine = !p.final
		case m.pending >= b.ahead && m.pending+cost > b.queue:
			b.remove(m)
			close(m.slow)
		default:
			m.queue = append(m.queue, p)
			m.pending += cost
			m.wakeUp()
		}
	}
}

// behind reports whether every client being served, if any, has b.ahead
// or more still to be sent. b.mu is held.
func (b *Broadcast) behind() bool {
	for m := range b.members {
		if m.pending < b.ahead {
			return false
		}
	}
	return len(b.members) > 0
}

// remove stops serving m and drops what is queued for it. b.mu is held.
func (b *Broadcast) remove(m *member) {
	delete(b.members, m)
	m.queue = nil
	b.room.Broadcast()
}

// member is a client of a Broadcast.
type member struct {
	peer
	b      *Broadcast
	ending func() // called as the session ends; nil for nothing

	// guarded by b.mu
	queue   []*piece // published for the client, not yet taken by its output pump
	pending int      // what the pieces queued or being sent count for
	midLine bool     // came in the middle of a stdout line, and skips to its end

	wake     chan struct{} // holds a value when the output pump has something to look at
	slow     chan struct{} // closed when the client is dropped for its queue overflowing
	quit     chan struct{} // closed when the client's session is over
	lost     chan struct{} // closed when the client cannot be reached any more
	lostOnce sync.Once
	written  chan struct{} // the stdin pump's answer to the client's message

	pieces pieceWriter // what the output pump sends
}

// wakeUp tells the output pump to look at the queue.
func (m *member) wakeUp() {
	select {
	case m.wake <- struct{}{}:
	default:
	}
}

// run serves the client until it goes, is dropped, or has been sent all
// of the broadcast's output, then closes the connection as it deserves.
func (m *member) run() Result {
	b := m.b
	inDone := make(chan error, 1)
	outDone := make(chan error, 1)
	go func() { inDone <- m.pumpInput() }()
	go func() { outDone <- m.pumpOutput() }()
	pings := m.startPings(b.cfg.PingInterval)

	var r Result
	finished := false
	select {
	case err := <-inDone:
		inDone = nil
		r.ClientErr = err
		r.Code, r.Reason = closeStatus(err)
	case err := <-outDone:
		outDone = nil
		switch {
		case err == nil:
			finished = true
		case errors.Is(err, ErrSlowClient):
			r.ClientErr = err
			r.Code, r.Reason = closeStatus(err)
		default:
			r.ClientErr = err
			r.Code = websocket.StatusAbnormalClosure
		}
	case <-m.slow:
		r.ClientErr = ErrSlowClient
		r.Code, r.Reason = closeStatus(ErrSlowClient)
	case <-m.lost:
		r.Code = websocket.StatusAbnormalClosure
	}
	close(m.quit)
	b.mu.Lock()
	b.remove(m)
	if finished {
		r.Code, r.Reason = b.code, b.reason
	}
	b.mu.Unlock()
	if m.ending != nil {
		m.ending()
	}

	if finished {
		m.conn.Close(r.Code, r.Reason)
	} else {
		closeClient(m.conn, r.ClientErr, r.Code, r.Reason)
	}

	if outDone != nil {
		<-outDone
	}
	if inDone != nil {
		err := <-inDone
		if !finished && r.ClientErr == nil {
			r.ClientErr = err
		}
	}
	pings.stop()
	if m.pongMissed.Load() {
		r.ClientErr = ErrPongMissed
	}
	r.Counts = m.conn.Counts()
	return r
}

// pumpOutput sends the client what is queued for it, the pieces taken at
// once leaving in one write, until the broadcast has finished and the queue
// is empty (nil), the client is dropped for its queue overflowing
// (ErrSlowClient), its session is over, or a write fails.
func (m *member) pumpOutput() error {
	b := m.b
	var batch []*piece
	for {
		b.mu.Lock()
		batch, m.queue = m.queue, batch[:0]
		finished := b.finished
		b.mu.Unlock()
		if len(batch) == 0 {
			select {
			case <-m.slow:
				// Checked first: a client dropped before the
				// broadcast finished is told why.
				return ErrSlowClient
			default:
			}
			if finished {
				return nil
			}
			select {
			case <-m.wake:
			case <-m.slow:
			case <-m.quit:
				return nil
			}
			continue
		}

		m.conn.wire.holdWrites()
		var err error
		cost := 0
		for _, p := range batch {
			if err == nil {
				err = m.pieces.send(p.typ, p.data, p.final)
			}
			cost += p.cost()
		}
		if rerr := m.conn.wire.release(); err == nil {
			err = rerr
		}
		m.sentAt.Store(time.Now().UnixNano())
		clear(batch)
		b.mu.Lock()
		m.pending -= cost
		b.room.Broadcast()
		b.mu.Unlock()
		if err != nil {
			return err
		}
	}
}

// pumpInput passes each client message to the child's stdin, followed by
// a newline in text mode without RawInput, until the client goes or its
// session is over; it returns why. The next message is read once the last
// one was written, so a child that does not read slows its clients down
// by TCP; so does MaxRate. A text message that is not valid UTF-8 ends the
// session.
func (m *member) pumpInput() error {
	for {
		r, err := m.nextMessage(nil, m.quit)
		if err != nil {
			return err
		}
		more, err := m.passMessage(r)
		if !more || err != nil {
			return err
		}
	}
}

// passMessage reads the message r, a chunk at a time, and writes it to the
// child's stdin in the client's turn, or drops it if the child has
// exited. It returns the client's error reading it, or errSlowSender, and
// reports false, with no error, if the session was over first.
func (m *member) passMessage(r *countingReader) (more bool, err error) {
	b := m.b
	lines := !b.cfg.Binary && !b.cfg.RawInput
	buf := inputBuffers.Get().(*inputBuffer)
	n, _ := io.ReadFull(r, buf[:inputChunk])
	if r.err != nil {
		inputBuffers.Put(buf)
		return true, m.endMessage()
	}
	m.writing.Store(true)
	select {
	case b.turn <- struct{}{}:
	case <-b.child.Done():
		// Dropped, but read to its end: the next message, or the
		// client's close frame, follows it.
		m.writing.Store(false)
		inputBuffers.Put(buf)
		io.Copy(io.Discard, r)
		return true, m.endMessage()
	case <-m.quit:
		m.writing.Store(false)
		inputBuffers.Put(buf)
		return false, nil
	}
	m.writing.Store(false)

	left := b.turnWait
	deadline := false // a read deadline is set on the connection
	for {
		end := n < inputChunk
		p := buf[:n]
		if end && lines {
			p = append(p, '\n')
		}
		if !m.writeStdin(p, end) {
			// buf now belongs to the stdin pump.
			buf = nil
			break
		}
		if end {
			break
		}
		// The rest is awaited for no more than is left of the turn.
		start := time.Now()
		m.conn.wire.SetReadDeadline(start.Add(left))
		deadline = true
		n, _ = io.ReadFull(r, buf[:inputChunk])
		left -= time.Since(start)
		if r.err != nil {
			break
		}
	}
	if deadline {
		m.conn.wire.SetReadDeadline(time.Time{})
	}
	<-b.turn
	if buf == nil {
		return false, nil
	}
	inputBuffers.Put(buf)
	if r.err != nil && left <= 0 {
		// The read timed out. What the library returned with the
		// timeout may be taken for bad UTF-8, and the rest of the
		// message cannot be read any more: its bytes are counted
		// here, and it is not read to its end.
		m.conn.in.bytes.Add(r.n)
		return true, errSlowSender
	}
	return true, m.endMessage()
}

// writeStdin hands p, a chunk of a message that it ends if end, to the
// stdin pump and waits until it was written, or dropped because the child
// has exited. It reports false if the client's session was over first; p
// then belongs to the stdin pump.
func (m *member) writeStdin(p []byte, end bool) bool {
	b := m.b
	m.writing.Store(true)
	defer m.writing.Store(false)
	select {
	case b.stdin <- stdinWrite{p: p, from: m, end: end, done: m.written}:
	case <-b.child.Done():
		return true
	case <-m.quit:
		return false
	}
	select {
	case <-m.written:
		return true
	case <-m.quit:
		return false
	}
}
