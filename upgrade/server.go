// Package upgrade is the HTTP side of wsbridge: on the listeners it is
// given, it routes each request (WebSocket upgrade, dev console, CGI,
// static files), decides whether an upgrade is allowed, builds the
// child's CGI environment, accepts the upgrade and shuts everything down
// gracefully. Package listen opens the listeners.
package upgrade

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"wsbridge/bridge"
	"wsbridge/process"
	"wsbridge/upgrade/cluster"
)

// Config is what the server runs and how. The zero value is not usable:
// either Process.Path or Dir must be set.
type Config struct {
	// Process is the child every client gets: Path, Args, PTY and Grace
	// are used as they are; Env is the part of the environment that
	// comes from the server (the --passenv variables), to which each
	// request adds its own.
	Process process.Config
	// Dir, when set, is a directory of programs, each its own endpoint,
	// and Process.Path and Process.Args are not used.
	Dir string
	// StaticDir, when set, is a directory whose files plain HTTP GETs get.
	StaticDir string
	// CGIDir, when set, is a directory of CGI programs plain HTTP
	// requests run.
	CGIDir string
	// Dotfiles lets URL paths reach the names in Dir, StaticDir and
	// CGIDir that start with "."; otherwise they are answered as if
	// absent (404), but for a first segment ".well-known".
	Dotfiles bool
	// ListDirs answers a request for a directory of StaticDir that has no
	// index.html with a listing of its files; otherwise with 403.
	ListDirs bool
	// DevConsole answers plain HTTP GETs with a page to talk to the
	// WebSocket endpoint at the same path.
	DevConsole bool
	// Bridge says how messages are moved. Its Stderr is set per session.
	Bridge bridge.Config
	// WriteTimeout is how long a client that has its program to itself
	// may leave a write of its output unfinished before it is dropped
	// (bridge.SessionConfig.WriteTimeout). Zero means no limit until the
	// server shuts down.
	WriteTimeout time.Duration
	// Broadcast gives all clients of one URL path one shared child (with
	// Dir, all clients of one program, whatever the rest of their path;
	// with Protocols, those that speak one subprotocol):
	// it starts for the first client, with that client's request as its
	// environment, and is stopped when the last one leaves. Every line it
	// prints goes to every client; BroadcastQueueSize bounds what waits for
	// each one. One client at a time writes a message to the child, the
	// others waiting in their sockets, so MaxMessageSize should be set.
	Broadcast bool
	// Cluster, when its URL is set, spreads each broadcast group over
	// every instance that shares the NATS server and Cluster.Name: one
	// program per group across them all, run by the instance that holds
	// the group's lease. Its MaxMessageSize and Log are set from
	// MaxMessageSize and Log. The zero value keeps every group in this
	// process.
	Cluster cluster.Config
	// MaxBroadcastClients bounds the clients that share one child in
	// broadcast mode; past it upgrades are refused with 429. Zero means
	// no limit.
	MaxBroadcastClients int
	// BroadcastQueueSize bounds, in bytes, the output waiting for one
	// client of a broadcast program (bridge.BroadcastConfig.QueueSize).
	// Zero means bridge.DefaultQueueSize.
	BroadcastQueueSize int
	// MaxMessageSize is the largest message accepted from a client, in
	// bytes; a larger one closes the connection with 1009. Zero means no
	// limit.
	MaxMessageSize int64
	// Compress compresses messages with permessage-deflate (RFC 7692)
	// for clients that ask for it, without context takeover: each
	// message of 512 bytes or more is compressed on its own, with a
	// compressor shared through a pool, so that a connection holds none
	// between messages. The zero value negotiates no compression.
	Compress bool
	// MaxForks bounds the children (WebSocket and CGI) running at once;
	// past it requests are refused with 429. Zero or less means no limit.
	MaxForks int
	// ReverseLookup sets REMOTE_HOST from reverse DNS.
	ReverseLookup bool
	// TrustedProxies lists the peers, as IP addresses or CIDR ranges,
	// whose forwarding headers (X-Forwarded-For, X-Real-IP,
	// X-Forwarded-Proto, -Host and -Port, or Forwarded) say who the
	// client is and where it connected: for their requests the client
	// they name is the remote address everywhere (the child's
	// environment, CGI, the logs), and the scheme, host and port it
	// connected to are SameOrigin's and the environment's. Empty means
	// none: all come from the peer's own connection.
	TrustedProxies []string
	// Origins lists the origins upgrades may come from, as
	// [scheme://]host[:port]; empty means any.
	Origins []string
	// SameOrigin refuses upgrades whose Origin has another host or port
	// than the request was sent to: its Host, or behind TrustedProxies
	// what the proxy says the client connected to.
	SameOrigin bool
	// AllowedHosts lists the host names a request may name in its Host
	// header, besides localhost, the names under .localhost and IP
	// addresses, when every TCP listener is on a loopback address: there
	// a request for another host is refused with 403, for it may come
	// from a page of another site that made its own name lead to
	// 127.0.0.1 (DNS rebinding), a thing SameOrigin cannot see. An entry
	// ".example.com" stands for example.com and every name under it.
	// Requests on a unix socket, and all requests when wsbridge listens
	// on another address, are not checked. Empty means none.
	AllowedHosts []string
	// Protocols lists the WebSocket subprotocols served. A client gets
	// the first of the names it offers, in its order, that the list
	// holds (compared exactly), and its child sees it as
	// WEBSOCKET_PROTOCOL; a client whose offers are all missing from the
	// list is refused with 400; a client that offers none gets no
	// protocol. Empty means none is negotiated and offers are ignored.
	Protocols []string
	// BasicAuthFile, when set, is an htpasswd file of bcrypt hashes, read
	// again whenever it changes: every request, upgrade or plain HTTP,
	// must then bring Basic credentials the file has (or come from a user
	// AuthHeader names) or get 401, and its program sees the user as
	// REMOTE_USER. Empty means no Basic authentication.
	BasicAuthFile string
	// AuthHeader, when set, is a request header in which a peer of
	// TrustedProxies names the user it authenticated: that user is
	// REMOTE_USER, with AUTH_TYPE "Proxy". The header is removed from the
	// requests of other peers. Empty means none.
	AuthHeader string
	// MaxPerIP bounds the sessions open at once from one client address
	// (as TrustedProxies name it); past it upgrades are refused with 429.
	// Clients on the unix socket are not counted. Zero or less means no
	// limit.
	MaxPerIP int
	// Headers go on every answer, UpgradeHeaders on upgrade answers and
	// HTTPHeaders on plain HTTP answers.
	Headers, UpgradeHeaders, HTTPHeaders http.Header
	// TLS, when set, serves TCP listeners with TLS. Like listen.LoadTLS's, it
	// should offer only HTTP/1.1, the protocol a WebSocket upgrades from.
	TLS *tls.Config
	// Version and Revision say what wsbridge was built from: the module
	// version, which programs see in SERVER_SOFTWARE as wsbridge/VERSION,
	// and the version control revision. wsbridge_build_info gives both.
	// An empty Version is "devel"; an empty Revision is not known.
	Version, Revision string
	// CGIBodyTimeout bounds how long the whole body of a request may take
	// to reach its CGI program, from the program's start; past it the
	// program is stopped, and the client answered 408 if the program
	// had not answered yet. Zero means DefaultCGIBodyTimeout.
	CGIBodyTimeout time.Duration
	// ReadHeaderTimeout bounds how long a client may take to send its
	// request headers. Zero means DefaultReadHeaderTimeout.
	ReadHeaderTimeout time.Duration
	// Log receives server events and the children's stderr lines. The
	// zero value logs nothing.
	Log zerolog.Logger
	// AccessLog receives one event per plain HTTP request or refused
	// upgrade and two per session (start and end), written without a
	// level of their own. The zero value logs nothing.
	AccessLog zerolog.Logger
}

// DefaultReadHeaderTimeout is the ReadHeaderTimeout used when the Config
// gives none, as websocketd has it.
const DefaultReadHeaderTimeout = 10 * time.Second

// Server serves WebSocket sessions. Create it with NewServer.
type Server struct {
	cfg      Config
	http     *http.Server
	redirect *http.Server
	observer *http.Server // metrics and health, shut down last
	metrics  *metrics
	software string // SERVER_SOFTWARE

	origins    []originPattern
	hosts      allowedHosts
	checkHost  atomic.Bool // Serve was given loopback listeners only
	protocols  []string
	proxies    trustedProxies
	limit      *forkLimit
	perIP      *perIP
	basic      *basicAuth       // --basic-auth-file; nil for none
	dir        *servedDir       // --dir
	plain      http.Handler     // CGI, then static files, then 404
	roots      []*os.Root       // every directory opened, closed on Shutdown
	broadcasts broadcasts       // the programs of --broadcast
	cluster    *cluster.Cluster // --cluster; nil for none

	// sessions is done when the server shuts down: every session then
	// stops its child and closes with 1001, and every CGI program is
	// stopped.
	sessions context.Context
	shutdown context.CancelFunc

	mu      sync.Mutex
	closing bool
	active  sync.WaitGroup
	fresh   map[net.Conn]bool // connections that have not sent a request yet
}

// NewServer returns a server for cfg, or an error naming the setting that
// cannot be used.
func NewServer(cfg Config) (*Server, error) {
	if cfg.ReadHeaderTimeout == 0 {
		cfg.ReadHeaderTimeout = DefaultReadHeaderTimeout
	}
	if cfg.Version == "" {
		cfg.Version = "devel"
	}
	s := &Server{cfg: cfg, limit: newForkLimit(cfg.MaxForks), perIP: newPerIP(cfg.MaxPerIP), metrics: newMetrics(cfg.Version, cfg.Revision)}
	s.software = "wsbridge/" + cfg.Version
	var err error
	if cfg.BasicAuthFile != "" {
		if s.basic, err = newBasicAuth(cfg.BasicAuthFile, cfg.Log); err != nil {
			return nil, fmt.Errorf("--basic-auth-file: %w", err)
		}
	}
	if cfg.AuthHeader != "" && !plainHeaderName(cfg.AuthHeader) {
		return nil, fmt.Errorf("--auth-header=%s: not a header name (letters, digits and -)", cfg.AuthHeader)
	}
	if s.origins, err = parseOrigins(cfg.Origins); err != nil {
		return nil, err
	}
	if s.hosts, err = parseAllowedHosts(cfg.AllowedHosts); err != nil {
		return nil, err
	}
	if s.proxies, err = parseTrustedProxies(cfg.TrustedProxies); err != nil {
		return nil, err
	}
	if s.protocols, err = parseProtocols(cfg.Protocols); err != nil {
		return nil, err
	}
	if cfg.Dir != "" {
		if s.dir, err = s.openDir("--dir", cfg.Dir); err != nil {
			return nil, err
		}
	}
	if cfg.Cluster.URL != "" {
		cc := cfg.Cluster
		cc.MaxMessageSize, cc.Log = cfg.MaxMessageSize, cfg.Log
		if s.cluster, err = cluster.Open(cc); err != nil {
			return nil, fmt.Errorf("--cluster: %w", err)
		}
		s.metrics.registry.MustRegister(s.cluster.Collectors()...)
	}
	s.sessions, s.shutdown = context.WithCancel(context.Background())
	s.plain = http.HandlerFunc(s.notUpgraded)
	if cfg.StaticDir != "" {
		d, err := s.openDir("--staticdir", cfg.StaticDir)
		if err != nil {
			return nil, err
		}
		s.plain = staticHandler(d, cfg.ListDirs, cfg.Log)
	}
	if cfg.CGIDir != "" {
		d, err := s.openDir("--cgidir", cfg.CGIDir)
		if err != nil {
			return nil, err
		}
		// Programs see wsbridge as the server, as a session's do.
		env := append(cfg.Process.Env[:len(cfg.Process.Env):len(cfg.Process.Env)], "SERVER_SOFTWARE="+s.software)
		gw := cgiHandler(d, cfg.CGIDir, env, s.limit, s.metrics.processes, cfg.Log, s.plain)
		gw.program, gw.bodyTimeout, gw.shutdown = cfg.Process, cfg.CGIBodyTimeout, s.sessions
		s.plain = gw
	}
	s.http = s.newHTTPServer(s)
	return s, nil
}

// openDir opens the directory a flag names.
func (s *Server) openDir(flag, dir string) (*servedDir, error) {
	d, err := openServedDir(flag, dir, s.cfg.Dotfiles)
	if err != nil {
		for _, r := range s.roots {
			r.Close()
		}
		return nil, err
	}
	s.roots = append(s.roots, d.root)
	return d, nil
}

func (s *Server) newHTTPServer(h http.Handler) *http.Server {
	return &http.Server{
		Handler:           s.fromClient(h),
		ReadHeaderTimeout: s.cfg.ReadHeaderTimeout,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          newErrorLog(s.cfg.Log),
		ConnState:         s.trackFresh,
	}
}

// fromClient wraps h so that each request from a trusted proxy is seen
// as its client saw it: RemoteAddr is the client's address, and sentTo
// gives the scheme, host and port the client connected to, as the
// proxy's headers say. Only trusted proxies can name a user in the
// AuthHeader.
func (s *Server) fromClient(h http.Handler) http.Handler {
	if len(s.proxies) == 0 && s.cfg.AuthHeader == "" {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		addr, to, trusted := s.proxies.forwarded(r)
		if s.cfg.AuthHeader != "" && !trusted {
			r.Header.Del(s.cfg.AuthHeader)
		}
		if trusted {
			r.RemoteAddr = addr
			r = withSentTo(r, to)
		}
		h.ServeHTTP(w, r)
	})
}

// trackFresh keeps the set of connections that have not sent a request
// yet, which Shutdown closes: http.Server.Shutdown would wait for each of
// them (a browser's preconnection, say) for up to five seconds.
func (s *Server) trackFresh(c net.Conn, state http.ConnState) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case state == http.StateNew && s.closing:
		c.Close()
	case state == http.StateNew:
		if s.fresh == nil {
			s.fresh = make(map[net.Conn]bool)
		}
		s.fresh[c] = true
	default:
		delete(s.fresh, c)
	}
}

// Serve accepts connections on every listener until Shutdown, with TLS on
// TCP listeners when the Config has it. When every TCP listener is on a
// loopback address, requests over TCP must name a host of AllowedHosts;
// when one listens beyond loopback with nothing to tell web pages from
// other clients (see warnIfOpen), a warning is logged. It returns
// http.ErrServerClosed after a Shutdown, or the first other error.
func (s *Server) Serve(listeners ...net.Listener) error {
	s.checkHost.Store(loopbackOnly(listeners))
	s.warnIfOpen(listeners)
	served := make([]net.Listener, len(listeners))
	for i, ln := range listeners {
		if s.cfg.TLS != nil && ln.Addr().Network() == "tcp" {
			ln = tls.NewListener(ln, s.cfg.TLS)
		}
		served[i] = ln
	}
	return serveAll(s.http, served)
}

// ServeRedirect answers every request on ln with a redirect to the same
// path and query on port of the same host, with scheme, until Shutdown.
func (s *Server) ServeRedirect(ln net.Listener, scheme string, port int) error {
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		return http.ErrServerClosed
	}
	s.redirect = s.newHTTPServer(s.logged("", Redirect(scheme, port)))
	s.mu.Unlock()
	return serveAll(s.redirect, []net.Listener{ln})
}

// serveAll serves srv on every listener and returns the first error that
// is not http.ErrServerClosed, or that one.
func serveAll(srv *http.Server, listeners []net.Listener) error {
	errs := make(chan error, len(listeners))
	for _, ln := range listeners {
		go func() { errs <- srv.Serve(ln) }()
	}
	var first error
	for range listeners {
		err := <-errs
		if first == nil || errors.Is(first, http.ErrServerClosed) {
			first = err
		}
		if !errors.Is(err, http.ErrServerClosed) {
			srv.Close()
		}
	}
	return first
}

// Shutdown stops accepting connections, stops every child (delivering what
// it still writes) and closes every session with 1001, then waits for them
// to end or for ctx to be done, whichever comes first. The metrics
// listener answers until then, with /readyz saying 503.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closing = true
	redirect, observer := s.redirect, s.observer
	for c := range s.fresh {
		c.Close()
	}
	s.mu.Unlock()
	if observer != nil {
		defer func() {
			if observer.Shutdown(ctx) != nil {
				observer.Close()
			}
		}()
	}
	s.shutdown()
	if redirect != nil {
		redirect.Shutdown(ctx)
	}
	err := s.http.Shutdown(ctx)
	done := make(chan struct{})
	go func() {
		s.active.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
		return ctx.Err()
	}
	if s.cluster != nil {
		s.cluster.Close()
	}
	for _, root := range s.roots {
		root.Close()
	}
	return err
}

// begin counts a new session in, unless the server is shutting down.
func (s *Server) begin() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return false
	}
	s.active.Add(1)
	return true
}
