package upgrade

import (
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"
)

// ServeHTTP routes a request: a WebSocket upgrade becomes a session; a
// plain request gets the dev console, a CGI program, a static file or 404,
// the first that applies, as websocketd does. On loopback, a request for a
// host that is not served gets 403 first (refuseUnservedHost).
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	addHeaders(w, s.cfg.Headers)
	if s.refuseUnservedHost(w, r) {
		return
	}
	if isUpgrade(r) {
		addHeaders(w, s.cfg.UpgradeHeaders)
		s.serveSession(w, r)
		return
	}
	addHeaders(w, s.cfg.HTTPHeaders)
	id, refusal := s.authenticate(r)
	s.logged(id.user, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if refusal != "" {
			challenge(w.Header())
			http.Error(w, "401 unauthorized", http.StatusUnauthorized)
			return
		}
		s.servePlain(w, withIdentity(r, id))
	})).ServeHTTP(w, r)
}

// servePlain answers a request that is not an upgrade.
func (s *Server) servePlain(w http.ResponseWriter, r *http.Request) {
	if redirectToClean(w, r) {
		return
	}
	if s.cfg.DevConsole && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
		devConsole(w, r)
		return
	}
	s.plain.ServeHTTP(w, r)
}

// redirectToClean answers a request whose path is not clean ("//",
// "/./", "/../", "/sub/.." in it, once unescaped) with 301 to the cleaned
// path, query kept, and reports whether it did, as websocketd's
// http.ServeMux does. CONNECT requests, whose target is no path, are left
// alone.
func redirectToClean(w http.ResponseWriter, r *http.Request) bool {
	if r.Method == http.MethodConnect {
		return false
	}
	clean := cleanPath(r.URL.Path)
	if clean == r.URL.Path {
		return false
	}
	u := &url.URL{Path: clean, RawQuery: r.URL.RawQuery}
	http.Redirect(w, r, u.String(), http.StatusMovedPermanently)
	return true
}

// cleanPath returns p rooted and cleaned by path.Clean, a trailing slash
// kept, as http.ServeMux cleans paths.
func cleanPath(p string) string {
	if !strings.HasPrefix(p, "/") {
		p = "/" + p
	}
	clean := path.Clean(p)
	if strings.HasSuffix(p, "/") && clean != "/" {
		clean += "/"
	}
	return clean
}

// notFound answers 404 as websocketd does.
func notFound(w http.ResponseWriter, _ *http.Request) {
	http.Error(w, "404 page not found", http.StatusNotFound)
}

// notUpgraded answers a plain request that no file or CGI program
// answered: 404. When an upgrade at its path would have reached a
// program, the answer says so, and which header the request lacked to be
// an upgrade; when the request is a WebSocket handshake all the same (it
// has a Sec-WebSocket-Key, or Upgrade: websocket), a warning is logged
// too. A proxy that does not pass Upgrade and Connection on is then found
// at once.
func (s *Server) notUpgraded(w http.ResponseWriter, r *http.Request) {
	if s.dir != nil {
		if _, err := resolveScript(s.dir, s.cfg.Dir, r.URL.EscapedPath()); err != nil {
			notFound(w, r)
			return
		}
	}
	missing := missingUpgrade(r)
	if r.Header.Get("Sec-WebSocket-Key") != "" || headerHasToken(r.Header, "Upgrade", "websocket") {
		s.cfg.Log.Warn().Str("remote", r.RemoteAddr).Str("path", r.URL.Path).Str("reason", "no "+missing).
			Msg(lostUpgrade)
	}
	http.Error(w, "404 page not found: this is a WebSocket endpoint and the request has no "+missing+
		" (a proxy in front must pass Upgrade and Connection on)", http.StatusNotFound)
}

// lostUpgrade is the warning logged for a WebSocket handshake that came
// without its Upgrade or Connection header.
const lostUpgrade = "WebSocket handshake that lost its upgrade headers: a proxy in front must pass Upgrade and Connection on"

// missingUpgrade names the headers of a WebSocket upgrade that r lacks.
func missingUpgrade(r *http.Request) string {
	upgrade := headerHasToken(r.Header, "Upgrade", "websocket")
	connection := headerHasToken(r.Header, "Connection", "upgrade")
	switch {
	case !upgrade && !connection:
		return `"Upgrade: websocket" and "Connection: Upgrade" headers`
	case !upgrade:
		return `"Upgrade: websocket" header`
	default:
		return `"Connection: Upgrade" header`
	}
}

// addHeaders adds the extra headers of --header and its kin to an answer.
func addHeaders(w http.ResponseWriter, h http.Header) {
	for name, values := range h {
		for _, v := range values {
			w.Header().Add(name, v)
		}
	}
}

// logged wraps h so that each request it answers gets an access event,
// which names user unless it is "".
func (s *Server) logged(user string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		h.ServeHTTP(rec, r)
		ev := s.cfg.AccessLog.Log()
		if user != "" {
			ev = ev.Str("user", user)
		}
		ev.Str("remote", r.RemoteAddr).
			Str("method", r.Method).
			Str("path", r.URL.Path).
			Int("status", rec.status).
			Dur("duration_ms", time.Since(start)).
			Msg("http")
	})
}

// statusRecorder remembers the status an answer was given.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(status int) {
	r.status = status
	r.ResponseWriter.WriteHeader(status)
}

// Unwrap lets http.ResponseController reach the connection's own writer.
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// Flush passes flushes on, for CGI programs that stream.
func (r *statusRecorder) Flush() {
	if f, ok := r.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
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
