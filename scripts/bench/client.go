//go:build linux

package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"

	"github.com/coder/websocket"
)

// client makes the harness's connections: straight to 127.0.0.1, never
// through a proxy from the environment.
var client = &http.Client{Transport: &http.Transport{}}

// dial opens a WebSocket connection to the server listening on addr, with
// no limit on the size of the messages it reads.
func dial(ctx context.Context, addr string) (*websocket.Conn, error) {
	c, _, err := websocket.Dial(ctx, "ws://"+addr+"/", &websocket.DialOptions{HTTPClient: client})
	if err != nil {
		return nil, fmt.Errorf("connecting: %w", err)
	}
	c.SetReadLimit(-1)
	return c, nil
}

// roundTrip sends msg as a text message and waits for it to come back.
func roundTrip(ctx context.Context, c *websocket.Conn, msg []byte) error {
	if err := c.Write(ctx, websocket.MessageText, msg); err != nil {
		return fmt.Errorf("sending: %w", err)
	}
	return expectEcho(ctx, c, msg)
}

// expectEcho reads one message and checks that it is the text message msg.
func expectEcho(ctx context.Context, c *websocket.Conn, msg []byte) error {
	typ, p, err := c.Read(ctx)
	if err != nil {
		return fmt.Errorf("waiting for the echo: %w", err)
	}
	if typ != websocket.MessageText || !bytes.Equal(p, msg) {
		return fmt.Errorf("echo: got %v message %.80q, want text %.80q", typ, p, msg)
	}
	return nil
}

// textPayload returns n bytes of printable ASCII with no newline.
func textPayload(n int) []byte {
	const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_"
	p := make([]byte, n)
	for i := range p {
		p[i] = alphabet[i%len(alphabet)]
	}
	return p
}
