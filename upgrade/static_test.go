//go:build unix

package upgrade

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rs/zerolog"

	"wsbridge/process/proctest"
)

// staticServer serves a --staticdir directory with files, directories
// with and without index.html, names that start with "." and symbolic
// links of every kind, and a directory outside it whose files hold
// "SECRET". It returns the server and its log.
func staticServer(t *testing.T, listDirs, dotfiles bool) (*httptest.Server, *syncBuffer) {
	t.Helper()
	tmp := t.TempDir()
	dir := filepath.Join(tmp, "static")
	for name, content := range map[string]string{
		"static/hello.txt":                   "hello from static\n",
		"static/sub/index.html":              "<p>index of sub</p>\n",
		"static/bare/file.txt":               "in bare\n",
		"static/bare/.env":                   "SECRET=in bare\n",
		"static/.env":                        "TOKEN=dotfile\n",
		"static/.git/config":                 "[core] dotfile\n",
		"static/.well-known/security.txt":    "Contact: well-known\n",
		"static/.well-known/.hidden":         "hidden under well-known\n",
		"outside/secret.txt":                 "SECRET outside\n",
		"outside/dir/index.html":             "SECRET index outside\n",
		"static/linked-index/other.txt":      "other\n",
		"static/escaping-index/.placeholder": "",
	} {
		proctest.WriteFile(t, filepath.Join(tmp, filepath.FromSlash(name)), content, 0o644)
	}
	for name, target := range map[string]string{
		"out.txt":                   "../outside/secret.txt",
		"abs.txt":                   filepath.Join(tmp, "outside", "secret.txt"),
		"out-dir":                   "../outside/dir",
		"in.txt":                    "hello.txt",
		"abs-in.txt":                filepath.Join(dir, "hello.txt"),
		"abs-sub":                   filepath.Join(dir, "sub"),
		"chain.txt":                 "abs-sub/../abs-in.txt",
		"sub/up":                    "..",
		"sub/more":                  "../..",
		"loop":                      "loop",
		"linked-index/index.html":   filepath.Join(dir, "sub", "index.html"),
		"escaping-index/index.html": filepath.Join(tmp, "outside", "dir", "index.html"),
	} {
		symlink(t, target, filepath.Join(dir, filepath.FromSlash(name)))
	}
	logs := &syncBuffer{}
	d := openTestDir(t, "--staticdir", dir, dotfiles)
	srv := httptest.NewServer(staticHandler(d, listDirs, zerolog.New(logs)))
	t.Cleanup(srv.Close)
	return srv, logs
}

// staticCase is a request to a static server and what it must get.
type staticCase struct {
	method, path string
	status       int
	body         string // a part of the body
	notBody      string // what the body must not hold
	refusal      string // a part of the reason logged for a 403, "" for no log
}

// checkStatic makes each request of cases to srv, which logs to logs, and
// checks the answers.
func checkStatic(t *testing.T, srv *httptest.Server, logs *syncBuffer, cases []staticCase) {
	t.Helper()
	for _, tc := range cases {
		logged := len(logs.events("refused static path"))
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
		for _, bad := range []string{"SECRET", tc.notBody} {
			if bad != "" && strings.Contains(string(body), bad) {
				t.Errorf("%s %s: served %q: %q", tc.method, tc.path, bad, body)
			}
		}
		if tc.status == 405 && resp.Header.Get("Allow") != "GET, HEAD" {
			t.Errorf("%s %s: Allow %q", tc.method, tc.path, resp.Header.Get("Allow"))
		}
		evs := logs.events("refused static path")[logged:]
		switch {
		case tc.refusal == "" && len(evs) > 0:
			t.Errorf("%s %s: logged %v", tc.method, tc.path, evs)
		case tc.refusal == "":
		case len(evs) != 1:
			t.Errorf("%s %s: logged %v, want one refusal saying %q", tc.method, tc.path, evs, tc.refusal)
		case evs[0]["level"] != "warn" || evs[0]["remote"] == nil || evs[0]["path"] == nil ||
			!strings.Contains(fmt.Sprint(evs[0]["error"]), tc.refusal):
			t.Errorf("%s %s: logged %v, want a warning saying %q", tc.method, tc.path, evs[0], tc.refusal)
		}
	}
}

func TestStaticHandler(t *testing.T) {
	srv, logs := staticServer(t, false, false)
	checkStatic(t, srv, logs, []staticCase{
		{method: "GET", path: "/hello.txt", status: 200, body: "hello from static"},
		{method: "HEAD", path: "/hello.txt", status: 200},
		{method: "GET", path: "/sub/", status: 200, body: "index of sub"},
		{method: "HEAD", path: "/sub/", status: 200},
		{method: "GET", path: "/sub", status: 200, body: "index of sub"},            // after a redirect to /sub/
		{method: "GET", path: "/sub/index.html", status: 200, body: "index of sub"}, // after a redirect to /sub/
		{method: "GET", path: "/missing", status: 404},
		{method: "GET", path: "/missing/", status: 404},
		{method: "POST", path: "/hello.txt", status: 405},
		{method: "PUT", path: "/hello.txt", status: 405},
		{method: "DELETE", path: "/hello.txt", status: 405},

		// No listings: 403, as nginx and Apache answer.
		{method: "GET", path: "/", status: 403, notBody: "hello.txt", refusal: "listings are off"},
		{method: "GET", path: "/bare/", status: 403, notBody: "file.txt", refusal: "bare has no index.html file, and listings are off (see --listdirs)"},
		{method: "GET", path: "/bare", status: 403, refusal: "listings are off"}, // after a redirect to /bare/
		{method: "GET", path: "/bare/file.txt", status: 200, body: "in bare"},
		{method: "GET", path: "/hello.txt/", status: 200, body: "hello from static"}, // after a redirect to /hello.txt

		// Ways out, which may be cleaned up into a path inside.
		{method: "GET", path: "/../outside/secret.txt", status: 404},
		{method: "GET", path: "/%2e%2e/outside/secret.txt", status: 404},
		{method: "GET", path: "/%2E%2e%2foutside%2fsecret.txt", status: 404},
		{method: "GET", path: "/sub/%2e%2e/%2e%2e/outside/secret.txt", status: 404},
		{method: "GET", path: "/..%5coutside%5csecret.txt", status: 404},

		// Symbolic links that stay inside, however they are written.
		{method: "GET", path: "/in.txt", status: 200, body: "hello from static"},
		{method: "GET", path: "/abs-in.txt", status: 200, body: "hello from static"},
		{method: "GET", path: "/chain.txt", status: 200, body: "hello from static"},
		{method: "GET", path: "/abs-sub/", status: 200, body: "index of sub"},
		{method: "GET", path: "/abs-sub/up/hello.txt", status: 200, body: "hello from static"},
		{method: "GET", path: "/sub/up/hello.txt", status: 200, body: "hello from static"},
		{method: "GET", path: "/linked-index/", status: 200, body: "index of sub"},

		// Symbolic links that lead out, and a loop: 403, logged.
		{method: "GET", path: "/out.txt", status: 403, refusal: "symlink out.txt points to ../outside/secret.txt, outside --staticdir"},
		{method: "GET", path: "/abs.txt", status: 403, refusal: "outside/secret.txt, outside --staticdir"},
		{method: "GET", path: "/out-dir/", status: 403, refusal: "outside --staticdir"},
		{method: "GET", path: "/out-dir/index.html", status: 403, refusal: "symlink out-dir points to ../outside/dir, outside --staticdir"},
		{method: "GET", path: "/sub/more/outside/secret.txt", status: 403, refusal: "symlink sub/more points to ../.., outside --staticdir"},
		{method: "GET", path: "/escaping-index/", status: 403, refusal: "symlink escaping-index/index.html points to"},
		{method: "GET", path: "/loop", status: 403, refusal: "more than 40 symbolic links"},

		// Names that start with ".": as if absent, but /.well-known.
		{method: "GET", path: "/.env", status: 404},
		{method: "GET", path: "/.git/config", status: 404},
		{method: "GET", path: "/.git/", status: 404},
		{method: "GET", path: "/bare/.env", status: 404},
		{method: "GET", path: "/%2eenv", status: 404},
		{method: "GET", path: "/.well-known/security.txt", status: 200, body: "well-known"},
		{method: "GET", path: "/.well-known/.hidden", status: 404},
	})
}

func TestStaticHandlerListDirs(t *testing.T) {
	srv, logs := staticServer(t, true, false)
	checkStatic(t, srv, logs, []staticCase{
		{method: "GET", path: "/", status: 200, body: "hello.txt", notBody: ".env"},
		{method: "GET", path: "/", status: 200, body: ".well-known"},
		{method: "GET", path: "/bare/", status: 200, body: "file.txt", notBody: ".env"},
		{method: "GET", path: "/.well-known/", status: 200, body: "security.txt", notBody: ".hidden"},
		{method: "GET", path: "/sub/", status: 200, body: "index of sub"},
		{method: "GET", path: "/.git/", status: 404},
	})
}

func TestStaticHandlerDotfiles(t *testing.T) {
	srv, logs := staticServer(t, true, true)
	checkStatic(t, srv, logs, []staticCase{
		{method: "GET", path: "/.env", status: 200, body: "dotfile"},
		{method: "GET", path: "/.git/config", status: 200, body: "dotfile"},
		{method: "GET", path: "/bare/", status: 200, body: ".env"},
		{method: "GET", path: "/.well-known/.hidden", status: 200, body: "hidden under well-known"},
	})
}
