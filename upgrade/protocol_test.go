package upgrade

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"wsbridge/process"
)

func TestParseProtocols(t *testing.T) {
	got, err := parseProtocols([]string{"chat.v2", " graphql-transport-ws ", "a!#$%&'*+-.^_`|~9"})
	if err != nil || len(got) != 3 || got[1] != "graphql-transport-ws" {
		t.Errorf("got %q, %v", got, err)
	}
	for _, bad := range []string{"", " ", "two words", "a,b", "v/1", "x=y", `"q"`, "é", "tab\there", "[v1]"} {
		if _, err := parseProtocols([]string{"ok", bad}); err == nil {
			t.Errorf("%q taken for a subprotocol name", bad)
		}
	}
}

func TestChooseProtocol(t *testing.T) {
	served := []string{"chat.v2", "chat.v1"}
	for _, tc := range []struct {
		served []string
		offers []string // Sec-WebSocket-Protocol headers
		want   string
		ok     bool
	}{
		{served, []string{"chat.v1, chat.v2"}, "chat.v1", true}, // the client's order, not the server's
		{served, []string{"other, chat.v2"}, "chat.v2", true},
		{served, []string{"other", " chat.v1 "}, "chat.v1", true}, // several headers are one list
		{served, []string{"CHAT.V1, chat.v1"}, "chat.v1", true},   // compared exactly
		{served, nil, "", true},                                   // no offer: no protocol
		{served, []string{""}, "", true},
		{served, []string{" , "}, "", true},
		{served, []string{"other"}, "", false},
		{served, []string{"CHAT.V1"}, "", false},
		{nil, []string{"chat.v1"}, "", true}, // nothing served: offers are not looked at
	} {
		r, _ := http.NewRequest("GET", "/", nil)
		for _, o := range tc.offers {
			r.Header.Add("Sec-WebSocket-Protocol", o)
		}
		got, ok := chooseProtocol(r, tc.served)
		if got != tc.want || ok != tc.ok {
			t.Errorf("serving %q, offers %q: got %q, %v; want %q, %v", tc.served, tc.offers, got, ok, tc.want, tc.ok)
		}
	}
}

func TestSessionProtocol(t *testing.T) {
	cfg := Config{Process: process.Config{Path: "/bin/sh", Args: []string{"-c", `echo "[$WEBSOCKET_PROTOCOL]"`}}}
	cfg.Protocols = []string{"chat.v2", "chat.v1"}
	srv, addr, logs := startServer(t, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for _, tc := range []struct {
		offers []string
		want   string
	}{
		{[]string{"chat.v1", "chat.v2"}, "chat.v1"},
		{[]string{"CHAT.V2", "chat.v2"}, "chat.v2"},
		{nil, ""},
	} {
		c, resp, err := websocket.Dial(ctx, "ws://"+addr+"/", &websocket.DialOptions{Subprotocols: tc.offers})
		if err != nil {
			t.Fatalf("offering %q: %v", tc.offers, err)
		}
		if got := resp.Header.Values("Sec-WebSocket-Protocol"); c.Subprotocol() != tc.want || len(got) > 1 {
			t.Errorf("offering %q: answered %q, want %q", tc.offers, got, tc.want)
		}
		if _, msg, err := c.Read(ctx); err != nil || string(msg) != "["+tc.want+"]" {
			t.Errorf("offering %q: the child saw %q (%v), want [%s]", tc.offers, msg, err, tc.want)
		}
		c.CloseNow()
	}

	_, resp, err := websocket.Dial(ctx, "ws://"+addr+"/", &websocket.DialOptions{Subprotocols: []string{"chat.v3", "CHAT.V1"}})
	if err == nil || resp == nil || resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("offering only what is not served: %v, %v; want 400", resp, err)
	}
	ev := waitEvent(t, logs, "refused")
	if ev["status"] != float64(400) || ev["reason"] != `no subprotocol offered is served: "chat.v3,CHAT.V1"` {
		t.Errorf("refused event %v", ev)
	}
	if n := testutil.ToFloat64(srv.metrics.refusals.WithLabelValues(refusedProtocol)); n != 1 {
		t.Errorf("%v refusals for the protocol, want 1", n)
	}
	if n := len(logs.events("connected")); n != 3 {
		t.Errorf("%d children started, want 3", n)
	}
}

func TestBadProtocolName(t *testing.T) {
	cfg := catConfig()
	cfg.Protocols = []string{"chat/1"}
	if _, err := NewServer(cfg); err == nil || !strings.Contains(err.Error(), `--protocol "chat/1"`) {
		t.Errorf("NewServer: %v", err)
	}
}
