//go:build linux

package upgrade

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"wsbridge/process/proctest"
)

func TestChurnReturnsToBaseline(t *testing.T) {
	// Sessions that end every way a client can end them leave no
	// goroutine, descriptor or child behind, while the server runs on.
	if testing.Short() {
		t.Skip("takes seconds by design, hundreds of sessions: runs without -short")
	}
	_, addr, _ := startServer(t, catConfig())
	session := func(i int) error {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		var tcp *net.TCPConn
		c, _, err := websocket.Dial(ctx, "ws://"+addr+"/", &websocket.DialOptions{
			HTTPClient: &http.Client{Transport: &http.Transport{
				DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
					conn, err := (&net.Dialer{}).DialContext(ctx, network, addr)
					if err == nil {
						tcp = conn.(*net.TCPConn)
					}
					return conn, err
				},
			}},
		})
		if err != nil {
			return err
		}
		defer c.CloseNow()
		msg := strconv.Itoa(i)
		if err := c.Write(ctx, websocket.MessageText, []byte(msg)); err != nil {
			return err
		}
		if _, got, err := c.Read(ctx); err != nil || string(got) != msg {
			return fmt.Errorf("echo of %q: %q, %v", msg, got, err)
		}
		switch i % 3 {
		case 0:
			return c.Close(websocket.StatusNormalClosure, "")
		case 1:
			tcp.Close() // no close frame
		case 2:
			tcp.SetLinger(0) // a reset
			tcp.Close()
		}
		return nil
	}
	// A first session starts what lives as long as the process: the
	// goroutine that waits for the exits of all children.
	if err := session(0); err != nil {
		t.Fatal(err)
	}
	goroutines, fds := settled(t, -1, -1)

	const n = 5000
	var next atomic.Int64
	var wg sync.WaitGroup
	for range 6 {
		wg.Go(func() {
			for i := next.Add(1) - 1; i < n; i = next.Add(1) - 1 {
				if err := session(int(i)); err != nil {
					t.Errorf("session %d: %v", i, err)
					return
				}
			}
		})
	}
	wg.Wait()
	// The clients' idle connections are gone with their transports.
	settled(t, goroutines, fds)
}

// settled waits until this process has no child, and its goroutines and
// open descriptors are down to the given counts (or stay put, for -1),
// and returns them.
func settled(t *testing.T, goroutines, fds int) (int, int) {
	t.Helper()
	var g, f int
	proctest.Eventually(t, 20*time.Second, func() error {
		kids := proctest.Children(t, os.Getpid())
		g, f = runtime.NumGoroutine(), proctest.OpenFDs(t, os.Getpid())
		if len(kids) != 0 || (goroutines >= 0 && g > goroutines) || (fds >= 0 && f > fds) {
			return fmt.Errorf("children %v, %d goroutines (want %d), %d descriptors (want %d)", kids, g, goroutines, f, fds)
		}
		return nil
	})
	return g, f
}
