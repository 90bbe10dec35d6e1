package upgrade

import (
	"fmt"
	"net/http"
	"net/netip"
	"strings"
)

// trustedProxies are the peers, as address ranges, whose X-Forwarded-For
// and X-Real-IP headers say who the client is.
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

// clientAddr returns the address of the client r comes from, in the form
// of http.Request.RemoteAddr. From a peer outside the trusted ranges it is
// the peer, r.RemoteAddr. From a trusted peer it is the rightmost address
// of X-Forwarded-For that is not itself trusted (the leftmost one when all
// are), or, when there is no X-Forwarded-For, X-Real-IP. The addresses a
// proxy forwards seldom carry a port; the result then is the address
// alone. When the entry that decides is not an address ("unknown", say),
// the client is not known and the peer is kept.
func (t trustedProxies) clientAddr(r *http.Request) string {
	if !t.trusts(r.RemoteAddr) {
		return r.RemoteAddr
	}
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
