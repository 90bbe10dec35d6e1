//go:build unix

package bridge

import (
	"io"
	"net"
	"os"
	"syscall"
)

// readDescriptors has the wire read its connection's descriptor itself,
// where it has one: it then takes a read buffer only for a read that
// finds bytes, and holds none while it waits for them.
func (w *wire) readDescriptors() {
	c, ok := w.Conn.(syscall.Conn)
	if !ok {
		return
	}
	raw, err := c.SyscallConn()
	if err != nil {
		return
	}
	w.raw, w.readRaw = raw, w.readDescriptor
}

// readDescriptor reads fd once into a buffer from wireReadBuffers, kept
// in w.in when the read brought something, with the error in w.rawErr
// otherwise. It reports false when the read would block: raw.Read runs
// it again once fd is readable.
func (w *wire) readDescriptor(fd uintptr) bool {
	in := wireReadBuffers.Get().(*[wireReadSize]byte)
	n, err := syscall.Read(int(fd), in[:])
	for err == syscall.EINTR {
		n, err = syscall.Read(int(fd), in[:])
	}
	if n > 0 {
		w.in, w.unread = in, in[:n]
		return true
	}
	wireReadBuffers.Put(in)
	switch {
	case err == syscall.EAGAIN:
		return false
	case err == nil:
		w.rawErr = io.EOF
	default:
		w.rawErr = &net.OpError{Op: "read", Net: w.LocalAddr().Network(), Source: w.LocalAddr(), Addr: w.RemoteAddr(), Err: os.NewSyscallError("read", err)}
	}
	return true
}
