//go:build linux

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

const (
	// readyTimeout bounds how long a server may take to start listening.
	readyTimeout = 10 * time.Second
	// stopTimeout is how long a server has to exit after SIGTERM before
	// its process group is killed.
	stopTimeout = 5 * time.Second
	// logTail is how much of the end of a server's output an error shows.
	logTail = 512
)

// A process is a running server.
type process struct {
	cmd  *exec.Cmd
	pid  int
	addr string        // host:port it listens on
	log  *os.File      // its stdout and stderr
	done chan struct{} // closed once it has exited and been reaped
	err  error         // how it exited, once done is closed
}

// start starts s listening on a free port of 127.0.0.1, with flags and
// then command appended for a bridge, and returns once it accepts
// connections. Its output goes to a file in dir.
func (s *server) start(ctx context.Context, dir string, flags, command []string) (*process, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	args := append(s.argv[1:len(s.argv):len(s.argv)], "--port="+strconv.Itoa(port), "--address=127.0.0.1")
	if s.bridge {
		args = append(append(args, flags...), command...)
	}
	log, err := os.CreateTemp(dir, "server-*.log")
	if err != nil {
		return nil, fmt.Errorf("creating the log file of %s: %w", s.name, err)
	}
	cmd := exec.Command(s.argv[0], args...)
	cmd.Stdout, cmd.Stderr = log, log
	// Its own process group, so that Ctrl-C reaches only the harness,
	// which stops it; SIGTERM should the harness die without stopping it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		log.Close()
		os.Remove(log.Name())
		return nil, fmt.Errorf("starting %s: %w", s.name, err)
	}
	p := &process{
		cmd:  cmd,
		pid:  cmd.Process.Pid,
		addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)),
		log:  log,
		done: make(chan struct{}),
	}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	if err := p.waitReady(ctx); err != nil {
		p.stop()
		return nil, fmt.Errorf("starting %s: %w", s.name, err)
	}
	return p, nil
}

// freePort returns a TCP port of 127.0.0.1 that nothing listens on.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("finding a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// waitReady waits until p accepts TCP connections.
func (p *process) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	var d net.Dialer
	for {
		c, err := d.DialContext(ctx, "tcp", p.addr)
		if err == nil {
			c.Close()
			return nil
		}
		select {
		case <-p.done:
			return fmt.Errorf("exited before listening (%v)%s", p.err, p.tail())
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s to accept connections: %w%s", p.addr, ctx.Err(), p.tail())
		case <-tick.C:
		}
	}
}

// stop ends p: SIGTERM first, then SIGKILL to its whole process group if
// it has not exited stopTimeout later. It reaps p, removes its log, and
// returns an error if p had already exited by itself.
func (p *process) stop() error {
	defer func() {
		p.log.Close()
		os.Remove(p.log.Name())
	}()
	select {
	case <-p.done:
		return fmt.Errorf("server exited during the run (%v)%s", p.err, p.tail())
	default:
	}
	syscall.Kill(p.pid, syscall.SIGTERM)
	select {
	case <-p.done:
		return nil
	case <-time.After(stopTimeout):
	}
	syscall.Kill(-p.pid, syscall.SIGKILL)
	<-p.done
	return nil
}

// tail returns the end of p's output, to explain an error, or "" if it
// wrote nothing.
func (p *process) tail() string {
	fi, err := p.log.Stat()
	if err != nil || fi.Size() == 0 {
		return ""
	}
	off := max(fi.Size()-logTail, 0)
	b := make([]byte, fi.Size()-off)
	n, err := p.log.ReadAt(b, off)
	if err != nil && !errors.Is(err, io.EOF) {
		return ""
	}
	return ": " + strings.ReplaceAll(strings.TrimSpace(string(b[:n])), "\n", " / ")
}
