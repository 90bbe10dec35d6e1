package upgrade

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
)

// trustedProxies are the peers, as address ranges, whose forwarding
// headers say who the client is and what it connected to.
type trustedProxies []netip.Prefix

// parseTrustedProxies parses the entries of --trusted-proxy: each an
// address range in CIDR notation, or a single address.
func parseTrustedProxies(entries []string) (trustedProxies, error) {
	var t trustedProxies
	for _, e := range entries {
		s := strings.TrimSpace(e)
		if p, err := netip.ParsePrefix(s); err == nil {
			t = append(t, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(s)
		if err != nil || a.Zone() != "" {
			return nil, fmt.Errorf("--trusted-proxy %q: want an IP address or a CIDR range such as 10.0.0.0/8", e)
		}
		t = append(t, netip.PrefixFrom(a, a.BitLen()))
	}
	return t, nil
}

// contains reports whether a is in one of the ranges.
func (t trustedProxies) contains(a netip.Addr) bool {
	a = a.WithZone("").Unmap()
	for _, p := range t {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// trusts reports whether the peer at remoteAddr, an address and port, is
// in one of the ranges.
func (t trustedProxies) trusts(remoteAddr string) bool {
	if len(t) == 0 {
		return false
	}
	peer, err := netip.ParseAddrPort(remoteAddr)
	return err == nil && t.contains(peer.Addr())
}

// forwarded returns what the headers of r say of its client when r comes
// from a trusted peer (ok is false otherwise): the client's address, in
// the form of http.Request.RemoteAddr, and where the client sent the
// request.
//
// The headers of one kind are read, never a mix, for a proxy sets or
// appends the headers of its own kind and passes the client's others on
// untouched. With an X-Forwarded-For or X-Real-IP header, as nginx and
// most proxies send, they are X-Forwarded-For and X-Real-IP (clientAddr),
// X-Forwarded-Proto, X-Forwarded-Host and X-Forwarded-Port, of each the
// last value, the one the nearest proxy set. Without either but with a
// Forwarded header (RFC 7239), it is Forwarded alone (fromForwarded).
func (t trustedProxies) forwarded(r *http.Request) (addr string, to origin, ok bool) {
	if !t.trusts(r.RemoteAddr) {
		return r.RemoteAddr, origin{}, false
	}
	if r.Header.Get("X-Forwarded-For") == "" && r.Header.Get("X-Real-IP") == "" && r.Header.Get("Forwarded") != "" {
		addr, to = t.fromForwarded(r)
		return addr, to, true
	}
	to = forwardedOrigin(r,
		lastValue(r.Header, "X-Forwarded-Proto"),
		lastValue(r.Header, "X-Forwarded-Host"),
		lastValue(r.Header, "X-Forwarded-Port"))
	return t.clientAddr(r), to, true
}

// fromForwarded is forwarded for a request whose Forwarded header names
// the client. Its elements are read from the right, one per proxy, as
// clientAddr reads X-Forwarded-For: the element that decides is the
// rightmost whose for= is not a trusted address (the leftmost when all
// are). A trusted proxy that the client itself connected to added it, so
// its proto= and host= say what the client saw too. When its for= is no
// address ("unknown", an obfuscated name, or none), the client's address
// is not known and the peer's is kept. A header field that does not parse
// counts as one such element.
func (t trustedProxies) fromForwarded(r *http.Request) (addr string, to origin) {
	var elements []forwardedElement
	for _, field := range r.Header.Values("Forwarded") {
		elements = append(elements, parseForwardedField(field)...)
	}
	var e forwardedElement
	addr = r.RemoteAddr
	for i := len(elements) - 1; i >= 0; i-- {
		e = elements[i]
		a, clientAddr, ok := parseForwarded(e.client)
		if !ok {
			break
		}
		if !t.contains(a) || i == 0 {
			addr = clientAddr
			break
		}
	}
	return addr, forwardedOrigin(r, e.proto, e.host, "")
}

// forwardedOrigin returns where the client sent r as a proxy names it:
// the scheme proto, the host and port of host (host[:port], IPv6 in
// brackets), and port when host has none. What is empty or not valid is
// r's own (ownOrigin), and with no port at all it is the scheme's default.
func forwardedOrigin(r *http.Request, proto, host, port string) origin {
	to := ownOrigin(r)
	if scheme, ok := forwardedProto(proto); ok {
		to.scheme = scheme
	}
	h, p, ok := splitForwardedHost(host)
	if !ok {
		h, p = requestHost(r)
	}
	if p == "" {
		p = port
	}
	to.host, to.port = h, portOr(p, to.scheme)
	return to
}

// clientAddr returns the address of the client r, which comes from a
// trusted peer, comes from, in the form of http.Request.RemoteAddr: the
// rightmost address of X-Forwarded-For that is not itself trusted (the
// leftmost one when all are), or, when there is no X-Forwarded-For,
// X-Real-IP. The addresses a proxy forwards seldom carry a port; the
// result then is the address alone. When the entry that decides is not an
// address ("unknown", say), the client is not known and the peer is kept.
func (t trustedProxies) clientAddr(r *http.Request) string {
	if xff := r.Header.Values("X-Forwarded-For"); len(xff) > 0 {
		// Several headers are one list, in order.
		entries := strings.Split(strings.Join(xff, ","), ",")
		for i := len(entries) - 1; i >= 0; i-- {
			a, addr, ok := parseForwarded(entries[i])
			switch {
			case !ok:
				return r.RemoteAddr
			case !t.contains(a) || i == 0:
				return addr
			}
		}
	}
	if xri := r.Header.Values("X-Real-IP"); len(xri) == 1 {
		if _, addr, ok := parseForwarded(xri[0]); ok {
			return addr
		}
	}
	return r.RemoteAddr
}

// parseForwarded parses one forwarded address: an IPv4 or IPv6 address,
// IPv6 possibly in brackets, possibly with a port. It returns the address
// and its text in the form of http.Request.RemoteAddr, without any zone.
func parseForwarded(s string) (a netip.Addr, remoteAddr string, ok bool) {
	s = strings.TrimSpace(s)
	if ap, err := netip.ParseAddrPort(s); err == nil {
		ap = netip.AddrPortFrom(ap.Addr().WithZone("").Unmap(), ap.Port())
		return ap.Addr(), ap.String(), true
	}
	if strings.HasPrefix(s, "[") && strings.HasSuffix(s, "]") {
		s = s[1 : len(s)-1]
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}, "", false
	}
	a = a.WithZone("").Unmap()
	return a, a.String(), true
}

// sentToKey is the context key under which fromClient keeps where the
// client of a request from a trusted proxy sent it.
type sentToKey struct{}

// withSentTo returns r with to as where its client sent it.
func withSentTo(r *http.Request, to origin) *http.Request {
	return r.WithContext(context.WithValue(r.Context(), sentToKey{}, to))
}

// sentTo returns where the client of r sent it: the scheme, host and port
// it connected to. For a request from a trusted proxy they are what the
// proxy's headers say (forwarded); for any other, r's own (ownOrigin).
func sentTo(r *http.Request) origin {
	if to, ok := r.Context().Value(sentToKey{}).(origin); ok {
		return to
	}
	return ownOrigin(r)
}

// ownOrigin returns where r was sent as r itself says: https when it came
// over TLS, http otherwise, and the host and port of its Host header
// (requestHost), the port being the scheme's default when the header
// names none.
func ownOrigin(r *http.Request) origin {
	o := origin{scheme: "http"}
	if r.TLS != nil {
		o.scheme = "https"
	}
	host, port := requestHost(r)
	o.host, o.port = host, portOr(port, o.scheme)
	return o
}

// requestHost returns the host and port r was sent to as its Host header
// says: the host without the brackets of an IPv6 address, and the port ""
// when the header names none. When the header is empty, or is not a host
// name or IP address with an optional port from 1 to 65535 ("evil:99999",
// "a:b:c"), they are the address and port of the listener r came in on
// instead ("localhost" and no port on a unix socket): no client that
// means it sends such a Host, and a program should not be told it. It
// allocates nothing for a valid Host.
func requestHost(r *http.Request) (host, port string) {
	if host, port, ok := splitForwardedHost(r.Host); ok {
		return host, port
	}
	switch addr := r.Context().Value(http.LocalAddrContextKey).(type) {
	case *net.TCPAddr:
		return addr.IP.String(), strconv.Itoa(addr.Port)
	case *net.UnixAddr:
		return "localhost", ""
	}
	return "", ""
}

// portOr returns port, or the default port of scheme when port is "" or
// not a port number.
func portOr(port, scheme string) string {
	if p, ok := validPort(port); ok {
		return p
	}
	return defaultPort(scheme)
}

// defaultPort returns the port of scheme, http or https, when a URL or a
// Host header names none.
func defaultPort(scheme string) string {
	if scheme == "https" {
		return "443"
	}
	return "80"
}

// validPort returns s, a port number from 1 to 65535, in decimal without
// leading zeros; ok is false when s is no such number. It allocates
// nothing for a port that has no leading zeros, nor for "".
func validPort(s string) (port string, ok bool) {
	if s == "" || len(s) > 5 || strings.Trim(s, "0123456789") != "" {
		return "", false
	}
	n, _ := strconv.Atoi(s)
	if n == 0 || n > 65535 {
		return "", false
	}
	if s[0] == '0' {
		s = strconv.Itoa(n)
	}
	return s, true
}

// forwardedProto returns the scheme a forwarded protocol names, http or
// https; ok is false for anything else. ws and wss, which some proxies
// send for WebSocket requests, are http and https.
func forwardedProto(s string) (scheme string, ok bool) {
	switch strings.ToLower(s) {
	case "http", "ws":
		return "http", true
	case "https", "wss":
		return "https", true
	}
	return "", false
}

// splitForwardedHost splits a host as a Host or X-Forwarded-Host header
// gives it into a host and a port ("" when it has none); ok is
// false unless the host is a DNS name or an IP address (IPv6 in brackets)
// and the port a number from 1 to 65535.
func splitForwardedHost(s string) (host, port string, ok bool) {
	if s == "" {
		return "", "", false
	}
	host, port = s, ""
	if i := strings.LastIndexByte(s, ':'); i >= 0 && !strings.HasSuffix(s, "]") {
		p, ok := validPort(s[i+1:])
		if !ok {
			return "", "", false
		}
		host, port = s[:i], p
	}
	if strings.HasPrefix(host, "[") && strings.HasSuffix(host, "]") {
		a, err := netip.ParseAddr(host[1 : len(host)-1])
		if err != nil || !a.Is6() || a.Zone() != "" {
			return "", "", false
		}
		return host[1 : len(host)-1], port, true
	}
	if host == "" || len(host) > 253 {
		return "", "", false
	}
	for i := 0; i < len(host); i++ {
		c := host[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_') {
			return "", "", false
		}
	}
	return host, port, true
}

// lastValue returns the last of the comma-separated values of the header
// name, trimmed, or "" when r has none.
func lastValue(h http.Header, name string) string {
	values := h.Values(name)
	if len(values) == 0 {
		return ""
	}
	v := values[len(values)-1]
	if i := strings.LastIndexByte(v, ','); i >= 0 {
		v = v[i+1:]
	}
	return strings.TrimSpace(v)
}

// forwardedElement is one element of a Forwarded header (RFC 7239): what
// one proxy says of the request it received. Each field is the value of a
// parameter, unquoted, or "" when the element has none.
type forwardedElement struct {
	client string // for=: who sent the request to the proxy
	proto  string // proto=: the scheme it came with
	host   string // host=: its Host header
}

// parseForwardedField parses one Forwarded header field: elements
// separated by commas, each of parameters name=value separated by
// semicolons, a value a token or a quoted string. Empty elements are
// skipped. A field that does not parse, or names for, proto or host twice
// in one element, is one element that says nothing.
func parseForwardedField(field string) []forwardedElement {
	malformed := []forwardedElement{{}}
	var (
		elements []forwardedElement
		e        forwardedElement
		params   int  // parameters of e so far
		seen     uint // for, proto and host: 1, 2, 4
	)
	for i := 0; ; {
		for i < len(field) && (field[i] == ' ' || field[i] == '\t') {
			i++
		}
		if i == len(field) || field[i] == ',' {
			if params > 0 {
				elements = append(elements, e)
			}
			if i == len(field) {
				return elements
			}
			e, params, seen = forwardedElement{}, 0, 0
			i++
			continue
		}
		if field[i] == ';' {
			i++
			continue
		}
		start := i
		for i < len(field) && isTokenChar(field[i]) {
			i++
		}
		name := field[start:i]
		if name == "" || i == len(field) || field[i] != '=' {
			return malformed
		}
		i++
		value, n, ok := forwardedValue(field[i:])
		if !ok {
			return malformed
		}
		i += n
		params++
		var bit uint
		var dst *string
		switch strings.ToLower(name) {
		case "for":
			bit, dst = 1, &e.client
		case "proto":
			bit, dst = 2, &e.proto
		case "host":
			bit, dst = 4, &e.host
		default:
			continue
		}
		if seen&bit != 0 {
			return malformed
		}
		seen |= bit
		*dst = value
	}
}

// forwardedValue reads the value at the start of s, a quoted string or a
// token, and returns it unquoted and how many bytes of s it took.
func forwardedValue(s string) (value string, n int, ok bool) {
	if !strings.HasPrefix(s, "\"") {
		n = strings.IndexAny(s, " \t;,\"")
		if n < 0 {
			n = len(s)
		}
		return s[:n], n, n > 0
	}
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		switch s[i] {
		case '"':
			return b.String(), i + 1, true
		case '\\':
			i++
			if i == len(s) {
				return "", 0, false
			}
		}
		b.WriteByte(s[i])
	}
	return "", 0, false
}

// isTokenChar reports whether c may be part of an HTTP token.
func isTokenChar(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}
