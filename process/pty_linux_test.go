package process

import (
	"os"
	"testing"
	"time"
)

// Both ways of opening a pseudo-terminal give a master the network poller
// waits on (a read of it can time out) and a slave whose output reaches it.
func TestOpenPair(t *testing.T) {
	for _, tc := range []struct {
		name string
		open func() (master, slave *os.File, err error)
	}{
		{"through the master", openPair},
		{"by name", openPairByName},
	} {
		t.Run(tc.name, func(t *testing.T) {
			master, slave, err := tc.open()
			if err != nil {
				t.Fatal(err)
			}
			defer master.Close()
			defer slave.Close()
			if err := master.SetReadDeadline(time.Now().Add(50 * time.Millisecond)); err != nil {
				t.Fatalf("the master is not polled: %v", err)
			}
			buf := make([]byte, 16)
			if _, err := master.Read(buf); !os.IsTimeout(err) {
				t.Fatalf("read of a silent master: %v, want a timeout", err)
			}
			if err := makeRaw(int(slave.Fd())); err != nil {
				t.Fatal(err)
			}
			if _, err := slave.Write([]byte("a\n")); err != nil {
				t.Fatal(err)
			}
			master.SetReadDeadline(time.Now().Add(10 * time.Second))
			n, err := master.Read(buf)
			if err != nil || string(buf[:n]) != "a\n" {
				t.Fatalf("read %q, %v", buf[:n], err)
			}
		})
	}
}
