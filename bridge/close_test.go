package bridge

import (
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"testing"

	"github.com/coder/websocket"

	"wsbridge/bridge/wstest"
)

func TestInvalidUTF8Closes1007(t *testing.T) {
	child := startFake(rev)
	c, results := serve(t, wstest.Context(t), child, SessionConfig{}, 0)
	wstest.Send(t, c, websocket.MessageText, "fine")
	wstest.Expect(t, c, websocket.MessageText, "enif")
	wstest.Send(t, c, websocket.MessageText, "not \xff fine")
	wstest.ExpectClose(t, c, websocket.StatusInvalidFramePayloadData, "invalid UTF-8")
	r := result(t, results)
	if r.Code != websocket.StatusInvalidFramePayloadData || r.MessagesIn != 2 {
		t.Errorf("result %+v", r)
	}
}

func TestViolated(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{errInvalidUTF8, true},
		{errors.New("received unmasked frame from client"), true},
		{fmt.Errorf("failed to read frame header: %w", io.EOF), false},
		{fmt.Errorf("failed to get reader: %w", &net.OpError{Op: "read", Err: syscall.ECONNRESET}), false},
		{fmt.Errorf("failed to get reader: %w", net.ErrClosed), false},
		{websocket.CloseError{Code: websocket.StatusProtocolError}, false},
		{fmt.Errorf("read: %w", websocket.ErrMessageTooBig), true},
		{nil, false},
	} {
		if got := violated(tc.err); got != tc.want {
			t.Errorf("violated(%v) = %v", tc.err, got)
		}
	}
}
