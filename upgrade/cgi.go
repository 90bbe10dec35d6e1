package upgrade

import (
	"bytes"
	"errors"
	"net/http"
	"net/http/cgi"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"wsbridge/process"
)

// cgiHandler runs the CGI programs of the --cgidir directory d, whose
// path is dir, for plain HTTP requests, resolved with resolveScript. env is
// added to each program's environment (the --passenv variables); nothing
// else of the server's environment is inherited (without a PATH in env,
// programs get defaultCGIPath). Every run takes a slot from limit, when
// limit is not nil; with none free the answer is 429. running counts the
// programs running.
//
// Headers whose names hold anything but letters, digits and "-" are not
// passed on, as with a session's child. The user authenticated
// (withIdentity) is REMOTE_USER, with AUTH_TYPE. A path that names no
// program goes on to next; one that is not allowed is answered with 403
// and logged with the reason.
// The programs' stderr lines and net/http/cgi's complaints go to log.
func cgiHandler(d *servedDir, dir string, env []string, limit *process.Limiter, running prometheus.Gauge, log zerolog.Logger, next http.Handler) http.Handler {
	env = append(env[:len(env):len(env)], shadowedEnv(env)...)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, err := resolveScript(d, dir, r.URL.EscapedPath())
		if err != nil {
			if errors.Is(err, errForbidden) {
				log.Warn().Str("remote", r.RemoteAddr).Err(err).Msg("refused CGI path")
				http.Error(w, "403 forbidden", http.StatusForbidden)
				return
			}
			log.Debug().Str("remote", r.RemoteAddr).Err(err).Msg("no CGI program")
			next.ServeHTTP(w, r)
			return
		}
		if !limit.TryAcquire() {
			log.Warn().Str("remote", r.RemoteAddr).Str("script", s.Name).Msg("too many programs running; CGI program not run")
			http.Error(w, "429 too many requests", http.StatusTooManyRequests)
			return
		}
		defer limit.Release()

		scriptLog := log.With().Str("script", s.Name).Logger()
		stderr := &lineLogger{log: scriptLog}
		runEnv := env
		if id := identityOf(r); id.user != "" {
			runEnv = append(env[:len(env):len(env)], "REMOTE_USER="+clean(id.user), "AUTH_TYPE="+id.authType)
		}
		runEnv = append(runEnv[:len(runEnv):len(runEnv)], serverCGIEnv(r)...)
		h := &cgi.Handler{
			Path:   s.Path,
			Root:   s.Name,
			Dir:    filepath.Dir(s.Path),
			Env:    runEnv,
			Logger: newErrorLog(scriptLog),
			Stderr: stderr,
		}
		// ServeHTTP returns once the program is reaped and its stderr
		// read to the end.
		running.Inc()
		h.ServeHTTP(w, withPlainHeaders(r))
		running.Dec()
		stderr.flush()
	})
}

// defaultCGIPath is the PATH of a CGI program when env has none.
const defaultCGIPath = "/usr/local/bin:/usr/bin:/bin"

// shadowedEnv returns the variables that keep net/http/cgi from passing on
// the server's own PATH and library paths when env does not set them:
// PATH becomes defaultCGIPath and the library paths are set empty, which
// is the same as unset. On Windows, whose programs need SystemRoot and the
// like, net/http/cgi is left to pass on what it passes.
func shadowedEnv(env []string) []string {
	if runtime.GOOS == "windows" {
		return nil
	}
	var extra []string
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

// maxLogLine is the longest stderr line logged whole; longer ones are
// logged in pieces of this size.
const maxLogLine = 4 << 10

// lineLogger logs each line written to it as an info event tagged
// stream=stderr, the way the stderr of a session's child is logged.
type lineLogger struct {
	log     zerolog.Logger
	partial []byte // the start of a line not yet ended
}

// Write logs every line p completes and keeps the rest for the next Write.
func (l *lineLogger) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			l.partial = append(l.partial, p...)
			p = nil
		} else {
			l.partial = append(l.partial, p[:i]...)
			p = p[i+1:]
		}
		for len(l.partial) >= maxLogLine {
			l.emit(l.partial[:maxLogLine])
			l.partial = append(l.partial[:0], l.partial[maxLogLine:]...)
		}
		if i >= 0 {
			l.emit(bytes.TrimSuffix(l.partial, []byte{'\r'}))
			l.partial = l.partial[:0]
		}
	}
	return n, nil
}

// flush logs what is left of a last line with no newline.
func (l *lineLogger) flush() {
	if len(l.partial) > 0 {
		l.emit(l.partial)
		l.partial = l.partial[:0]
	}
}

// emit logs one line.
func (l *lineLogger) emit(line []byte) {
	l.log.Info().Str("stream", "stderr").Bytes("stderr", line).Msg("CGI program wrote to stderr")
}
