package upgrade

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"wsbridge/bridge"
)

// traffic is the collector of wsbridge_messages_total and
// wsbridge_message_bytes_total: the messages and bytes of sessions,
// counted as they pass. It holds the totals of the sessions that ended
// and the connections of those still open, whose counts are added in at
// each scrape. A session moves from one to the other under the lock a
// scrape holds, so that a scrape counts it once, and the totals never go
// down: what an open connection has counted only grows, up to what is
// folded in when it closes.
type traffic struct {
	messages, bytes *prometheus.Desc

	mu    sync.Mutex
	ended bridge.Counts // of the sessions that ended
	live  map[*bridge.Conn]struct{}
}

func newTraffic() *traffic {
	return &traffic{
		messages: prometheus.NewDesc("wsbridge_messages_total",
			"Messages of sessions, counted as they pass, by direction: in from clients, out to them.",
			[]string{"direction"}, nil),
		bytes: prometheus.NewDesc("wsbridge_message_bytes_total",
			"Bytes of the messages of sessions, counted as they pass, by direction: in from clients, out to them.",
			[]string{"direction"}, nil),
		live: make(map[*bridge.Conn]struct{}),
	}
}

// open counts what the session served on conn moves from now on.
func (t *traffic) open(conn *bridge.Conn) {
	t.mu.Lock()
	t.live[conn] = struct{}{}
	t.mu.Unlock()
}

// close folds in the final counts of the session served on conn, which
// has ended.
func (t *traffic) close(conn *bridge.Conn) {
	c := conn.Counts()
	t.mu.Lock()
	delete(t.live, conn)
	add(&t.ended, c)
	t.mu.Unlock()
}

// Describe sends the descriptions of the two counters.
func (t *traffic) Describe(ch chan<- *prometheus.Desc) {
	ch <- t.messages
	ch <- t.bytes
}

// Collect sends the two counters: the totals of the sessions that ended
// and what the open ones have moved so far.
func (t *traffic) Collect(ch chan<- prometheus.Metric) {
	t.mu.Lock()
	sum := t.ended
	for conn := range t.live {
		add(&sum, conn.Counts())
	}
	t.mu.Unlock()
	ch <- prometheus.MustNewConstMetric(t.messages, prometheus.CounterValue, float64(sum.MessagesIn), "in")
	ch <- prometheus.MustNewConstMetric(t.messages, prometheus.CounterValue, float64(sum.MessagesOut), "out")
	ch <- prometheus.MustNewConstMetric(t.bytes, prometheus.CounterValue, float64(sum.BytesIn), "in")
	ch <- prometheus.MustNewConstMetric(t.bytes, prometheus.CounterValue, float64(sum.BytesOut), "out")
}

// add adds c to sum.
func add(sum *bridge.Counts, c bridge.Counts) {
	sum.MessagesIn += c.MessagesIn
	sum.MessagesOut += c.MessagesOut
	sum.BytesIn += c.BytesIn
	sum.BytesOut += c.BytesOut
}
