package upgrade

import (
	"errors"
	"net"
	"net/http"
	"runtime"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"wsbridge/bridge"
	"wsbridge/process"
)

// Refusal reasons, the reason label of wsbridge_upgrade_refusals_total.
const (
	refusedOrigin    = "origin"    // --origin or --sameorigin
	refusedForbidden = "forbidden" // a path escaping --dir
	refusedNotFound  = "notfound"  // no program at the path in --dir
	refusedMaxForks  = "maxforks"  // --maxforks children already running
	refusedProtocol  = "protocol"  // no subprotocol offered is served
	refusedMaxPerIP  = "maxperip"  // --max-per-ip sessions already open from the address
	refusedAuth      = "auth"      // no user authenticated with --basic-auth-file
	refusedShutdown  = "shutdown"  // the server is shutting down
	refusedHandshake = "handshake" // not a valid WebSocket handshake

	refusedBroadcastClients = "broadcastclients" // --broadcast-clients clients already share the program
	refusedCluster          = "cluster"          // the --cluster NATS server cannot be reached
)

// metrics are a server's Prometheus metrics, in a registry of their own
// that also holds the Go runtime's and the process's standard metrics.
type metrics struct {
	registry *prometheus.Registry

	connections *prometheus.CounterVec // by outcome: accepted, refused, failed
	active      prometheus.Gauge       // sessions in progress
	processes   prometheus.Gauge       // children running, WebSocket and CGI
	traffic     *traffic               // messages and bytes, by direction
	exits       *prometheus.CounterVec // by status: the exit code or the signal
	refusals    *prometheus.CounterVec // by reason
	auth        *prometheus.CounterVec // Basic credentials refused, by reason
	duration    prometheus.Histogram   // of sessions, in seconds
	slow        prometheus.Counter     // broadcast clients closed for overflowing their queue
}

// newMetrics returns the metrics of a server built from version and
// revision (see Config).
func newMetrics(version, revision string) *metrics {
	m := &metrics{
		registry: prometheus.NewRegistry(),
		connections: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wsbridge_connections_total",
			Help: "WebSocket upgrade requests, by outcome: accepted (a session ran), refused (answered with an HTTP error) or failed (the program could not start).",
		}, []string{"outcome"}),
		active: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "wsbridge_active_connections",
			Help: "WebSocket sessions in progress.",
		}),
		processes: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "wsbridge_active_processes",
			Help: "Programs running, for WebSocket sessions and CGI requests.",
		}),
		traffic: newTraffic(),
		exits: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wsbridge_process_exits_total",
			Help: "Session programs that exited, by status: the exit code, or the signal that ended them.",
		}, []string{"status"}),
		refusals: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wsbridge_upgrade_refusals_total",
			Help: "WebSocket upgrades refused, by reason: origin, host, forbidden, notfound, protocol, maxforks, maxperip, broadcastclients, cluster, auth, shutdown or handshake.",
		}, []string{"reason"}),
		auth: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wsbridge_auth_refusals_total",
			Help: "Requests (upgrades and plain HTTP) refused by --basic-auth-file, by reason: nocredentials, unknownuser, badpassword, throttled (its address sent wrong ones a moment ago), or gone (the client left while its check waited).",
		}, []string{"reason"}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "wsbridge_session_duration_seconds",
			Help:    "How long WebSocket sessions lasted.",
			Buckets: []float64{0.01, 0.1, 1, 10, 60, 300, 1800, 3600, 4 * 3600, 24 * 3600},
		}),
		slow: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "wsbridge_broadcast_slow_clients_total",
			Help: "Broadcast clients closed with 1008 because their queue overflowed while others read faster.",
		}),
	}
	m.registry.MustRegister(m.connections, m.active, m.processes, m.traffic,
		m.exits, m.refusals, m.auth, m.duration, m.slow, buildInfo(version, revision),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	// Every series that can be known ahead is there from the start, at 0.
	for _, o := range []string{"accepted", "refused", "failed"} {
		m.connections.WithLabelValues(o)
	}
	for _, r := range []string{refusedOrigin, refusedForbidden, refusedNotFound, refusedProtocol, refusedHost, refusedMaxForks, refusedMaxPerIP, refusedBroadcastClients, refusedCluster, refusedAuth, refusedShutdown, refusedHandshake} {
		m.refusals.WithLabelValues(r)
	}
	for _, r := range []string{authNoCredentials, authUnknownUser, authBadPassword, authThrottled, authGone} {
		m.auth.WithLabelValues(r)
	}
	return m
}

// refused counts an upgrade refused for reason.
func (m *metrics) refused(reason string) {
	m.connections.WithLabelValues("refused").Inc()
	m.refusals.WithLabelValues(reason).Inc()
}

// authRefused counts a request whose Basic credentials were refused for
// reason.
func (m *metrics) authRefused(reason string) {
	m.auth.WithLabelValues(reason).Inc()
}

// failed counts a session whose program could not start.
func (m *metrics) failed() {
	m.connections.WithLabelValues("failed").Inc()
}

// started counts a session in, served on conn, with its running program.
func (m *metrics) started(conn *bridge.Conn) {
	m.accepted(conn)
	m.spawned()
}

// accepted counts a session in, served on conn: from now on what it moves
// is counted as it passes.
func (m *metrics) accepted(conn *bridge.Conn) {
	m.connections.WithLabelValues("accepted").Inc()
	m.active.Inc()
	m.traffic.open(conn)
}

// spawned counts a session's program in; a broadcast group's program is
// counted once.
func (m *metrics) spawned() {
	m.processes.Inc()
}

// slowClient counts a broadcast client closed for overflowing its queue.
func (m *metrics) slowClient() {
	m.slow.Inc()
}

// exited counts a session's program out.
func (m *metrics) exited(err error) {
	m.processes.Dec()
	m.exits.WithLabelValues(exitLabel(err)).Inc()
}

// ended counts out a session served on conn that lasted d.
func (m *metrics) ended(conn *bridge.Conn, d time.Duration) {
	m.active.Dec()
	m.traffic.close(conn)
	m.duration.Observe(d.Seconds())
}

// buildInfo returns wsbridge_build_info, always 1, whose labels say what
// wsbridge was built from: the module version, the version control
// revision and the Go version.
func buildInfo(version, revision string) prometheus.Collector {
	g := prometheus.NewGauge(prometheus.GaugeOpts{
		Name:        "wsbridge_build_info",
		Help:        "Always 1; its labels say what wsbridge was built from: the module version, the revision and the Go version.",
		ConstLabels: prometheus.Labels{"version": version, "revision": revision, "goversion": runtime.Version()},
	})
	g.Set(1)
	return g
}

// exitLabel is the status label of a program's exit: "0" and the like for
// an exit code, "killed" and the like for a signal, "error" for a wait
// that failed.
func exitLabel(err error) string {
	var ee *process.ExitError
	switch {
	case err == nil:
		return "0"
	case !errors.As(err, &ee):
		return "error"
	case ee.Code >= 0:
		return strconv.Itoa(ee.Code)
	}
	return ee.Signal.String()
}

// ServeMetrics serves, on ln, /metrics (the server's metrics in
// Prometheus's text format), /healthz (200 while the process runs) and
// /readyz (200 while the server accepts sessions, 503 once Shutdown has
// begun), until Shutdown has let the sessions end. It returns
// http.ErrServerClosed after that, or the error that stopped it.
func (s *Server) ServeMetrics(ln net.Listener) error {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.metrics.registry, promhttp.HandlerOpts{
		ErrorLog: newErrorLog(s.cfg.Log),
	}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		s.mu.Lock()
		closing := s.closing
		s.mu.Unlock()
		if closing {
			http.Error(w, "shutting down", http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte("ok\n"))
	})
	srv := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: s.cfg.ReadHeaderTimeout,
		ErrorLog:          newErrorLog(s.cfg.Log),
	}
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		return http.ErrServerClosed
	}
	s.observer = srv
	s.mu.Unlock()
	return srv.Serve(ln)
}
