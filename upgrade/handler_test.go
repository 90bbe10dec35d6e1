package upgrade

import (
	"net/http"
	"testing"
)

func TestIsUpgrade(t *testing.T) {
	for _, tc := range []struct {
		connection, upgrade string
		want                bool
	}{
		{"Upgrade", "websocket", true},
		{"keep-alive, Upgrade", "WebSocket", true},
		{"keep-alive", "websocket", false},
		{"Upgrade", "h2c", false},
		{"", "", false},
	} {
		h := http.Header{}
		if tc.connection != "" {
			h.Set("Connection", tc.connection)
		}
		if tc.upgrade != "" {
			h.Set("Upgrade", tc.upgrade)
		}
		if got := isUpgrade(&http.Request{Header: h}); got != tc.want {
			t.Errorf("Connection %q, Upgrade %q: %v", tc.connection, tc.upgrade, got)
		}
	}
}
