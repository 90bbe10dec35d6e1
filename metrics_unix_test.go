//go:build unix

package main_test

// Health checks that need a Unix named pipe.

import (
	"net/http"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/coder/websocket"

	"wsbridge/bridge/wstest"
)

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
		if status, body := httpGet(t, maddr, path); status != http.StatusOK || body != "ok\n" {
			t.Errorf("%s: %d %q, want 200", path, status, body)
		}
	}
	c := s.dial("/")
	wstest.Expect(t, c, websocket.MessageText, "ready")
	s.cmd.Process.Signal(syscall.SIGTERM)
	wstest.Expect(t, c, websocket.MessageText, "draining")

	if status, _ := httpGet(t, maddr, "/readyz"); status != http.StatusServiceUnavailable {
		t.Errorf("/readyz while draining: %d, want 503", status)
	}
	if status, _ := httpGet(t, maddr, "/healthz"); status != http.StatusOK {
		t.Errorf("/healthz while draining: %d, want 200", status)
	}
	if !metricLines(t, maddr)["wsbridge_active_connections 1"] {
		t.Error("/metrics while draining does not count the session")
	}

	if err := os.WriteFile(fifo, []byte("x\n"), 0); err != nil {
		t.Fatal(err)
	}
	wstest.ExpectClose(t, c, websocket.StatusGoingAway, "server shutting down")
	if err := s.wait(); err != nil {
		t.Fatalf("wsbridge exited with %v", err)
	}
	if _, err := http.Get("http://" + maddr + "/healthz"); err == nil {
		t.Error("the metrics listener still answers after wsbridge exited")
	}
}
