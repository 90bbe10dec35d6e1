package main_test

import (
	"testing"

	"github.com/coder/websocket"

	"wsbridge/bridge/wstest"
)

func TestRawStdinAddsNoNewline(t *testing.T) {
	// head -c 3 answers only once it has three bytes: a newline after
	// each message would make them "ab\n".
	s := startServer(t, "--raw-stdin", "head", "-c", "3")
	c := s.dial("/")
	wstest.Send(t, c, websocket.MessageText, "ab")
	wstest.Send(t, c, websocket.MessageText, "c")
	wstest.Expect(t, c, websocket.MessageText, "abc")
	wstest.ExpectClose(t, c, websocket.StatusNormalClosure, "")

	// Output is still lines: the newlines the client sends end them.
	s = startServer(t, "--raw-stdin", "cat")
	c = s.dial("/")
	for _, m := range []string{"ab", "c\nd", "", "e\n"} {
		wstest.Send(t, c, websocket.MessageText, m)
	}
	wstest.Expect(t, c, websocket.MessageText, "abc")
	wstest.Expect(t, c, websocket.MessageText, "de")
}

func TestRawStdinWithBinary(t *testing.T) {
	// Binary mode writes messages as they are anyway: the two together
	// are allowed, and the same as --binary alone.
	s := startServer(t, "--raw-stdin", "--binary", "cat")
	c := s.dial("/")
	wstest.Send(t, c, websocket.MessageText, "no newline")
	wstest.Expect(t, c, websocket.MessageBinary, "no newline")
}
