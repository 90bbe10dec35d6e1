package upgrade

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestStaticHandler(t *testing.T) {
	tmp := t.TempDir()
	dir := filepath.Join(tmp, "static")
	for name, content := range map[string]string{
		"static/hello.txt":       "hello from static\n",
		"static/sub/index.html":  "<p>index of sub</p>\n",
		"outside/secret.txt":     "SECRET outside\n",
		"outside/dir/index.html": "SECRET index outside\n",
	} {
		name = filepath.Join(tmp, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(name, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	symlinks := true
	for name, target := range map[string]string{
		"out.txt":  "../outside/secret.txt",
		"abs.txt":  filepath.Join(tmp, "outside", "secret.txt"),
		"out-dir":  "../outside/dir",
		"in.txt":   "hello.txt",
		"sub/up":   "..",
		"sub/more": "../..",
	} {
		if err := os.Symlink(target, filepath.Join(dir, filepath.FromSlash(name))); err != nil {
			t.Logf("no symbolic links here: %v", err)
			symlinks = false
			break
		}
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	srv := httptest.NewServer(staticHandler(root))
	defer srv.Close()

	for _, tc := range []struct {
		method, path string
		status       int
		body         string // a part of the body
		symlinks     bool   // the case needs symbolic links
	}{
		{method: "GET", path: "/hello.txt", status: 200, body: "hello from static"},
		{method: "HEAD", path: "/hello.txt", status: 200},
		{method: "GET", path: "/sub/", status: 200, body: "index of sub"},
		{method: "GET", path: "/sub/index.html", status: 200, body: "index of sub"}, // after a redirect to /sub/
		{method: "GET", path: "/", status: 200, body: "hello.txt"},                  // a listing
		{method: "GET", path: "/missing", status: 404},
		{method: "POST", path: "/hello.txt", status: 405},
		{method: "PUT", path: "/hello.txt", status: 405},
		{method: "DELETE", path: "/hello.txt", status: 405},

		// Ways out, which may be cleaned up into a path inside.
		{method: "GET", path: "/../outside/secret.txt", status: 404},
		{method: "GET", path: "/%2e%2e/outside/secret.txt", status: 404},
		{method: "GET", path: "/%2E%2e%2foutside%2fsecret.txt", status: 404},
		{method: "GET", path: "/sub/%2e%2e/%2e%2e/outside/secret.txt", status: 404},
		{method: "GET", path: "/..%5coutside%5csecret.txt", status: 404},

		{method: "GET", path: "/in.txt", status: 200, body: "hello from static", symlinks: true},
		{method: "GET", path: "/sub/up/hello.txt", status: 200, body: "hello from static", symlinks: true},
		{method: "GET", path: "/out.txt", status: 403, symlinks: true},
		{method: "GET", path: "/abs.txt", status: 403, symlinks: true},
		{method: "GET", path: "/out-dir/", status: 403, symlinks: true},
		{method: "GET", path: "/out-dir/index.html", status: 403, symlinks: true},
		{method: "GET", path: "/sub/more/outside/secret.txt", status: 403, symlinks: true},
	} {
		if tc.symlinks && !symlinks {
			continue
		}
		req, err := http.NewRequest(tc.method, srv.URL+tc.path, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != tc.status || !strings.Contains(string(body), tc.body) {
			t.Errorf("%s %s: %s %q; want %d with %q", tc.method, tc.path, resp.Status, body, tc.status, tc.body)
		}
		if strings.Contains(string(body), "SECRET") {
			t.Errorf("%s %s: served a file from outside: %q", tc.method, tc.path, body)
		}
		if tc.status == 405 && resp.Header.Get("Allow") != "GET, HEAD" {
			t.Errorf("%s %s: Allow %q", tc.method, tc.path, resp.Header.Get("Allow"))
		}
	}
}
