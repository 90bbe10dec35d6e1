package upgrade

import (
	"fmt"
	"net/http"
	"strings"
)

// parseProtocols checks the names of --protocol: each must be a token
// (RFC 6455 takes subprotocol names to be RFC 7230 tokens), spaces around
// it aside.
func parseProtocols(names []string) ([]string, error) {
	served := make([]string, 0, len(names))
	for _, name := range names {
		name = strings.TrimSpace(name)
		if !isToken(name) {
			return nil, fmt.Errorf("--protocol %q: not a subprotocol name (letters, digits and !#$%%&'*+-.^_`|~)", name)
		}
		served = append(served, name)
	}
	return served, nil
}

// isToken reports whether s is an RFC 7230 token: one or more of the
// visible ASCII characters other than the delimiters "(),/:;<=>?@[\]{}.
func isToken(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`"(),/:;<=>?@[\]{}`, c) >= 0 {
			return false
		}
	}
	return s != ""
}

// chooseProtocol returns the subprotocol r's client gets: the first of the
// names it offers in Sec-WebSocket-Protocol, in its order, that served
// holds, compared exactly. ok is false when the client offers names and
// served holds none of them. A client that offers none gets "" and ok, as
// does every client when served is empty: no protocol is negotiated then.
func chooseProtocol(r *http.Request, served []string) (protocol string, ok bool) {
	if len(served) == 0 {
		return "", true
	}
	offered := false
	for _, v := range r.Header.Values("Sec-WebSocket-Protocol") {
		for _, name := range strings.Split(v, ",") {
			name = strings.TrimSpace(name)
			if name == "" {
				continue
			}
			offered = true
			for _, s := range served {
				if name == s {
					return name, true
				}
			}
		}
	}
	return "", !offered
}
