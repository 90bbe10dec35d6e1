package upgrade

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/coder/websocket"
	"github.com/rs/zerolog"

	"wsbridge/bridge"
	"wsbridge/process"
	"wsbridge/process/readwatch"
)

// serveSession checks that the upgrade is allowed, accepts it, starts the
// child and bridges the two until the session ends; in broadcast mode the
// client joins the child of its path instead, or starts it. A refused
// upgrade gets its HTTP status before any child starts: 401 without
// credentials that --basic-auth-file has, 403 for a foreign origin or a
// path escaping --dir, 404 for no program at the path, 400 for
// subprotocols offered none of which is served, 429 past --max-per-ip or
// --maxforks.
func (s *Server) serveSession(w http.ResponseWriter, r *http.Request) {
	if !s.begin() {
		s.metrics.refused(refusedShutdown)
		http.Error(w, "server shutting down", http.StatusServiceUnavailable)
		return
	}
	// Once the child runs, the session goes on in goroutines of its own,
	// which take over the deferred calls, and this one returns: the
	// request, the connection's buffers and the stack that accepting and
	// spawning grew are then let go, and an idle session stays small.
	handedOver := false
	defer func() {
		if !handedOver {
			s.active.Done()
		}
	}()
	start := time.Now()
	id := newID()
	// The events of a session are built afresh each time: a logger with
	// these fields would keep a buffer for as long as the session runs.
	remote, path := r.RemoteAddr, r.URL.Path
	var user string
	access := func() *zerolog.Event {
		ev := s.cfg.AccessLog.Log().Str("id", id).Str("remote", remote).Str("path", path)
		if user != "" {
			ev = ev.Str("user", user)
		}
		return ev
	}
	refuse := func(status int, reason, why string) {
		s.metrics.refused(reason)
		http.Error(w, http.StatusText(status), status)
		access().Int("status", status).Str("reason", why).Msg("refused")
	}

	who, refusal := s.authenticate(r)
	user = who.user
	if refusal != "" {
		challenge(w.Header())
		refuse(http.StatusUnauthorized, refusedAuth, authWhy[refusal])
		return
	}
	if why := allowedOrigin(r, s.origins, s.cfg.SameOrigin); why != "" {
		refuse(http.StatusForbidden, refusedOrigin, why)
		return
	}
	pcfg := s.cfg.Process
	info := envInfo{ScriptName: "/", PathInfo: r.URL.Path, UniqueID: id, Software: s.software, RemoteUser: who.user, AuthType: who.authType}
	if s.dir != nil {
		sc, err := resolveScript(s.dir, s.cfg.Dir, r.URL.EscapedPath())
		switch {
		case errors.Is(err, errForbidden):
			refuse(http.StatusForbidden, refusedForbidden, err.Error())
			return
		case err != nil:
			refuse(http.StatusNotFound, refusedNotFound, err.Error())
			return
		}
		pcfg.Path, pcfg.Args, pcfg.Dir = sc.Path, nil, filepath.Dir(sc.Path)
		info.ScriptName, info.PathInfo, info.PathTranslated = sc.Name, sc.PathInfo, sc.Path
	}
	protocol, ok := chooseProtocol(r, s.protocols)
	if !ok {
		refuse(http.StatusBadRequest, refusedProtocol,
			fmt.Sprintf("no subprotocol offered is served: %q", strings.Join(r.Header.Values("Sec-WebSocket-Protocol"), ", ")))
		return
	}
	info.Protocol = protocol
	if !s.perIP.acquire(remote) {
		refuse(http.StatusTooManyRequests, refusedMaxPerIP, "--max-per-ip sessions already open from this address")
		return
	}
	// The address's count is given back when the session ends, before
	// the client is told, so that it can start another at once.
	counted := true
	uncount := func() {
		if counted {
			counted = false
			s.perIP.release(remote)
		}
	}
	defer func() {
		if !handedOver {
			uncount()
		}
	}()
	if s.cfg.Broadcast {
		// A program is shared by the clients of a path, or of a
		// script with --dir, that speak the same subprotocol.
		key := r.URL.Path
		if s.dir != nil {
			key = pcfg.Path
		}
		key += "\x00" + protocol
		handedOver = s.serveBroadcast(w, r, key, pcfg, info, access, refuse, uncount)
		return
	}
	if !s.limit.tryAcquire() {
		refuse(http.StatusTooManyRequests, refusedMaxForks, "--maxforks children already running")
		return
	}
	// The slot is given back as soon as the child is gone, before the
	// session is logged as ended.
	held := true
	release := func() {
		if held {
			held = false
			s.limit.release()
		}
	}
	defer func() {
		if !handedOver {
			release()
		}
	}()
	if s.cfg.ReverseLookup {
		info.RemoteHost = lookupHost(r.Context(), r.RemoteAddr)
	}

	conn := s.accept(w, r, protocol, access)
	if conn == nil {
		return
	}

	pcfg.Env = childEnv(r, s.cfg.Process.Env, info)
	child, err := process.Start(pcfg)
	if err != nil {
		s.metrics.failed()
		s.cfg.Log.Error().Str("id", id).Str("remote", r.RemoteAddr).Str("path", r.URL.Path).Err(err).Msg("could not start program")
		uncount()
		conn.Close(websocket.StatusInternalError, "could not start program")
		return
	}
	pid := child.Pid()
	s.metrics.started(conn)
	access().Int("pid", pid).Msg("connected")
	if pcfg.PTY && !child.PTY() {
		s.cfg.Log.Warn().Str("id", id).Int("pid", pid).Msg("no pseudo-terminal to be had: the program's stdout is a pipe")
	}

	handedOver = true
	s.startSession(conn, child, id, access, start, release, uncount)
}

// accept accepts the upgrade with protocol (none when empty), compression
// if --compress asks for it, and the read limit of --maxframesize. When
// the handshake is not valid it has been answered, and accept counts and
// logs the refusal and returns nil.
func (s *Server) accept(w http.ResponseWriter, r *http.Request, protocol string, access func() *zerolog.Event) *bridge.Conn {
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
		access().Err(err).Msg("refused handshake")
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

// startSession starts a session whose child has started; as it ends,
// the session calls uncount, gives its --maxforks slot back (release) once
// the child is gone, logs its end and counts itself out of s.active.
func (s *Server) startSession(conn *bridge.Conn, child *process.Process, id string, access func() *zerolog.Event, start time.Time, release, uncount func()) {
	pid := child.Pid()
	bcfg := bridge.SessionConfig{Config: s.cfg.Bridge, WriteTimeout: s.cfg.WriteTimeout}
	bcfg.Ending = uncount
	bcfg.WatchRead = watchRead
	bcfg.Stderr = s.stderrLogger(id, pid)
	bridge.Start(s.sessions, conn, child, bcfg, func(res bridge.Result) {
		defer s.active.Done()
		release()
		s.metrics.exited(res.Exit)
		s.ended(conn, access, pid, exitStatus(res.Exit), res, start)
	})
}

// ended counts the end of a session served on conn and logs it; exit says
// how its program ended, or is empty when the program runs on
// (broadcast).
func (s *Server) ended(conn *bridge.Conn, access func() *zerolog.Event, pid int, exit string, res bridge.Result, start time.Time) {
	duration := time.Since(start)
	s.metrics.ended(conn, duration)
	ev := access().Int("pid", pid)
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
