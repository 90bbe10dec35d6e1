package upgrade

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// refusedHost is the refusal reason of an upgrade whose Host names a
// host that is not served on loopback.
const refusedHost = "host"

// allowedHosts are the host names of --allowed-host, lower case and
// without a trailing dot: names are served as they are, suffixes
// (".example.com") for the name and every name under it.
type allowedHosts struct {
	names, suffixes []string
}

// parseAllowedHosts parses the entries of --allowed-host: each a host
// name, or a name starting with "." for it and its subdomains.
func parseAllowedHosts(entries []string) (allowedHosts, error) {
	var a allowedHosts
	for _, e := range entries {
		name := strings.ToLower(strings.TrimSuffix(strings.TrimSpace(e), "."))
		if name == "" {
			continue
		}
		bare, suffix := strings.CutPrefix(name, ".")
		if _, port, ok := splitForwardedHost(bare); !ok || port != "" || strings.HasPrefix(bare, "[") {
			return allowedHosts{}, fmt.Errorf("--allowed-host %q: want a host name such as example.com, or .example.com for it and its subdomains", e)
		}
		if suffix {
			a.suffixes = append(a.suffixes, name)
		}
		a.names = append(a.names, bare)
	}
	return a, nil
}

// allows reports whether host, as requestHost gives it, may be served on
// loopback: an IP address, localhost or a name under .localhost, which no
// other site's page can make a browser send to 127.0.0.1, or a name of a.
func (a allowedHosts) allows(host string) bool {
	if _, err := netip.ParseAddr(host); err == nil {
		return true
	}
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	for _, n := range a.names {
		if host == n {
			return true
		}
	}
	for _, s := range a.suffixes {
		if strings.HasSuffix(host, s) {
			return true
		}
	}
	return false
}

// loopbackOnly reports whether listeners have a TCP listener and every
// one of them is on a loopback address; unix sockets are not counted.
func loopbackOnly(listeners []net.Listener) bool {
	tcp := false
	for _, ln := range listeners {
		addr, ok := ln.Addr().(*net.TCPAddr)
		if !ok {
			continue
		}
		if !addr.IP.IsLoopback() {
			return false
		}
		tcp = true
	}
	return tcp
}

// refuseUnservedHost answers 403 to a request that a page of another site could
// have sent by DNS rebinding, and reports whether it did: when wsbridge
// listens on loopback only, a request over TCP whose Host names a host
// that allowedHosts does not allow. The Host that counts is the one the
// connection's own client sent, even from a --trusted-proxy: a
// rebinding page can add X-Forwarded-Host or Forwarded to its requests,
// never change Host. The answer says which flag serves the host, and a
// warning is logged.
func (s *Server) refuseUnservedHost(w http.ResponseWriter, r *http.Request) bool {
	if !s.checkHost.Load() || isUnixSocket(r) {
		return false
	}
	host, _ := requestHost(r)
	if s.hosts.allows(host) {
		return false
	}
	s.cfg.Log.Warn().Str("remote", r.RemoteAddr).Str("host", host).Str("path", r.URL.Path).
		Msg("refused a request for a host not served on loopback: --allowed-host serves it")
	body := fmt.Sprintf("403 forbidden: host %q is not served: wsbridge listens on loopback only, "+
		"where a page of another site could reach it under such a name (DNS rebinding); "+
		"--allowed-host=%s serves it", host, host)
	if isUpgrade(r) {
		s.metrics.refused(refusedHost)
		http.Error(w, body, http.StatusForbidden)
		s.cfg.AccessLog.Log().Str("remote", r.RemoteAddr).Str("path", r.URL.Path).
			Int("status", http.StatusForbidden).Str("reason", fmt.Sprintf("host %q is not served on loopback", host)).Msg("refused")
		return true
	}
	s.logged("", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, body, http.StatusForbidden)
	})).ServeHTTP(w, r)
	return true
}
