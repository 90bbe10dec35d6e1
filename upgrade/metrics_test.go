//go:build unix

package upgrade

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"wsbridge/process"
)

func TestExitLabel(t *testing.T) {
	exitErr := func(script string) error {
		p, err := process.Start(process.Config{Path: "/bin/sh", Args: []string{"-c", script}})
		if err != nil {
			t.Fatal(err)
		}
		p.Stop()
		io.Copy(io.Discard, p.Stdout())
		io.Copy(io.Discard, p.Stderr())
		if err := p.Wait(); err != nil {
			return err
		}
		t.Fatalf("%q exited with status 0", script)
		return nil
	}
	for _, tt := range []struct {
		err  error
		want string
	}{
		{nil, "0"},
		{exitErr("exit 3"), "3"},
		{exitErr("kill -KILL $$"), "killed"},
		{exitErr("kill -TERM $$"), "terminated"},
		{errors.New("wait: no child processes"), "error"},
	} {
		if got := exitLabel(tt.err); got != tt.want {
			t.Errorf("exitLabel(%v) = %q, want %q", tt.err, got, tt.want)
		}
	}
}

func TestBuildInfo(t *testing.T) {
	want := fmt.Sprintf(`
# HELP wsbridge_build_info Always 1; its labels say what wsbridge was built from: the module version, the revision and the Go version.
# TYPE wsbridge_build_info gauge
wsbridge_build_info{goversion=%q,revision="8a1a323",version="1.2.3"} 1
`, runtime.Version())
	if err := testutil.CollectAndCompare(buildInfo("1.2.3", "8a1a323"), strings.NewReader(want)); err != nil {
		t.Error(err)
	}
}

// serveMetrics serves srv's metrics on 127.0.0.1 and returns their
// address; ServeMetrics must have returned http.ErrServerClosed by the end
// of the test.
func serveMetrics(t *testing.T, srv *Server) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.ServeMetrics(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		if err := <-served; !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("ServeMetrics: %v", err)
		}
	})
	return ln.Addr().String()
}

func TestMetricsOfSessions(t *testing.T) {
	cfg := catConfig()
	cfg.Origins = []string{"example.com"}
	srv, addr, logs := startServer(t, cfg)
	maddr := serveMetrics(t, srv)
	m := srv.metrics

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws://"+addr+"/", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	for _, msg := range []string{"hi", "hello"} {
		c.Write(ctx, websocket.MessageText, []byte(msg))
		if _, got, err := c.Read(ctx); err != nil || string(got) != msg {
			t.Fatalf("got %q, %v", got, err)
		}
	}
	if a, p := testutil.ToFloat64(m.active), testutil.ToFloat64(m.processes); a != 1 || p != 1 {
		t.Errorf("during the session: %v active connections, %v processes, want 1 and 1", a, p)
	}
	c.Close(websocket.StatusNormalClosure, "")
	waitEvent(t, logs, "disconnected")

	_, _, err = websocket.Dial(ctx, "ws://"+addr+"/", &websocket.DialOptions{
		HTTPHeader: http.Header{"Origin": {"http://elsewhere.example"}},
	})
	if err == nil {
		t.Fatal("a foreign origin was let through")
	}

	for _, tt := range []struct {
		name string
		got  float64
		want float64
	}{
		{"accepted", testutil.ToFloat64(m.connections.WithLabelValues("accepted")), 1},
		{"refused", testutil.ToFloat64(m.connections.WithLabelValues("refused")), 1},
		{"failed", testutil.ToFloat64(m.connections.WithLabelValues("failed")), 0},
		{"refused for origin", testutil.ToFloat64(m.refusals.WithLabelValues(refusedOrigin)), 1},
		{"refused for maxforks", testutil.ToFloat64(m.refusals.WithLabelValues(refusedMaxForks)), 0},
		{"active connections", testutil.ToFloat64(m.active), 0},
		{"active processes", testutil.ToFloat64(m.processes), 0},
		{"exits with 0", testutil.ToFloat64(m.exits.WithLabelValues("0")), 1},
	} {
		if tt.got != tt.want {
			t.Errorf("%s: %v, want %v", tt.name, tt.got, tt.want)
		}
	}

	status, body := get(t, "http://"+maddr+"/metrics")
	if status != http.StatusOK {
		t.Fatalf("/metrics: %d %q", status, body)
	}
	for _, line := range []string{
		`wsbridge_connections_total{outcome="accepted"} 1`,
		`wsbridge_upgrade_refusals_total{reason="origin"} 1`,
		`wsbridge_messages_total{direction="in"} 2`,
		`wsbridge_messages_total{direction="out"} 2`,
		`wsbridge_message_bytes_total{direction="in"} 7`,
		`wsbridge_message_bytes_total{direction="out"} 7`,
		`wsbridge_process_exits_total{status="0"} 1`,
		`wsbridge_session_duration_seconds_count 1`,
		`wsbridge_active_connections 0`,
		`# TYPE go_goroutines gauge`,
		`# TYPE process_open_fds gauge`,
	} {
		if !strings.Contains(body, line+"\n") {
			t.Errorf("/metrics lacks %q", line)
		}
	}
}

func TestMetricsFailedStart(t *testing.T) {
	srv, addr, logs := startServer(t, Config{Process: process.Config{Path: filepath.Join(t.TempDir(), "gone")}})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws://"+addr+"/", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	if _, _, err := c.Read(ctx); websocket.CloseStatus(err) != websocket.StatusInternalError {
		t.Fatalf("got %v, want 1011", err)
	}
	waitEvent(t, logs, "could not start program")
	if got := testutil.ToFloat64(srv.metrics.connections.WithLabelValues("failed")); got != 1 {
		t.Errorf("failed: %v, want 1", got)
	}
	if got := testutil.ToFloat64(srv.metrics.active); got != 0 {
		t.Errorf("active connections: %v, want 0", got)
	}
}

func TestReadyzWhileDraining(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	// Once its stdin is closed, the program goes on until the test
	// writes to the fifo: it ignores SIGINT and SIGTERM, and the grace
	// keeps SIGKILL away for 15 s.
	srv, addr, _ := startServer(t, Config{Process: process.Config{
		Path:  "/bin/sh",
		Args:  []string{"-c", `trap '' INT TERM; echo ready; while read line; do :; done; echo draining; read x <"$1"; exit 0`, "sh", fifo},
		PTY:   true,
		Grace: 5 * time.Second,
	}})
	maddr := serveMetrics(t, srv)
	for _, path := range []string{"/healthz", "/readyz"} {
		if status, body := get(t, "http://"+maddr+path); status != http.StatusOK || body != "ok\n" {
			t.Errorf("%s before shutdown: %d %q", path, status, body)
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws://"+addr+"/", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	expectMessage := func(want string) {
		t.Helper()
		if _, got, err := c.Read(ctx); err != nil || string(got) != want {
			t.Fatalf("got %q, %v, want %q", got, err, want)
		}
	}
	expectMessage("ready")
	shutdown := make(chan error, 1)
	go func() { shutdown <- srv.Shutdown(ctx) }()
	expectMessage("draining")

	if status, _ := get(t, "http://"+maddr+"/readyz"); status != http.StatusServiceUnavailable {
		t.Errorf("/readyz while draining: %d, want 503", status)
	}
	if status, _ := get(t, "http://"+maddr+"/healthz"); status != http.StatusOK {
		t.Errorf("/healthz while draining: %d, want 200", status)
	}
	if status, body := get(t, "http://"+maddr+"/metrics"); status != http.StatusOK || !strings.Contains(body, "wsbridge_active_connections 1\n") {
		t.Errorf("/metrics while draining: %d, active connections not 1", status)
	}

	if err := os.WriteFile(fifo, []byte("x\n"), 0); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.Read(ctx); websocket.CloseStatus(err) != websocket.StatusGoingAway {
		t.Fatalf("got %v, want 1001", err)
	}
	if err := <-shutdown; err != nil && !errors.Is(err, http.ErrServerClosed) {
		t.Fatalf("Shutdown: %v", err)
	}
	if _, err := http.Get("http://" + maddr + "/healthz"); err == nil {
		t.Error("the metrics listener still answers after shutdown")
	}
}
