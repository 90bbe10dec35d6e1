package bridge

import (
	"errors"
	"io"
	"net"
	"unicode/utf8"

	"github.com/coder/websocket"
)

// shutdownReason comes with the 1001 sent to every client when the server
// shuts down.
const shutdownReason = "server shutting down"

// closeStatus is the close status that err, why a client's session ends
// before the child's output was all sent, stands for: the client's own
// close frame, a breach of the protocol or of a limit, a client too slow
// for a broadcast (ErrSlowClient, errSlowSender), or the connection just
// broken.
func closeStatus(err error) (websocket.StatusCode, string) {
	var ce websocket.CloseError
	switch {
	case errors.As(err, &ce):
		return ce.Code, ce.Reason
	case errors.Is(err, ErrSlowClient):
		return websocket.StatusPolicyViolation, slowReason
	case errors.Is(err, errSlowSender):
		return websocket.StatusPolicyViolation, slowSenderReason
	case errors.Is(err, websocket.ErrMessageTooBig):
		return websocket.StatusMessageTooBig, "message too big"
	case errors.Is(err, errInvalidUTF8):
		return websocket.StatusInvalidFramePayloadData, "invalid UTF-8"
	case violated(err):
		return websocket.StatusProtocolError, "protocol error"
	}
	return websocket.StatusAbnormalClosure, ""
}

// violated reports whether a client's read error is a breach of the
// protocol or of a limit (invalid UTF-8, an unmasked frame, reserved
// bits, a bad opcode, a message over the size limit...) rather than the
// connection ending or a close frame. Such a client is sent a close frame
// that says so; the library sends one itself for some of them, but not
// for all. The connection is then kept open for the close handshake, as
// the client may still be sending: closing it at once would reset the
// connection, and the client might never read why.
func violated(err error) bool {
	var netErr net.Error
	return err != nil &&
		websocket.CloseStatus(err) == -1 &&
		!errors.Is(err, io.EOF) &&
		!errors.Is(err, io.ErrUnexpectedEOF) &&
		!errors.Is(err, net.ErrClosed) &&
		!errors.As(err, &netErr)
}

// closeClient closes conn for a session that ended for err before the
// child's output was all sent: with a close frame (code and reason) when
// err is a breach (see violated), at once otherwise.
func closeClient(conn *Conn, err error, code websocket.StatusCode, reason string) {
	if violated(err) {
		conn.Close(code, reason)
	} else {
		conn.CloseNow()
	}
}

// maxCloseReason is the most a close frame's reason can hold, in bytes.
const maxCloseReason = 123

// exitStatus is the close status of a client that was sent all of the
// child's output: 1001 when the server shuts down (closing), 1000 for
// exit status 0, and otherwise 1011 with a reason that gives the exit
// status and, when the child wrote any, the last line of its stderr that
// is not blank (lastErr), cut to fit: "exit status 1: rev: stdin:
// Invalid or incomplete multibyte...".
func exitStatus(exit error, closing bool, lastErr []byte) (websocket.StatusCode, string) {
	switch {
	case closing:
		return websocket.StatusGoingAway, shutdownReason
	case exit == nil:
		return websocket.StatusNormalClosure, ""
	}
	reason := exit.Error()
	if len(lastErr) > 0 {
		reason += ": " + string(lastErr)
	}
	return websocket.StatusInternalError, closeReason(reason)
}

// closeReason cuts s to the bytes a close frame can carry, between two
// runes, and marks the cut with "...".
func closeReason(s string) string {
	if len(s) <= maxCloseReason {
		return s
	}
	n := maxCloseReason - len("...")
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "..."
}
