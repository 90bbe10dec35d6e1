package bridge

import (
	"bytes"
	"io"
	"testing"

	"github.com/coder/websocket"
)

func TestCloseAnsweredWhileChildFloods(t *testing.T) {
	// The child writes without pause: the frames of its output are held
	// back to leave together when the client's close frame comes, and
	// the answer to it must not be dropped with them.
	for range 3 {
		child := startFake(func(_ io.Reader, stdout, _ io.Writer) error {
			line := append(bytes.Repeat([]byte("y"), 100), '\n')
			for {
				if _, err := stdout.Write(line); err != nil {
					return err
				}
			}
		})
		c, results := serve(t, testCtx(t), child, Config{}, 0)
		for range 10 {
			expect(t, c, websocket.MessageText, string(bytes.Repeat([]byte("y"), 100)))
		}
		if err := c.Close(websocket.StatusNormalClosure, ""); err != nil {
			t.Fatalf("close handshake: %v", err)
		}
		result(t, results)
	}
}
