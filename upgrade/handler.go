package upgrade

import (
	"net/http"
	"strings"
	"time"
)

// ServeHTTP upgrades WebSocket requests on any path to a session with the
// configured program and answers every other request with 404, as
// websocketd does.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if isUpgrade(r) {
		s.serveSession(w, r)
		return
	}
	start := time.Now()
	http.Error(w, "404 page not found", http.StatusNotFound)
	s.cfg.AccessLog.Log().
		Str("remote", r.RemoteAddr).
		Str("method", r.Method).
		Str("path", r.URL.Path).
		Int("status", http.StatusNotFound).
		Dur("duration_ms", time.Since(start)).
		Msg("http")
}

// isUpgrade reports whether r asks to become a WebSocket. Whether it does
// so correctly is for the handshake to check.
func isUpgrade(r *http.Request) bool {
	return headerHasToken(r.Header, "Connection", "upgrade") &&
		headerHasToken(r.Header, "Upgrade", "websocket")
}

// headerHasToken reports whether the comma-separated header name lists
// token, case-insensitively.
func headerHasToken(h http.Header, name, token string) bool {
	for _, v := range h.Values(name) {
		for _, t := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}
