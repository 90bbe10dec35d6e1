package bridge

import (
	"context"
	"errors"
	"sync"
	"time"
)

// probeInterval is how often a client is pinged, when pings are off, while
// the input pump waits on the child's stdin: it is then the only way to
// notice that the client has gone.
var probeInterval = 5 * time.Second

// pinger pings a session's client on a timer, so that no goroutine waits
// between pings. It gives up on the client (clientLost) when a pong has
// not come back within twice the interval or a ping cannot be sent.
//
// Pongs are read by the input pump, so a pong that is late while the pump
// waits on the child's stdin does not count: that client is slowed by the
// child, not gone. A ping that cannot be written still shows a broken
// connection then, which the blocked pump could not see; so with pings off
// the client is still probed while the pump is blocked.
type pinger struct {
	s      *session
	every  time.Duration
	ctx    context.Context // done when the pinger stops
	cancel context.CancelFunc

	mu      sync.Mutex
	stopped bool
	t       *time.Timer
	running sync.WaitGroup // a ping in flight
}

// startPings starts pinging the client of s.
func (s *session) startPings() *pinger {
	p := &pinger{s: s, every: s.cfg.PingInterval}
	if p.every == 0 {
		p.every = probeInterval
	}
	p.ctx, p.cancel = context.WithCancel(context.Background())
	p.mu.Lock()
	p.t = time.AfterFunc(p.every, p.fire)
	p.mu.Unlock()
	return p
}

// fire pings once and sets the timer for the next ping.
func (p *pinger) fire() {
	p.mu.Lock()
	if p.stopped {
		p.mu.Unlock()
		return
	}
	p.running.Add(1)
	p.mu.Unlock()
	defer p.running.Done()
	if !p.ping() {
		return
	}
	p.mu.Lock()
	if !p.stopped {
		p.t.Reset(p.every)
	}
	p.mu.Unlock()
}

// ping pings the client if a ping is due and reports whether to go on.
func (p *pinger) ping() bool {
	s := p.s
	if s.cfg.PingInterval == 0 && !s.writing.Load() {
		return true
	}
	ctx, cancel := context.WithTimeout(p.ctx, 2*p.every)
	err := s.conn.Ping(ctx)
	cancel()
	switch {
	case err == nil:
		return true
	case p.ctx.Err() != nil:
		return false
	case errors.Is(err, context.DeadlineExceeded):
		if s.writing.Load() || s.cfg.PingInterval == 0 {
			return true
		}
		s.pongMissed.Store(true)
	}
	s.clientLost()
	return false
}

// stop stops the pings and waits for one in flight to end.
func (p *pinger) stop() {
	p.mu.Lock()
	p.stopped = true
	p.t.Stop()
	p.mu.Unlock()
	p.cancel()
	p.running.Wait()
}
