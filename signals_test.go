package main_test

// End-to-end tests of what signals to wsbridge do: SIGKILL leaves no
// program behind, SIGHUP reloads, a dead log reader stops nothing.

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
	wsbridge "wsbridge"

	"github.com/coder/websocket"

	"wsbridge/bridge/wstest"
	"wsbridge/process/proctest"
)

// isGuardian reports whether pid is a wsbridge's guardian.
func isGuardian(t *testing.T, pid int) bool {
	return slices.Equal(proctest.Cmdline(t, pid), wsbridge.GuardianArgs)
}

// guardian returns the pid of the server's guardian, or 0 if it has none.
func (s *server) guardian() int {
	for pid := range proctest.Children(s.t, s.cmd.Process.Pid) {
		if isGuardian(s.t, pid) {
			return pid
		}
	}
	return 0
}

func TestKilledServerLeavesNoProgram(t *testing.T) {
	t.Parallel()
	// Each program ignores SIGINT, SIGTERM and SIGHUP, as does the
	// sleep it leaves in its group.
	const sessions = 20
	for _, mode := range []string{"--pty", "--no-pty"} {
		t.Run(mode, func(t *testing.T) {
			s := startServer(t, mode, "sh", "-c", `trap '' INT TERM HUP; sleep 1000 & echo $$ $!; wait`)
			var pids []int
			if guardian := s.guardian(); guardian != 0 {
				pids = append(pids, guardian)
			} else {
				t.Error("the server has no guardian")
			}
			t.Cleanup(func() {
				for _, pid := range pids {
					if !proctest.Gone(pid) {
						if p, err := os.FindProcess(pid); err == nil {
							p.Kill()
						}
					}
				}
			})
			for range sessions {
				c := s.dial("/")
				_, msg, err := c.Read(wstest.Context(t))
				var program, sleep int
				if _, serr := fmt.Sscan(string(msg), &program, &sleep); err != nil || serr != nil {
					t.Fatalf("read %q, %v", msg, err)
				}
				pids = append(pids, program, sleep)
			}
			s.kill()
			proctest.Eventually(t, 2*time.Second, func() error {
				for _, pid := range pids {
					if !proctest.Gone(pid) {
						return fmt.Errorf("process %d still runs after wsbridge was killed", pid)
					}
				}
				return nil
			})
		})
	}
}

func TestHangUpKeepsServing(t *testing.T) {
	t.Parallel()
	s := startServer(t, "cat")
	c := s.dial("/")
	wstest.Send(t, c, websocket.MessageText, "before")
	wstest.Expect(t, c, websocket.MessageText, "before")
	s.cmd.Process.Signal(syscall.SIGHUP)
	if ev := s.event("nothing to reload"); ev["level"] != "info" {
		t.Errorf("event %v", ev)
	}
	wstest.Send(t, c, websocket.MessageText, "after")
	wstest.Expect(t, c, websocket.MessageText, "after")
	c2 := s.dial("/")
	wstest.Send(t, c2, websocket.MessageText, "new")
	wstest.Expect(t, c2, websocket.MessageText, "new")
}

// servedCertificate returns the certificate a new TLS connection to addr
// gets.
func servedCertificate(t *testing.T, addr string) []byte {
	t.Helper()
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 10 * time.Second}, "tcp", addr, &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	return conn.ConnectionState().PeerCertificates[0].Raw
}

// certificateIn returns the certificate of a PEM file.
func certificateIn(t *testing.T, file string) []byte {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := pem.Decode(data)
	if b == nil {
		t.Fatalf("%s: no PEM block", file)
	}
	return b.Bytes
}

// copyFile copies the file from to to.
func copyFile(t *testing.T, from, to string) {
	t.Helper()
	data, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestHangUpReloadsTheCertificate(t *testing.T) {
	t.Parallel()
	p := wstest.NewPKI(t)
	s := startServer(t, "--ssl", "--sslcert="+p.CertFile, "--sslkey="+p.KeyFile, "cat")
	c := dialWith(t, "wss://"+s.addr+"/", p.DialOptions())
	wstest.Send(t, c, websocket.MessageText, "before")
	wstest.Expect(t, c, websocket.MessageText, "before")
	if !bytes.Equal(servedCertificate(t, s.addr), certificateIn(t, p.CertFile)) {
		t.Fatal("the first certificate is not served")
	}

	// Renewed files, then SIGHUP: new connections get the new
	// certificate, the session goes on.
	renewed := wstest.NewPKI(t)
	copyFile(t, renewed.CertFile, p.CertFile)
	copyFile(t, renewed.KeyFile, p.KeyFile)
	s.cmd.Process.Signal(syscall.SIGHUP)
	if ev := s.event("reloaded"); fmt.Sprint(ev["reloaded"]) != "[--sslcert --sslkey]" {
		t.Errorf("reload event %v", ev)
	}
	if !bytes.Equal(servedCertificate(t, s.addr), certificateIn(t, renewed.CertFile)) {
		t.Error("the renewed certificate is not served after SIGHUP")
	}
	wstest.Send(t, c, websocket.MessageText, "after")
	wstest.Expect(t, c, websocket.MessageText, "after")

	// A broken file: the renewed certificate stays, and the error says
	// which file.
	if err := os.WriteFile(p.CertFile, []byte("not a certificate\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s.cmd.Process.Signal(syscall.SIGHUP)
	ev := s.event("cannot reload the TLS certificate; the one loaded before stays")
	if ev["level"] != "error" || !strings.Contains(fmt.Sprint(ev["error"]), p.CertFile) {
		t.Errorf("error event %v", ev)
	}
	if !bytes.Equal(servedCertificate(t, s.addr), certificateIn(t, renewed.CertFile)) {
		t.Error("the renewed certificate is not served after a failed reload")
	}
	wstest.Send(t, c, websocket.MessageText, "still")
	wstest.Expect(t, c, websocket.MessageText, "still")
}

func TestHangUpReloadsBasicAuthFile(t *testing.T) {
	t.Parallel()
	users := filepath.Join(t.TempDir(), "users")
	writeHtpasswd(t, users, "ann", "ann's secret")
	s := startServer(t, "--basic-auth-file="+users, "sh", "-c", `echo "$REMOTE_USER"`)
	url := "ws://" + s.addr + "/"

	// A new password in a file of the same size and time: a change
	// wsbridge cannot see, until SIGHUP.
	fi, err := os.Stat(users)
	if err != nil {
		t.Fatal(err)
	}
	writeHtpasswd(t, users, "ann", "a new secret")
	if err := os.Chtimes(users, fi.ModTime(), fi.ModTime()); err != nil {
		t.Fatal(err)
	}
	// From an address of its own: this refusal puts it in the penalty
	// box.
	if _, status, _ := dialAs(t, url, "127.0.0.2", basicAuth("ann", "a new secret")); status != http.StatusUnauthorized {
		t.Fatalf("the new password before SIGHUP: status %d", status)
	}
	s.cmd.Process.Signal(syscall.SIGHUP)
	if ev := s.event("reloaded"); fmt.Sprint(ev["reloaded"]) != "[--basic-auth-file]" {
		t.Errorf("reload event %v", ev)
	}
	c, status, _ := dialAs(t, url, "", basicAuth("ann", "a new secret"))
	if status != http.StatusSwitchingProtocols {
		t.Fatalf("the new password after SIGHUP: status %d", status)
	}
	wstest.Expect(t, c, websocket.MessageText, "ann")
}

func TestProgramsGetDefaultSignals(t *testing.T) {
	t.Parallel()
	// wsbridge handles SIGPIPE and SIGHUP; its programs must not find
	// them ignored.
	s := startServer(t, "cat", "/proc/self/status")
	c := s.dial("/")
	for {
		_, line, err := c.Read(wstest.Context(t))
		if err != nil {
			t.Fatalf("no SigIgn line: %v", err)
		}
		mask, ok := strings.CutPrefix(string(line), "SigIgn:")
		if !ok {
			continue
		}
		ignored, err := strconv.ParseUint(strings.TrimSpace(mask), 16, 64)
		if err != nil {
			t.Fatal(err)
		}
		for _, sig := range []syscall.Signal{syscall.SIGPIPE, syscall.SIGHUP} {
			if ignored&(1<<(sig-1)) != 0 {
				t.Errorf("the program starts with %v ignored", sig)
			}
		}
		return
	}
}

func TestLogReaderGone(t *testing.T) {
	t.Parallel()
	logs, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr, err := os.Create(filepath.Join(t.TempDir(), "stderr"))
	if err != nil {
		t.Fatal(err)
	}
	defer stderr.Close()
	cmd := exec.Command(binary, "--address=127.0.0.1", "--port=0", "cat")
	cmd.Env = append(os.Environ(), serverEnv...)
	cmd.Stdout, cmd.Stderr = w, stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	var exit error
	exited := make(chan struct{})
	go func() {
		exit = cmd.Wait()
		close(exited)
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
	})
	var listening struct{ Address string }
	line, err := bufio.NewReader(logs).ReadBytes('\n')
	if err := json.Unmarshal(line, &listening); err != nil || listening.Address == "" {
		t.Fatalf("first log line %q: %v", line, err)
	}
	// The reader goes: the next log line fails, and those after it.
	logs.Close()
	s := &server{t: t, addr: listening.Address}
	for i := range 5 {
		c := s.dial("/")
		msg := "hello " + strconv.Itoa(i)
		wstest.Send(t, c, websocket.MessageText, msg)
		wstest.Expect(t, c, websocket.MessageText, msg)
		c.Close(websocket.StatusNormalClosure, "")
	}
	// It said so once on stderr.
	const lost = "wsbridge: error: writing the logs: write /dev/stdout: broken pipe; the logs are lost from here on\n"
	proctest.Eventually(t, 10*time.Second, func() error {
		if said, _ := os.ReadFile(stderr.Name()); string(said) != lost {
			return fmt.Errorf("stderr %q, want %q", said, lost)
		}
		return nil
	})
	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-exited:
		if exit != nil {
			t.Errorf("wsbridge exited with %v, want status 0", exit)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("wsbridge did not exit")
	}
}
