package upgrade

import (
	"net"
	"strings"
)

// warnIfOpen logs a warning when the server listens beyond loopback and
// nothing stands between a web page and the program: no --origin, no
// --sameorigin and no authentication. Any page a browser on the network
// visits can then open a WebSocket to it (cross-site WebSocket hijacking).
// The defaults are websocketd's, so this is a warning, not an error.
func (s *Server) warnIfOpen(listeners []net.Listener) {
	if s.cfg.SameOrigin || len(s.origins) > 0 || s.basic != nil || s.cfg.AuthHeader != "" {
		return
	}
	var open []string
	for _, ln := range listeners {
		if addr, ok := ln.Addr().(*net.TCPAddr); ok && !addr.IP.IsLoopback() {
			open = append(open, addr.String())
		}
	}
	if len(open) == 0 {
		return
	}
	s.cfg.Log.Warn().Str("address", strings.Join(open, ", ")).
		Msg("listening beyond loopback with no --origin, --sameorigin or authentication: any web page a browser visits can drive the program")
}
