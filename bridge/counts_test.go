package bridge

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/coder/websocket"

	"wsbridge/bridge/wstest"
)

// serveConn accepts one client behind a real WebSocket server and hands
// its connection to serve, in the server's handler; it returns the client
// and the server's connection.
func serveConn(t *testing.T, serve func(*Conn)) (*websocket.Conn, *Conn) {
	t.Helper()
	conns := make(chan *Conn, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, err := Accept(w, r, nil)
		if err != nil {
			t.Error(err)
			return
		}
		conns <- conn
		serve(conn)
	}))
	t.Cleanup(srv.Close)
	c, _, err := websocket.Dial(wstest.Context(t), "ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.CloseNow() })
	return c, <-conns
}

// checkCounts has the client c send "hello" and "hi!" to a program that
// answers each message reversed, and checks that conn counts each message
// as it passes, not only once the session ends: once the client has the
// answer, the message and its answer are counted.
func checkCounts(t *testing.T, c *websocket.Conn, conn *Conn) Counts {
	t.Helper()
	if got := conn.Counts(); got != (Counts{}) {
		t.Errorf("before any message: %+v", got)
	}
	wstest.Send(t, c, websocket.MessageText, "hello")
	wstest.Expect(t, c, websocket.MessageText, "olleh")
	if got, want := conn.Counts(), (Counts{MessagesIn: 1, MessagesOut: 1, BytesIn: 5, BytesOut: 5}); got != want {
		t.Errorf("after one message: %+v, want %+v", got, want)
	}
	wstest.Send(t, c, websocket.MessageText, "hi!")
	wstest.Expect(t, c, websocket.MessageText, "!ih")
	want := Counts{MessagesIn: 2, MessagesOut: 2, BytesIn: 8, BytesOut: 8}
	if got := conn.Counts(); got != want {
		t.Errorf("after two messages: %+v, want %+v", got, want)
	}
	return want
}

func TestCountsAsMessagesPass(t *testing.T) {
	results := make(chan Result, 1)
	c, conn := serveConn(t, func(conn *Conn) {
		Start(context.Background(), conn, startFake(rev), SessionConfig{}, func(r Result) { results <- r })
	})
	want := checkCounts(t, c, conn)
	c.Close(websocket.StatusNormalClosure, "")
	if r := result(t, results); r.Counts != want || conn.Counts() != want {
		t.Errorf("at the end: result %+v, connection %+v, want %+v", r.Counts, conn.Counts(), want)
	}
}

func TestBroadcastCountsAsMessagesPass(t *testing.T) {
	bc := NewBroadcast(context.Background(), startFake(rev), BroadcastConfig{})
	results := make(chan Result, 1)
	c, conn := serveConn(t, func(conn *Conn) { results <- bc.Run(conn, nil) })
	want := checkCounts(t, c, conn)
	c.Close(websocket.StatusNormalClosure, "")
	if r := result(t, results); r.Counts != want || conn.Counts() != want {
		t.Errorf("at the end: result %+v, connection %+v, want %+v", r.Counts, conn.Counts(), want)
	}
}

func TestCountsOfPassedStderr(t *testing.T) {
	results := make(chan Result, 1)
	child := startFake(func(_ io.Reader, stdout, stderr io.Writer) error {
		io.WriteString(stderr, "e\n")
		return nil
	})
	c, conn := serveConn(t, func(conn *Conn) {
		Start(context.Background(), conn, child, SessionConfig{Config: Config{PassStderr: true}}, func(r Result) { results <- r })
	})
	msg := `{"stream":"stderr","data":"e"}`
	wstest.Expect(t, c, websocket.MessageText, msg)
	wstest.ExpectClose(t, c, websocket.StatusNormalClosure, "")
	want := Counts{MessagesOut: 1, BytesOut: int64(len(msg))}
	if r := result(t, results); r.Counts != want || conn.Counts() != want {
		t.Errorf("result %+v, connection %+v, want %+v", r.Counts, conn.Counts(), want)
	}
}
