package process

import (
	"errors"
	"net"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// tableSize returns how many descriptors the table listed in dir (a
// /proc fd directory) has, and how many of them are sockets.
func tableSize(t *testing.T, dir string) (n, sockets int) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if link, _ := os.Readlink(dir + "/" + e.Name()); strings.HasPrefix(link, "socket:") {
			sockets++
		}
	}
	return len(ents), sockets
}

func TestChildStartsCopyNotTheServersDescriptors(t *testing.T) {
	// Hundreds of descriptors held, as by as many sessions: the threads
	// children are forked from hold a few of their own, so that a start
	// copies and closes those few, however many the server holds.
	for range 200 {
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		defer w.Close()
	}
	p := startHelper(t, Config{PTY: true}, "cat")
	if _, err := p.Stdin().Write([]byte("hello\n")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 6)
	if _, err := p.Stdout().Read(buf); err != nil || string(buf) != "hello\n" {
		t.Fatalf("read %q, %v", buf, err)
	}
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		t.Fatal(err)
	}
	small := 0
	for _, task := range tasks {
		if n, _ := tableSize(t, "/proc/self/task/"+task.Name()+"/fd"); n < 16 {
			small++
		}
	}
	if small == 0 {
		if !canCopyDescriptors() {
			t.Skip("pidfd_getfd is not to be had here (Linux 5.6, and seccomp may refuse it): threads fork with the process's table")
		}
		t.Fatal("every thread has the process's table of descriptors")
	}
}

// canCopyDescriptors reports whether the process may copy its own
// descriptors with pidfd_getfd.
func canCopyDescriptors() bool {
	self, err := unix.PidfdOpen(os.Getpid(), 0)
	if err != nil {
		return false
	}
	defer unix.Close(self)
	fd, err := unix.PidfdGetfd(self, self, 0)
	if err != nil {
		return false
	}
	unix.Close(fd)
	return true
}

func TestForkTableKeepsNoCopyOpen(t *testing.T) {
	// A socket the process has when a fork thread leaves its table is
	// closed there: closing it in the process closes it.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	made := make(chan error, 1)
	release := make(chan struct{})
	go func() {
		runtime.LockOSThread()
		// Ends locked: the thread, whose table is its own, ends too.
		if unix.Gettid() == unix.Getpid() {
			made <- errors.New("on the main thread")
			return
		}
		tb, left := newForkTable()
		switch {
		case tb == nil && !left:
			made <- errors.New("no table of its own here")
			return
		case tb == nil:
			made <- errors.New("left the process's table, then failed")
			return
		}
		if _, sockets := tableSize(t, "/proc/thread-self/fd"); sockets != 0 {
			made <- errors.New(strconv.Itoa(sockets) + " sockets kept in the thread's table")
			return
		}
		made <- nil
		<-release
	}()
	defer close(release)
	if err := <-made; err != nil {
		if strings.HasPrefix(err.Error(), "no table") || strings.HasPrefix(err.Error(), "on the main") {
			t.Skip(err)
		}
		t.Fatal(err)
	}
	ln.Close()
	if c, err := net.Dial("tcp", addr); err == nil {
		c.Close()
		t.Fatal("the listener still accepts once closed: a fork thread holds a copy")
	}
}
