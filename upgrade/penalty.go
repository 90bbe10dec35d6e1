package upgrade

import (
	"context"
	"net/netip"
	"sync"
	"time"
)

// How long an address that sent wrong credentials waits: firstPenalty
// after its first failure, twice as long after each one that follows, up
// to maxPenalty. Its failures are forgotten at its first success, or
// forgetAfter its last penalty ended. maxOffenders bounds the addresses
// kept.
const (
	firstPenalty = time.Second
	maxPenalty   = time.Minute
	forgetAfter  = 10 * time.Minute
	maxOffenders = 10000
)

// penaltyBox throttles the credential checks of each client address, so
// that a client sending wrong passwords without end does not keep the
// others' checks waiting: an address has one comparison at a time, and
// after wrong credentials none at all until its penalty is over. An
// address is one IPv4 address, or one IPv6 /64, which is what one
// client is usually given. The zero value is not usable; see
// newPenaltyBox.
type penaltyBox struct {
	mu      sync.Mutex
	clients map[netip.Prefix]*offender
}

// offender is the state of one client address.
type offender struct {
	turn     chan struct{} // holds a token while a comparison of the address runs
	users    int           // requests holding or waiting for the turn
	failures int           // wrong credentials in a row
	until    time.Time     // no comparison before then
}

func newPenaltyBox() *penaltyBox {
	return &penaltyBox{clients: map[netip.Prefix]*offender{}}
}

// clientKey returns the address that remoteAddr (a request's RemoteAddr)
// is counted under; ok is false for a client with no IP address, on the
// unix socket, which is not throttled.
func clientKey(remoteAddr string) (key netip.Prefix, ok bool) {
	a, ok := remoteIP(remoteAddr)
	if !ok {
		return netip.Prefix{}, false
	}
	if a.Is6() {
		return netip.PrefixFrom(a, 64).Masked(), true
	}
	return netip.PrefixFrom(a, 32), true
}

// throttled reports whether the address of remoteAddr is in its penalty.
func (b *penaltyBox) throttled(remoteAddr string) bool {
	key, ok := clientKey(remoteAddr)
	if !ok {
		return false
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	o := b.clients[key]
	return o != nil && time.Now().Before(o.until)
}

// enter waits for the turn of the address of remoteAddr to compare
// credentials. It returns the function to call with the outcome once
// they are compared (why the credentials were refused, "" when they were
// not), which gives the turn to the next request and returns the
// penalty the address now has, 0 for none. When the address is in its
// penalty, enter returns authThrottled, and authGone when ctx is done
// first; done is then nil. When the box is full of addresses in use, a
// new one is compared without a turn or a penalty.
func (b *penaltyBox) enter(ctx context.Context, remoteAddr string) (done func(why string) time.Duration, refused string) {
	key, ok := clientKey(remoteAddr)
	if !ok {
		return noPenalty, ""
	}
	b.mu.Lock()
	o := b.clients[key]
	switch {
	case o != nil && time.Now().Before(o.until):
		b.mu.Unlock()
		return nil, authThrottled
	case o == nil && len(b.clients) >= maxOffenders && !b.evictLocked():
		b.mu.Unlock()
		return noPenalty, ""
	case o == nil:
		o = &offender{turn: make(chan struct{}, 1)}
		b.clients[key] = o
	}
	o.users++
	b.mu.Unlock()

	select {
	case o.turn <- struct{}{}:
	case <-ctx.Done():
		b.leave(key, o, false)
		return nil, authGone
	}
	b.mu.Lock()
	penalised := time.Now().Before(o.until) // by the comparison before
	b.mu.Unlock()
	if penalised {
		b.leave(key, o, true)
		return nil, authThrottled
	}
	return func(why string) time.Duration {
		b.mu.Lock()
		now := time.Now()
		var penalty time.Duration
		switch why {
		case "":
			o.failures, o.until = 0, time.Time{}
		case authBadPassword, authUnknownUser:
			if now.After(o.until.Add(forgetAfter)) {
				o.failures = 0
			}
			penalty = min(firstPenalty<<min(o.failures, 16), maxPenalty)
			o.failures++
			o.until = now.Add(penalty)
		}
		b.mu.Unlock()
		b.leave(key, o, true)
		return penalty
	}, ""
}

// forgive forgets the failures of the address of remoteAddr, whose
// credentials checked out without a comparison.
func (b *penaltyBox) forgive(remoteAddr string) {
	key, ok := clientKey(remoteAddr)
	if !ok {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if o := b.clients[key]; o != nil {
		o.failures, o.until = 0, time.Time{}
		if o.users == 0 {
			delete(b.clients, key)
		}
	}
}

// noPenalty is the done function of a client that is not throttled.
func noPenalty(string) time.Duration { return 0 }

// leave counts out a request of o, the offender at key, giving back its
// turn if it held it; an address with no requests and no failures is
// forgotten.
func (b *penaltyBox) leave(key netip.Prefix, o *offender, held bool) {
	if held {
		<-o.turn
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	o.users--
	if o.users == 0 && o.failures == 0 {
		delete(b.clients, key)
	}
}

// evictLocked makes room for an address: it forgets the addresses whose
// failures are forgotten by now, or failing that one address that no
// request is using, whatever its penalty; an attacker with more
// addresses than the box holds gets fewer penalties, but can lock no one
// out. It reports whether there is room; b.mu must be held.
func (b *penaltyBox) evictLocked() bool {
	now := time.Now()
	var spare netip.Prefix
	found := false
	for key, o := range b.clients {
		switch {
		case o.users > 0:
		case now.After(o.until.Add(forgetAfter)):
			delete(b.clients, key)
		case !found:
			spare, found = key, true
		}
	}
	if len(b.clients) < maxOffenders {
		return true
	}
	if found {
		delete(b.clients, spare)
		return true
	}
	return false
}
