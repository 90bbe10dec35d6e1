package main_test

// End-to-end tests of the environment variables and the config file: the
// built wsbridge listens, and warns, as they say.

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/coder/websocket"

	"wsbridge/bridge/wstest"
)

func TestListensWhereEnvironmentSays(t *testing.T) {
	port := strconv.Itoa(freePort(t))
	s := startServerEnv(t, []string{"WSBRIDGE_PORT=" + port, "WSBRIDGE_ADDRESS=127.0.0.1"}, "rev")
	if s.addr != "127.0.0.1:"+port {
		t.Fatalf("listening on %s, want port %s", s.addr, port)
	}
	c := s.dial("/")
	wstest.Send(t, c, websocket.MessageText, "abc")
	wstest.Expect(t, c, websocket.MessageText, "cba")
}

func TestListensWhereConfigFileSays(t *testing.T) {
	for _, format := range []string{
		"port = %s\naddress = [\"127.0.0.1\"]\ncommand = [\"rev\"]\n",
		"port = %s\naddress = \"127.0.0.1\"\ncommand = \"rev\"\n", // single strings for lists
	} {
		port := strconv.Itoa(freePort(t))
		file := filepath.Join(t.TempDir(), "config.toml")
		writeFile(t, file, fmt.Sprintf(format, port))
		s := startServerArgs(t, "--config="+file)
		if s.addr != "127.0.0.1:"+port {
			t.Fatalf("listening on %s, want port %s", s.addr, port)
		}
		c := s.dial("/")
		wstest.Send(t, c, websocket.MessageText, "abc")
		wstest.Expect(t, c, websocket.MessageText, "cba")
	}
}

func TestUnknownVariableWarnsAtStart(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	cmd := exec.Command(binary, "--address=127.0.0.1", "--port=0", "rev")
	cmd.Stderr = w
	s := launch(t, cmd, []string{"WSBRIDGE_PROT=9000"})
	w.Close()
	s.waitListening()
	r.SetReadDeadline(time.Now().Add(20 * time.Second))
	line, err := bufio.NewReader(r).ReadString('\n')
	if want := "wsbridge: warning: WSBRIDGE_PROT is no flag's variable and is ignored; did you mean WSBRIDGE_PORT?\n"; line != want {
		t.Fatalf("stderr %q, %v; want %q", line, err, want)
	}
	// It serves as it would without the variable, and exits with 0.
	c := s.dial("/")
	wstest.Send(t, c, websocket.MessageText, "abc")
	wstest.Expect(t, c, websocket.MessageText, "cba")
}
