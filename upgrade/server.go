// Package upgrade is the HTTP side of wsbridge: it listens, decides for each
// request whether it becomes a WebSocket session, builds the child's CGI
// environment, accepts the upgrade and shuts everything down gracefully.
package upgrade

import (
	"context"
	"errors"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"wsbridge/bridge"
	"wsbridge/process"
)

// Config is what the server runs and how. The zero value is not usable:
// Process.Path must be set.
type Config struct {
	// Process is the child every client gets: Path, Args, PTY and Grace
	// are used as they are; Env is the part of the environment that
	// comes from the server (PATH and such), to which each request adds
	// its own variables.
	Process process.Config
	// Bridge says how messages are moved. Its Stderr is set per session.
	Bridge bridge.Config
	// MaxMessageSize is the largest message accepted from a client, in
	// bytes; a larger one closes the connection with 1009. Zero means no
	// limit.
	MaxMessageSize int64
	// ReadHeaderTimeout bounds how long a client may take to send its
	// request headers. Zero means DefaultReadHeaderTimeout.
	ReadHeaderTimeout time.Duration
	// Log receives server events and the children's stderr lines. The
	// zero value logs nothing.
	Log zerolog.Logger
	// AccessLog receives one event per plain HTTP request and two per
	// session (start and end), written without a level of their own.
	// The zero value logs nothing.
	AccessLog zerolog.Logger
}

// DefaultReadHeaderTimeout is the ReadHeaderTimeout used when the Config
// gives none, as websocketd has it.
const DefaultReadHeaderTimeout = 10 * time.Second

// Server serves WebSocket sessions. Create it with NewServer.
type Server struct {
	cfg  Config
	http *http.Server

	// sessions is done when the server shuts down: every session then
	// stops its child and closes with 1001.
	sessions context.Context
	shutdown context.CancelFunc

	mu      sync.Mutex
	closing bool
	active  sync.WaitGroup
}

// NewServer returns a server for cfg.
func NewServer(cfg Config) *Server {
	if cfg.ReadHeaderTimeout == 0 {
		cfg.ReadHeaderTimeout = DefaultReadHeaderTimeout
	}
	s := &Server{cfg: cfg}
	s.sessions, s.shutdown = context.WithCancel(context.Background())
	s.http = &http.Server{
		Handler:           s,
		ReadHeaderTimeout: cfg.ReadHeaderTimeout,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          newErrorLog(cfg.Log),
	}
	return s
}

// Serve accepts connections on every listener until Shutdown. It returns
// http.ErrServerClosed after a Shutdown, or the first other error.
func (s *Server) Serve(listeners ...net.Listener) error {
	errs := make(chan error, len(listeners))
	for _, ln := range listeners {
		go func() { errs <- s.http.Serve(ln) }()
	}
	var first error
	for range listeners {
		err := <-errs
		if first == nil || errors.Is(first, http.ErrServerClosed) {
			first = err
		}
		if !errors.Is(err, http.ErrServerClosed) {
			s.http.Close()
		}
	}
	return first
}

// Shutdown stops accepting connections, stops every child (delivering what
// it still writes) and closes every session with 1001, then waits for them
// to end or for ctx to be done, whichever comes first.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closing = true
	s.mu.Unlock()
	s.shutdown()
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
