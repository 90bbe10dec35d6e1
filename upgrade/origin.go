package upgrade

import (
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
)

// originPattern is one entry of --origin: [scheme://]host[:port]. An empty
// scheme stands for http and https, an empty port for any port.
type originPattern struct {
	scheme, host, port string
}

// parseOrigins parses the entries of --origin.
func parseOrigins(entries []string) ([]originPattern, error) {
	var patterns []originPattern
	for _, e := range entries {
		e = strings.TrimSpace(e)
		if e == "" {
			continue
		}
		var p originPattern
		rest := e
		if scheme, after, ok := strings.Cut(e, "://"); ok {
			p.scheme, rest = strings.ToLower(scheme), after
			if p.scheme != "http" && p.scheme != "https" {
				return nil, fmt.Errorf("--origin %q: scheme must be http or https", e)
			}
		}
		host, port, err := net.SplitHostPort(rest)
		if err != nil {
			host, port = strings.TrimSuffix(strings.TrimPrefix(rest, "["), "]"), ""
		}
		if host == "" || strings.ContainsAny(host, "/?#@") || strings.ContainsAny(port, "/?#@") {
			return nil, fmt.Errorf("--origin %q: want [scheme://]host[:port]", e)
		}
		p.host, p.port = strings.ToLower(host), port
		patterns = append(patterns, p)
	}
	return patterns, nil
}

// origin is a scheme, host and port: a request's Origin header, split,
// or where a client sent a request (sentTo). The port is filled in with
// the scheme's default when none is named, and an IPv6 host has no
// brackets.
type origin struct {
	scheme, host, port string
}

// parseOrigin parses an Origin header value; ok is false for a value that
// is not an http or https origin (such as "null").
func parseOrigin(value string) (o origin, ok bool) {
	u, err := url.Parse(value)
	if err != nil || u.Host == "" {
		return origin{}, false
	}
	o.scheme = strings.ToLower(u.Scheme)
	o.host, o.port = strings.ToLower(u.Hostname()), u.Port()
	if o.scheme != "http" && o.scheme != "https" {
		return origin{}, false
	}
	if o.port == "" {
		o.port = defaultPort(o.scheme)
	}
	return o, true
}

// allowedOrigin checks r's Origin against the --origin patterns and
// --sameorigin, which wants the host and port the client sent r to
// (sentTo), and returns why it is refused, or "" when it is allowed. A
// request with no Origin header comes from a client that is not a browser
// (a browser always sends one with a WebSocket handshake) and is allowed:
// such a client could send any Origin it likes anyway. --sameorigin does
// not stop a page whose own name its site makes lead to this server (DNS
// rebinding): its Origin and Host agree. On loopback, refuseUnservedHost does.
func allowedOrigin(r *http.Request, patterns []originPattern, sameOrigin bool) string {
	value := r.Header.Get("Origin")
	if value == "" || len(patterns) == 0 && !sameOrigin {
		return ""
	}
	o, ok := parseOrigin(value)
	if !ok {
		return fmt.Sprintf("origin %q is not an http or https origin", value)
	}
	if sameOrigin {
		to := sentTo(r)
		if o.host != strings.ToLower(to.host) || o.port != to.port {
			return fmt.Sprintf("origin %q is not the same as host %q", value, net.JoinHostPort(to.host, to.port))
		}
	}
	if len(patterns) == 0 {
		return ""
	}
	for _, p := range patterns {
		if (p.scheme == "" || p.scheme == o.scheme) && p.host == o.host && (p.port == "" || p.port == o.port) {
			return ""
		}
	}
	return fmt.Sprintf("origin %q is not allowed by --origin", value)
}
