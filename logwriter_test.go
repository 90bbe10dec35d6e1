package main

import (
	"errors"
	"strings"
	"testing"
)

// failingWriter counts the writes made to it, and fails each.
type failingWriter struct{ writes int }

func (w *failingWriter) Write(p []byte) (int, error) {
	w.writes++
	return 0, errors.New("broken pipe")
}

func TestLogWriterSaysOnceLogsAreLost(t *testing.T) {
	var out strings.Builder
	var stderr strings.Builder
	w := &logWriter{w: &out, stderr: &stderr}
	if n, err := w.Write([]byte("one\n")); n != 4 || err != nil || out.String() != "one\n" {
		t.Fatalf("write: %d, %v; wrote %q", n, err, out.String())
	}
	broken := &failingWriter{}
	w.w = broken
	for _, line := range []string{"two\n", "three\n"} {
		if n, err := w.Write([]byte(line)); n != len(line) || err != nil {
			t.Errorf("write to a broken output: %d, %v; want it taken whole", n, err)
		}
	}
	if broken.writes != 1 {
		t.Errorf("%d writes tried after the first failed, want none", broken.writes-1)
	}
	if want := "wsbridge: error: writing the logs: broken pipe; the logs are lost from here on\n"; stderr.String() != want {
		t.Errorf("stderr %q, want %q", stderr.String(), want)
	}
	// With stderr broken too, nothing more happens.
	w = &logWriter{w: broken, stderr: broken}
	if n, err := w.Write([]byte("four\n")); n != 5 || err != nil {
		t.Errorf("write with stderr broken: %d, %v", n, err)
	}
}
