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

// broadcasts holds the programs of broadcast mode, one per key: the URL
// path with a COMMAND, the program's file with --dir, and with either the
// subprotocol negotiated.
type broadcasts struct {
	mu sync.Mutex
	m  map[string]*broadcast
}

// broadcast is the program of one key in broadcast mode and the clients
// it serves.
type broadcast struct {
	ready   chan struct{}     // closed once the group runs, or could not start
	group   *bridge.Broadcast // nil if the program could not start
	child   *process.Process  // the program, started for the first client
	ended   chan struct{}     // closed once the end of the program was counted and logged
	clients int               // counted in and not yet gone; guarded by broadcasts.mu
}

// join counts a client into the group of key and returns it, or returns
// a new one (first) that the client must start, or give up with failed.
// It returns nil if the group has max clients already (none when max is
// 0). A group whose program is being stopped or has exited takes no
// client: a new one takes its place, so that a client never joins a
// dying program.
func (bs *broadcasts) join(key string, max int) (b *broadcast, first bool) {
	for {
		bs.mu.Lock()
		b := bs.m[key]
		if b == nil {
			b = &broadcast{ready: make(chan struct{}), ended: make(chan struct{}), clients: 1}
			if bs.m == nil {
				bs.m = make(map[string]*broadcast)
			}
			bs.m[key] = b
			bs.mu.Unlock()
			return b, true
		}
		if max > 0 && b.clients >= max {
			bs.mu.Unlock()
			return nil, false
		}
		b.clients++
		bs.mu.Unlock()
		// The first client accepts its connection and starts the
		// program meanwhile.
		<-b.ready
		if b.group != nil && b.group.Join() {
			return b, false
		}
		bs.out(b)
		bs.remove(key, b)
	}
}

// out counts a client of b out.
func (bs *broadcasts) out(b *broadcast) {
	bs.mu.Lock()
	b.clients--
	bs.mu.Unlock()
}

// failed gives up starting b, the new group of key: the clients waiting
// for it try again.
func (bs *broadcasts) failed(key string, b *broadcast) {
	bs.remove(key, b)
	close(b.ready)
}

// remove forgets b, if it is still the group of key.
func (bs *broadcasts) remove(key string, b *broadcast) {
	bs.mu.Lock()
	if bs.m[key] == b {
		delete(bs.m, key)
	}
	bs.mu.Unlock()
}

// serveBroadcast serves an upgrade in broadcast mode: the client joins the
// program of key, or is the first and starts it, with the environment of
// its own request and a --maxforks slot of its own; past
// --broadcast-clients clients of the program it is refused with 429.
// uncount gives back the client's --max-per-ip count; it is called as the
// session ends. It reports whether the session went on in a goroutine of
// its own.
func (s *Server) serveBroadcast(w http.ResponseWriter, r *http.Request, key string, pcfg process.Config, info envInfo, access func() *zerolog.Event, refuse func(status int, reason, why string), uncount func()) bool {
	start := time.Now()
	id := info.UniqueID
	b, first := s.broadcasts.join(key, s.cfg.MaxBroadcastClients)
	if b == nil {
		refuse(http.StatusTooManyRequests, refusedBroadcastClients, "--broadcast-clients clients already share the program")
		return false
	}
	if first {
		if !s.limit.tryAcquire() {
			s.broadcasts.failed(key, b)
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
			s.broadcasts.failed(key, b)
		} else {
			s.leaveBroadcast(b)
		}
		return false
	}
	if first && !s.startBroadcast(r, key, b, pcfg, info, conn, uncount) {
		return false
	}
	pid := b.child.Pid()
	s.metrics.accepted(conn)
	access().Int("pid", pid).Msg("connected")
	go func() {
		defer s.active.Done()
		res := b.group.Run(conn, func() {
			s.broadcasts.out(b)
			uncount()
		})
		s.afterBroadcast(b)
		if errors.Is(res.ClientErr, bridge.ErrSlowClient) {
			s.metrics.slowClient()
			s.cfg.Log.Warn().Str("id", id).Str("remote", r.RemoteAddr).Str("path", r.URL.Path).Int("pid", pid).Msg("slow client closed")
		}
		exit := ""
		select {
		case <-b.child.Done():
			exit = exitStatus(b.child.Wait())
		default:
		}
		s.ended(conn, access, pid, exit, res, start)
	}()
	return true
}

// startBroadcast starts the program of b, a new group, for its first client
// whose connection is conn, and watches for its end. If the program
// cannot start, the client is uncounted, closed with 1011, and the group
// given up.
func (s *Server) startBroadcast(r *http.Request, key string, b *broadcast, pcfg process.Config, info envInfo, conn *bridge.Conn, uncount func()) bool {
	id := info.UniqueID
	pcfg.Env = childEnv(r, s.cfg.Process.Env, info)
	child, err := process.Start(pcfg)
	if err != nil {
		s.limit.release()
		s.broadcasts.failed(key, b)
		s.metrics.failed()
		s.cfg.Log.Error().Str("id", id).Str("remote", r.RemoteAddr).Str("path", r.URL.Path).Err(err).Msg("could not start program")
		uncount()
		conn.Close(websocket.StatusInternalError, "could not start program")
		return false
	}
	pid := child.Pid()
	bcfg := bridge.BroadcastConfig{Config: s.cfg.Bridge, QueueSize: s.cfg.BroadcastQueueSize}
	bcfg.Stderr = s.stderrLogger(id, pid)
	b.child = child
	b.group = bridge.NewBroadcast(s.sessions, child, bcfg)
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
		exit := b.group.Wait()
		s.limit.release()
		s.metrics.exited(exit)
		s.broadcasts.remove(key, b)
		s.cfg.Log.Info().Str("id", id).Str("path", path).Int("pid", pid).Str("exit", exitStatus(exit)).Msg("broadcast program ended")
		close(b.ended)
	}()
	close(b.ready)
	return true
}

// leaveBroadcast counts out a client of b whose connection was not accepted.
func (s *Server) leaveBroadcast(b *broadcast) {
	s.broadcasts.out(b)
	b.group.Leave()
	s.afterBroadcast(b)
}

// afterBroadcast waits, once a client of b is gone, for the end of the
// program to be counted if the group has ended: the --maxforks slot is
// given back before the last client is logged as gone.
func (s *Server) afterBroadcast(b *broadcast) {
	select {
	case <-b.group.Done():
		<-b.ended
	default:
	}
}
