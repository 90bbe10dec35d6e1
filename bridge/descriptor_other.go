//go:build !unix

package bridge

// readDescriptors leaves the wire reading its connection through the
// connection's own Read: here it cannot read a descriptor itself.
func (w *wire) readDescriptors() {}
