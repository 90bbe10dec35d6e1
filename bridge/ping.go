package bridge

import (
	"context"
	"errors"
	"time"
)

// probeInterval is how often a client is pinged, when pings are off, while
// the input pump waits on the child's stdin: it is then the only way to
// notice that the client has gone.
var probeInterval = 5 * time.Second

// ping pings the client every PingInterval until ctx is done. It gives up
// on the client (clientLost) when a pong has not come back within twice
// the interval or a ping cannot be sent.
//
// Pongs are read by the input pump, so a pong that is late while the pump
// waits on the child's stdin does not count: that client is slowed by the
// child, not gone. A ping that cannot be written still shows a broken
// connection then, which the blocked pump could not see; so with pings off
// the client is still probed while the pump is blocked.
func (s *session) ping(ctx context.Context) {
	interval := s.cfg.PingInterval
	if interval == 0 {
		interval = probeInterval
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if s.cfg.PingInterval == 0 && !s.writing.Load() {
			continue
		}
		pingCtx, cancel := context.WithTimeout(ctx, 2*interval)
		err := s.conn.Ping(pingCtx)
		cancel()
		switch {
		case err == nil || ctx.Err() != nil:
			continue
		case errors.Is(err, context.DeadlineExceeded):
			if s.writing.Load() || s.cfg.PingInterval == 0 {
				continue
			}
			s.pongMissed.Store(true)
		}
		s.clientLost()
		return
	}
}
