package upgrade

import (
	"errors"
	"net/http"
	"sync"

	"wsbridge/bridge"
	"wsbridge/process"
	"wsbridge/upgrade/cluster"
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
	child   bridge.Child      // the program, started for the first client, or its cluster.Member
	pid     int               // the program's, or 0 when it runs for the cluster
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

// joinBroadcast accepts the upgrade and joins the client to the program
// of its key: the URL path, or with --dir the program's file, and the
// subprotocol. The first client of a key takes a --maxforks slot of its
// own and starts p with the environment of its own request. It returns
// the connection and the broadcast, or a nil connection and why the
// upgrade is refused (429 past --broadcast-clients clients of the
// program): nil when the client was answered already.
func (ss *session) joinBroadcast(w http.ResponseWriter, r *http.Request, p program) (*bridge.Conn, *broadcast, *refusal) {
	s := ss.s
	// A program is shared by the clients of a path, or of a script with
	// --dir, that speak the same subprotocol.
	key := ss.path
	if s.dir != nil {
		key = p.cfg.Path
	}
	key += "\x00" + p.info.Protocol
	b, first := s.broadcasts.join(key, s.cfg.MaxBroadcastClients)
	if b == nil {
		return nil, nil, &refusal{status: http.StatusTooManyRequests, reason: refusedBroadcastClients, why: "--broadcast-clients clients already share the program"}
	}
	var member *cluster.Member
	if first {
		if !s.limit.tryAcquire() {
			s.broadcasts.failed(key, b)
			return nil, nil, &refusal{status: http.StatusTooManyRequests, reason: refusedMaxForks, why: "--maxforks children already running"}
		}
		ss.releaseFork = sync.OnceFunc(s.limit.release)
		if s.cfg.ReverseLookup {
			p.info.RemoteHost = lookupHost(r.Context(), r.RemoteAddr)
		}
		if s.cluster != nil {
			var err error
			if member, err = ss.joinCluster(r, key, p); err != nil {
				ss.releaseFork()
				s.broadcasts.failed(key, b)
				return nil, nil, &refusal{status: http.StatusServiceUnavailable, reason: refusedCluster, why: err.Error()}
			}
		}
	}
	conn := ss.accept(w, r, p.info.Protocol)
	if conn == nil {
		if first {
			if member != nil {
				member.Stop()
			}
			ss.releaseFork()
			s.broadcasts.failed(key, b)
		} else {
			s.leaveBroadcast(b)
		}
		return nil, nil, nil
	}
	if s.cluster != nil {
		// A message must fit in one NATS message with its newline.
		if max := s.cluster.MaxMessage(); s.cfg.MaxMessageSize <= 0 || s.cfg.MaxMessageSize > max {
			conn.SetReadLimit(max)
		}
	}
	if first {
		if member != nil {
			ss.startBroadcast(key, b, member, 0)
		} else {
			child := ss.startChild(r, conn, p)
			if child == nil {
				s.broadcasts.failed(key, b)
				return nil, nil, nil
			}
			ss.startBroadcast(key, b, child, child.Pid())
		}
	}
	s.metrics.accepted(conn)
	ss.access().Int("pid", b.pid).Msg("connected")
	return conn, b, nil
}

// joinCluster joins this instance to the cluster's group of key, whose
// program, when this instance comes to run it, is p with the environment
// of r, the request of the group's first client here. A program the
// instance runs for the group is counted in the metrics, and its exit
// too.
func (ss *session) joinCluster(r *http.Request, key string, p program) (*cluster.Member, error) {
	s := ss.s
	p.cfg.Env = childEnv(r, s.cfg.Process.Env, p.info)
	return s.cluster.Join(key, func() (bridge.Child, error) {
		child, err := process.Start(p.cfg)
		if err != nil {
			s.metrics.failed()
			return nil, err
		}
		s.metrics.spawned()
		go func() { s.metrics.exited(child.Wait()) }()
		return child, nil
	})
}

// startBroadcast makes b, the new broadcast of key, serve child, started
// for the session's client (pid, or 0 for a cluster.Member), and watches
// for its end. The --maxforks slot the session took is the broadcast's
// from now on, given back when the program has ended.
func (ss *session) startBroadcast(key string, b *broadcast, child bridge.Child, pid int) {
	s := ss.s
	bcfg := bridge.BroadcastConfig{Config: s.cfg.Bridge, QueueSize: s.cfg.BroadcastQueueSize}
	bcfg.Stderr = s.stderrLogger(ss.id, pid)
	b.child, b.pid = child, pid
	b.group = bridge.NewBroadcast(s.sessions, child, bcfg)
	if pid != 0 {
		s.metrics.spawned()
	}
	releaseFork := ss.releaseFork
	ss.releaseFork = func() {}
	// The group outlives the session of its first client; the server
	// waits for its end as for a session's.
	s.active.Add(1)
	id, path := ss.id, ss.path
	go func() {
		defer s.active.Done()
		exit := b.group.Wait()
		releaseFork()
		if pid != 0 {
			s.metrics.exited(exit)
		}
		s.broadcasts.remove(key, b)
		s.cfg.Log.Info().Str("id", id).Str("path", path).Int("pid", pid).Str("exit", exitStatus(exit)).Msg("broadcast program ended")
		close(b.ended)
	}()
	close(b.ready)
}

// runBroadcast serves the client of conn with b in a goroutine of its own,
// which ends the session: as the client goes it is counted out of b and
// the address's count given back, then the session is logged as ended and
// counted out of s.active.
func (ss *session) runBroadcast(conn *bridge.Conn, b *broadcast) {
	s := ss.s
	go func() {
		defer s.active.Done()
		pid := b.pid
		res := b.group.Run(conn, func() {
			s.broadcasts.out(b)
			ss.release()
		})
		s.afterBroadcast(b)
		if errors.Is(res.ClientErr, bridge.ErrSlowClient) {
			s.metrics.slowClient()
			s.cfg.Log.Warn().Str("id", ss.id).Str("remote", ss.remote).Str("path", ss.path).Int("pid", pid).Msg("slow client closed")
		}
		exit := ""
		select {
		case <-b.child.Done():
			exit = exitStatus(b.child.Wait())
		default:
		}
		ss.ended(conn, pid, exit, res)
	}()
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
