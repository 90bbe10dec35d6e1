package main

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/coder/websocket"
)

// scrape gets http://addr/path and returns the status and body.
func scrape(t *testing.T, addr, path string) (int, string) {
	t.Helper()
	resp, err := http.Get("http://" + addr + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(body)
}

// metricLines returns the lines of /metrics that are samples of
// wsbridge's own metrics.
func metricLines(t *testing.T, addr string) map[string]bool {
	t.Helper()
	status, body := scrape(t, addr, "/metrics")
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
	send(t, c, websocket.MessageText, "hello")
	expect(t, c, websocket.MessageText, "olleh")
	if during := metricLines(t, maddr); !during["wsbridge_active_connections 1"] || !during["wsbridge_active_processes 1"] {
		t.Error("during the session, /metrics does not count it active")
	}
	c.Close(websocket.StatusNormalClosure, "")
	s.event("disconnected")
	if _, _, err := websocket.Dial(ctx(t), "ws://"+s.addr+"/", &websocket.DialOptions{
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
		send(t, c, websocket.MessageText, msg)
		expect(t, c, websocket.MessageText, msg)
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

func TestReadyzWhileDraining(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	// Once its stdin is closed, the program goes on until the test
	// writes to the fifo: it ignores SIGINT and SIGTERM, and --closems
	// keeps SIGKILL away for 15 s.
	s := startServer(t, "--metrics-address=127.0.0.1:0", "--closems=5000", "sh", "-c",
		`trap '' INT TERM; echo ready; while read line; do :; done; echo draining; read x <"$1"; exit 0`, "sh", fifo)
	maddr := s.event("serving metrics")["address"].(string)
	for _, path := range []string{"/healthz", "/readyz"} {
		if status, body := scrape(t, maddr, path); status != http.StatusOK || body != "ok\n" {
			t.Errorf("%s: %d %q, want 200", path, status, body)
		}
	}
	c := s.dial("/")
	expect(t, c, websocket.MessageText, "ready")
	s.cmd.Process.Signal(syscall.SIGTERM)
	expect(t, c, websocket.MessageText, "draining")

	if status, _ := scrape(t, maddr, "/readyz"); status != http.StatusServiceUnavailable {
		t.Errorf("/readyz while draining: %d, want 503", status)
	}
	if status, _ := scrape(t, maddr, "/healthz"); status != http.StatusOK {
		t.Errorf("/healthz while draining: %d, want 200", status)
	}
	if !metricLines(t, maddr)["wsbridge_active_connections 1"] {
		t.Error("/metrics while draining does not count the session")
	}

	if err := os.WriteFile(fifo, []byte("x\n"), 0); err != nil {
		t.Fatal(err)
	}
	expectClose(t, c, websocket.StatusGoingAway, "server shutting down")
	if err := s.wait(); err != nil {
		t.Fatalf("wsbridge exited with %v", err)
	}
	if _, err := http.Get("http://" + maddr + "/healthz"); err == nil {
		t.Error("the metrics listener still answers after wsbridge exited")
	}
}
