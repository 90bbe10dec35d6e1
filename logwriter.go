package main

import (
	"fmt"
	"io"
	"sync/atomic"
)

// logWriter is where the logs go: it writes to w until a write fails, as
// when the reader of a pipe is gone (wsbridge | tee, and tee dies), then
// says once on stderr, if it can, that the logs are lost from then on, and
// drops every later write. It never fails: losing the logs must not
// disturb the server.
type logWriter struct {
	w, stderr io.Writer
	lost      atomic.Bool
}

// logOutput returns the writer the logs go to: stdout, in a logWriter. A
// terminal is left as it is, so that the log format can tell it is one: it
// has no reader to lose.
func logOutput(stdout, stderr io.Writer) io.Writer {
	if isTerminal(stdout) {
		return stdout
	}
	return &logWriter{w: stdout, stderr: stderr}
}

func (l *logWriter) Write(p []byte) (int, error) {
	if l.lost.Load() {
		return len(p), nil
	}
	if _, err := l.w.Write(p); err != nil && l.lost.CompareAndSwap(false, true) {
		fmt.Fprintf(l.stderr, "wsbridge: error: writing the logs: %v; the logs are lost from here on\n", err)
	}
	return len(p), nil
}
