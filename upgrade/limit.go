package upgrade

import (
	"net/netip"
	"sync"
)

// forkLimit bounds how many children run at once (websocketd's --maxforks).
// A nil *forkLimit, like the zero forkLimit, allows any number. It is safe
// for concurrent use.
type forkLimit struct {
	slots chan struct{} // holds one value per slot taken
}

// newForkLimit returns a forkLimit for n children at once; n <= 0 means no
// limit (returns nil).
func newForkLimit(n int) *forkLimit {
	if n <= 0 {
		return nil
	}
	return &forkLimit{slots: make(chan struct{}, n)}
}

// tryAcquire takes a slot and reports whether one was free. It never
// blocks.
func (l *forkLimit) tryAcquire() bool {
	if l == nil || l.slots == nil {
		return true
	}
	select {
	case l.slots <- struct{}{}:
		return true
	default:
		return false
	}
}

// release gives back a slot taken by tryAcquire. It panics if no slot is
// taken.
func (l *forkLimit) release() {
	if l == nil || l.slots == nil {
		return
	}
	select {
	case <-l.slots:
	default:
		panic("upgrade: forkLimit.release without a slot taken")
	}
}

// perIP counts the sessions open from each client address, up to max
// (--max-per-ip). An address is in the map only while it has sessions.
type perIP struct {
	max int

	mu       sync.Mutex
	sessions map[netip.Addr]int
}

func newPerIP(max int) *perIP {
	return &perIP{max: max, sessions: map[netip.Addr]int{}}
}

// acquire counts a session in for the client at remoteAddr (a request's
// RemoteAddr: host and port, or a host alone), unless that address has max
// sessions already. A client with no IP address (on the unix socket) is
// not counted, and neither is any client when max is 0 or less.
func (p *perIP) acquire(remoteAddr string) bool {
	a, ok := remoteIP(remoteAddr)
	if p.max <= 0 || !ok {
		return true
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.sessions[a] >= p.max {
		return false
	}
	p.sessions[a]++
	return true
}

// release counts out a session that acquire counted in.
func (p *perIP) release(remoteAddr string) {
	a, ok := remoteIP(remoteAddr)
	if p.max <= 0 || !ok {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.sessions[a] <= 1 {
		delete(p.sessions, a)
	} else {
		p.sessions[a]--
	}
}

// remoteIP returns the IP address of remoteAddr, "host:port" or a host
// alone, without zone and with IPv4-mapped IPv6 as IPv4.
func remoteIP(remoteAddr string) (netip.Addr, bool) {
	if ap, err := netip.ParseAddrPort(remoteAddr); err == nil {
		return ap.Addr().WithZone("").Unmap(), true
	}
	a, err := netip.ParseAddr(remoteAddr)
	return a.WithZone("").Unmap(), err == nil
}
