package upgrade

import (
	"net"
	"net/http"
	"strconv"
	"strings"
)

// Redirect returns a handler for --redirport: it answers every request
// with a permanent redirect (301) to the same path and query on the main
// address — scheme (for example "https"), the request's host name, and port.
func Redirect(scheme string, port int) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host, ok := hostName(r.Host)
		if !ok {
			http.Error(w, "400 Bad Request: missing or malformed Host", http.StatusBadRequest)
			return
		}
		if port != schemePort(scheme) {
			host = net.JoinHostPort(host, strconv.Itoa(port))
		} else if strings.Contains(host, ":") {
			host = "[" + host + "]"
		}
		path := r.URL.EscapedPath()
		if !strings.HasPrefix(path, "/") {
			path = "/" + path
		}
		u := scheme + "://" + host + path
		if r.URL.RawQuery != "" {
			u += "?" + r.URL.RawQuery
		}
		http.Redirect(w, r, u, http.StatusMovedPermanently)
	})
}

// hostName returns the host of a Host header without its port or the
// brackets around an IPv6 address, and whether it is usable in a URL.
func hostName(hostport string) (string, bool) {
	host, _, err := net.SplitHostPort(hostport)
	if err != nil {
		host = hostport
		if strings.HasPrefix(host, "[") && strings.HasSuffix(host, "]") {
			host = host[1 : len(host)-1]
		}
	}
	if host == "" || strings.ContainsAny(host, "/?#@[] \t\r\n\\") {
		return "", false
	}
	return host, true
}

// schemePort returns the port a URL with the scheme means when it has none.
func schemePort(scheme string) int {
	switch strings.ToLower(scheme) {
	case "https", "wss":
		return 443
	case "http", "ws":
		return 80
	}
	return -1
}
