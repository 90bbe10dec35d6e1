package bridge

import (
	"bufio"
	"bytes"
	"io"
)

// maxStderrLine is the longest stderr line passed on whole; longer ones
// are passed on in pieces of this size.
const maxStderrLine = 4 << 10

// pumpStderr passes each line of the child's stderr to Config.Stderr until
// EOF.
func (s *session) pumpStderr() {
	stderr := s.child.Stderr()
	if s.cfg.Stderr == nil {
		io.Copy(io.Discard, stderr)
		return
	}
	r := bufio.NewReaderSize(stderr, maxStderrLine)
	for {
		line, err := r.ReadSlice('\n')
		line = bytes.TrimSuffix(bytes.TrimSuffix(line, []byte{'\n'}), []byte{'\r'})
		if len(line) > 0 || err == nil {
			s.cfg.Stderr(line)
		}
		if err != nil && err != bufio.ErrBufferFull {
			return
		}
	}
}
