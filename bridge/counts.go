package bridge

import "sync/atomic"

// Counts are the messages and bytes a session has moved: In from the
// client, Out to it.
type Counts struct {
	MessagesIn, MessagesOut int64
	BytesIn, BytesOut       int64
}

// Counts returns what the session served on c has moved so far, counted
// as messages pass. It may be called at any time from any goroutine; once
// the session has ended it returns the counts of its Result.
func (c *Conn) Counts() Counts {
	return Counts{
		MessagesIn:  c.in.messages.Load(),
		MessagesOut: c.out.messages.Load(),
		BytesIn:     c.in.bytes.Load(),
		BytesOut:    c.out.bytes.Load(),
	}
}

// tally counts the messages and bytes that went one way. It belongs to
// one connection, whose pumps add to it: its adds are never contended by
// other sessions.
type tally struct{ messages, bytes atomic.Int64 }

// message counts one message of n bytes.
func (t *tally) message(n int64) {
	t.messages.Add(1)
	t.bytes.Add(n)
}
