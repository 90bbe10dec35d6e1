//go:build linux

package main

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// A stamped line is what the fanout scenarios' program prints: messageSize
// bytes, the time it was written (Unix nanoseconds, 19 digits), its
// sequence number (10 digits) and padding, so that each client can tell
// how long the line took to reach it and whether one is missing:
//
//	1767225600123456789 0001000000 xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
const (
	stampDigits = 19
	seqDigits   = 10
	seqAt       = stampDigits + 1
	padAt       = seqAt + seqDigits + 1
)

// stampLine writes the line of sequence number seq, stamped with now, to
// buf, which must hold messageSize bytes, and returns it.
func stampLine(buf []byte, seq int64, now time.Time) []byte {
	buf = buf[:messageSize]
	putDigits(buf[:stampDigits], now.UnixNano())
	buf[stampDigits] = ' '
	putDigits(buf[seqAt:seqAt+seqDigits], seq)
	buf[padAt-1] = ' '
	for i := padAt; i < len(buf); i++ {
		buf[i] = 'x'
	}
	return buf
}

// putDigits writes n in decimal into all of buf, padded with zeros.
func putDigits(buf []byte, n int64) {
	for i := len(buf) - 1; i >= 0; i-- {
		buf[i] = byte('0' + n%10)
		n /= 10
	}
}

// parseStamped returns the stamp and sequence number of a stamped line.
func parseStamped(line []byte) (stamp time.Time, seq int64, err error) {
	if len(line) != messageSize || line[stampDigits] != ' ' || line[padAt-1] != ' ' {
		return time.Time{}, 0, fmt.Errorf("not a stamped line: %.80q", line)
	}
	ns, ok1 := digits(line[:stampDigits])
	seq, ok2 := digits(line[seqAt : seqAt+seqDigits])
	if !ok1 || !ok2 {
		return time.Time{}, 0, fmt.Errorf("not a stamped line: %.80q", line)
	}
	return time.Unix(0, ns), seq, nil
}

// digits parses b as a decimal number, without allocating.
func digits(b []byte) (int64, bool) {
	var n int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

// A burst is what the fanout scenarios' program is told to print: count
// stamped lines numbered from first, rate a second, or as fast as it can
// when rate is 0. It is sent as one line, "FIRST COUNT RATE".
type burst struct {
	first, count int64
	rate         int
}

// String returns b as the program reads it.
func (b burst) String() string {
	return fmt.Sprintf("%d %d %d", b.first, b.count, b.rate)
}

// parseBurst parses a burst written by String.
func parseBurst(s string) (burst, error) {
	f := strings.Fields(s)
	if len(f) != 3 {
		return burst{}, fmt.Errorf("want FIRST COUNT RATE, got %q", s)
	}
	var b burst
	var err error
	if b.first, err = strconv.ParseInt(f[0], 10, 64); err != nil {
		return burst{}, fmt.Errorf("FIRST: %w", err)
	}
	if b.count, err = strconv.ParseInt(f[1], 10, 64); err != nil {
		return burst{}, fmt.Errorf("COUNT: %w", err)
	}
	if b.rate, err = strconv.Atoi(f[2]); err != nil {
		return burst{}, fmt.Errorf("RATE: %w", err)
	}
	if b.first < 0 || b.count < 0 || b.rate < 0 {
		return burst{}, fmt.Errorf("negative number in %q", s)
	}
	return b, nil
}

// pacingStep is how long a paced burst sleeps once it has caught up.
const pacingStep = time.Millisecond

// emit calls write with each stamped line of b, stamped just before,
// keeping to b's rate, and stops at the first error.
func emit(b burst, write func([]byte) error) error {
	buf := make([]byte, messageSize)
	start := time.Now()
	for i := int64(0); i < b.count; {
		if b.rate > 0 {
			due := int64(time.Since(start).Seconds() * float64(b.rate))
			if i >= due {
				time.Sleep(pacingStep)
				continue
			}
		}
		if err := write(stampLine(buf, b.first+i, time.Now())); err != nil {
			return err
		}
		i++
	}
	return nil
}

// runEmit is the fanout scenarios' program, "bench emit": for each burst
// read as a line on stdin, it prints the burst's stamped lines on stdout,
// each in one write of its own, until stdin ends.
func runEmit() error {
	in := bufio.NewScanner(os.Stdin)
	line := make([]byte, messageSize+1)
	line[messageSize] = '\n'
	write := func(p []byte) error {
		copy(line, p)
		_, err := os.Stdout.Write(line)
		return err
	}
	for in.Scan() {
		b, err := parseBurst(in.Text())
		if err != nil {
			return err
		}
		if err := emit(b, write); err != nil {
			return fmt.Errorf("writing: %w", err)
		}
	}
	if err := in.Err(); err != nil && !errors.Is(err, os.ErrClosed) {
		return fmt.Errorf("reading: %w", err)
	}
	return nil
}
