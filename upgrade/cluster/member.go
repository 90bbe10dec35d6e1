package cluster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"wsbridge/bridge"
)

// The headers of the messages on a group's out subject.
const (
	hdrEpoch    = "Wsbridge-Epoch"    // the lease revision its holder created: one per program run
	hdrSeq      = "Wsbridge-Seq"      // 1, 2, 3... within an epoch
	hdrStream   = "Wsbridge-Stream"   // "err" for a piece of stderr, absent for stdout
	hdrExit     = "Wsbridge-Exit"     // the program exited, with this status
	hdrReleased = "Wsbridge-Released" // the holder stopped the program and gave the lease back
)

// exitOK is how a program that exited with status 0 is announced.
const exitOK = "exit status 0"

// Member is one instance's side of a group: a bridge.Child whose stdout
// and stderr are what the group's program prints, wherever it runs, and
// whose stdin sends each client message whole to it. While a Member
// runs, its instance keeps its presence in the group, and takes the
// lease and starts the program when no instance holds it. It ends when
// the program exits (Wait returns its status), when output from the
// cluster was lost (Wait returns why), or when it is stopped. Create one
// with Join.
type Member struct {
	c      *Cluster
	kv     jetstream.KeyValue
	group  string // the group's token
	prefix string // NAME.GROUP, of its keys and subjects
	start  func() (bridge.Child, error)

	sub       *nats.Subscription
	stdin     *messageWriter
	stdout    *stream
	stderr    *stream
	quit      chan struct{} // closed as the member ends: the watch stops
	ready     chan struct{} // closed once a holder takes the group's input
	readyOnce sync.Once
	done      chan struct{} // closed once the member has ended
	watch     sync.WaitGroup

	mu       sync.Mutex
	ended    bool
	exit     error
	epoch    uint64 // of the program whose output is passed on
	seq      uint64 // of its last message
	released bool   // its holder stopped it and gave the lease back
}

// Join makes this instance a member of the group of key, whose program
// start starts when this instance takes the group's lease. It returns
// ErrUnavailable, wrapped with why, when the NATS server cannot be
// reached or cannot carry the group.
func (c *Cluster) Join(key string, start func() (bridge.Child, error)) (*Member, error) {
	if !c.nc.IsConnected() {
		return nil, fmt.Errorf("%w: not connected to %s", ErrUnavailable, c.cfg.URL)
	}
	kv, err := c.bucket()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	m := &Member{
		c:      c,
		kv:     kv,
		group:  token(key),
		start:  start,
		stdout: newStream(),
		stderr: newStream(),
		quit:   make(chan struct{}),
		ready:  make(chan struct{}),
		done:   make(chan struct{}),
	}
	m.prefix = c.name + "." + m.group
	m.stdin = &messageWriter{nc: c.nc, subject: "wsbridge." + m.prefix + ".in", ready: m.ready, done: m.done}
	c.mu.Lock()
	sub, err := c.nc.Subscribe("wsbridge."+m.prefix+".out", m.receive)
	if err == nil {
		m.sub = sub
		c.members[sub] = m
	}
	c.mu.Unlock()
	if err != nil {
		return nil, fmt.Errorf("%w: subscribing to the group's output: %v", ErrUnavailable, err)
	}
	ctx, cancel := context.WithTimeout(c.ctx, 2*time.Second)
	defer cancel()
	if _, err := kv.Put(ctx, m.presenceKey(), nil); err != nil {
		m.forget()
		return nil, fmt.Errorf("%w: joining the group: %v", ErrUnavailable, err)
	}
	m.watch.Go(m.keep)
	return m, nil
}

// presenceKey is the key that says this instance has clients of the group.
func (m *Member) presenceKey() string { return m.prefix + ".m." + m.c.id }

// keep renews the member's presence and takes the group's lease whenever
// no instance holds it, until the member ends.
func (m *Member) keep() {
	tick := time.NewTicker(acquireInterval)
	defer tick.Stop()
	renewed := time.Now()
	for {
		m.mu.Lock()
		failover := m.epoch != 0 && !m.released
		m.mu.Unlock()
		if m.c.acquire(m.kv, m.group, m.prefix, m.start, failover) {
			m.readyOnce.Do(func() { close(m.ready) })
		}
		select {
		case <-tick.C:
		case <-m.quit:
			return
		}
		if time.Since(renewed) >= RenewInterval {
			ctx, cancel := context.WithTimeout(m.c.ctx, RenewInterval)
			if _, err := m.kv.Put(ctx, m.presenceKey(), nil); err == nil {
				renewed = time.Now()
			}
			cancel()
		}
	}
}

// receive takes a message of the group's out subject: output of the
// program, passed on in order, or the news of its end. A message missing
// in between ends the member rather than pass on a gap.
func (m *Member) receive(msg *nats.Msg) {
	epoch, _ := strconv.ParseUint(msg.Header.Get(hdrEpoch), 10, 64)
	seq, _ := strconv.ParseUint(msg.Header.Get(hdrSeq), 10, 64)
	m.mu.Lock()
	switch {
	case m.ended || epoch < m.epoch:
		// The output of an older run, from a holder that lost its
		// lease.
		m.mu.Unlock()
		return
	case epoch > m.epoch:
		m.epoch, m.seq, m.released = epoch, seq, false
	case seq != m.seq+1:
		last := m.seq
		m.mu.Unlock()
		m.fail(fmt.Sprintf("output from the cluster lost (message %d after %d)", seq, last))
		return
	default:
		m.seq = seq
	}
	if msg.Header.Get(hdrReleased) != "" {
		m.released = true
	}
	m.mu.Unlock()
	if exit := msg.Header.Get(hdrExit); exit != "" {
		var err error
		if exit != exitOK {
			err = errors.New(exit)
		}
		m.end(err)
		return
	}
	s := m.stdout
	if msg.Header.Get(hdrStream) == "err" {
		s = m.stderr
	}
	if len(msg.Data) > 0 && !s.push(msg.Data) {
		m.fail("output from the cluster fell behind: 16 MiB waiting")
	}
}

// fail ends the member for output lost, counted and logged.
func (m *Member) fail(why string) {
	m.c.lost.Inc()
	m.c.cfg.Log.Warn().Str("group", m.group).Str("reason", why).Msg("cluster output lost")
	m.end(errors.New(why))
}

// end ends the member with exit, once: what was received is still read
// before EOF.
func (m *Member) end(exit error) {
	m.mu.Lock()
	if m.ended {
		m.mu.Unlock()
		return
	}
	m.ended, m.exit = true, exit
	m.mu.Unlock()
	close(m.quit)
	m.forget()
	m.stdout.close()
	m.stderr.close()
	close(m.done)
}

// forget stops receiving the group's output and takes the member's
// presence out of the group.
func (m *Member) forget() {
	m.c.mu.Lock()
	delete(m.c.members, m.sub)
	m.c.mu.Unlock()
	m.sub.Unsubscribe()
	ctx, cancel := context.WithTimeout(m.c.ctx, time.Second)
	defer cancel()
	m.kv.Delete(ctx, m.presenceKey())
}

// Stdin returns what sends each client message to the program, whole.
func (m *Member) Stdin() io.WriteCloser { return m.stdin }

// Stdout returns the program's output, in order.
func (m *Member) Stdout() io.Reader { return m.stdout }

// Stderr returns what the program writes on stderr.
func (m *Member) Stderr() io.Reader { return m.stderr }

// Done is closed once the member has ended.
func (m *Member) Done() <-chan struct{} { return m.done }

// Wait waits for the member to end and returns how: nil once the program
// exited with status 0 or the member was stopped, the program's status,
// or why output was lost.
func (m *Member) Wait() error {
	<-m.done
	return m.exit
}

// Stop ends the member: its instance leaves the group, whose program
// stops once no instance has clients of it.
func (m *Member) Stop() {
	m.end(nil)
	m.watch.Wait()
}

// messageWriter sends each client message to the group's program as one
// NATS message: bridge.Broadcast tells where each ends.
type messageWriter struct {
	nc      *nats.Conn
	subject string
	ready   <-chan struct{} // closed once a holder takes the input
	done    <-chan struct{} // closed once the member has ended
	buf     []byte
}

// Write adds p to the message being written.
func (w *messageWriter) Write(p []byte) (int, error) {
	if int64(len(w.buf)+len(p)) > w.nc.MaxPayload() {
		return 0, fmt.Errorf("sending a message to the cluster: longer than its max_payload of %d bytes", w.nc.MaxPayload())
	}
	w.buf = append(w.buf, p...)
	return len(p), nil
}

// EndMessage sends the message written since the last one, once a
// holder takes the group's input.
func (w *messageWriter) EndMessage() error {
	select {
	case <-w.ready:
	case <-w.done:
		return errors.New("sending a message to the cluster: the group has ended")
	}
	err := w.nc.Publish(w.subject, w.buf)
	w.buf = w.buf[:0]
	if err != nil {
		return fmt.Errorf("sending a message to the cluster: %w", err)
	}
	return nil
}

// Close does nothing: the program's stdin is closed by its holder.
func (w *messageWriter) Close() error { return nil }

// stream is the output of a group's program on one instance, in the
// order it came, waiting to be read; it holds at most maxQueued bytes.
type stream struct {
	mu     sync.Mutex
	more   sync.Cond
	queue  [][]byte
	size   int
	closed bool
}

// newStream returns an empty stream.
func newStream() *stream {
	s := &stream{}
	s.more.L = &s.mu
	return s
}

// push adds p to s, or reports false if s would hold more than maxQueued.
func (s *stream) push(p []byte) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.size+len(p) > maxQueued {
		return false
	}
	s.queue = append(s.queue, p)
	s.size += len(p)
	s.more.Signal()
	return true
}

// close makes Read return io.EOF once what was pushed has been read.
func (s *stream) close() {
	s.mu.Lock()
	s.closed = true
	s.more.Broadcast()
	s.mu.Unlock()
}

// Read reads what was pushed, in order, waiting for it.
func (s *stream) Read(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for len(s.queue) == 0 && !s.closed {
		s.more.Wait()
	}
	if len(s.queue) == 0 {
		return 0, io.EOF
	}
	n := copy(p, s.queue[0])
	if n == len(s.queue[0]) {
		s.queue[0] = nil
		s.queue = s.queue[1:]
	} else {
		s.queue[0] = s.queue[0][n:]
	}
	s.size -= n
	return n, nil
}
