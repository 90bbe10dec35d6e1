// Package listen opens the sockets wsbridge serves on: TCP ports on
// addresses, a unix socket, the sockets systemd passes by socket
// activation, and the TLS configuration of --ssl.
package listen

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
)

// TCP opens a TCP listener on port for each address, or on all
// interfaces when there is none. An IPv6 address may be written with or
// without brackets.
func TCP(addresses []string, port int) ([]net.Listener, error) {
	if len(addresses) == 0 {
		addresses = []string{""}
	}
	var lns []net.Listener
	for _, a := range addresses {
		addr := net.JoinHostPort(strings.TrimSuffix(strings.TrimPrefix(a, "["), "]"), strconv.Itoa(port))
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			for _, l := range lns {
				l.Close()
			}
			return nil, fmt.Errorf("listening on %s: %w", addr, err)
		}
		lns = append(lns, ln)
	}
	return lns, nil
}

// CheckAddress checks that a is an address TCP can be given, by its
// form alone: an IP address, one in brackets, a host name, or empty for
// all interfaces. Whether a host name resolves is known only when
// listening; a dotted number that is no IP address (999.1.1.1) is not
// taken for a host name.
func CheckAddress(a string) error {
	if a == "" {
		return nil
	}
	if inner, ok := strings.CutPrefix(a, "["); ok {
		if inner, ok = strings.CutSuffix(inner, "]"); ok {
			if _, err := netip.ParseAddr(inner); err == nil {
				return nil
			}
		}
		return errors.New("not an IP address in brackets")
	}
	if _, err := netip.ParseAddr(a); err == nil {
		return nil
	}
	labels := strings.Split(strings.TrimSuffix(a, "."), ".")
	if strings.Trim(labels[len(labels)-1], "0123456789") == "" {
		// No top-level domain is all digits: this was meant as an
		// IPv4 address.
		return errors.New("not an IP address")
	}
	if len(a) > 254 {
		return errors.New("neither an IP address nor a host name: too long")
	}
	for _, l := range labels {
		if len(l) == 0 || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' ||
			strings.Trim(l, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_") != "" {
			return errors.New("neither an IP address nor a host name")
		}
	}
	return nil
}
