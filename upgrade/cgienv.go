package upgrade

import (
	"net"
	"net/http"
	"os"
	"regexp"
	"runtime"
	"strconv"
	"strings"
)

// cgiEnv returns the environment of the CGI program s run for r, the
// CGI/1.1 variables as net/http/cgi sets them: those that describe the
// request, the server and the program, and HTTP_<NAME> for each request
// header (upper case, "-" turned to "_", several values joined with ", ",
// or "; " for Cookie; Proxy left out). Then come extra, each of which wins
// over a variable of the same name before it.
func cgiEnv(r *http.Request, s script, extra []string) []string {
	root := strings.TrimRight(s.Name, "/")
	port := "80"
	if r.TLS != nil {
		port = "443"
	}
	if m := trailingPort.FindStringSubmatch(r.Host); m != nil {
		port = m[1]
	}
	env := make([]string, 0, 24+len(r.Header)+len(extra))
	env = append(env,
		"SERVER_SOFTWARE=go",
		"SERVER_PROTOCOL=HTTP/1.1",
		"HTTP_HOST="+r.Host,
		"GATEWAY_INTERFACE=CGI/1.1",
		"REQUEST_METHOD="+r.Method,
		"QUERY_STRING="+r.URL.RawQuery,
		"REQUEST_URI="+r.URL.RequestURI(),
		"PATH_INFO="+strings.TrimPrefix(r.URL.Path, root),
		"SCRIPT_NAME="+root,
		"SCRIPT_FILENAME="+s.Path,
		"SERVER_PORT="+port,
	)
	if ip, remotePort, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		env = append(env, "REMOTE_ADDR="+ip, "REMOTE_HOST="+ip, "REMOTE_PORT="+remotePort)
	} else {
		env = append(env, "REMOTE_ADDR="+r.RemoteAddr, "REMOTE_HOST="+r.RemoteAddr)
	}
	if host, _, err := net.SplitHostPort(r.Host); err == nil {
		env = append(env, "SERVER_NAME="+host)
	} else {
		env = append(env, "SERVER_NAME="+r.Host)
	}
	if r.TLS != nil {
		env = append(env, "HTTPS=on")
	}
	for name, values := range r.Header {
		name = strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
		if name == "PROXY" {
			// A client must not set the HTTP_PROXY of the program's
			// HTTP clients (httpoxy).
			continue
		}
		sep := ", "
		if name == "COOKIE" {
			sep = "; "
		}
		env = append(env, "HTTP_"+name+"="+strings.Join(values, sep))
	}
	if r.ContentLength > 0 {
		env = append(env, "CONTENT_LENGTH="+strconv.FormatInt(r.ContentLength, 10))
	}
	if ctype := r.Header.Get("Content-Type"); ctype != "" {
		env = append(env, "CONTENT_TYPE="+ctype)
	}
	return lastWins(append(env, extra...))
}

// trailingPort finds the port at the end of a Host header.
var trailingPort = regexp.MustCompile(`:([0-9]+)$`)

// lastWins returns env, a list of "name=value", with each variable set
// only by its last entry, kept where that entry is.
func lastWins(env []string) []string {
	last := make(map[string]int, len(env))
	for i, kv := range env {
		name, _, _ := strings.Cut(kv, "=")
		last[name] = i
	}
	kept := env[:0]
	for i, kv := range env {
		name, _, _ := strings.Cut(kv, "=")
		if last[name] == i {
			kept = append(kept, kv)
		}
	}
	return kept
}

// defaultCGIPath is the PATH of a CGI program when env has none.
const defaultCGIPath = "/usr/local/bin:/usr/bin:/bin"

// shadowedEnv returns the variables a CGI program gets in place of the
// server's own when env, the variables passed on, does not set them:
// PATH is defaultCGIPath, and the library paths the server has are set
// empty, which is the same as unset. Windows programs need the server's
// PATH, SystemRoot and the like, which are passed on there.
func shadowedEnv(env []string) []string {
	var extra []string
	if runtime.GOOS == "windows" {
		for _, name := range []string{"PATH", "SystemRoot", "COMSPEC", "PATHEXT", "WINDIR"} {
			if v := os.Getenv(name); v != "" && !hasVar(env, name) {
				extra = append(extra, name+"="+v)
			}
		}
		return extra
	}
	for _, name := range []string{
		"PATH",
		"LD_LIBRARY_PATH", "DYLD_LIBRARY_PATH", "SHLIB_PATH",
		"LD_LIBRARYN32_PATH", "LD_LIBRARY64_PATH",
		"LD_LIBRARY_PATH_32", "LD_LIBRARY_PATH_64",
	} {
		if hasVar(env, name) {
			continue
		}
		if name == "PATH" {
			extra = append(extra, "PATH="+defaultCGIPath)
		} else if _, ok := os.LookupEnv(name); ok {
			extra = append(extra, name+"=")
		}
	}
	return extra
}

// hasVar reports whether env, a list of "name=value", sets name.
func hasVar(env []string, name string) bool {
	for _, kv := range env {
		if k, _, _ := strings.Cut(kv, "="); k == name {
			return true
		}
	}
	return false
}
