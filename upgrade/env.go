package upgrade

import (
	"net"
	"net/http"
	"strings"
)

// Env returns the environment of the child serving r: base (the variables
// passed on from the server, such as PATH), then the CGI variables that
// describe the request, then HTTP_<NAME> for each request header (upper
// case, "-" turned to "_", several values joined with ", "). The program
// is mounted at the root, so SCRIPT_NAME is "/" and PATH_INFO the URL
// path. Newlines and NUL bytes in values are replaced with spaces.
func Env(r *http.Request, base []string) []string {
	env := make([]string, 0, len(base)+12+len(r.Header))
	env = append(env, base...)
	add := func(name, value string) {
		env = append(env, name+"="+clean(value))
	}

	remoteHost, remotePort, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		remoteHost, remotePort = r.RemoteAddr, ""
	}
	serverName, serverPort, err := net.SplitHostPort(r.Host)
	if err != nil {
		serverName, serverPort = r.Host, defaultPort(r)
	}
	add("REMOTE_ADDR", remoteHost)
	add("REMOTE_PORT", remotePort)
	add("SERVER_NAME", serverName)
	add("SERVER_PORT", serverPort)
	add("REQUEST_METHOD", r.Method)
	add("REQUEST_URI", r.RequestURI)
	add("QUERY_STRING", r.URL.RawQuery)
	add("SCRIPT_NAME", "/")
	add("PATH_INFO", r.URL.Path)

	add("HTTP_HOST", r.Host)
	for name, values := range r.Header {
		if strings.EqualFold(name, "Host") {
			continue
		}
		add("HTTP_"+strings.ToUpper(strings.ReplaceAll(name, "-", "_")), strings.Join(values, ", "))
	}
	return env
}

// defaultPort is the port a Host header without one stands for.
func defaultPort(r *http.Request) string {
	if r.TLS != nil {
		return "443"
	}
	return "80"
}

// clean replaces the bytes that must not reach an environment variable
// (NUL ends it early; CR and LF would let a value forge another line in
// the output of env) with spaces.
func clean(s string) string {
	if !strings.ContainsAny(s, "\x00\r\n") {
		return s
	}
	return strings.Map(func(r rune) rune {
		switch r {
		case 0, '\r', '\n':
			return ' '
		}
		return r
	}, s)
}
