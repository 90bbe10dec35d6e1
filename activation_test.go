package main_test

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"

	wsbridge "wsbridge"

	"wsbridge/bridge/wstest"
	"wsbridge/process/proctest"
)

// startActivated runs wsbridge with args under systemd's
// systemd-socket-activate, given wrapperArgs (--listen=ADDR for each
// socket, --fdname=...), and returns once every socket listens. wsbridge
// itself starts at the first connection, as under systemd.
func startActivated(t *testing.T, wrapperArgs []string, args ...string) *server {
	t.Helper()
	tool := proctest.Need(t, "systemd-socket-activate", "systemd")
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(tool, append(append(wrapperArgs, binary), args...)...)
	cmd.Stderr = w
	s := launch(t, cmd, nil)
	w.Close()
	sockets := 0
	for _, a := range wrapperArgs {
		if strings.HasPrefix(a, "--listen=") {
			sockets++
		}
	}
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			fmt.Fprintln(os.Stderr, sc.Text())
			if strings.HasPrefix(sc.Text(), "Listening on ") {
				if sockets--; sockets == 0 {
					close(ready)
				}
			}
		}
		r.Close()
	}()
	select {
	case <-ready:
	case <-s.done:
		t.Fatalf("systemd-socket-activate exited: %v", s.err)
	case <-time.After(20 * time.Second):
		t.Fatal("systemd-socket-activate did not listen")
	}
	return s
}

func TestSocketActivation(t *testing.T) {
	addr := "127.0.0.1:" + strconv.Itoa(freePort(t))
	sock := filepath.Join(t.TempDir(), "ws.sock")
	s := startActivated(t, []string{"--listen=" + addr, "--listen=" + sock, "--fdname=web:local"}, "rev")
	c := dialWith(t, "ws://"+addr+"/", nil)
	wstest.Send(t, c, websocket.MessageText, "hello")
	wstest.Expect(t, c, websocket.MessageText, "olleh")
	local := dialWith(t, "ws://localhost/", unixDial(sock))
	wstest.Send(t, local, websocket.MessageText, "unix")
	wstest.Expect(t, local, websocket.MessageText, "xinu")

	s.event("connected") // logged after every listening event
	want := map[string]string{addr: "web", sock: "local"}
	s.mu.Lock()
	for _, ev := range s.logs {
		if ev["message"] != "listening" {
			continue
		}
		address, _ := ev["address"].(string)
		if name, ok := want[address]; !ok || ev["socket"] != name || ev["tls"] != false {
			t.Errorf("listening event %v", ev)
		}
		delete(want, address)
	}
	s.mu.Unlock()
	if len(want) != 0 {
		t.Errorf("no listening event for %v", want)
	}

	// SIGTERM stops it as it stops a server that bound its own sockets.
	s.cmd.Process.Signal(syscall.SIGTERM)
	wstest.ExpectClose(t, c, websocket.StatusGoingAway, "server shutting down")
	wstest.ExpectClose(t, local, websocket.StatusGoingAway, "server shutting down")
	if err := s.wait(); err != nil {
		t.Fatalf("exited with %v, want status 0", err)
	}
}

func TestSocketActivationUnix(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "ws.sock")
	// The program shows whether it inherited the activation variables,
	// and the descriptors it has.
	startActivated(t, []string{"--listen=" + sock},
		"--passenv=PATH,LISTEN_PID,LISTEN_FDS,LISTEN_FDNAMES",
		"sh", "-c", `echo "${LISTEN_PID-unset} ${LISTEN_FDS-unset} ${LISTEN_FDNAMES-unset}"; ls -l /proc/$$/fd`)
	c := dialWith(t, "ws://localhost/", unixDial(sock))
	wstest.Expect(t, c, websocket.MessageText, "unset unset unset")
	var fds []string
	for {
		_, line, err := c.Read(wstest.Context(t))
		if err != nil {
			if websocket.CloseStatus(err) != websocket.StatusNormalClosure {
				t.Fatal(err)
			}
			break
		}
		fds = append(fds, string(line))
	}
	if list := strings.Join(fds, "\n"); !strings.Contains(list, "/dev/pts/") || strings.Contains(list, "socket:") {
		t.Errorf("the program's descriptors:\n%s", list)
	}
	if _, err := os.Stat(sock); err != nil {
		t.Errorf("the socket file is systemd's to remove: %v", err)
	}
}

func TestSocketActivationTLS(t *testing.T) {
	p := wstest.NewPKI(t)
	addr := "127.0.0.1:" + strconv.Itoa(freePort(t))
	s := startActivated(t, []string{"--listen=" + addr}, "--ssl", "--sslcert="+p.CertFile, "--sslkey="+p.KeyFile, "cat")
	c := dialWith(t, "wss://"+addr+"/", p.DialOptions())
	wstest.Send(t, c, websocket.MessageText, "secret")
	wstest.Expect(t, c, websocket.MessageText, "secret")
	if ev := s.event("listening"); ev["tls"] != true || ev["socket"] != "fd 3" {
		t.Errorf("listening event %v", ev)
	}
}

func TestSocketActivationOfDatagramSocket(t *testing.T) {
	tool := proctest.Need(t, "systemd-socket-activate", "systemd")
	addr := "127.0.0.1:" + strconv.Itoa(freePort(t))
	cmd := exec.Command(tool, "--datagram", "--listen="+addr, binary, "rev")
	cmd.Env = append(os.Environ(), serverEnv...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	var reported []string
	sc := bufio.NewScanner(stderr)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "Listening on ") {
			// A datagram starts wsbridge.
			conn, err := net.Dial("udp", addr)
			if err != nil {
				t.Fatal(err)
			}
			conn.Write([]byte("x"))
			conn.Close()
		}
		if strings.HasPrefix(line, "wsbridge: ") {
			reported = append(reported, line)
		}
	}
	err = cmd.Wait()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != wsbridge.ExitCannotStart || len(reported) != 1 ||
		!strings.HasPrefix(reported[0], "wsbridge: error: socket activation: fd 3 is not a listening TCP or unix stream socket: ") {
		t.Fatalf("exit %v, errors %q; want exit %d and one error about fd 3", err, reported, wsbridge.ExitCannotStart)
	}
}
