package bridge

import (
	"bufio"
	"bytes"
	"context"
	"io"

	"github.com/coder/websocket"
)

// maxStderrLine is the longest stderr line passed on whole; longer ones
// are passed on in pieces of this size.
const maxStderrLine = 4 << 10

// pumpStderr passes each line of the child's stderr to Config.Stderr until
// EOF, and with PassStderr sends it to the client too. A client that
// cannot be sent to any more does not stop the logging.
func (s *session) pumpStderr() {
	stderr := s.child.Stderr()
	if s.cfg.Stderr == nil && !s.cfg.PassStderr {
		io.Copy(io.Discard, stderr)
		return
	}
	r := bufio.NewReaderSize(stderr, maxStderrLine)
	var msg []byte
	sending := s.cfg.PassStderr
	for {
		line, err := r.ReadSlice('\n')
		line = bytes.TrimSuffix(bytes.TrimSuffix(line, []byte{'\n'}), []byte{'\r'})
		if len(line) > 0 || err == nil {
			if s.cfg.Stderr != nil {
				s.cfg.Stderr(line)
			}
			if sending {
				msg = append(msg[:0], stderrPrefix...)
				msg = appendJSONString(msg, validUTF8(line))
				msg = append(msg, jsonSuffix...)
				s.errOut.messages++
				s.errOut.bytes += int64(len(msg))
				sending = s.conn.Write(context.Background(), websocket.MessageText, msg) == nil
			}
		}
		if err != nil && err != bufio.ErrBufferFull {
			return
		}
	}
}
