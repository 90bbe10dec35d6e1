package listen

import (
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
)

// listenFDsStart is the first descriptor systemd passes.
const listenFDsStart = 3

// Activated returns the listening sockets systemd passed by
// socket activation (LISTEN_PID, LISTEN_FDS, LISTEN_FDNAMES), with their
// names, or nothing when it passed none. It unsets the variables and
// closes the descriptors it was given, keeping close-on-exec duplicates,
// so that no program wsbridge starts inherits either.
func Activated() (listeners []net.Listener, names []string, err error) {
	pid, count, fdNames := os.Getenv("LISTEN_PID"), os.Getenv("LISTEN_FDS"), os.Getenv("LISTEN_FDNAMES")
	for _, name := range []string{"LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"} {
		os.Unsetenv(name)
	}
	if pid == "" || pid != strconv.Itoa(os.Getpid()) {
		return nil, nil, nil // not activated, or the sockets are another process's
	}
	n, err := strconv.Atoi(count)
	if err != nil || n < 0 {
		return nil, nil, fmt.Errorf("socket activation: LISTEN_FDS=%q is not a number of sockets", count)
	}
	given := strings.Split(fdNames, ":")
	var first error // every descriptor is closed, whatever fails
	for i := range n {
		fd := listenFDsStart + i
		name := "fd " + strconv.Itoa(fd)
		if i < len(given) && given[i] != "" {
			name = given[i] // FileDescriptorName=, or the socket unit's name
		}
		f := os.NewFile(uintptr(fd), name)
		ln, err := net.FileListener(f)
		f.Close()
		switch {
		case err == nil:
			listeners, names = append(listeners, ln), append(names, name)
		case first == nil:
			what := "fd " + strconv.Itoa(fd)
			if name != what {
				what += " (" + name + ")"
			}
			first = fmt.Errorf("socket activation: %s is not a listening TCP or unix stream socket: %w", what, err)
		}
	}
	if first != nil {
		for _, ln := range listeners {
			ln.Close()
		}
		return nil, nil, first
	}
	return listeners, names, nil
}
