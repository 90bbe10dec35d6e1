package upgrade

import (
	"net"
	"net/http"
	"strconv"
	"strings"
)

// envInfo is what a child's environment says beyond the request itself.
type envInfo struct {
	ScriptName     string // SCRIPT_NAME
	PathInfo       string // PATH_INFO
	PathTranslated string // PATH_TRANSLATED: the program's file in --dir mode
	RemoteHost     string // REMOTE_HOST; the remote address when empty
	UniqueID       string // UNIQUE_ID
	Software       string // SERVER_SOFTWARE
	Protocol       string // WEBSOCKET_PROTOCOL: the subprotocol agreed, if any
	RemoteUser     string // REMOTE_USER: the authenticated user, if any
	AuthType       string // AUTH_TYPE: how the user was authenticated
}

// unixSocketAddr stands for the remote address of a client on a unix socket.
const unixSocketAddr = "unix-socket"

// childEnv returns the environment of the child serving r, websocketd's CGI
// set: base (the variables passed on from the server, such as PATH), the
// variables that describe the request and the server, then HTTP_<NAME> for
// each request header (upper case, "-" turned to "_", several values joined
// with ", ", several Cookie headers with "; " as RFC 6265 has them). Newlines
// and NUL bytes in values become spaces. A header whose name holds anything
// but ASCII letters, digits and "-" is left out, as Apache and nginx do:
// "X_Forwarded_For" would otherwise pass for the X-Forwarded-For a proxy
// set. So is Proxy, as net/http/cgi leaves it out: as HTTP_PROXY it would
// send the program's own HTTP requests through the client's proxy
// ("httpoxy").
func childEnv(r *http.Request, base []string, info envInfo) []string {
	env := make([]string, 0, len(base)+24+len(r.Header))
	env = append(env, base...)
	add := func(name, value string) {
		env = append(env, name+"="+clean(value))
	}

	remoteAddr, remotePort, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		remoteAddr, remotePort = r.RemoteAddr, ""
	}
	if isUnixSocket(r) {
		remoteAddr, remotePort = unixSocketAddr, ""
	}
	remoteHost := info.RemoteHost
	if remoteHost == "" {
		remoteHost = remoteAddr
	}
	to := sentTo(r)
	contentLength := ""
	if r.ContentLength > 0 {
		contentLength = strconv.FormatInt(r.ContentLength, 10)
	}

	add("SERVER_SOFTWARE", info.Software)
	add("REMOTE_ADDR", remoteAddr)
	add("REMOTE_HOST", remoteHost)
	add("REMOTE_PORT", remotePort)
	add("SERVER_NAME", to.host)
	add("SERVER_PORT", to.port)
	add("SERVER_PROTOCOL", r.Proto)
	add("GATEWAY_INTERFACE", "CGI/1.1")
	add("REQUEST_METHOD", r.Method)
	add("SCRIPT_NAME", info.ScriptName)
	add("PATH_INFO", info.PathInfo)
	add("PATH_TRANSLATED", info.PathTranslated)
	add("QUERY_STRING", r.URL.RawQuery)
	add("REQUEST_URI", r.RequestURI)
	add("UNIQUE_ID", info.UniqueID)
	add("AUTH_TYPE", info.AuthType)
	add("CONTENT_LENGTH", contentLength)
	add("CONTENT_TYPE", r.Header.Get("Content-Type"))
	add("REMOTE_IDENT", "")
	add("REMOTE_USER", info.RemoteUser)
	if to.scheme == "https" {
		add("HTTPS", "on")
	}
	add("WEBSOCKET_PROTOCOL", info.Protocol)

	add("HTTP_HOST", r.Host)
	for name, values := range r.Header {
		if strings.EqualFold(name, "Host") || strings.EqualFold(name, "Proxy") || !plainHeaderName(name) {
			continue
		}
		sep := ", "
		if strings.EqualFold(name, "Cookie") {
			sep = "; "
		}
		add("HTTP_"+strings.ToUpper(strings.ReplaceAll(name, "-", "_")), strings.Join(values, sep))
	}
	return env
}

// isUnixSocket reports whether r came in on a unix socket.
func isUnixSocket(r *http.Request) bool {
	addr, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr)
	return ok && addr.Network() == "unix"
}

// serverCGIEnv returns the variables cgiEnv derives from r's own Host
// and TLS, as requestHost and sentTo give them instead: SERVER_NAME and
// SERVER_PORT of a Host that is valid, else of the listener, and for a
// request from a trusted proxy, what its client connected to, HTTPS
// included. Given to cgiEnv among its extra variables, they win over its
// own.
func serverCGIEnv(r *http.Request) []string {
	to := sentTo(r)
	env := []string{"SERVER_NAME=" + clean(to.host), "SERVER_PORT=" + to.port}
	if _, forwarded := r.Context().Value(sentToKey{}).(origin); !forwarded {
		return env
	}
	switch {
	case to.scheme == "https":
		env = append(env, "HTTPS=on")
	case r.TLS != nil:
		// HTTPS=on is emptied, as it always was, not taken out.
		env = append(env, "HTTPS=")
	}
	return env
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

// plainHeaderName reports whether name is made of ASCII letters, digits
// and "-" only, and so maps to a variable name no other header maps to.
func plainHeaderName(name string) bool {
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-') {
			return false
		}
	}
	return name != ""
}

// withPlainHeaders returns r, or when it has headers that plainHeaderName
// refuses, a copy of r without them: cgiEnv would make variables of them.
func withPlainHeaders(r *http.Request) *http.Request {
	for name := range r.Header {
		if !plainHeaderName(name) {
			r = r.Clone(r.Context())
			for name := range r.Header {
				if !plainHeaderName(name) {
					delete(r.Header, name)
				}
			}
			return r
		}
	}
	return r
}
