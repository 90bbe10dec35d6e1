package listen

import (
	"errors"
	"fmt"
	"net"
	"testing"

	"wsbridge/process/proctest"
)

// takenPort listens on a free port of 127.0.0.1 for the test and returns
// the port.
func takenPort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln.Addr().(*net.TCPAddr).Port
}

func TestOpen(t *testing.T) {
	// A first try fails on the redirect port, and must leave the unix
	// socket closed for the second.
	path := proctest.SocketPath(t)
	lns, err := Open(Config{TCP: true, Addresses: []string{"127.0.0.1"}, UnixSocket: path, RedirPort: takenPort(t)})
	if err == nil {
		lns.Close()
		t.Fatal("Open succeeded on a port in use")
	}
	lns, err = Open(Config{TCP: true, Addresses: []string{"127.0.0.1"}, UnixSocket: path, MetricsAddress: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	defer lns.Close()
	if len(lns.Service) != 2 || lns.Service[1].Addr().Network() != "unix" || lns.Redirect != nil || lns.Metrics == nil {
		t.Fatalf("opened %v, redirect %v, metrics %v; want TCP and unix, no redirect, metrics", lns.Service, lns.Redirect, lns.Metrics)
	}
	if got, want := lns.Port(), lns.Service[0].Addr().(*net.TCPAddr).Port; got != want {
		t.Errorf("Port() = %d, want %d", got, want)
	}
}

func TestOpenUnixOnly(t *testing.T) {
	lns, err := Open(Config{UnixSocket: proctest.SocketPath(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer lns.Close()
	if len(lns.Service) != 1 || lns.Port() != 0 {
		t.Errorf("opened %v, port %d; want the unix socket alone, port 0", lns.Service, lns.Port())
	}
}

func TestOpenActivated(t *testing.T) {
	activated, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer activated.Close()
	lns, err := Open(Config{Activated: []net.Listener{activated}, TCP: true, Port: takenPort(t), UnixSocket: proctest.SocketPath(t)})
	if err != nil {
		t.Fatalf("TCP or unix opened beside the activated socket: %v", err)
	}
	if len(lns.Service) != 1 || lns.Service[0] != activated {
		t.Errorf("opened %v, want the activated socket alone", lns.Service)
	}
}

// TestOpenClosesOnError checks that a listener that cannot be opened
// leaves none of the others open, activated ones included, and that the
// error names the flag to change.
func TestOpenClosesOnError(t *testing.T) {
	taken := takenPort(t)
	for _, tc := range []struct {
		name string
		cfg  Config
		want string
	}{
		{"port", Config{TCP: true, Addresses: []string{"127.0.0.1"}, Port: taken},
			fmt.Sprintf("port %d on 127.0.0.1 is already in use: choose another with --port", taken)},
		{"redirport", Config{TCP: true, Addresses: []string{"127.0.0.1"}, RedirPort: taken},
			fmt.Sprintf("port %d on 127.0.0.1 is already in use: choose another with --redirport", taken)},
		{"metrics-address", Config{TCP: true, Addresses: []string{"127.0.0.1"}, MetricsAddress: fmt.Sprintf("127.0.0.1:%d", taken)},
			fmt.Sprintf("port %d on 127.0.0.1 is already in use: choose another with --metrics-address", taken)},
	} {
		activated, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		cfg := tc.cfg
		if tc.name != "port" {
			cfg.Activated = []net.Listener{activated}
		}
		lns, err := Open(cfg)
		if err == nil {
			lns.Close()
			t.Fatalf("%s: Open succeeded on a port in use", tc.name)
		}
		if err.Error() != tc.want {
			t.Errorf("%s: error %q, want %q", tc.name, err, tc.want)
		}
		if tc.name != "port" {
			if _, err := activated.Accept(); !errors.Is(err, net.ErrClosed) {
				t.Errorf("%s: the activated socket was left open (%v)", tc.name, err)
			}
		}
		activated.Close()
	}
}

func TestIsHostPort(t *testing.T) {
	for s, want := range map[string]bool{
		"127.0.0.1:9090": true,
		":9090":          true,
		"[::1]:0":        true,
		"localhost:9090": true,
		"127.0.0.1":      false,
		"127.0.0.1:":     false,
		"host:65536":     false,
		"host:-1":        false,
		"host:http":      false,
	} {
		if got := IsHostPort(s); got != want {
			t.Errorf("IsHostPort(%q) = %v, want %v", s, got, want)
		}
	}
}
