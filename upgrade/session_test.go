package upgrade

import (
	"context"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// The names of the access events' fields are documented in
// examples/monitoring/README.md; scripts and log pipelines depend on them.
func TestAccessEventFields(t *testing.T) {
	cfg := catConfig()
	cfg.Origins = []string{"example.com"}
	_, addr, logs := startServer(t, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	c, _, err := websocket.Dial(ctx, "ws://"+addr+"/x", nil)
	if err != nil {
		t.Fatal(err)
	}
	c.Write(ctx, websocket.MessageText, []byte("hi"))
	c.Read(ctx)
	c.Close(websocket.StatusNormalClosure, "bye")
	waitEvent(t, logs, "disconnected")
	if _, _, err := websocket.Dial(ctx, "ws://"+addr+"/x", &websocket.DialOptions{
		HTTPHeader: http.Header{"Origin": {"http://elsewhere.example"}},
	}); err == nil {
		t.Fatal("a foreign origin was let through")
	}
	resp, err := http.Get("http://" + addr + "/plain")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()

	for message, want := range map[string][]string{
		"connected":    {"id", "remote", "path", "pid"},
		"disconnected": {"id", "remote", "path", "pid", "exit", "duration_ms", "messages_in", "messages_out", "bytes_in", "bytes_out", "close_code", "close_reason"},
		"refused":      {"id", "remote", "path", "status", "reason"},
		"http":         {"remote", "method", "path", "status", "duration_ms"},
	} {
		ev := waitEvent(t, logs, message)
		var got []string
		for k := range ev {
			if k != "message" {
				got = append(got, k)
			}
		}
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("%s event has fields %q, want %q", message, got, want)
		}
	}
}
