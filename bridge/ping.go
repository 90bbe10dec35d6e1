package bridge

import (
	"context"
	"errors"
	"time"
)

// ping pings the client every PingInterval until ctx is done. It gives up
// on the client, closing the connection and the lost channel, when a pong
// has not come back within twice the interval or a ping cannot be sent.
// Pongs are read by the input pump, so a pong that is late while the pump
// waits on the child's stdin does not count: that client is slowed by the
// child, not gone. A ping that cannot be written still shows a broken
// connection then, which the blocked input pump could not see.
func (s *session) ping(ctx context.Context, lost chan<- struct{}) {
	t := time.NewTicker(s.cfg.PingInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		pingCtx, cancel := context.WithTimeout(ctx, 2*s.cfg.PingInterval)
		err := s.conn.Ping(pingCtx)
		cancel()
		switch {
		case err == nil || ctx.Err() != nil:
			continue
		case errors.Is(err, context.DeadlineExceeded):
			if s.writing.Load() {
				continue
			}
			s.pongMissed.Store(true)
		}
		s.conn.CloseNow()
		close(lost)
		return
	}
}
