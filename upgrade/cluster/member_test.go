package cluster

import (
	"context"
	"errors"
	"io"
	"strconv"
	"strings"
	"testing"
	"time"

	natsserver "github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"go.uber.org/goleak"

	"wsbridge/bridge"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// startNATS runs a NATS server with JetStream for the test and returns
// its URL.
func startNATS(t *testing.T) string {
	t.Helper()
	srv, err := natsserver.NewServer(&natsserver.Options{Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: t.TempDir(), NoSigs: true, NoLog: true})
	if err != nil {
		t.Fatal(err)
	}
	go srv.Start()
	if !srv.ReadyForConnections(10 * time.Second) {
		t.Fatal("the NATS server did not start")
	}
	t.Cleanup(func() {
		srv.Shutdown()
		srv.WaitForShutdown()
	})
	return srv.ClientURL()
}

// foreignHolder joins the group of key while another instance holds its
// lease, and returns the member and a connection that publishes as that
// holder.
func foreignHolder(t *testing.T, key string) (*Member, *nats.Conn, string) {
	t.Helper()
	url := startNATS(t)
	c, err := Open(Config{URL: url, Name: "test"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	kv, err := c.bucket()
	if err != nil {
		t.Fatal(err)
	}
	prefix := c.name + "." + token(key)
	if _, err := kv.Create(context.Background(), prefix+".lease", []byte("another")); err != nil {
		t.Fatal(err)
	}
	m, err := c.Join(key, func() (bridge.Child, error) {
		t.Error("a program was started while another instance holds the lease")
		return nil, errors.New("held elsewhere")
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Stop)
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	return m, nc, "wsbridge." + prefix + ".out"
}

// publish publishes data as message seq of epoch on subject.
func publish(t *testing.T, nc *nats.Conn, subject string, epoch, seq int, data string, header ...string) {
	t.Helper()
	msg := nats.NewMsg(subject)
	msg.Data = []byte(data)
	msg.Header.Set(hdrEpoch, strconv.Itoa(epoch))
	msg.Header.Set(hdrSeq, strconv.Itoa(seq))
	for i := 0; i+1 < len(header); i += 2 {
		msg.Header.Set(header[i], header[i+1])
	}
	if err := nc.PublishMsg(msg); err != nil {
		t.Fatal(err)
	}
	nc.Flush()
}

// readAll reads m's stdout to EOF, giving up after 10 s.
func readAll(t *testing.T, m *Member) string {
	t.Helper()
	got := make(chan string, 1)
	go func() {
		b, _ := io.ReadAll(m.Stdout())
		got <- string(b)
	}()
	select {
	case s := <-got:
		return s
	case <-time.After(10 * time.Second):
		t.Fatal("the member's output did not end")
		return ""
	}
}

func TestMemberEndsAtAGapAndPassesNothingAfterIt(t *testing.T) {
	m, nc, out := foreignHolder(t, "/gap")
	publish(t, nc, out, 5, 1, "one\n")
	publish(t, nc, out, 5, 2, "two\n")
	publish(t, nc, out, 5, 4, "four\n")
	publish(t, nc, out, 5, 5, "five\n")
	if got := readAll(t, m); got != "one\ntwo\n" {
		t.Errorf("the member passed on %q, want the lines before the gap", got)
	}
	if err := m.Wait(); err == nil || !strings.Contains(err.Error(), "output from the cluster lost") {
		t.Errorf("the member ended with %v, want output lost", err)
	}
}

func TestMemberFollowsANewEpochAndIgnoresTheOld(t *testing.T) {
	m, nc, out := foreignHolder(t, "/epochs")
	publish(t, nc, out, 5, 7, "old\n") // joined in the middle of a run
	publish(t, nc, out, 9, 1, "new\n") // a fresh program after a failover
	publish(t, nc, out, 5, 8, "stale\n")
	publish(t, nc, out, 9, 2, "", hdrExit, "exit status 3")
	if got := readAll(t, m); got != "old\nnew\n" {
		t.Errorf("the member passed on %q", got)
	}
	if err := m.Wait(); err == nil || err.Error() != "exit status 3" {
		t.Errorf("the member ended with %v, want exit status 3", err)
	}
}
