package listen

import (
	"errors"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"wsbridge/process/proctest"
)

// roundTrip checks that ln accepts a connection made to path and that a
// byte goes through it.
func roundTrip(t *testing.T, ln net.Listener, path string) {
	t.Helper()
	c, err := net.DialTimeout("unix", path, 10*time.Second)
	if err != nil {
		t.Fatalf("dialing %s: %v", path, err)
	}
	defer c.Close()
	if _, err := c.Write([]byte("x")); err != nil {
		t.Fatal(err)
	}
	// The listener may hold connections made before this one (such as
	// Unix's own probe); read from each until the byte arrives.
	for {
		s, err := ln.Accept()
		if err != nil {
			t.Fatalf("accepting on %s: %v", path, err)
		}
		s.SetReadDeadline(time.Now().Add(10 * time.Second))
		var b [1]byte
		n, _ := s.Read(b[:])
		s.Close()
		if n == 1 && b[0] == 'x' {
			return
		}
	}
}

func isSocket(t *testing.T, path string) bool {
	t.Helper()
	fi, err := os.Lstat(path)
	return err == nil && fi.Mode()&fs.ModeSocket != 0
}

func TestListenUnixFresh(t *testing.T) {
	path := proctest.SocketPath(t)
	ln, err := Unix(path)
	if err != nil {
		t.Fatal(err)
	}
	roundTrip(t, ln, path)
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("after Close, Lstat(%s): %v; want the file gone", path, err)
	}
}

func TestListenUnixStale(t *testing.T) {
	path := proctest.SocketPath(t)
	old, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	old.SetUnlinkOnClose(false)
	old.Close()
	if !isSocket(t, path) {
		t.Fatal("the closed listener's socket file is gone; cannot test a stale one")
	}

	ln, err := Unix(path)
	if err != nil {
		t.Fatalf("Unix over a stale socket: %v", err)
	}
	defer ln.Close()
	roundTrip(t, ln, path)
}

func TestListenUnixLive(t *testing.T) {
	path := proctest.SocketPath(t)
	other, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()

	ln, err := Unix(path)
	if err == nil {
		ln.Close()
		t.Fatal("Unix succeeded over a live socket")
	}
	want := "--unixsocket " + path + ": a server is already listening there"
	if err.Error() != want {
		t.Errorf("error %q, want %q", err, want)
	}
	if !isSocket(t, path) {
		t.Fatal("the live socket file is gone")
	}
	roundTrip(t, other, path)
}

func TestListenUnixNotSocket(t *testing.T) {
	for _, tc := range []struct {
		name   string
		create func(path string) error
	}{
		{"file", func(path string) error { return os.WriteFile(path, []byte("keep me"), 0o600) }},
		{"directory", func(path string) error { return os.Mkdir(path, 0o700) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := proctest.SocketPath(t)
			if err := tc.create(path); err != nil {
				t.Fatal(err)
			}
			before, err := os.Lstat(path)
			if err != nil {
				t.Fatal(err)
			}

			ln, err := Unix(path)
			if err == nil {
				ln.Close()
				t.Fatal("Unix succeeded over something that is not a socket")
			}
			want := "--unixsocket " + path + ": exists and is not a socket"
			if err.Error() != want {
				t.Errorf("error %q, want %q", err, want)
			}
			after, err := os.Lstat(path)
			if err != nil {
				t.Fatalf("the %s is gone: %v", tc.name, err)
			}
			if !os.SameFile(before, after) || after.Size() != before.Size() || after.Mode() != before.Mode() {
				t.Errorf("the %s was changed", tc.name)
			}
			if !before.IsDir() {
				if b, _ := os.ReadFile(path); string(b) != "keep me" {
					t.Errorf("the file now holds %q", b)
				}
			}
		})
	}
}

func TestListenUnixError(t *testing.T) {
	path := filepath.Join(proctest.SocketPath(t), "no", "such", "dir", "s.sock")
	ln, err := Unix(path)
	if err == nil {
		ln.Close()
		t.Fatal("Unix succeeded in a missing directory")
	}
	if want := "--unixsocket " + path + ": "; !strings.HasPrefix(err.Error(), want) {
		t.Errorf("error %q, want it to start with %q", err, want)
	}
}
