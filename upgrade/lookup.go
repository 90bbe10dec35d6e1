package upgrade

import (
	"context"
	"net"
	"strings"
	"time"
)

// lookupTimeout bounds a reverse DNS lookup.
const lookupTimeout = 2 * time.Second

// lookupHost returns the name reverse DNS gives for the host of
// remoteAddr (host:port, or an address alone as a trusted proxy may name
// it), or the address itself when there is none, or "" when remoteAddr
// is not an IP address.
func lookupHost(ctx context.Context, remoteAddr string) string {
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		host = remoteAddr
	}
	if net.ParseIP(host) == nil {
		return ""
	}
	ctx, cancel := context.WithTimeout(ctx, lookupTimeout)
	defer cancel()
	names, err := net.DefaultResolver.LookupAddr(ctx, host)
	if err != nil || len(names) == 0 {
		return host
	}
	return strings.TrimSuffix(names[0], ".")
}
