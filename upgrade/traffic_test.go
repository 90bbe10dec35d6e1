//go:build unix

package upgrade

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/prometheus/client_golang/prometheus"

	"wsbridge/bridge"
)

// scrapeTraffic collects the counters of tr, as a scrape does.
func scrapeTraffic(t *testing.T, tr *traffic) bridge.Counts {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(tr)
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var c bridge.Counts
	for _, f := range families {
		for _, m := range f.GetMetric() {
			v := int64(m.GetCounter().GetValue())
			switch f.GetName() + " " + m.GetLabel()[0].GetValue() {
			case "wsbridge_messages_total in":
				c.MessagesIn = v
			case "wsbridge_messages_total out":
				c.MessagesOut = v
			case "wsbridge_message_bytes_total in":
				c.BytesIn = v
			case "wsbridge_message_bytes_total out":
				c.BytesOut = v
			default:
				t.Errorf("unexpected %s %v", f.GetName(), m.GetLabel())
			}
		}
	}
	return c
}

func TestTrafficCountedAsMessagesPass(t *testing.T) {
	for name, cfg := range map[string]Config{"session": catConfig(), "broadcast": broadcastConfig()} {
		t.Run(name, func(t *testing.T) {
			srv, addr, logs := startServer(t, cfg)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			c := dialEcho(t, ctx, addr, "/", "hello")
			dialEcho(t, ctx, addr, "/other", "hi")
			want := bridge.Counts{MessagesIn: 2, MessagesOut: 2, BytesIn: 7, BytesOut: 7}
			if got := scrapeTraffic(t, srv.metrics.traffic); got != want {
				t.Errorf("while the sessions run: %+v, want %+v", got, want)
			}
			c.Close(websocket.StatusNormalClosure, "")
			waitEvent(t, logs, "disconnected")
			if got := scrapeTraffic(t, srv.metrics.traffic); got != want {
				t.Errorf("once one ended: %+v, want %+v", got, want)
			}
		})
	}
}

// Sessions that end while scrapes go on are counted once: no scrape sees
// a counter go down, and the totals at the end are what was sent.
func TestTrafficNeverGoesDown(t *testing.T) {
	srv, addr, logs := startServer(t, catConfig())
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	const clients, messages = 8, 20
	var wg sync.WaitGroup
	for i := range clients {
		wg.Go(func() {
			c, _, err := websocket.Dial(ctx, "ws://"+addr+"/", nil)
			if err != nil {
				t.Error(err)
				return
			}
			defer c.CloseNow()
			for j := range messages {
				msg := fmt.Sprintf("%d-%02d", i, j) // 4 bytes
				if err := c.Write(ctx, websocket.MessageText, []byte(msg)); err != nil {
					t.Error(err)
					return
				}
				if _, got, err := c.Read(ctx); err != nil || string(got) != msg {
					t.Errorf("sent %q, got %q, %v", msg, got, err)
					return
				}
			}
			c.Close(websocket.StatusNormalClosure, "")
		})
	}
	clientsDone := make(chan struct{})
	go func() {
		wg.Wait()
		close(clientsDone)
	}()

	want := bridge.Counts{MessagesIn: clients * messages, MessagesOut: clients * messages, BytesIn: clients * messages * 4, BytesOut: clients * messages * 4}
	var last bridge.Counts
	scrapes := 0
	for deadline := time.Now().Add(30 * time.Second); ; {
		// Whether all have ended is asked before the scrape, so that the
		// last scrape is of every session ended.
		ended := false
		select {
		case <-clientsDone:
			ended = len(logs.events("disconnected")) == clients
		default:
		}
		got := scrapeTraffic(t, srv.metrics.traffic)
		scrapes++
		if got.MessagesIn < last.MessagesIn || got.MessagesOut < last.MessagesOut || got.BytesIn < last.BytesIn || got.BytesOut < last.BytesOut {
			t.Fatalf("scrape %d went down: %+v after %+v", scrapes, got, last)
		}
		if got.MessagesIn > want.MessagesIn || got.MessagesOut > want.MessagesOut || got.BytesIn > want.BytesIn || got.BytesOut > want.BytesOut {
			t.Fatalf("scrape %d counted more than was sent: %+v, want at most %+v", scrapes, got, want)
		}
		last = got
		if ended {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the sessions did not end")
		}
	}
	if last != want {
		t.Errorf("at the end: %+v, want %+v", last, want)
	}
	t.Logf("%d scrapes", scrapes)
}
