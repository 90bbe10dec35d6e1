package process

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// socketsIn returns how many of the descriptors of the table listed in dir
// (a /proc fd directory) are sockets.
func socketsIn(t *testing.T, dir string) (sockets int) {
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
	return sockets
}

// smallTables returns how many of the process's threads have a table of
// fewer than 16 descriptors: those of the fork threads, where the process
// holds more.
func smallTables() (int, error) {
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return 0, err
	}
	small := 0
	for _, task := range tasks {
		fds, err := os.ReadDir("/proc/self/task/" + task.Name() + "/fd")
		if err == nil && len(fds) < 16 {
			small++
		}
	}
	return small, nil
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
	small, err := smallTables()
	if err != nil {
		t.Fatal(err)
	}
	if small == 0 {
		if !canCopyDescriptors() {
			t.Skip("pidfd_getfd is not to be had here (Linux 5.6, and seccomp may refuse it): threads fork with the process's table")
		}
		t.Fatal("every thread has the process's table of descriptors")
	}
}

func TestForkThreadLeavesTheMainThread(t *testing.T) {
	// The main thread keeps the process's table: a fork thread's
	// goroutine that finds itself there has another thread, with a table
	// of its own, take its place, and lets the main thread go.
	if !canCopyDescriptors() {
		t.Skip("pidfd_getfd is not to be had here")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, exe)
	cmd.Env = append(os.Environ(), "WSBRIDGE_HELPER=fork-on-main", "GORACE=atexit_sleep_ms=0")
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatal("the main thread is kept to start children")
	}
	if err != nil || string(out) != "placed\n" {
		t.Fatalf("%s%v", out, err)
	}
}

func init() {
	// Only init runs on the main thread for certain.
	if os.Getenv("WSBRIDGE_HELPER") == "fork-on-main" {
		os.Exit(forkOnMain())
	}
}

// forkOnMain is a fork thread's goroutine that starts on the main thread:
// it prints "placed" once the main thread is let go and another thread,
// with a table of its own, has taken its place.
func forkOnMain() int {
	// Descriptors enough for a table of its own to be told by its size.
	for range 20 {
		if _, _, err := os.Pipe(); err != nil {
			fmt.Println(err)
			return 1
		}
	}
	f := &forkThreads{reqs: make(chan forkRequest)}
	f.run(true, nil)
	for range 500 {
		n, err := smallTables()
		if err != nil {
			fmt.Println(err)
			return 1
		}
		if n > 0 {
			fmt.Println("placed")
			return 0
		}
		time.Sleep(10 * time.Millisecond)
	}
	fmt.Println("no thread has a table of its own")
	return 1
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
		if sockets := socketsIn(t, "/proc/thread-self/fd"); sockets != 0 {
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
