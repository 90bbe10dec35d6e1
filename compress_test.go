package main_test

import (
	"context"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/coder/websocket"

	"wsbridge/bridge/wstest"
)

// compressionDial returns options to dial with mode whose connection
// counts the bytes read from the network into read.
func compressionDial(mode websocket.CompressionMode, read *atomic.Int64) *websocket.DialOptions {
	return &websocket.DialOptions{
		CompressionMode: mode,
		HTTPClient: &http.Client{Transport: &http.Transport{
			DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
				c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
				if err != nil {
					return nil, err
				}
				return &readCounter{Conn: c, n: read}, nil
			},
		}},
	}
}

type readCounter struct {
	net.Conn
	n *atomic.Int64
}

func (c *readCounter) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.n.Add(int64(n))
	return n, err
}

func TestCompress(t *testing.T) {
	line := strings.Repeat(`{"level":"info","message":"compressible"} `, 100)
	for _, tc := range []struct {
		name       string
		flags      []string
		client     websocket.CompressionMode
		compressed bool
	}{
		{"asked for", []string{"--compress"}, websocket.CompressionNoContextTakeover, true},
		{"asked for with context takeover", []string{"--compress"}, websocket.CompressionContextTakeover, true},
		{"not asked for", []string{"--compress"}, websocket.CompressionDisabled, false},
		{"not offered", nil, websocket.CompressionNoContextTakeover, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := startServer(t, append(tc.flags, "cat")...)
			var read atomic.Int64
			c, resp, err := websocket.Dial(wstest.Context(t), "ws://"+s.addr+"/", compressionDial(tc.client, &read))
			if err != nil {
				t.Fatal(err)
			}
			defer c.CloseNow()
			ext := resp.Header.Get("Sec-WebSocket-Extensions")
			if strings.HasPrefix(ext, "permessage-deflate") != tc.compressed {
				t.Errorf("Sec-WebSocket-Extensions: %q", ext)
			}
			before := read.Load()
			for range 20 {
				wstest.Send(t, c, websocket.MessageText, line)
				wstest.Expect(t, c, websocket.MessageText, line)
			}
			if n, all := read.Load()-before, int64(20*len(line)); tc.compressed != (n < all/4) {
				t.Errorf("%d bytes came over the network for %d bytes of messages", n, all)
			}
			c.Close(websocket.StatusNormalClosure, "")
			if ev := s.event("disconnected"); ev["close_code"] != float64(1000) || ev["bytes_out"] != float64(20*len(line)) {
				t.Errorf("access event %v", ev)
			}
		})
	}
}

func TestCompressedMessageOverMaxFrameSize(t *testing.T) {
	// 16 MiB of zeros compress to a few KiB: what counts is the size
	// once inflated.
	s := startServer(t, "--compress", "--maxframesize=65536", "cat")
	var read atomic.Int64
	c := dialWith(t, "ws://"+s.addr+"/", compressionDial(websocket.CompressionNoContextTakeover, &read))
	wstest.Send(t, c, websocket.MessageText, strings.Repeat("z", 1000))
	wstest.Expect(t, c, websocket.MessageText, strings.Repeat("z", 1000))
	wstest.Send(t, c, websocket.MessageText, string(make([]byte, 16<<20)))
	_, _, err := c.Read(wstest.Context(t))
	if code := websocket.CloseStatus(err); code != websocket.StatusMessageTooBig {
		t.Fatalf("got %v, want close 1009", err)
	}
	if ev := s.event("disconnected"); ev["close_code"] != float64(1009) {
		t.Errorf("access event %v", ev)
	}
}
