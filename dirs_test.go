package main_test

// End-to-end tests of the directories --dir, --cgidir and --staticdir
// serve: symbolic links followed while they stay inside, unclean paths
// redirected, names that start with "." hidden, no listings unless asked.

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"wsbridge/bridge/wstest"
)

// plainGet sends a plain GET of path, as it is, unnormalised, to addr and
// returns the status, Location and body of the answer.
func plainGet(t *testing.T, addr, path string) (status int, location, body string) {
	t.Helper()
	return rawGet(t, addr, addr, path, "Connection: close\r\n")
}

// rawGet sends a GET of path, as it is, to addr with the Host host and the
// header lines of header (each ending in \r\n), and returns the status,
// Location and body of the answer.
func rawGet(t *testing.T, addr, host, path, header string) (status int, location, body string) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(20 * time.Second))
	io.WriteString(conn, "GET "+path+" HTTP/1.1\r\nHost: "+host+"\r\n"+header+"\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	return resp.StatusCode, resp.Header.Get("Location"), string(b)
}

// writeFile writes content to the file path, and makes the directories
// that lead to it.
func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// linkedDir makes a directory, served, whose file "real" (made by write)
// is reached by symbolic links of every kind, and links that lead out to
// a file "prog" (made by write too) or loop. It returns the directory and
// the file outside, which no request may reach.
func linkedDir(t *testing.T, write func(path string)) (dir, outside string) {
	top := t.TempDir()
	dir = filepath.Join(top, "served")
	outside = filepath.Join(top, "outside", "prog")
	write(filepath.Join(dir, "real"))
	write(filepath.Join(dir, "sub", "deep"))
	write(outside)
	for name, target := range map[string]string{
		"rel":     "real",
		"abs":     filepath.Join(dir, "real"),
		"abs-sub": filepath.Join(dir, "sub"),
		"chain":   "abs-sub/../rel",
		"out-abs": outside,
		"out-rel": "../outside/prog",
		"out-dir": filepath.Dir(outside),
		"loop":    "loop",
	} {
		if err := os.Symlink(target, filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	return dir, outside
}

// inLinks are the paths of linkedDir that lead to a file inside, and that
// file.
var inLinks = map[string]string{
	"/rel":          "real",
	"/abs":          "real",
	"/chain":        "real",
	"/abs-sub/deep": "sub/deep",
}

// outLinks are the paths of linkedDir that must be refused, and what the
// log must say about each.
var outLinks = map[string]string{
	"/out-abs":      "symlink out-abs points to ",
	"/out-rel":      "symlink out-rel points to ../outside/prog, outside ",
	"/out-dir/prog": "symlink out-dir points to ",
	"/loop":         "more than 40 symbolic links",
}

func TestDirFollowsLinksInside(t *testing.T) {
	t.Parallel()
	dir, outside := linkedDir(t, func(path string) {
		writeScript(t, path, `echo "$SCRIPT_NAME|$PATH_TRANSLATED"; touch `+filepath.Join(filepath.Dir(path), "ran"))
	})
	s := startServer(t, "--dir="+dir)
	for path, file := range inLinks {
		wstest.Expect(t, s.dial(path), websocket.MessageText, path+"|"+filepath.Join(dir, file))
	}
	for path, reason := range outLinks {
		if got := rawRequest(t, s.addr, path); got != http.StatusForbidden {
			t.Errorf("%s: status %d, want 403", path, got)
		}
		s.eventSaying("refused", "reason", reason)
	}
	s.eventSaying("refused", "reason", "symlink out-abs points to "+outside+", outside --dir")
	if _, err := os.Stat(filepath.Join(filepath.Dir(outside), "ran")); err == nil {
		t.Error("a program outside the directory ran")
	}
}

func TestCGIDirFollowsLinksInside(t *testing.T) {
	t.Parallel()
	dir, outside := linkedDir(t, func(path string) {
		writeScript(t, path, `printf 'Content-Type: text/plain\n\n'; echo "$SCRIPT_NAME|$0"; touch `+filepath.Join(filepath.Dir(path), "ran"))
	})
	s := startServer(t, "--cgidir="+dir, "cat")
	for path, file := range inLinks {
		status, _, body := plainGet(t, s.addr, path)
		if want := path + "|" + filepath.Join(dir, file) + "\n"; status != 200 || body != want {
			t.Errorf("%s: %d %q, want 200 %q", path, status, body, want)
		}
	}
	for path, reason := range outLinks {
		if status, _, body := plainGet(t, s.addr, path); status != http.StatusForbidden {
			t.Errorf("%s: %d %q, want 403", path, status, body)
		}
		s.eventSaying("refused CGI path", "error", reason)
	}
	s.eventSaying("refused CGI path", "error", "symlink out-abs points to "+outside+", outside --cgidir")
	if _, err := os.Stat(filepath.Join(filepath.Dir(outside), "ran")); err == nil {
		t.Error("a program outside the directory ran")
	}
}

func TestStaticDirFollowsLinksInside(t *testing.T) {
	t.Parallel()
	dir, outside := linkedDir(t, func(path string) { writeFile(t, path, "content of "+filepath.Base(path)) })
	s := startServer(t, "--staticdir="+dir, "cat")
	for path, file := range inLinks {
		status, _, body := plainGet(t, s.addr, path)
		if want := "content of " + filepath.Base(file); status != 200 || body != want {
			t.Errorf("%s: %d %q, want 200 %q", path, status, body, want)
		}
	}
	for path, reason := range outLinks {
		if status, _, body := plainGet(t, s.addr, path); status != http.StatusForbidden || strings.Contains(body, "content of prog") {
			t.Errorf("%s: %d %q, want 403", path, status, body)
		}
		s.eventSaying("refused static path", "error", reason)
	}
	s.eventSaying("refused static path", "error", "symlink out-abs points to "+outside+", outside --staticdir")
}

func TestPlainPathsRedirectToClean(t *testing.T) {
	t.Parallel()
	top := t.TempDir()
	cgi := filepath.Join(top, "cgi")
	static := filepath.Join(top, "static")
	writeScript(t, filepath.Join(cgi, "hello.sh"), `printf 'Content-Type: text/plain\n\n'; echo "hello $QUERY_STRING"`)
	writeScript(t, filepath.Join(cgi, "sub", "x.sh"), `printf 'Content-Type: text/plain\n\nx\n'`)
	writeFile(t, filepath.Join(static, "page.txt"), "page")
	s := startServer(t, "--cgidir="+cgi, "--staticdir="+static, "--dir="+cgi)
	for path, want := range map[string]string{
		"/sub/../hello.sh":      "/hello.sh",
		"/./hello.sh":           "/hello.sh",
		"//hello.sh":            "/hello.sh",
		"/sub/..//hello.sh?a=1": "/hello.sh?a=1",
		"/sub/%2e%2e/page.txt":  "/page.txt",
		"/../../page.txt":       "/page.txt",
		"/sub/./":               "/sub/",
	} {
		status, location, _ := plainGet(t, s.addr, path)
		if status != http.StatusMovedPermanently || location != want {
			t.Errorf("%s: %d to %q, want 301 to %q", path, status, location, want)
		}
	}
	for path, want := range map[string]string{"/hello.sh?a=1": "hello a=1\n", "/page.txt": "page"} {
		if status, _, body := plainGet(t, s.addr, path); status != 200 || body != want {
			t.Errorf("%s: %d %q, want 200 %q", path, status, body, want)
		}
	}
	// An upgrade cannot follow a redirect: it is refused as before.
	for path, want := range map[string]int{"//hello.sh": 404, "/./hello.sh": 403, "/sub/../hello.sh": 403} {
		if got := rawRequest(t, s.addr, path); got != want {
			t.Errorf("upgrade to %s: %d, want %d", path, got, want)
		}
	}
}

// dotDir makes a directory holding a program and a file, each also under
// names that start with ".", as a git checkout has them, and a
// subdirectory without index.html. Each program appends its name to ran.
func dotDir(t *testing.T) (dir, ran string) {
	top := t.TempDir()
	dir = filepath.Join(top, "checkout")
	ran = filepath.Join(top, "ran")
	for _, name := range []string{"prog.sh", ".hidden.sh", ".git/hooks/pre-commit.sample", ".well-known/prog.sh"} {
		writeScript(t, filepath.Join(dir, filepath.FromSlash(name)), `printf 'Content-Type: text/plain\n\n'; echo ran `+name+`; echo `+name+` >>`+ran)
	}
	for name, content := range map[string]string{
		".env":                     "TOKEN=secret",
		".git/config":              "[core] secret",
		"docs/page.txt":            "page",
		"site/index.html":          "<p>index</p>",
		".well-known/security.txt": "Contact: me",
	} {
		writeFile(t, filepath.Join(dir, filepath.FromSlash(name)), content)
	}
	return dir, ran
}

func TestDotfilesHidden(t *testing.T) {
	t.Parallel()
	dir, ran := dotDir(t)
	static := startServer(t, "--staticdir="+dir, "cat")
	cgi := startServer(t, "--cgidir="+dir, "cat")
	scripts := startServer(t, "--dir="+dir)
	for _, path := range []string{"/.env", "/.git/config", "/.git/", "/.hidden.sh", "/.git/hooks/pre-commit.sample", "/%2egit/config"} {
		for _, s := range []*server{static, cgi} {
			if status, _, body := plainGet(t, s.addr, path); status != 404 || strings.Contains(body, "secret") || strings.Contains(body, "ran") {
				t.Errorf("%s: %d %q, want 404", path, status, body)
			}
		}
	}
	for _, path := range []string{"/.hidden.sh", "/.git/hooks/pre-commit.sample"} {
		if got := rawRequest(t, scripts.addr, path); got != 404 {
			t.Errorf("upgrade to %s: %d, want 404", path, got)
		}
	}
	// /.well-known stays served, and what does not start with ".".
	for _, tc := range []struct {
		s          *server
		path, want string
	}{
		{static, "/.well-known/security.txt", "Contact: me"},
		{static, "/docs/page.txt", "page"},
		{cgi, "/.well-known/prog.sh", "ran .well-known/prog.sh\n"},
		{cgi, "/prog.sh", "ran prog.sh\n"},
	} {
		if status, _, body := plainGet(t, tc.s.addr, tc.path); status != 200 || body != tc.want {
			t.Errorf("%s: %d %q, want 200 %q", tc.path, status, body, tc.want)
		}
	}
	if b, _ := os.ReadFile(ran); string(b) != ".well-known/prog.sh\nprog.sh\n" {
		t.Errorf("programs run: %q", b)
	}

	// --dotfiles lets them all through.
	static = startServer(t, "--staticdir="+dir, "--dotfiles", "cat")
	cgi = startServer(t, "--cgidir="+dir, "--dotfiles", "cat")
	scripts = startServer(t, "--dir="+dir, "--dotfiles")
	for _, tc := range []struct {
		s          *server
		path, want string
	}{
		{static, "/.env", "TOKEN=secret"},
		{static, "/.git/config", "[core] secret"},
		{cgi, "/.git/hooks/pre-commit.sample", "ran .git/hooks/pre-commit.sample\n"},
	} {
		if status, _, body := plainGet(t, tc.s.addr, tc.path); status != 200 || body != tc.want {
			t.Errorf("--dotfiles: %s: %d %q, want 200 %q", tc.path, status, body, tc.want)
		}
	}
	wstest.Expect(t, scripts.dial("/.hidden.sh"), websocket.MessageText, "Content-Type: text/plain")
}

func TestStaticDirListings(t *testing.T) {
	t.Parallel()
	dir, _ := dotDir(t)
	s := startServer(t, "--staticdir="+dir, "cat")
	for path, want := range map[string]int{"/": 403, "/docs/": 403, "/docs": 301, "/site/": 200, "/site": 301} {
		if status, _, body := plainGet(t, s.addr, path); status != want || strings.Contains(body, "page.txt") {
			t.Errorf("%s: %d %q, want %d and no listing", path, status, body, want)
		}
	}
	if _, _, body := plainGet(t, s.addr, "/site/"); body != "<p>index</p>" {
		t.Errorf("/site/: %q, want its index.html", body)
	}
	s.eventSaying("refused static path", "error", "docs has no index.html file, and listings are off (see --listdirs)")

	s = startServer(t, "--staticdir="+dir, "--listdirs", "cat")
	status, _, body := plainGet(t, s.addr, "/docs/")
	if status != 200 || !strings.Contains(body, "page.txt") {
		t.Errorf("--listdirs: /docs/: %d %q, want a listing", status, body)
	}
	status, _, body = plainGet(t, s.addr, "/")
	if status != 200 || !strings.Contains(body, "docs/") || strings.Contains(body, ".env") || strings.Contains(body, ".git") {
		t.Errorf("--listdirs: /: %d %q, want a listing without the names that start with \".\"", status, body)
	}
}
