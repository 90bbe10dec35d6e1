package upgrade

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"wsbridge/process"
)

// cgiGateway runs the CGI programs of a --cgidir directory for plain
// HTTP requests: it is the CGI/1.1 gateway (RFC 3875) between a request
// and one run of a program, started with process.Start like a session's,
// in a process group of its own, its stdout a pipe. Create it with
// cgiHandler.
type cgiGateway struct {
	dir     *servedDir
	path    string
	env     []string // the variables passed on, and the ones shadowedEnv adds
	limit   *forkLimit
	running prometheus.Gauge
	log     zerolog.Logger
	next    http.Handler

	// program is what every program is started with but for its path,
	// arguments, environment, directory and PTY (Grace, Drain and
	// Guardian).
	program process.Config
	// bodyTimeout bounds how long the whole body of a request may take
	// to reach its program, from the program's start; zero means
	// DefaultCGIBodyTimeout.
	bodyTimeout time.Duration
	// shutdown, when not nil, is done when the server shuts down: the
	// programs running are then stopped, and no more are started.
	shutdown context.Context
}

// DefaultCGIBodyTimeout is the time the whole body of a request may take
// to reach its CGI program when the Config gives none.
const DefaultCGIBodyTimeout = 30 * time.Second

// cgiHandler returns the gateway to the CGI programs of the --cgidir
// directory d, whose path is dir, resolved with resolveScript. env is
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
// and logged with the reason. The programs' stderr lines, and what is
// wrong with what they print, go to log.
func cgiHandler(d *servedDir, dir string, env []string, limit *forkLimit, running prometheus.Gauge, log zerolog.Logger, next http.Handler) *cgiGateway {
	return &cgiGateway{
		dir:     d,
		path:    dir,
		env:     append(env[:len(env):len(env)], shadowedEnv(env)...),
		limit:   limit,
		running: running,
		log:     log,
		next:    next,
	}
}

// ServeHTTP runs the program r's path names and answers with what it
// prints. A chunked request body, which CGI cannot pass on (a program
// learns the length of its body from CONTENT_LENGTH), is answered with
// 400; so is every request once the server shuts down, with 503.
func (g *cgiGateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s, err := resolveScript(g.dir, g.path, r.URL.EscapedPath())
	if err != nil {
		if errors.Is(err, errForbidden) {
			g.log.Warn().Str("remote", r.RemoteAddr).Err(err).Msg("refused CGI path")
			http.Error(w, "403 forbidden", http.StatusForbidden)
			return
		}
		g.log.Debug().Str("remote", r.RemoteAddr).Err(err).Msg("no CGI program")
		g.next.ServeHTTP(w, r)
		return
	}
	if len(r.TransferEncoding) > 0 && r.TransferEncoding[0] == "chunked" {
		http.Error(w, "Chunked request bodies are not supported by CGI.", http.StatusBadRequest)
		return
	}
	if g.shutdown != nil && g.shutdown.Err() != nil {
		http.Error(w, "server shutting down", http.StatusServiceUnavailable)
		return
	}
	if !g.limit.tryAcquire() {
		g.log.Warn().Str("remote", r.RemoteAddr).Str("script", s.Name).Msg("too many programs running; CGI program not run")
		http.Error(w, "429 too many requests", http.StatusTooManyRequests)
		return
	}
	defer g.limit.release()
	g.run(w, withPlainHeaders(r), s)
}

// run runs the program s for r and answers with what it prints. The
// program is stopped (process.Process.Stop: stdin closed, then SIGINT,
// SIGTERM and SIGKILL to its group) once its answer has ended, and
// before that when its client goes, when the request body does not reach
// it in time, or when the server shuts down; run returns once it is
// reaped and its stderr logged to the end. An answer cut short so ends
// with the connection closed under it.
func (g *cgiGateway) run(w http.ResponseWriter, r *http.Request, s script) {
	log := g.log.With().Str("script", s.Name).Logger()
	extra := g.env
	if id := identityOf(r); id.user != "" {
		extra = append(extra[:len(extra):len(extra)], "REMOTE_USER="+clean(id.user), "AUTH_TYPE="+id.authType)
	}
	extra = append(extra[:len(extra):len(extra)], serverCGIEnv(r)...)
	cfg := g.program
	cfg.Path, cfg.Args, cfg.Env, cfg.Dir, cfg.PTY = s.Path, nil, cgiEnv(r, s, extra), filepath.Dir(s.Path), false
	child, err := process.Start(cfg)
	if err != nil {
		log.Error().Str("remote", r.RemoteAddr).Err(err).Msg("could not start CGI program")
		http.Error(w, "500 internal server error", http.StatusInternalServerError)
		return
	}
	g.running.Inc()
	defer g.running.Dec()
	c := &cgiRun{child: child, log: log.With().Int("pid", child.Pid()).Logger(), remote: r.RemoteAddr}

	stderr := &lineLogger{log: c.log}
	logged := make(chan struct{})
	go func() {
		defer close(logged)
		io.Copy(stderr, child.Stderr())
		stderr.flush()
	}()

	rc := http.NewResponseController(w)
	timeout := g.bodyTimeout
	if timeout <= 0 {
		timeout = DefaultCGIBodyTimeout
	}
	if r.ContentLength != 0 {
		// The program may answer while its body still comes in.
		rc.EnableFullDuplex()
		// A ResponseWriter with no connection under it has no
		// deadlines: its body is in memory.
		_ = rc.SetReadDeadline(time.Now().Add(timeout))
	} else {
		c.bodyRead.Store(true)
	}
	answered := make(chan struct{})
	fed := make(chan struct{})
	go func() {
		defer close(fed)
		c.feed(r, rc, timeout, answered)
	}()
	if g.shutdown != nil {
		defer context.AfterFunc(g.shutdown, func() { c.stop(stopShutdown) })()
	}

	sent := c.respond(w)
	close(answered)
	if !c.bodyRead.Load() {
		// The answer is whole: what is left of the body is of no use.
		// The connection is closed after the answer (see respond).
		_ = rc.SetReadDeadline(time.Now())
	}
	child.Stop()
	// What the answer left unread ends now that the group is killed;
	// read to its end, the stream is let go at once.
	io.Copy(io.Discard, child.Stdout())
	<-fed
	<-logged
	if sent && c.reason.Load() != nil {
		// The answer was cut short: the connection is closed under it,
		// so that the client does not take it for a whole one.
		if conn, _, err := rc.Hijack(); err == nil {
			conn.Close()
		}
	}
}

// cgiRun is one run of a CGI program, for one request.
type cgiRun struct {
	child  *process.Process
	log    zerolog.Logger
	remote string // the client's address, for the logs

	bodyRead atomic.Bool                // the request body was read to its end
	reason   atomic.Pointer[stopReason] // why the program was stopped early; nil if it was not
}

// stopReason says why a CGI program was stopped before its answer ended,
// and what its client is answered if the program had not answered yet.
type stopReason struct {
	why    string
	level  zerolog.Level
	status int
}

var (
	stopClientGone = &stopReason{"its client went away", zerolog.InfoLevel, http.StatusBadRequest}
	stopShutdown   = &stopReason{"the server is shutting down", zerolog.InfoLevel, http.StatusServiceUnavailable}
)

// stop stops the program for the reason why and logs it, unless it was
// stopped already or has exited by itself. It returns once the program
// is reaped.
func (c *cgiRun) stop(why *stopReason) {
	if !c.reason.CompareAndSwap(nil, why) {
		return
	}
	select {
	case <-c.child.Done():
		return
	default:
	}
	c.log.WithLevel(why.level).Str("remote", c.remote).Str("reason", why.why).Msg("stopping CGI program")
	c.child.Stop()
}

// respond answers with the CGI response the program prints, and reports
// whether its header was sent. An output that is no CGI response is
// answered with 500 and logged, unless the program was stopped early,
// which the answer then tells. An answer sent before the request body
// was read to its end closes the connection: the rest of the body will
// not be read.
func (c *cgiRun) respond(w http.ResponseWriter) bool {
	resp, err := readCGIResponse(c.child.Stdout())
	if !c.bodyRead.Load() {
		w.Header().Set("Connection", "close")
	}
	if err != nil {
		if why := c.reason.Load(); why != nil {
			http.Error(w, http.StatusText(why.status), why.status)
			return false
		}
		c.log.Error().Str("remote", c.remote).Err(err).Msg("CGI program gave no valid answer")
		http.Error(w, "500 internal server error", http.StatusInternalServerError)
		return false
	}
	for name, values := range resp.header {
		w.Header()[name] = append(w.Header()[name], values...)
	}
	w.WriteHeader(resp.status)
	if !bodyAllowed(resp.status) {
		io.Copy(io.Discard, resp.body)
		return true
	}
	if err := stream(w, resp.body); err != nil {
		c.stop(&stopReason{"its answer could not be sent: " + err.Error(), zerolog.InfoLevel, http.StatusBadRequest})
	}
	return true
}

// stream copies the body of a program's answer to w as the program
// writes it: what a read brings is sent at once, unless more is already
// there to send with it. It returns the error of writing to w.
func stream(w http.ResponseWriter, body *bufio.Reader) error {
	rc := http.NewResponseController(w)
	buf := make([]byte, 32<<10)
	for {
		n, err := body.Read(buf)
		if n > 0 {
			if _, err := w.Write(buf[:n]); err != nil {
				return err
			}
			if body.Buffered() == 0 {
				if err := rc.Flush(); err != nil && !errors.Is(err, http.ErrNotSupported) {
					return err
				}
			}
		}
		if err != nil {
			// The program's output has ended.
			return nil
		}
	}
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
