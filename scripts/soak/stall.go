//go:build linux

package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// serverPid is the pid of the server under soak, for stall reports.
var serverPid int

// reportStall describes, on stderr, where the session of the client whose
// local port is port stands when its program's output has not arrived:
// every child of the server (state, what it waits in, its command line),
// the child whose environment names that port, the terminal its stdout is
// on and what the server's end of that terminal holds unread. Then it
// sends the server SIGQUIT, which makes it print every goroutine's stack
// on its stderr and exit.
func reportStall(port int) {
	w := os.Stderr
	fmt.Fprintf(w, "soak: stall: no output for the client on port %d; the server's children:\n", port)
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue
		}
		ppid, state, ok := parentOf(stat)
		if !ok || ppid != serverPid {
			continue
		}
		mark := ""
		if hasEnv(pid, "REMOTE_PORT="+strconv.Itoa(port)) {
			mark = "  <- this client's"
		}
		fmt.Fprintf(w, "soak: stall:   pid %d state %s wchan %s cmd %q%s\n", pid, state, procText(pid, "wchan"), procText(pid, "cmdline"), mark)
		if mark == "" {
			continue
		}
		fmt.Fprintf(w, "soak: stall:     kernel stack: %s\n", procText(pid, "stack"))
		tty, _ := os.Readlink(fmt.Sprintf("/proc/%d/fd/1", pid))
		fmt.Fprintf(w, "soak: stall:     stdout %s; %s\n", tty, masterState(tty))
	}
	fmt.Fprintf(w, "soak: stall: sending SIGQUIT to the server (%d) for its goroutines\n", serverPid)
	syscall.Kill(serverPid, syscall.SIGQUIT)
}

// hasEnv reports whether process pid's environment holds entry.
func hasEnv(pid int, entry string) bool {
	env, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid))
	if err != nil {
		return false
	}
	for e := range bytes.SplitSeq(env, []byte{0}) {
		if string(e) == entry {
			return true
		}
	}
	return false
}

// procText returns /proc/PID/name as one line of text.
func procText(pid int, name string) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/%s", pid, name))
	if err != nil {
		return err.Error()
	}
	return strings.Join(strings.Fields(string(bytes.ReplaceAll(b, []byte{0}, []byte{' '}))), " ")
}

// masterState finds the server's end of the pseudo-terminal tty
// (/dev/pts/N) and says how many bytes wait unread in it and whether
// poll(2) calls it readable.
func masterState(tty string) string {
	index, ok := strings.CutPrefix(tty, "/dev/pts/")
	if !ok {
		return "not a pseudo-terminal"
	}
	fds, _ := filepath.Glob(fmt.Sprintf("/proc/%d/fdinfo/*", serverPid))
	for _, info := range fds {
		b, err := os.ReadFile(info)
		if err != nil || !bytes.Contains(b, []byte("tty-index:\t"+index+"\n")) {
			continue
		}
		fd, _ := strconv.Atoi(filepath.Base(info))
		return "server fd " + strconv.Itoa(fd) + ": " + peek(fd)
	}
	return "no server descriptor on it"
}

// peek duplicates the server's descriptor fd and tells what it holds.
func peek(fd int) string {
	pidfd, err := unix.PidfdOpen(serverPid, 0)
	if err != nil {
		return "pidfd_open: " + err.Error()
	}
	defer unix.Close(pidfd)
	dup, err := unix.PidfdGetfd(pidfd, fd, 0)
	if err != nil {
		return "pidfd_getfd: " + err.Error()
	}
	defer unix.Close(dup)
	unread, err := unix.IoctlGetInt(dup, unix.TIOCINQ)
	if err != nil {
		return "TIOCINQ: " + err.Error()
	}
	fds := []unix.PollFd{{Fd: int32(dup), Events: unix.POLLIN}}
	n, err := unix.Poll(fds, 0)
	return fmt.Sprintf("%d bytes unread, poll %d revents %#x err %v", unread, n, fds[0].Revents, err)
}
