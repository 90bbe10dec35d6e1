package bridge

import (
	"io"
	"sync"
	"time"
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

// A readNotifier can tell when a Read would not block with nothing
// waiting for it meanwhile, as the output streams of *process.Process can
// on Linux: an idle session then holds neither a read buffer nor the
// stack of a goroutine for the stream.
type readNotifier interface {
	// NotifyRead calls f, once and in a goroutine of its own, when a
	// Read would not block.
	NotifyRead(f func())
	// WaitReadFor waits up to d for a Read not to block, and reports
	// whether it came to that.
	WaitReadFor(d time.Duration) bool
}

// linger is how long the goroutine that read a chunk of a readNotifier
// waits for the next before it ends, leaving the wait to NotifyRead: a
// child that keeps writing is read as fast as by a goroutine of its own,
// and one that has gone quiet holds no goroutine.
const linger = 10 * time.Millisecond

// readChunks reads r until it ends, passing each chunk read to use, which
// must not keep it. It returns use's first error, at which it stops, or
// nil once r has ended.
func readChunks(r io.Reader, buffers *bufferPool, use func([]byte) error) error {
	w, _ := r.(waitReader)
	for {
		if w != nil {
			w.WaitRead()
		}
		if more, err := readChunk(r, buffers, use); !more {
			return err
		}
	}
}

// pumpChunks reads r as readChunks does, in the background, then calls
// end with what readChunks would return. When r is a readNotifier no
// goroutine waits for it while it is quiet: the goroutine that reads it
// ends once nothing has come for linger, and another is started when
// something comes.
func pumpChunks(r io.Reader, buffers *bufferPool, use func([]byte) error, end func(error)) {
	n, ok := r.(readNotifier)
	if !ok {
		go func() { end(readChunks(r, buffers, use)) }()
		return
	}
	var read func()
	read = func() {
		for n.WaitReadFor(linger) {
			if more, err := readChunk(r, buffers, use); !more {
				end(err)
				return
			}
		}
		n.NotifyRead(read)
	}
	go read()
}

// readChunk reads once from r into a buffer of buffers and passes what it
// read to use. It returns use's error, and whether r may have more.
func readChunk(r io.Reader, buffers *bufferPool, use func([]byte) error) (more bool, err error) {
	buf := buffers.pool.Get().(*[]byte)
	n, rerr := r.Read(*buf)
	if n > 0 {
		err = use((*buf)[:n])
	}
	buffers.pool.Put(buf)
	// EOF, or a read error that ends the stream all the same.
	return err == nil && rerr == nil, err
}
