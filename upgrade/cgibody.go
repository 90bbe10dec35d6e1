package upgrade

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"

	"github.com/rs/zerolog"
)

// feed copies the request body to the program's stdin and closes it,
// then watches for the client to go until the program has answered
// (answered is closed). The whole body must reach the program within
// timeout of its start, whether the client or the program is slow: the
// read deadline rc was given and a write deadline on stdin see to that.
// If it does not, or if the client goes, the program is stopped. A body
// the program does not read is read all the same, and dropped, so that a
// client that goes is seen going.
func (c *cgiRun) feed(r *http.Request, rc *http.ResponseController, timeout time.Duration, answered <-chan struct{}) {
	stdin := c.child.Stdin()
	if !c.bodyRead.Load() {
		if f, ok := stdin.(interface{ SetWriteDeadline(time.Time) error }); ok {
			_ = f.SetWriteDeadline(time.Now().Add(timeout))
		}
		if err := copyBody(stdin, r.Body); err != nil {
			// The program is stopped before it sees the end of its
			// stdin, which it could take for the end of the body.
			select {
			case <-answered:
				// The answer is whole: the rest of the body was
				// of no use.
			default:
				if errors.Is(err, os.ErrDeadlineExceeded) {
					c.stop(&stopReason{fmt.Sprintf("the request body did not reach it within %v", timeout), zerolog.WarnLevel, http.StatusRequestTimeout})
				} else {
					c.stop(stopClientGone)
				}
			}
			stdin.Close()
			return
		}
		// From here on the connection is read only to see the client
		// go, for as long as the program runs.
		_ = rc.SetReadDeadline(time.Time{})
		c.bodyRead.Store(true)
	}
	stdin.Close()
	select {
	case <-r.Context().Done():
		c.stop(stopClientGone)
	case <-answered:
	}
}

// copyBody copies body to stdin. Once stdin cannot be written to, as when
// the program has exited or closed it, the rest of body is read and
// dropped. It returns nil at the end of body; else the error of reading
// body, or a deadline that a write to stdin missed.
func copyBody(stdin io.Writer, body io.Reader) error {
	buf := make([]byte, 32<<10)
	var werr error
	for {
		n, err := body.Read(buf)
		if n > 0 && werr == nil {
			_, werr = stdin.Write(buf[:n])
			if errors.Is(werr, os.ErrDeadlineExceeded) {
				return werr
			}
		}
		switch {
		case err == io.EOF:
			return nil
		case err != nil:
			return err
		}
	}
}
