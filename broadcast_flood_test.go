package main_test

// End-to-end tests of what --broadcast holds for clients whose messages
// wait for the shared program.

import (
	"bufio"
	"bytes"
	"compress/flate"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	wsbridge "wsbridge"

	"wsbridge/bridge/wstest"
	"wsbridge/process/proctest"
)

// dialDeflate upgrades a new connection to addr by hand, asking for path
// and for permessage-deflate, which the server must grant.
func dialDeflate(t *testing.T, addr, path string) *rawConn {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	io.WriteString(conn, upgradeRequest(path, "Sec-WebSocket-Extensions: permessage-deflate; client_no_context_takeover\r\n"))
	r := bufio.NewReader(conn)
	resp, err := http.ReadResponse(r, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols || !strings.HasPrefix(resp.Header.Get("Sec-WebSocket-Extensions"), "permessage-deflate") {
		t.Fatalf("upgrade answered with %d, extensions %q", resp.StatusCode, resp.Header.Get("Sec-WebSocket-Extensions"))
	}
	return &rawConn{Conn: conn, r: r}
}

// deflated returns p compressed as a permessage-deflate message carries
// it: deflate, without the tail of the final flush.
func deflated(t *testing.T, p []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	w, _ := flate.NewWriter(&b, flate.BestCompression)
	w.Write(p)
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	return bytes.TrimSuffix(b.Bytes(), []byte{0, 0, 0xff, 0xff})
}

// rsv1 marks the first frame of a compressed message.
const rsv1 = 0x40

// floodClients is how many clients flood a shared program, and
// floodMessage the size of each of their two messages.
const (
	floodClients = 150
	floodMessage = 1000000
)

// maxGrowth is how much a server's peak RSS may exceed its idle size,
// in KiB, under a flood of messages its program does not read.
const maxGrowth = 64 << 10

// buildPlain builds wsbridge without the race detector, as users build
// it, and returns its path.
func buildPlain(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "wsbridge")
	build := exec.Command("go", "build", "-o", path, ".")
	build.Stdout, build.Stderr = os.Stdout, os.Stderr
	if err := build.Run(); err != nil {
		t.Fatalf("building wsbridge: %v", err)
	}
	return path
}

func TestBroadcastFloodBoundsMemory(t *testing.T) {
	skipShort(t)
	t.Parallel()
	// The race detector's memory grows with every goroutine that runs:
	// the bound is checked on wsbridge as users build it, and, when the
	// tests run with it, the race detector watches the same flood.
	builds := []struct{ name, path string }{{"plain", binary}}
	if raceEnabled {
		builds = []struct{ name, path string }{{"plain", buildPlain(t)}, {"race", binary}}
	}
	line := bytes.Repeat([]byte("flood "), floodMessage/6)
	for _, tc := range []struct {
		name  string
		flags []string
		frame []byte // the message as sent, twice by each client
		dial  func(t *testing.T, addr, path string) *rawConn
	}{
		{"text", nil, frame(finBit|opText, line, false), func(t *testing.T, addr, path string) *rawConn {
			c, err := dialRaw(addr, path)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { c.Close() })
			return c
		}},
		// Each message comes to about 1 KiB on the wire.
		{"compressed", []string{"--compress"}, frame(finBit|rsv1|opText, deflated(t, line), false), dialDeflate},
	} {
		for _, build := range builds {
			t.Run(tc.name+"/"+build.name, func(t *testing.T) {
				t.Parallel()
				dir := t.TempDir()
				writeScript(t, filepath.Join(dir, "deaf"), "exec sleep 3600")
				writeScript(t, filepath.Join(dir, "cat"), "exec cat")
				args := append([]string{"--address=127.0.0.1", "--port=0", "--broadcast", "--dir=" + dir}, tc.flags...)
				s := launch(t, exec.Command(build.path, args...), nil)
				s.waitListening()
				pid := s.cmd.Process.Pid
				servedMeanwhile(t, s, "/cat")
				idle := proctest.StatusKB(t, pid, "VmHWM")

				// The clients of a program that never reads send it two
				// messages each, in pieces, as fast as the server takes
				// them.
				var sent atomic.Int64
				var writers sync.WaitGroup
				// Run once the clients' connections are closed.
				t.Cleanup(writers.Wait)
				for range floodClients {
					c := tc.dial(t, s.addr, "/deaf")
					c.SetDeadline(time.Time{})
					writers.Go(func() {
						for range 2 {
							for p := tc.frame; len(p) > 0; {
								n, err := c.Write(p[:min(len(p), 64<<10)])
								sent.Add(int64(n))
								if err != nil {
									return
								}
								p = p[n:]
							}
						}
					})
				}
				// Wait until neither the clients nor the server move any
				// more: every message sent, or the sockets full, and the
				// server reading no more than a few bytes a second.
				last, lastRead := int64(-1), int64(-1)
				for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(time.Second) {
					n, read := sent.Load(), proctest.BytesRead(t, pid)
					if n == last && read-lastRead < 64<<10 {
						break
					}
					last, lastRead = n, read
					if time.Now().After(deadline) {
						t.Fatal("the clients and the server still move after 2 minutes")
					}
				}
				servedMeanwhile(t, s, "/cat")
				peak := proctest.StatusKB(t, pid, "VmHWM")
				t.Logf("%d clients sent %d KiB of %d; server peak RSS %d KiB, idle %d KiB", floodClients, last>>10, 2*floodClients*len(tc.frame)>>10, peak, idle)
				if build.name == "plain" && peak-idle > maxGrowth {
					t.Errorf("server peak RSS grew by %d KiB, from %d KiB", peak-idle, idle)
				}
			})
		}
	}
}

func TestBroadcastClientsLimit(t *testing.T) {
	t.Parallel()
	s := startServer(t, "--broadcast", "--broadcast-clients=2", "cat")
	a := s.dial("/room")
	roundTrip(t, a, websocket.MessageText, "a")
	b := s.dial("/room")
	roundTrip(t, b, websocket.MessageText, "b", a)
	if status := dialStatus(t, "ws://"+s.addr+"/room", nil); status != http.StatusTooManyRequests {
		t.Fatalf("a third client of the program: %d, want 429", status)
	}
	if ev := s.event("refused"); ev["status"] != float64(429) {
		t.Errorf("refusal logged as %v", ev)
	}
	// Another program has clients of its own, and one that leaves makes
	// room. The client's close frame is answered as it is read, a moment
	// before its session has ended and been counted out.
	roundTrip(t, s.dial("/other"), websocket.MessageText, "c")
	a.Close(websocket.StatusNormalClosure, "")
	var d *websocket.Conn
	proctest.Eventually(t, 10*time.Second, func() error {
		c, resp, err := websocket.Dial(wstest.Context(t), "ws://"+s.addr+"/room", nil)
		if err != nil {
			if resp != nil && resp.StatusCode == http.StatusTooManyRequests {
				return err
			}
			t.Fatalf("dialing a client of the program after one left: %v", err)
		}
		d = c
		return nil
	})
	defer d.CloseNow()
	roundTrip(t, d, websocket.MessageText, "d", b)

	expectRefusal(t, t.TempDir(), wsbridge.ExitBadArguments, "--broadcast-clients=-1: must be 0 or more", "--broadcast", "--broadcast-clients=-1", "cat")
}
