package main_test

import (
	"net/http"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"

	"github.com/coder/websocket"

	"wsbridge/bridge/wstest"
)

// TestLogLevels has wsbridge log an event of each level and checks which
// each --loglevel shows. The server listens on a socket passed to it, as
// under systemd: it needs no "listening" event, which the quieter levels
// hide, to be reached.
func TestLogLevels(t *testing.T) {
	dir := t.TempDir()
	writeScript(t, filepath.Join(dir, "broken.cgi"), `echo "cgi oops" >&2`)
	// The events, by message, and the level each has.
	events := map[string]string{
		"no CGI program":                   "debug",
		"http":                             "access",
		"connected":                        "access",
		"disconnected":                     "access",
		"child wrote to stderr":            "info",
		"CGI program wrote to stderr":      "info",
		"refused CGI path":                 "warn",
		"CGI program gave no valid answer": "error",
	}
	order := []string{"trace", "debug", "access", "info", "warn", "error", "fatal"}
	rank := func(level string) int {
		for i, l := range order {
			if l == level {
				return i
			}
		}
		t.Fatalf("no level %q", level)
		return 0
	}
	for _, level := range order {
		t.Run(level, func(t *testing.T) {
			addr := "127.0.0.1:" + strconv.Itoa(freePort(t))
			s := startActivated(t, []string{"--listen=" + addr}, "--loglevel="+level, "--cgidir="+dir, "sh", "-c", "echo oops >&2")
			wstest.ExpectClose(t, dialWith(t, "ws://"+addr+"/", nil), websocket.StatusNormalClosure, "")
			for path, status := range map[string]int{"/missing": 404, "/a%2Fb": 403, "/broken.cgi": 500} {
				resp, err := http.Get("http://" + addr + path)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != status {
					t.Errorf("%s: %d, want %d", path, resp.StatusCode, status)
				}
			}
			// Every event is in the log once wsbridge has exited.
			s.cmd.Process.Signal(syscall.SIGTERM)
			if err := s.wait(); err != nil {
				t.Fatalf("wsbridge exited with %v", err)
			}
			logged := map[string]map[string]any{}
			for _, ev := range s.logs {
				logged[ev["message"].(string)] = ev
			}
			for message, evLevel := range events {
				ev, ok := logged[message]
				if want := rank(evLevel) >= rank(level); ok != want {
					t.Errorf("%s event %q shown: %v, want %v", evLevel, message, ok, want)
				}
				if ok && ev["level"] != evLevel {
					t.Errorf("%q has level %v, want %s", message, ev["level"], evLevel)
				}
			}
			for _, message := range []string{"child wrote to stderr", "CGI program wrote to stderr"} {
				if ev, ok := logged[message]; ok && (ev["stream"] != "stderr" || ev["stderr"] == nil) {
					t.Errorf("stderr event %v", ev)
				}
			}
			if level == "fatal" && len(s.logs) > 0 {
				t.Errorf("--loglevel=fatal logged %v", s.logs)
			}
		})
	}
}
