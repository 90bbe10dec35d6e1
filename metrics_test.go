package main_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/coder/websocket"

	"wsbridge/bridge/wstest"
)

// metricLines returns the lines of /metrics that are samples of
// wsbridge's own metrics.
func metricLines(t *testing.T, addr string) map[string]bool {
	t.Helper()
	status, body := httpGet(t, addr, "/metrics")
	if status != http.StatusOK {
		t.Fatalf("/metrics: %d %q", status, body)
	}
	lines := map[string]bool{}
	for _, l := range strings.Split(body, "\n") {
		lines[l] = true
	}
	return lines
}

func TestMetrics(t *testing.T) {
	s := startServer(t, "--metrics-address=127.0.0.1:0", "--origin=example.com", "rev")
	maddr := s.event("serving metrics")["address"].(string)
	before := metricLines(t, maddr)
	for _, l := range []string{
		`wsbridge_connections_total{outcome="accepted"} 0`,
		`wsbridge_messages_total{direction="in"} 0`,
		`wsbridge_upgrade_refusals_total{reason="origin"} 0`,
		`wsbridge_upgrade_refusals_total{reason="host"} 0`,
		`wsbridge_upgrade_refusals_total{reason="broadcastclients"} 0`,
		`wsbridge_auth_refusals_total{reason="throttled"} 0`,
		`wsbridge_active_connections 0`,
		`wsbridge_active_processes 0`,
		`wsbridge_session_duration_seconds_count 0`,
	} {
		if !before[l] {
			t.Errorf("before any session, /metrics lacks %q", l)
		}
	}
	for _, standard := range []string{"# TYPE go_goroutines gauge", "# TYPE process_resident_memory_bytes gauge"} {
		if !before[standard] {
			t.Errorf("/metrics lacks %q", standard)
		}
	}

	c := s.dial("/")
	wstest.Send(t, c, websocket.MessageText, "hello")
	wstest.Expect(t, c, websocket.MessageText, "olleh")
	if during := metricLines(t, maddr); !during["wsbridge_active_connections 1"] || !during["wsbridge_active_processes 1"] {
		t.Error("during the session, /metrics does not count it active")
	}
	c.Close(websocket.StatusNormalClosure, "")
	s.event("disconnected")
	if _, _, err := websocket.Dial(wstest.Context(t), "ws://"+s.addr+"/", &websocket.DialOptions{
		HTTPHeader: http.Header{"Origin": {"http://elsewhere.example"}},
	}); err == nil {
		t.Fatal("a foreign origin was let through")
	}

	after := metricLines(t, maddr)
	for _, l := range []string{
		`wsbridge_connections_total{outcome="accepted"} 1`,
		`wsbridge_connections_total{outcome="refused"} 1`,
		`wsbridge_upgrade_refusals_total{reason="origin"} 1`,
		`wsbridge_messages_total{direction="in"} 1`,
		`wsbridge_messages_total{direction="out"} 1`,
		`wsbridge_message_bytes_total{direction="in"} 5`,
		`wsbridge_message_bytes_total{direction="out"} 5`,
		`wsbridge_active_connections 0`,
		`wsbridge_active_processes 0`,
		`wsbridge_session_duration_seconds_count 1`,
	} {
		if !after[l] {
			t.Errorf("after a session, /metrics lacks %q", l)
		}
	}
	// rev ends with its stdin closed, or with the signal that follows.
	if !after[`wsbridge_process_exits_total{status="0"} 1`] && !after[`wsbridge_process_exits_total{status="interrupt"} 1`] {
		t.Error("the exit of rev is not counted")
	}
}

func TestMetricsCountMessagesAsTheyPass(t *testing.T) {
	s := startServer(t, "--metrics-address=127.0.0.1:0", "cat")
	maddr := s.event("serving metrics")["address"].(string)
	c := s.dial("/")
	for _, msg := range []string{"hello", "hi"} {
		wstest.Send(t, c, websocket.MessageText, msg)
		wstest.Expect(t, c, websocket.MessageText, msg)
	}
	counted := []string{
		`wsbridge_messages_total{direction="in"} 2`,
		`wsbridge_messages_total{direction="out"} 2`,
		`wsbridge_message_bytes_total{direction="in"} 7`,
		`wsbridge_message_bytes_total{direction="out"} 7`,
	}
	during := metricLines(t, maddr)
	if !during["wsbridge_active_connections 1"] {
		t.Fatal("the session is not open")
	}
	for _, l := range counted {
		if !during[l] {
			t.Errorf("while the session runs, /metrics lacks %q", l)
		}
	}
	c.Close(websocket.StatusNormalClosure, "")
	ev := s.event("disconnected")
	if ev["messages_in"] != float64(2) || ev["messages_out"] != float64(2) || ev["bytes_in"] != float64(7) || ev["bytes_out"] != float64(7) {
		t.Errorf("access event %v", ev)
	}
	after := metricLines(t, maddr)
	for _, l := range counted {
		if !after[l] {
			t.Errorf("once the session ended, /metrics lacks %q", l)
		}
	}
}
