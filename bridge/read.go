package bridge

import (
	"io"
	"sync"
)

// A waitReader can wait for something to read without holding a buffer,
// as the output streams of *process.Process can where the system allows:
// a session then takes a read buffer only when there is something to read,
// and an idle session holds none.
type waitReader interface {
	// WaitRead blocks until a Read would not block.
	WaitRead()
}

// bufferPool hands out read buffers of one size.
type bufferPool struct {
	pool sync.Pool
}

func newBufferPool(size int) *bufferPool {
	return &bufferPool{pool: sync.Pool{New: func() any {
		b := make([]byte, size)
		return &b
	}}}
}

// The buffers the pumps read the child's output into.
var (
	textReadBuffers   = newBufferPool(textReadSize)
	binaryReadBuffers = newBufferPool(binaryReadSize)
	stderrReadBuffers = newBufferPool(stderrReadSize)
)

// readChunks reads r until it ends, passing each chunk read to use, which
// must not keep it. It returns use's first error, at which it stops, or
// nil once r has ended.
func readChunks(r io.Reader, buffers *bufferPool, use func([]byte) error) error {
	w, _ := r.(waitReader)
	for {
		if w != nil {
			w.WaitRead()
		}
		buf := buffers.pool.Get().(*[]byte)
		n, err := r.Read(*buf)
		var uerr error
		if n > 0 {
			uerr = use((*buf)[:n])
		}
		buffers.pool.Put(buf)
		if uerr != nil {
			return uerr
		}
		if err != nil {
			// EOF, or an error that ends the stream all the same.
			return nil
		}
	}
}
