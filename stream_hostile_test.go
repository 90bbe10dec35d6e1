package main_test

// End-to-end tests of hostile streams within one session: a message cut
// short, a message held back by the next, long stderr lines and a client
// that never reads.

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"wsbridge/bridge/wstest"
)

// pattern is at least n bytes of UTF-8 text that does not repeat every 4
// bytes, so that bytes left masked cannot pass for it, and that is not
// valid UTF-8 once masked.
func pattern(n int) []byte {
	var b []byte
	for i := 0; len(b) < n; i++ {
		if i%5 == 0 {
			b = append(b, "é"...)
		} else {
			b = append(b, 'a'+byte(i%23))
		}
	}
	return b
}

// readMessage reads the server's next data message, skipping control
// frames, and returns its first byte's opcode and its payload.
func (c *rawConn) readMessage() (byte, []byte, error) {
	var opcode byte
	var msg []byte
	for {
		first, payload, err := c.readFrame()
		if err != nil {
			return 0, nil, err
		}
		if first&0x08 != 0 { // a control frame
			continue
		}
		if first&0x0f != opContinuation {
			opcode = first & 0x0f
		}
		msg = append(msg, payload...)
		if first&finBit != 0 {
			return opcode, msg, nil
		}
	}
}

// A connection that breaks in the middle of a message longer than the
// buffer between the client and the program leaves the program with no
// part of the message in text mode (a line is whole or absent), and in
// binary mode with nothing but bytes the client sent, in order: the
// library returns the bytes read together with the error still masked.
// The session's end is logged as the broken connection it is (1006).
func TestCutMessageNeverReachesProgramGarbled(t *testing.T) {
	t.Parallel()
	for _, mode := range []string{"text", "binary"} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			got := filepath.Join(t.TempDir(), "stdin")
			args := []string{"sh", "-c", "exec cat >" + got}
			first := byte(finBit | opText)
			if mode == "binary" {
				args = append([]string{"--binary"}, args...)
				first = finBit | opBinary
			}
			s := startServer(t, args...)
			c := rawDial(t, s.addr)
			payload := pattern(100_000)
			f := frame(first, payload, false)
			cut := len(f) - len(payload) + 60_001
			if _, err := c.Write(f[:cut]); err != nil {
				t.Fatal(err)
			}
			c.Close()
			ev := s.event("disconnected")
			if ev["close_code"] != float64(1006) {
				t.Errorf("the broken connection was logged with close code %v, want 1006", ev["close_code"])
			}
			b, err := os.ReadFile(got)
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case mode == "text" && len(b) > 0:
				t.Errorf("the program got %d bytes of a text message that never ended", len(b))
			case !bytes.HasPrefix(payload, b):
				i := 0
				for i < len(b) && b[i] == payload[i] {
					i++
				}
				t.Errorf("the program got %d bytes of which byte %d on is not what the client sent", len(b), i)
			}
		})
	}
}

// A whole message reaches the program at once, even when the start of the
// next one came in the same read of the socket and the rest of it never
// comes.
func TestWholeMessageNotHeldBackByTheNext(t *testing.T) {
	t.Parallel()
	for _, mode := range []string{"text", "binary"} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			var args []string
			op := byte(opText)
			if mode == "binary" {
				args, op = []string{"--binary"}, opBinary
			}
			s := startServer(t, append(args, "cat")...)
			c := rawDial(t, s.addr)
			next := frame(finBit|op, bytes.Repeat([]byte("x"), 100_000), false)
			burst := append(frame(finBit|op, []byte("hello"), false), next[:1000]...)
			if _, err := c.Write(burst); err != nil {
				t.Fatal(err)
			}
			// The server probes with a ping every 5 s while the
			// program's input waits: the message must come before.
			c.SetReadDeadline(time.Now().Add(4 * time.Second))
			typ, msg, err := c.readMessage()
			if errors.Is(err, os.ErrDeadlineExceeded) {
				t.Fatal("hello was held back behind the message that followed it")
			}
			if err != nil || typ != op || string(msg) != "hello" {
				t.Fatalf("got %#x %.20q, %v; want %q", typ, msg, err, "hello")
			}
			// The rest of the next message brings it whole.
			c.SetDeadline(time.Now().Add(20 * time.Second))
			if _, err := c.Write(next[1000:]); err != nil {
				t.Fatal(err)
			}
			var echoed []byte
			for len(echoed) < 100_000 {
				_, msg, err := c.readMessage()
				if err != nil {
					t.Fatalf("after %d bytes of the next message: %v", len(echoed), err)
				}
				echoed = append(echoed, msg...)
			}
			if strings.Trim(string(echoed), "x") != "" || len(echoed) != 100_000 {
				t.Errorf("the next message came back as %d bytes, not all x", len(echoed))
			}
		})
	}
}

// With --passstderr a stderr line is one message, whatever its length, as
// a stdout line is.
func TestLongStderrLineIsOneMessage(t *testing.T) {
	t.Parallel()
	s := startServer(t, "--passstderr", "sh", "-c",
		`head -c 150000 /dev/zero | tr '\0' e >&2; echo >&2; echo short >&2; echo done`)
	c := s.dial("/")
	var stderr []string
	for {
		_, msg, err := c.Read(wstest.Context(t))
		if err != nil {
			t.Fatalf("after %d stderr messages: %v", len(stderr), err)
		}
		var m struct{ Stream, Data string }
		if err := json.Unmarshal(msg, &m); err != nil {
			t.Fatalf("%.40q...: %v", msg, err)
		}
		if m.Stream == "stdout" {
			continue
		}
		stderr = append(stderr, m.Data)
		if m.Data == "short" {
			break
		}
	}
	if len(stderr) != 2 || stderr[0] != strings.Repeat("e", 150000) || stderr[1] != "short" {
		lens := make([]int, len(stderr))
		for i, m := range stderr {
			lens[i] = len(m)
		}
		t.Errorf("the stderr lines of 150000 and 5 bytes came as %d messages of %v bytes", len(stderr), lens)
	}
}
