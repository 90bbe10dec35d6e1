package main_test

import (
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/coder/websocket"

	"wsbridge/bridge/wstest"
	"wsbridge/process/proctest"
)

// TestSystemdUnits checks examples/systemd's units with systemd's own
// checker, with ExecStart pointing at the wsbridge built for the tests.
func TestSystemdUnits(t *testing.T) {
	analyze := proctest.Need(t, "systemd-analyze", "systemd")
	dir := t.TempDir()
	var units []string
	for _, name := range []string{"wsbridge.socket", "wsbridge.service"} {
		unit, err := os.ReadFile(filepath.Join("examples/systemd", name))
		if err != nil {
			t.Fatal(err)
		}
		text := string(unit)
		if name == "wsbridge.service" {
			if !strings.Contains(text, "\nExecStart=/usr/local/bin/wsbridge ") {
				t.Fatal("wsbridge.service does not start /usr/local/bin/wsbridge")
			}
			text = strings.ReplaceAll(text, "\nExecStart=/usr/local/bin/wsbridge ", "\nExecStart="+binary+" ")
		}
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		units = append(units, path)
	}
	// It warns about unknown settings on its output and fails on errors
	// such as a program that cannot run: both fail the test.
	out, err := exec.Command(analyze, append([]string{"verify"}, units...)...).CombinedOutput()
	if err != nil || len(out) != 0 {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
}

// TestSystemdExampleServes runs examples/systemd as installed: the
// service's command line and config, the chat program the install steps
// copy, and the socket of wsbridge.socket handed over as systemd hands it
// (systemd-socket-activate, on 127.0.0.1 here). Two browsers of an
// allowed site share one chat room; another site's page is refused.
func TestSystemdExampleServes(t *testing.T) {
	unit, err := os.ReadFile("examples/systemd/wsbridge.service")
	if err != nil {
		t.Fatal(err)
	}
	var args []string
	for line := range strings.Lines(string(unit)) {
		if rest, ok := strings.CutPrefix(line, "ExecStart=/usr/local/bin/wsbridge "); ok {
			args = strings.Fields(rest)
		}
	}
	if !slices.Equal(args, []string{"--config=/etc/wsbridge/wsbridge.toml"}) {
		t.Fatalf("wsbridge.service starts wsbridge with %q", args)
	}
	config, err := os.ReadFile("examples/systemd/wsbridge.toml")
	if err != nil {
		t.Fatal(err)
	}
	chat, err := filepath.Abs("examples/chat.sh")
	if err != nil {
		t.Fatal(err)
	}
	installed := strings.Replace(string(config), `"/usr/local/lib/wsbridge/chat.sh"`, strconv.Quote(chat), 1)
	if installed == string(config) {
		t.Fatal("wsbridge.toml does not run /usr/local/lib/wsbridge/chat.sh, which the install steps copy")
	}
	file := filepath.Join(t.TempDir(), "wsbridge.toml")
	if err := os.WriteFile(file, []byte(installed), 0o644); err != nil {
		t.Fatal(err)
	}

	addr := "127.0.0.1:" + strconv.Itoa(freePort(t))
	startActivated(t, []string{"--listen=" + addr, "--fdname=websocket"}, "--config="+file)
	site := &websocket.DialOptions{HTTPHeader: http.Header{"Origin": {"https://app.example.com"}}}
	ann := dialWith(t, "ws://"+addr+"/lobby", site)
	bob := dialWith(t, "ws://"+addr+"/lobby", site)
	// Both are in the room once a line of each has come back to both.
	for _, sender := range []*websocket.Conn{ann, bob} {
		wstest.Send(t, sender, websocket.MessageText, "hello")
		for _, c := range []*websocket.Conn{ann, bob} {
			_, msg, err := c.Read(wstest.Context(t))
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasSuffix(string(msg), " hello") {
				t.Fatalf("got %q, want the time and hello", msg)
			}
		}
	}
	other := &websocket.DialOptions{HTTPHeader: http.Header{"Origin": {"https://evil.example"}}}
	if status := dialStatus(t, "ws://"+addr+"/lobby", other); status != http.StatusForbidden {
		t.Errorf("another site's page: %d, want 403", status)
	}
}
