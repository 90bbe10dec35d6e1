package upgrade

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/coder/websocket"
	"github.com/rs/zerolog"

	"wsbridge/bridge"
	"wsbridge/process"
	"wsbridge/process/readwatch"
)

// A session is one upgrade request on its way to being served, in steps:
// admit decides whether it may go on and what program it gets; start
// takes a --maxforks slot, accepts the upgrade and starts the program
// (with --broadcast, joinBroadcast joins the running one instead); run
// serves it in goroutines of its own; release gives back what admit and
// start took. It holds only what the session needs until it ends.
type session struct {
	s      *Server
	id     string    // the session's id, also its program's UNIQUE_ID
	began  time.Time // when the request came
	remote string    // the client's address
	path   string    // the URL path
	user   string    // the user authenticated, or ""

	// uncount gives back the address's --max-per-ip count, and
	// releaseFork the --maxforks slot; each does so once, however often
	// it is called, and nothing before it is taken.
	uncount, releaseFork func()
}

// A program is what a session starts: the program's configuration, with
// --dir resolved, and its environment but for what the request itself
// tells.
type program struct {
	cfg  process.Config
	info envInfo
}

// A refusal says why an upgrade is refused: the HTTP status the client
// gets, the reason counted in the metrics and the words logged.
type refusal struct {
	status    int
	reason    string
	why       string
	challenge bool // the answer asks for Basic credentials
}

// serveSession serves an upgrade request as a session: it checks that the
// upgrade is allowed, accepts it, starts the child and bridges the two
// until the session ends; in broadcast mode the client joins the child of
// its path instead, or starts it. A refused upgrade gets its HTTP status
// before any child starts: 401 without credentials that
// --basic-auth-file has, 403 for a foreign origin or a path escaping
// --dir, 404 for no program at the path, 400 for subprotocols offered
// none of which is served, 429 past --max-per-ip or --maxforks.
//
// Once the child runs, the session goes on in goroutines of its own, and
// serveSession returns: the request, the connection's buffers and the
// stack that accepting and spawning grew are then let go, and an idle
// session stays small.
func (s *Server) serveSession(w http.ResponseWriter, r *http.Request) {
	if !s.begin() {
		s.metrics.refused(refusedShutdown)
		http.Error(w, "server shutting down", http.StatusServiceUnavailable)
		return
	}
	ss := &session{s: s, id: newID(), began: time.Now(), remote: r.RemoteAddr, path: r.URL.Path, uncount: func() {}, releaseFork: func() {}}
	p, ref := ss.admit(r)
	if ref != nil {
		ss.giveUp(w, ref)
		return
	}
	if s.cfg.Broadcast {
		conn, b, ref := ss.joinBroadcast(w, r, p)
		if conn == nil {
			ss.giveUp(w, ref)
			return
		}
		ss.runBroadcast(conn, b)
		return
	}
	conn, child, ref := ss.start(w, r, p)
	if conn == nil {
		ss.giveUp(w, ref)
		return
	}
	ss.run(conn, child)
}

// admit checks that r may become a session: its credentials, its origin,
// its program with --dir, its subprotocol and the sessions open from its
// address, which it counts in. It returns the program the session gets,
// or why the upgrade is refused.
func (ss *session) admit(r *http.Request) (program, *refusal) {
	s := ss.s
	who, why := s.authenticate(r)
	ss.user = who.user
	if why != "" {
		return program{}, &refusal{status: http.StatusUnauthorized, reason: refusedAuth, why: authWhy[why], challenge: true}
	}
	if why := allowedOrigin(r, s.origins, s.cfg.SameOrigin); why != "" {
		return program{}, &refusal{status: http.StatusForbidden, reason: refusedOrigin, why: why}
	}
	p := program{
		cfg:  s.cfg.Process,
		info: envInfo{ScriptName: "/", PathInfo: r.URL.Path, UniqueID: ss.id, Software: s.software, RemoteUser: who.user, AuthType: who.authType},
	}
	if s.dir != nil {
		sc, err := resolveScript(s.dir, s.cfg.Dir, r.URL.EscapedPath())
		switch {
		case errors.Is(err, errForbidden):
			return program{}, &refusal{status: http.StatusForbidden, reason: refusedForbidden, why: err.Error()}
		case err != nil:
			return program{}, &refusal{status: http.StatusNotFound, reason: refusedNotFound, why: err.Error()}
		}
		p.cfg.Path, p.cfg.Args, p.cfg.Dir = sc.Path, nil, filepath.Dir(sc.Path)
		p.info.ScriptName, p.info.PathInfo, p.info.PathTranslated = sc.Name, sc.PathInfo, sc.Path
	}
	protocol, ok := chooseProtocol(r, s.protocols)
	if !ok {
		return program{}, &refusal{status: http.StatusBadRequest, reason: refusedProtocol,
			why: fmt.Sprintf("no subprotocol offered is served: %q", strings.Join(r.Header.Values("Sec-WebSocket-Protocol"), ", "))}
	}
	p.info.Protocol = protocol
	if !s.perIP.acquire(ss.remote) {
		return program{}, &refusal{status: http.StatusTooManyRequests, reason: refusedMaxPerIP, why: "--max-per-ip sessions already open from this address"}
	}
	ss.uncount = sync.OnceFunc(func() { s.perIP.release(ss.remote) })
	return p, nil
}

// start takes a --maxforks slot, accepts the upgrade and starts p. It
// returns the connection and the running program, or a nil connection
// and why the upgrade is refused: nil when the client was answered
// already.
func (ss *session) start(w http.ResponseWriter, r *http.Request, p program) (*bridge.Conn, *process.Process, *refusal) {
	s := ss.s
	if !s.limit.tryAcquire() {
		return nil, nil, &refusal{status: http.StatusTooManyRequests, reason: refusedMaxForks, why: "--maxforks children already running"}
	}
	ss.releaseFork = sync.OnceFunc(s.limit.release)
	if s.cfg.ReverseLookup {
		p.info.RemoteHost = lookupHost(r.Context(), r.RemoteAddr)
	}
	conn := ss.accept(w, r, p.info.Protocol)
	if conn == nil {
		return nil, nil, nil
	}
	child := ss.startChild(r, conn, p)
	if child == nil {
		return nil, nil, nil
	}
	s.metrics.started(conn)
	ss.access().Int("pid", child.Pid()).Msg("connected")
	return conn, child, nil
}

// startChild starts p, with the environment of r, for the client of conn,
// in either mode. If it cannot start, startChild counts and logs it,
// releases what the session took, so that the client may try again at
// once, closes conn with 1011 and returns nil.
func (ss *session) startChild(r *http.Request, conn *bridge.Conn, p program) *process.Process {
	s := ss.s
	p.cfg.Env = childEnv(r, s.cfg.Process.Env, p.info)
	child, err := process.Start(p.cfg)
	if err != nil {
		s.metrics.failed()
		s.cfg.Log.Error().Str("id", ss.id).Str("remote", ss.remote).Str("path", ss.path).Err(err).Msg("could not start program")
		ss.release()
		conn.Close(websocket.StatusInternalError, "could not start program")
		return nil
	}
	if p.cfg.PTY && !child.PTY() {
		s.cfg.Log.Warn().Str("id", ss.id).Int("pid", child.Pid()).Msg("no pseudo-terminal to be had: the program's stdout is a pipe")
	}
	return child
}

// run bridges conn and child in goroutines of their own, which end the
// session: as it ends, the address's count is given back before the
// client is told, the --maxforks slot once the child is gone, and then
// the session is logged as ended and counted out of s.active.
func (ss *session) run(conn *bridge.Conn, child *process.Process) {
	s := ss.s
	pid := child.Pid()
	bcfg := bridge.SessionConfig{Config: s.cfg.Bridge, WriteTimeout: s.cfg.WriteTimeout}
	bcfg.Ending = ss.uncount
	bcfg.WatchRead = watchRead
	bcfg.Stderr = s.stderrLogger(ss.id, pid)
	bridge.Start(s.sessions, conn, child, bcfg, func(res bridge.Result) {
		defer s.active.Done()
		ss.release()
		s.metrics.exited(res.Exit)
		ss.ended(conn, pid, exitStatus(res.Exit), res)
	})
}

// release gives back the address's count and the --maxforks slot, those
// of them the session holds.
func (ss *session) release() {
	ss.uncount()
	ss.releaseFork()
}

// giveUp ends a session that was not served: it refuses the upgrade for
// ref, unless ref is nil (the client was answered already), releases what
// the session took and counts it out of s.active.
func (ss *session) giveUp(w http.ResponseWriter, ref *refusal) {
	if ref != nil {
		ss.refuse(w, ref)
	}
	ss.release()
	ss.s.active.Done()
}

// refuse answers the upgrade with the status of ref, counts it and logs
// it.
func (ss *session) refuse(w http.ResponseWriter, ref *refusal) {
	if ref.challenge {
		challenge(w.Header())
	}
	ss.s.metrics.refused(ref.reason)
	http.Error(w, http.StatusText(ref.status), ref.status)
	ss.access().Int("status", ref.status).Str("reason", ref.why).Msg("refused")
}

// access returns a new event of the session for the access log. The
// events of a session are built afresh each time: a logger with these
// fields would keep a buffer for as long as the session runs.
func (ss *session) access() *zerolog.Event {
	ev := ss.s.cfg.AccessLog.Log().Str("id", ss.id).Str("remote", ss.remote).Str("path", ss.path)
	if ss.user != "" {
		ev = ev.Str("user", ss.user)
	}
	return ev
}

// accept accepts the upgrade with protocol (none when empty), compression
// if --compress asks for it, and the read limit of --maxframesize. When
// the handshake is not valid it has been answered, and accept counts and
// logs the refusal and returns nil.
func (ss *session) accept(w http.ResponseWriter, r *http.Request, protocol string) *bridge.Conn {
	s := ss.s
	if protocol != "" {
		// Set here rather than through AcceptOptions.Subprotocols,
		// with which the library would pick by the server's order and
		// compare without case. Given none, it answers with this header
		// and the connection reports it.
		w.Header().Set("Sec-WebSocket-Protocol", protocol)
	}
	opts := &websocket.AcceptOptions{
		// Origins are checked before, the way websocketd does.
		InsecureSkipVerify: true,
	}
	if s.cfg.Compress {
		opts.CompressionMode = websocket.CompressionNoContextTakeover
		opts.CompressionThreshold = compressionThreshold
	}
	conn, err := bridge.Accept(w, r, opts)
	if err != nil {
		// Accept has answered with the status the handshake deserves.
		s.metrics.refused(refusedHandshake)
		ss.access().Err(err).Msg("refused handshake")
		return nil
	}
	if s.cfg.MaxMessageSize > 0 {
		conn.SetReadLimit(s.cfg.MaxMessageSize)
	} else {
		conn.SetReadLimit(-1)
	}
	return conn
}

// compressionThreshold is the size from which a message sent to a client
// that asked for compression is compressed. Each message is compressed on
// its own, without what came before as a dictionary: a shorter one would
// shrink little for the work.
const compressionThreshold = 512

// ended counts the end of the session, served on conn, and logs it; exit
// says how its program ended, or is empty when the program runs on
// (broadcast).
func (ss *session) ended(conn *bridge.Conn, pid int, exit string, res bridge.Result) {
	duration := time.Since(ss.began)
	ss.s.metrics.ended(conn, duration)
	ev := ss.access().Int("pid", pid)
	if exit != "" {
		ev = ev.Str("exit", exit)
	}
	ev = ev.
		Dur("duration_ms", duration).
		Int64("messages_in", res.MessagesIn).
		Int64("messages_out", res.MessagesOut).
		Int64("bytes_in", res.BytesIn).
		Int64("bytes_out", res.BytesOut).
		Int("close_code", int(res.Code))
	if res.Reason != "" {
		ev = ev.Str("close_reason", res.Reason)
	}
	if res.ClientErr != nil && websocket.CloseStatus(res.ClientErr) == -1 {
		// A close frame is told by close_code; anything else is news.
		ev = ev.AnErr("client_error", res.ClientErr)
	}
	ev.Msg("disconnected")
}

// stderrLogger returns what logs each line the program pid of the session
// id writes on stderr: an info event tagged stream=stderr.
func (s *Server) stderrLogger(id string, pid int) func(line []byte) {
	return func(line []byte) {
		s.cfg.Log.Info().Str("id", id).Int("pid", pid).Str("stream", "stderr").Bytes("stderr", line).Msg("child wrote to stderr")
	}
}

// exitStatus describes how a child exited.
func exitStatus(err error) string {
	if err == nil {
		return "exit status 0"
	}
	return err.Error()
}

// newID returns a random connection id, which is also UNIQUE_ID.
func newID() string {
	var b [8]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// watchRead is how a session watches its client's connection while the
// client is quiet, with no goroutine.
func watchRead(c syscall.Conn) bridge.ReadWatch { return readwatch.New(c) }
