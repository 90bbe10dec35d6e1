//go:build linux

package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// A progress writes what the harness is doing on one line of a terminal,
// rewritten in place, or one line per step elsewhere.
type progress struct {
	w     io.Writer
	tty   bool
	start time.Time
	width int // of the line on screen, to blank it
}

// newProgress returns a progress writing to f.
func newProgress(f *os.File) *progress {
	fi, err := f.Stat()
	return &progress{
		w:     f,
		tty:   err == nil && fi.Mode()&os.ModeCharDevice != 0,
		start: time.Now(),
	}
}

// show writes msg, after the time since the start.
func (p *progress) show(msg string) {
	line := fmt.Sprintf("[%s] %s", time.Since(p.start).Truncate(time.Second), msg)
	if !p.tty {
		fmt.Fprintln(p.w, line)
		return
	}
	pad := max(p.width-len(line), 0)
	fmt.Fprintf(p.w, "\r%s%s", line, strings.Repeat(" ", pad))
	p.width = len(line)
}

// clear blanks the line on a terminal, so that what follows starts on a
// clean line.
func (p *progress) clear() {
	if p.tty && p.width > 0 {
		fmt.Fprintf(p.w, "\r%s\r", strings.Repeat(" ", p.width))
		p.width = 0
	}
}

// say writes msg on a line of its own, which the next show does not
// overwrite.
func (p *progress) say(msg string) {
	p.clear()
	fmt.Fprintln(p.w, msg)
}
