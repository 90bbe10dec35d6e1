package upgrade

import (
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/coder/websocket"
	"github.com/rs/zerolog"

	"wsbridge/bridge"
	"wsbridge/process"
)

// sharedGroups holds the programs of broadcast mode, one per key: the URL
// path with a COMMAND, the program's file with --dir, and with either the
// subprotocol negotiated.
type sharedGroups struct {
	mu sync.Mutex
	m  map[string]*shared
}

// shared is the program of one key in broadcast mode and the clients it
// serves.
type shared struct {
	ready   chan struct{}     // closed once the group runs, or could not start
	group   *bridge.Broadcast // nil if the program could not start
	child   *process.Process  // the program, started for the first client
	ended   chan struct{}     // closed once the end of the program was counted and logged
	clients int               // counted in and not yet gone; guarded by sharedGroups.mu
}

// join counts a client into the group of key and returns it, or returns
// a new one (first) that the client must start, or give up with failed.
// It returns nil if the group has max clients already (none when max is
// 0). A group whose program is being stopped or has exited takes no
// client: a new one takes its place, so that a client never joins a
// dying program.
func (gs *sharedGroups) join(key string, max int) (sh *shared, first bool) {
	for {
		gs.mu.Lock()
		sh := gs.m[key]
		if sh == nil {
			sh = &shared{ready: make(chan struct{}), ended: make(chan struct{}), clients: 1}
			if gs.m == nil {
				gs.m = make(map[string]*shared)
			}
			gs.m[key] = sh
			gs.mu.Unlock()
			return sh, true
		}
		if max > 0 && sh.clients >= max {
			gs.mu.Unlock()
			return nil, false
		}
		sh.clients++
		gs.mu.Unlock()
		// The first client accepts its connection and starts the
		// program meanwhile.
		<-sh.ready
		if sh.group != nil && sh.group.Join() {
			return sh, false
		}
		gs.out(sh)
		gs.remove(key, sh)
	}
}

// out counts a client of sh out.
func (gs *sharedGroups) out(sh *shared) {
	gs.mu.Lock()
	sh.clients--
	gs.mu.Unlock()
}

// failed gives up starting sh, the new group of key: the clients waiting
// for it try again.
func (gs *sharedGroups) failed(key string, sh *shared) {
	gs.remove(key, sh)
	close(sh.ready)
}

// remove forgets sh, if it is still the group of key.
func (gs *sharedGroups) remove(key string, sh *shared) {
	gs.mu.Lock()
	if gs.m[key] == sh {
		delete(gs.m, key)
	}
	gs.mu.Unlock()
}

// serveShared serves an upgrade in broadcast mode: the client joins the
// program of key, or is the first and starts it, with the environment of
// its own request and a --maxforks slot of its own; past
// --broadcast-clients clients of the program it is refused with 429.
// uncount gives back the client's --max-per-ip count; it is called as the
// session ends. It reports whether the session went on in a goroutine of
// its own.
func (s *Server) serveShared(w http.ResponseWriter, r *http.Request, key string, pcfg process.Config, info envInfo, access func() *zerolog.Event, refuse func(status int, reason, why string), uncount func()) bool {
	start := time.Now()
	id := info.UniqueID
	sh, first := s.shared.join(key, s.cfg.MaxBroadcastClients)
	if sh == nil {
		refuse(http.StatusTooManyRequests, refusedBroadcastClients, "--broadcast-clients clients already share the program")
		return false
	}
	if first {
		if !s.limit.tryAcquire() {
			s.shared.failed(key, sh)
			refuse(http.StatusTooManyRequests, refusedMaxForks, "--maxforks children already running")
			return false
		}
		if s.cfg.ReverseLookup {
			info.RemoteHost = lookupHost(r.Context(), r.RemoteAddr)
		}
	}
	conn := s.accept(w, r, info.Protocol, access)
	if conn == nil {
		if first {
			s.limit.release()
			s.shared.failed(key, sh)
		} else {
			s.leaveShared(sh)
		}
		return false
	}
	if first && !s.startShared(r, key, sh, pcfg, info, conn, uncount) {
		return false
	}
	pid := sh.child.Pid()
	s.metrics.accepted(conn)
	access().Int("pid", pid).Msg("connected")
	go func() {
		defer s.active.Done()
		res := sh.group.Run(conn, func() {
			s.shared.out(sh)
			uncount()
		})
		s.afterShared(sh)
		if errors.Is(res.ClientErr, bridge.ErrSlowClient) {
			s.metrics.slowClient()
			s.cfg.Log.Warn().Str("id", id).Str("remote", r.RemoteAddr).Str("path", r.URL.Path).Int("pid", pid).Msg("slow client closed")
		}
		exit := ""
		select {
		case <-sh.child.Done():
			exit = exitStatus(sh.child.Wait())
		default:
		}
		s.ended(conn, access, pid, exit, res, start)
	}()
	return true
}

// startShared starts the program of sh, a new group, for its first client
// whose connection is conn, and watches for its end. If the program
// cannot start, the client is uncounted, closed with 1011, and the group
// given up.
func (s *Server) startShared(r *http.Request, key string, sh *shared, pcfg process.Config, info envInfo, conn *bridge.Conn, uncount func()) bool {
	id := info.UniqueID
	pcfg.Env = childEnv(r, s.cfg.Process.Env, info)
	child, err := process.Start(pcfg)
	if err != nil {
		s.limit.release()
		s.shared.failed(key, sh)
		s.metrics.failed()
		s.cfg.Log.Error().Str("id", id).Str("remote", r.RemoteAddr).Str("path", r.URL.Path).Err(err).Msg("could not start program")
		uncount()
		conn.Close(websocket.StatusInternalError, "could not start program")
		return false
	}
	pid := child.Pid()
	bcfg := bridge.BroadcastConfig{Config: s.cfg.Bridge, QueueSize: s.cfg.BroadcastQueueSize}
	bcfg.Stderr = s.stderrLogger(id, pid)
	sh.child = child
	sh.group = bridge.NewBroadcast(s.sessions, child, bcfg)
	s.metrics.spawned()
	if pcfg.PTY && !child.PTY() {
		s.cfg.Log.Warn().Str("id", id).Int("pid", pid).Msg("no pseudo-terminal to be had: the program's stdout is a pipe")
	}
	// The group outlives the session of its first client; the server
	// waits for its end as for a session's.
	s.active.Add(1)
	path := r.URL.Path
	go func() {
		defer s.active.Done()
		exit := sh.group.Wait()
		s.limit.release()
		s.metrics.exited(exit)
		s.shared.remove(key, sh)
		s.cfg.Log.Info().Str("id", id).Str("path", path).Int("pid", pid).Str("exit", exitStatus(exit)).Msg("shared program ended")
		close(sh.ended)
	}()
	close(sh.ready)
	return true
}

// leaveShared counts out a client of sh whose connection was not accepted.
func (s *Server) leaveShared(sh *shared) {
	s.shared.out(sh)
	sh.group.Leave()
	s.afterShared(sh)
}

// afterShared waits, once a client of sh is gone, for the end of the
// program to be counted if the group has ended: the --maxforks slot is
// given back before the last client is logged as gone.
func (s *Server) afterShared(sh *shared) {
	select {
	case <-sh.group.Done():
		<-sh.ended
	default:
	}
}
