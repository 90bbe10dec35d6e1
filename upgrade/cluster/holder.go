package cluster

import (
	"context"
	"errors"
	"io"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"wsbridge/bridge"
)

// readSize is the most of the program's output published in one message.
const readSize = 32 << 10

// headerRoom is what the headers of a message of output may take of the
// server's max_payload.
const headerRoom = 256

// holder runs a group's program on the instance that holds its lease.
type holder struct {
	c      *Cluster
	kv     jetstream.KeyValue
	in     *nats.Subscription // the group's input, taken before the lease
	group  string
	prefix string
	epoch  uint64 // the revision that created the lease
	rev    uint64 // the revision last written

	mu  sync.Mutex // orders the messages published
	seq uint64
}

// acquire takes the lease of the group, unless an instance holds it, and
// then starts its program with start; failover says that the program
// last run was not stopped on purpose, and is counted. It reports
// whether the group has a holder: one that takes its input. The holder
// subscribes to the input before it takes the lease, so that a member
// who sees the lease knows its messages are received.
func (c *Cluster) acquire(kv jetstream.KeyValue, group, prefix string, start func() (bridge.Child, error), failover bool) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.holders[group] != nil {
		return true
	}
	if c.ctx.Err() != nil {
		return false
	}
	ctx, cancel := context.WithTimeout(c.ctx, RenewInterval)
	defer cancel()
	if _, err := kv.Get(ctx, prefix+".lease"); err == nil {
		return true
	}
	in, err := c.nc.SubscribeSync("wsbridge." + prefix + ".in")
	if err != nil {
		return false
	}
	in.SetPendingLimits(-1, maxQueued)
	if err := c.nc.FlushWithContext(ctx); err != nil {
		in.Unsubscribe()
		return false
	}
	rev, err := kv.Create(ctx, prefix+".lease", []byte(c.id))
	if err != nil {
		in.Unsubscribe()
		// Lost the race: another instance holds it.
		return errors.Is(err, jetstream.ErrKeyExists)
	}
	h := &holder{c: c, kv: kv, in: in, group: group, prefix: prefix, epoch: rev, rev: rev}
	c.holders[group] = h
	c.held.Go(func() {
		h.run(start, failover)
		c.mu.Lock()
		delete(c.holders, group)
		c.mu.Unlock()
	})
	return true
}

// run starts the program and serves it until it exits, no instance has
// clients of the group any more, the lease is lost or the cluster is
// closed.
func (h *holder) run(start func() (bridge.Child, error), failover bool) {
	c := h.c
	defer h.in.Unsubscribe()
	log := c.cfg.Log.With().Str("group", h.group).Uint64("epoch", h.epoch).Logger()
	child, err := start()
	if err != nil {
		log.Error().Err(err).Msg("cluster program could not start")
		h.announce(hdrExit, "could not start program")
		h.release()
		return
	}
	c.programs.Inc()
	defer c.programs.Dec()
	if failover {
		c.failovers.Inc()
		log.Warn().Msg("cluster program taken over")
	} else {
		log.Info().Msg("cluster program started")
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var pumps sync.WaitGroup
	pumps.Go(func() { h.pump(child.Stdout(), "") })
	pumps.Go(func() { h.pump(child.Stderr(), "err") })
	go h.input(ctx, child.Stdin())
	stop := func() {
		child.Stop()
		pumps.Wait()
	}

	tick := time.NewTicker(RenewInterval)
	defer tick.Stop()
	renewed := time.Now()
	for {
		select {
		case <-child.Done():
			pumps.Wait()
			exit := exitOK
			if err := child.Wait(); err != nil {
				exit = err.Error()
			}
			h.announce(hdrExit, exit)
			h.release()
			log.Info().Str("exit", exit).Msg("cluster program ended")
			return
		case <-c.ctx.Done():
			stop()
			h.announce(hdrReleased, "shutdown")
			h.release()
			log.Info().Msg("cluster program stopped: shutting down")
			return
		case <-tick.C:
		}
		if !h.renew() {
			if time.Since(renewed) >= giveUp {
				log.Warn().Msg("cluster lease lost")
				stop()
				return
			}
			continue
		}
		renewed = time.Now()
		if h.members() == 0 {
			stop()
			h.announce(hdrReleased, "no clients")
			h.release()
			log.Info().Msg("cluster program stopped: no clients left")
			return
		}
	}
}

// input writes each message of the group's input subject to stdin,
// whole, until ctx is done.
func (h *holder) input(ctx context.Context, stdin io.Writer) {
	for {
		msg, err := h.in.NextMsgWithContext(ctx)
		if err != nil {
			if ctx.Err() == nil && errors.Is(err, nats.ErrSlowConsumer) {
				h.c.cfg.Log.Warn().Str("group", h.group).Msg("cluster input lost: the program reads too slowly")
				continue
			}
			return
		}
		stdin.Write(msg.Data)
	}
}

// renew renews the lease, and reports whether it could.
func (h *holder) renew() bool {
	ctx, cancel := context.WithTimeout(h.c.ctx, RenewInterval/2)
	defer cancel()
	rev, err := h.kv.Update(ctx, h.prefix+".lease", []byte(h.c.id), h.rev)
	if err != nil {
		return false
	}
	h.rev = rev
	return true
}

// members counts the instances with clients of the group; -1 if they
// cannot be counted.
func (h *holder) members() int {
	ctx, cancel := context.WithTimeout(h.c.ctx, RenewInterval/2)
	defer cancel()
	keys, err := h.kv.ListKeysFiltered(ctx, h.prefix+".m.*")
	if errors.Is(err, jetstream.ErrNoKeysFound) {
		return 0
	}
	if err != nil {
		return -1
	}
	defer keys.Stop()
	n := 0
	for range keys.Keys() {
		n++
	}
	return n
}

// release gives the lease back, if it is still this holder's.
func (h *holder) release() {
	ctx, cancel := context.WithTimeout(context.Background(), RenewInterval)
	defer cancel()
	h.kv.Delete(ctx, h.prefix+".lease", jetstream.LastRevision(h.rev))
}

// pump publishes what r gives, in order, until EOF.
func (h *holder) pump(r io.Reader, stream string) {
	buf := make([]byte, max(min(readSize, int(h.c.nc.MaxPayload())-headerRoom), 1))
	for {
		n, err := r.Read(buf)
		if n > 0 {
			h.publish(buf[:n], hdrStream, stream)
		}
		if err != nil {
			return
		}
	}
}

// announce publishes the news of the program's end, and waits for the
// server to have it.
func (h *holder) announce(header, value string) {
	h.publish(nil, header, value)
	h.c.nc.FlushTimeout(RenewInterval)
}

// publish sends data, with the header given if value is not empty, as
// the next message of the group's out subject. A message that cannot be
// sent is still numbered: the members see the gap.
func (h *holder) publish(data []byte, header, value string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.seq++
	msg := nats.NewMsg("wsbridge." + h.prefix + ".out")
	msg.Data = data
	msg.Header.Set(hdrEpoch, strconv.FormatUint(h.epoch, 10))
	msg.Header.Set(hdrSeq, strconv.FormatUint(h.seq, 10))
	if value != "" {
		msg.Header.Set(header, value)
	}
	if err := h.c.nc.PublishMsg(msg); err != nil {
		h.c.cfg.Log.Debug().Err(err).Str("group", h.group).Msg("cluster output not sent")
	}
}
