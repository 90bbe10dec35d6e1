//go:build !linux

package process

import "os"

// openPipe opens a pipe for one of the child's standard streams and
// returns its two ends, the parent's and the child's. parentReads says
// which end is the parent's.
func openPipe(parentReads bool) (parent, child *os.File, err error) {
	r, w, err := os.Pipe()
	if parentReads {
		return r, w, err
	}
	return w, r, err
}
