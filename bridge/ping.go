package bridge

import (
	"context"
	"errors"
	"sync"
	"time"
)

// probeInterval is how often a client is probed with a ping while the
// input pump waits on the child's stdin, whatever --pingms says: the pump
// cannot see the client go then, but a ping that cannot be written can.
var probeInterval = 5 * time.Second

// pinger pings a session's client on a timer, so that no goroutine waits
// between pings, after each interval in which no output was sent and none
// waits for the client. It gives up on the client (clientLost) when a
// pong has not come back within twice the ping interval, and the client
// took no output meanwhile, or a ping cannot be sent. A client that
// vanished while output waited for it is not pinged, as the ping would
// wait behind that output: the kernel ends that connection when it gives
// up sending.
//
// Pongs are read by the input pump, so a pong that is late while the pump
// waits on the child's stdin does not count: that client is slowed by the
// child, not gone. Nor does one that is late after the pump waited for
// MaxRate since the ping left: it may queue behind the messages of a
// client slowed by the rate. Nor, either, one that is late while output
// still left for the client after the ping: the ping waits behind that
// output, which only a client that reads makes room for. A ping that cannot be written still shows a
// broken connection while the pump waits on the child, which the blocked
// pump could not see; so then the client is also probed every
// probeInterval, pings on or off.
type pinger struct {
	s      *peer
	every  time.Duration   // the ping interval; 0 for no pings
	tick   time.Duration   // how often the timer fires
	ctx    context.Context // done when the pinger stops
	cancel context.CancelFunc

	mu      sync.Mutex
	stopped bool
	t       *time.Timer
	last    time.Time      // when the last ping was sent
	pinging bool           // a ping waits for its pong
	probing bool           // a probe waits for its pong
	running sync.WaitGroup // pings and probes in flight
}

// startPings starts pinging the client every interval (0 for no pings),
// and probing it while its input waits on the child.
func (c *peer) startPings(every time.Duration) *pinger {
	p := &pinger{s: c, every: every, tick: probeInterval}
	if p.every > 0 && p.every < p.tick {
		p.tick = p.every
	}
	p.ctx, p.cancel = context.WithCancel(context.Background())
	p.mu.Lock()
	p.last = time.Now()
	p.t = time.AfterFunc(p.tick, p.fire)
	p.mu.Unlock()
	return p
}

// fire sends the ping or probe that is due, if any, and sets the timer
// for the next tick.
func (p *pinger) fire() {
	p.mu.Lock()
	if p.stopped {
		p.mu.Unlock()
		return
	}
	p.t.Reset(p.tick)
	var probe, ping bool
	if p.s.writing.Load() && !p.probing {
		probe, p.probing = true, true
	}
	if p.every > 0 && !p.pinging && time.Since(p.last) >= p.every {
		// While output flows the connection is not idle, and a ping
		// would wait behind it: a client reading a long backlog
		// answers it late, and an answer that comes after the
		// connection closed resets it, losing the end of the backlog.
		ping = !time.Unix(0, p.s.sentAt.Load()).After(p.last) && !p.s.conn.wire.busy()
		p.pinging = ping
		p.last = time.Now()
	}
	if !probe && !ping {
		p.mu.Unlock()
		return
	}
	p.running.Add(1)
	p.mu.Unlock()
	defer p.running.Done()

	if ping {
		p.ping(2*p.every, true)
	} else {
		p.ping(p.tick, false)
	}
	p.mu.Lock()
	if ping {
		p.pinging = false
	}
	if probe {
		p.probing = false
	}
	p.mu.Unlock()
}

// ping pings the client and waits up to wait for the pong. A ping that
// cannot be sent loses the client; so does a pong that does not come in
// time, when pongMatters and the input pump could read it.
func (p *pinger) ping(wait time.Duration, pongMatters bool) {
	s := p.s
	sent := time.Now().UnixNano()
	ctx, cancel := context.WithTimeout(p.ctx, wait)
	err := s.conn.Ping(ctx)
	cancel()
	switch {
	case err == nil, p.ctx.Err() != nil:
		return
	case errors.Is(err, context.DeadlineExceeded):
		if !pongMatters || s.writing.Load() || s.heldUntil.Load() >= sent || s.sentAt.Load() > sent || s.conn.wire.busy() {
			return
		}
		s.pongMissed.Store(true)
	}
	s.clientLost()
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
