package listen

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"time"
)

// Unix listens on a unix socket at path. A socket file left behind by
// a server that is gone is removed first; if a server still answers on it,
// or path is something other than a socket, Unix fails and leaves the
// file alone. Closing the listener removes the socket file.
func Unix(path string) (net.Listener, error) {
	fi, err := os.Lstat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return nil, fmt.Errorf("--unixsocket %s: %w", path, err)
	case fi.Mode()&fs.ModeSocket == 0:
		return nil, fmt.Errorf("--unixsocket %s: exists and is not a socket", path)
	default:
		c, err := net.DialTimeout("unix", path, time.Second)
		if err == nil {
			c.Close()
			return nil, fmt.Errorf("--unixsocket %s: a server is already listening there", path)
		}
		if !isRefused(err) {
			return nil, fmt.Errorf("--unixsocket %s: checking for a server on it: %w", path, err)
		}
		if err := os.Remove(path); err != nil {
			return nil, fmt.Errorf("--unixsocket %s: removing the stale socket: %w", path, err)
		}
	}
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("--unixsocket %s: %w", path, err)
	}
	return ln, nil
}
