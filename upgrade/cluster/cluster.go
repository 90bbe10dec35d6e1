// Package cluster lets the clients of one --broadcast program be spread
// over many wsbridge instances that share a NATS server: exactly one of
// them, the holder of the group's lease in a JetStream key-value bucket,
// runs the program; every instance serves its own clients through a
// Member, a stand-in for the program whose output comes from the holder
// and whose input goes to it, over NATS.
//
// Who holds what:
//
//   - The bucket "wsbridge" holds, for each group, a lease (the key
//     NAME.GROUP.lease, valued the holder's instance id) and one presence
//     key per instance with clients of the group (NAME.GROUP.m.INSTANCE).
//     Every key expires LeaseTTL after it was last written.
//   - The holder creates the lease (atomic: one instance wins), renews it
//     every RenewInterval with the revision it last wrote, runs the
//     program, publishes what it prints on the subject
//     wsbridge.NAME.GROUP.out, each message numbered, and writes each
//     message of wsbridge.NAME.GROUP.in, whole, to its stdin.
//   - When no presence key is left, the holder stops the program and
//     deletes the lease; when the program exits by itself, the holder
//     says so on the out subject and every Member ends with its status.
//   - When the holder cannot renew, it stops its program before the lease
//     expires; once it has expired, an instance with clients creates it
//     anew and starts a fresh program: a failover.
package cluster

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
)

// The timings of the lease. A holder that cannot renew for giveUp stops
// its program, before the lease expires at LeaseTTL; an instance with
// clients tries to take an expired lease every acquireInterval. A
// failover thus takes from LeaseTTL-RenewInterval to LeaseTTL after the
// holder's last renewal, plus up to acquireInterval and the program's
// start.
const (
	LeaseTTL        = 3 * time.Second
	RenewInterval   = time.Second
	giveUp          = 2 * time.Second
	acquireInterval = 500 * time.Millisecond
)

// bucket is the name of the key-value bucket of every group.
const bucket = "wsbridge"

// maxQueued bounds the output that waits, on one instance, for the
// group's local clients to take it; past it the group's clients are
// closed rather than fed a gap.
const maxQueued = 16 << 20

// ErrUnavailable is returned by Join when the NATS server cannot be
// reached, or is not fit for the group.
var ErrUnavailable = errors.New("cluster unavailable")

// Config says which NATS server to use and how. The zero value is not
// usable: URL must be set.
type Config struct {
	// URL is the NATS server, such as nats://nats.internal:4222; a
	// comma-separated list names the servers of a NATS cluster.
	URL string
	// Name separates the services that share one NATS server: groups
	// of the same key under different names never meet.
	Name string
	// CredsFile, when set, is a NATS credentials file (a user JWT and
	// its NKey seed).
	CredsFile string
	// TLSCA, when set, is a PEM file of the CAs that sign the NATS
	// server's certificate, and turns TLS on.
	TLSCA string
	// MaxMessageSize is the largest client message, in bytes, asked
	// for: when the NATS server's max_payload carries less, with its
	// newline, a warning says so. Zero means no limit.
	MaxMessageSize int64
	// Log receives the cluster's events. The zero value logs nothing.
	Log zerolog.Logger
}

// Cluster is one instance's connection to the NATS server and the groups
// it holds. Create it with Open.
type Cluster struct {
	cfg  Config
	name string // the token of Config.Name in subjects and keys
	id   string // this instance's id
	nc   *nats.Conn

	ctx    context.Context // done on Close: holders stop their programs
	cancel context.CancelFunc
	held   sync.WaitGroup // the holders' goroutines

	mu      sync.Mutex
	kv      jetstream.KeyValue             // nil until the bucket is reached
	holders map[string]*holder             // by group
	members map[*nats.Subscription]*Member // by their subscription

	failovers prometheus.Counter
	lost      prometheus.Counter
	programs  prometheus.Gauge
	connected prometheus.GaugeFunc
}

// Open connects to the NATS server of cfg. It returns an error for
// options that cannot work, and when the server is reached but its
// key-value bucket cannot be opened (JetStream off); a server
// that cannot be reached yet is retried in the background, as it is
// whenever the connection breaks, and Join reports ErrUnavailable
// meanwhile.
func Open(cfg Config) (*Cluster, error) {
	var id [8]byte
	rand.Read(id[:])
	c := &Cluster{
		cfg:     cfg,
		name:    token(cfg.Name),
		id:      hex.EncodeToString(id[:]),
		holders: make(map[string]*holder),
		members: make(map[*nats.Subscription]*Member),
		failovers: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "wsbridge_cluster_failovers_total",
			Help: "Broadcast programs this instance started afresh after the instance that ran them stopped renewing their lease.",
		}),
		lost: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "wsbridge_cluster_lost_total",
			Help: "Broadcast groups whose clients on this instance were closed because output from the cluster was lost or fell too far behind.",
		}),
		programs: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "wsbridge_cluster_programs",
			Help: "Broadcast programs this instance runs for the cluster (it holds their lease).",
		}),
	}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	opts := []nats.Option{
		nats.Name("wsbridge " + c.id),
		nats.RetryOnFailedConnect(true),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(time.Second),
		nats.ConnectHandler(func(nc *nats.Conn) { c.connectedLog(nc) }),
		nats.ReconnectHandler(func(nc *nats.Conn) { c.connectedLog(nc) }),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			c.cfg.Log.Warn().Err(err).Msg("cluster disconnected")
		}),
		nats.ErrorHandler(c.asyncError),
	}
	if cfg.CredsFile != "" {
		opts = append(opts, nats.UserCredentials(cfg.CredsFile))
	}
	if cfg.TLSCA != "" {
		opts = append(opts, nats.RootCAs(cfg.TLSCA))
	}
	nc, err := nats.Connect(cfg.URL, opts...)
	if err != nil {
		c.cancel()
		return nil, fmt.Errorf("connecting to the cluster at %s: %w", cfg.URL, err)
	}
	c.nc = nc
	c.connected = prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "wsbridge_cluster_connected",
		Help: "1 while the connection to the NATS server is up, 0 otherwise.",
	}, func() float64 {
		if nc.IsConnected() {
			return 1
		}
		return 0
	})
	if nc.IsConnected() {
		if _, err := c.bucket(); err != nil {
			c.Close()
			return nil, err
		}
	}
	return c, nil
}

// Collectors returns the cluster's metrics, for a Prometheus registry.
func (c *Cluster) Collectors() []prometheus.Collector {
	return []prometheus.Collector{c.failovers, c.lost, c.programs, c.connected}
}

// Close stops the programs this instance holds, hands their leases back
// so that another instance with clients takes them over at once, and
// closes the connection.
func (c *Cluster) Close() {
	c.cancel()
	c.held.Wait()
	c.nc.Close()
}

// MaxMessage returns the largest client message, in bytes, that the NATS
// server carries whole with its newline: its max_payload less one byte.
func (c *Cluster) MaxMessage() int64 { return c.nc.MaxPayload() - 1 }

// bucket returns the key-value bucket, created if need be.
func (c *Cluster) bucket() (jetstream.KeyValue, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.kv != nil {
		return c.kv, nil
	}
	js, err := jetstream.New(c.nc)
	if err != nil {
		return nil, fmt.Errorf("opening the cluster's JetStream: %w", err)
	}
	ctx, cancel := context.WithTimeout(c.ctx, 5*time.Second)
	defer cancel()
	kv, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: bucket, TTL: LeaseTTL, History: 1})
	if err != nil {
		return nil, fmt.Errorf("opening the cluster's key-value bucket %q (is JetStream on?): %w", bucket, err)
	}
	c.kv = kv
	return kv, nil
}

// asyncError is told of the errors of subscriptions: a Member whose
// subscription lost messages ends.
func (c *Cluster) asyncError(_ *nats.Conn, sub *nats.Subscription, err error) {
	if sub == nil {
		c.cfg.Log.Warn().Err(err).Msg("cluster error")
		return
	}
	c.mu.Lock()
	m := c.members[sub]
	c.mu.Unlock()
	if m != nil && errors.Is(err, nats.ErrSlowConsumer) {
		m.fail("output from the cluster lost: slow consumer")
	}
}

// token returns a subject token for s: the start of its SHA-256, in hex.
func token(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:8])
}

// connectedLog logs that nc is connected, and warns if its server
// carries less than a client message of MaxMessageSize.
func (c *Cluster) connectedLog(nc *nats.Conn) {
	c.cfg.Log.Info().Str("url", nc.ConnectedUrlRedacted()).Str("name", c.cfg.Name).Msg("cluster connected")
	if max := nc.MaxPayload() - 1; c.cfg.MaxMessageSize == 0 || c.cfg.MaxMessageSize > max {
		c.cfg.Log.Warn().Int64("max_message", max).Msg("cluster carries smaller client messages than --maxframesize: a larger one is closed with 1009; raise the NATS server's max_payload to lift it")
	}
}
