package bridge

import "time"

// rate spaces the messages read from a client out to perSecond a second,
// in bursts of up to perSecond: a token bucket of perSecond tokens that
// gains one every 1/perSecond of a second, kept as the time at which it
// will be full again (the generic cell rate algorithm), so that taking a
// token costs no timer and no allocation.
type rate struct {
	every  time.Duration // one token's worth of time
	window time.Duration // a full bucket's worth
	start  time.Time     // the origin of full
	full   time.Duration // since start: when the bucket is full again
	timer  *time.Timer   // stopped when not waited on
}

// newRate returns the rate of perSecond messages a second, or nil for
// none when perSecond is 0 or less.
func newRate(perSecond int) *rate {
	if perSecond <= 0 {
		return nil
	}
	every := time.Second / time.Duration(perSecond)
	t := time.NewTimer(time.Hour)
	t.Stop()
	return &rate{every: every, window: every * time.Duration(perSecond), start: time.Now(), timer: t}
}

// take takes a token for a message that came now, and returns how long
// the message must wait for it: 0 when the bucket had one.
func (r *rate) take(now time.Time) time.Duration {
	at := now.Sub(r.start)
	r.full = max(r.full, at)
	wait := r.full + r.every - r.window - at
	r.full += r.every
	return max(wait, 0)
}

// wait waits for d, or until done is closed.
func (r *rate) wait(d time.Duration, done <-chan struct{}) {
	r.timer.Reset(d)
	select {
	case <-r.timer.C:
	case <-done:
		r.timer.Stop()
	}
}
