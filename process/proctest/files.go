package proctest

import (
	"os"
	"path/filepath"
	"testing"
)

// WriteFile creates the file name with content and mode (whatever the
// umask), and the directories that lead to it, failing t if it cannot.
func WriteFile(t testing.TB, name, content string, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(name, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(name, mode); err != nil {
		t.Fatal(err)
	}
}

// SocketPath returns a path for a unix socket in a new directory, removed
// with the test, short enough for the limit on socket path lengths (which
// a path in t.TempDir can pass).
func SocketPath(t testing.TB) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "ws")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return filepath.Join(dir, "s.sock")
}
