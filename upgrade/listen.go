package upgrade

import (
	"fmt"
	"net"
	"strconv"
	"strings"
)

// Listen opens a TCP listener on port for each address, or on all
// interfaces when there is none. An IPv6 address may be written with or
// without brackets.
func Listen(addresses []string, port int) ([]net.Listener, error) {
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
