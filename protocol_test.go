package main_test

import (
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/coder/websocket"

	"wsbridge/bridge/wstest"
)

func TestProtocolNegotiation(t *testing.T) {
	s := startServer(t, "--protocol=chat.v2,chat.v1", "--metrics-address=127.0.0.1:0", "sh", "-c", `echo "[$WEBSOCKET_PROTOCOL]"`)
	maddr := s.event("serving metrics")["address"].(string)
	for _, tc := range []struct {
		offers []string
		want   string
	}{
		{[]string{"chat.v1", "chat.v2"}, "chat.v1"}, // the client's first choice that is served
		{[]string{"chat.v3", "chat.v2"}, "chat.v2"},
		{nil, ""}, // a client that asks for none gets none
	} {
		c, resp, err := websocket.Dial(wstest.Context(t), "ws://"+s.addr+"/", &websocket.DialOptions{Subprotocols: tc.offers})
		if err != nil {
			t.Fatalf("offering %q: %v", tc.offers, err)
		}
		if got := resp.Header.Get("Sec-WebSocket-Protocol"); got != tc.want {
			t.Errorf("offering %q: Sec-WebSocket-Protocol %q, want %q", tc.offers, got, tc.want)
		}
		wstest.Expect(t, c, websocket.MessageText, "["+tc.want+"]")
		wstest.ExpectClose(t, c, websocket.StatusNormalClosure, "")
	}

	// Offers none of which is served: 400, before any program starts.
	if status := dialStatus(t, "ws://"+s.addr+"/", &websocket.DialOptions{Subprotocols: []string{"chat.v3"}}); status != http.StatusBadRequest {
		t.Fatalf("offering chat.v3: %d, want 400", status)
	}
	if ev := s.event("refused"); ev["status"] != float64(400) || !strings.Contains(ev["reason"].(string), "chat.v3") {
		t.Errorf("refused event %v", ev)
	}
	if lines := metricLines(t, maddr); !lines[`wsbridge_upgrade_refusals_total{reason="protocol"} 1`] ||
		!lines[`wsbridge_connections_total{outcome="accepted"} 3`] {
		t.Error("/metrics does not count the refusal for the protocol and the three sessions")
	}
}

func TestProtocolWithDirAndCGI(t *testing.T) {
	// Every program of --dir gets the protocol; CGI programs, answering
	// plain HTTP, have none to get.
	dir := t.TempDir()
	writeScript(t, filepath.Join(dir, "proto.sh"), `echo "[$WEBSOCKET_PROTOCOL]"`)
	writeScript(t, filepath.Join(dir, "env.cgi"), `printf 'Content-Type: text/plain\n\n'; env`)
	s := startServer(t, "--dir="+dir, "--cgidir="+dir, "--protocol=v1")
	c := dialWith(t, "ws://"+s.addr+"/proto.sh", &websocket.DialOptions{Subprotocols: []string{"v1"}})
	wstest.Expect(t, c, websocket.MessageText, "[v1]")
	if status := dialStatus(t, "ws://"+s.addr+"/proto.sh", &websocket.DialOptions{Subprotocols: []string{"v2"}}); status != http.StatusBadRequest {
		t.Errorf("offering v2: %d, want 400", status)
	}
	req, _ := http.NewRequest("GET", "http://"+s.addr+"/env.cgi", nil)
	req.Header.Set("Sec-WebSocket-Protocol", "v1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body := new(strings.Builder)
	resp.Write(body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || strings.Contains(body.String(), "\nWEBSOCKET_PROTOCOL=") ||
		!strings.Contains(body.String(), "\nHTTP_SEC_WEBSOCKET_PROTOCOL=v1\n") {
		t.Errorf("CGI answer %s", body)
	}
}
