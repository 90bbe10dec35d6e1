//go:build unix

package upgrade

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/rs/zerolog"

	"wsbridge/process/proctest"
)

// cgiServer serves a --cgidir directory holding a/b/echo.sh, which prints
// PATH_INFO, QUERY_STRING and SCRIPT_NAME, env.sh, which prints its
// environment and working directory and writes to stderr, and a plain
// file, and read.sh, which answers once it has read a line of the request
// body. It returns the server, its log and the directory.
func cgiServer(t *testing.T, env []string, limit *forkLimit, running prometheus.Gauge) (*httptest.Server, *syncBuffer, string) {
	t.Helper()
	dir := t.TempDir()
	proctest.WriteFile(t, filepath.Join(dir, "a", "b", "echo.sh"), `#!/bin/sh
echo "Content-Type: text/plain"
echo
echo "$PATH_INFO $QUERY_STRING $SCRIPT_NAME"
`, 0o755)
	proctest.WriteFile(t, filepath.Join(dir, "a", "env.sh"), `#!/bin/sh
echo "Content-Type: text/plain"
echo
env
echo "cwd=$(pwd -P)"
echo "a line for the log" >&2
printf 'a last line with no newline' >&2
`, 0o755)
	proctest.WriteFile(t, filepath.Join(dir, "read.sh"), `#!/bin/sh
read line
echo "Content-Type: text/plain"
echo
echo "$line"
`, 0o755)
	proctest.WriteFile(t, filepath.Join(dir, "plain.txt"), "text\n", 0o644)
	logs := &syncBuffer{}
	srv := httptest.NewServer(cgiHandler(openTestDir(t, "--cgidir", dir, false), dir, env, limit, running, zerolog.New(logs), http.HandlerFunc(notFound)))
	t.Cleanup(srv.Close)
	return srv, logs, dir
}

// get gets url and returns the status and body of the answer.
func get(t *testing.T, url string) (int, string) {
	t.Helper()
	status, _, body := getWith(t, url, nil)
	return status, body
}

func TestCGIHandler(t *testing.T) {
	srv, _, _ := cgiServer(t, []string{"PATH=/usr/bin:/bin"}, nil, newGauge())
	for _, tc := range []struct {
		path   string
		status int
		body   string
	}{
		{"/a/b/echo.sh", 200, "  /a/b/echo.sh\n"},
		{"/a/b/echo.sh?x=1&y=2", 200, " x=1&y=2 /a/b/echo.sh\n"},
		{"/a/b/echo.sh/x/y?q=1", 200, "/x/y q=1 /a/b/echo.sh\n"},
		{"/a/b/echo.sh/one%20two/", 200, "/one two/  /a/b/echo.sh\n"},
		{"/missing", 404, ""},
		{"/a/b", 404, ""},
		{"/plain.txt", 404, ""},
		{"/", 404, ""},
		{"/../a/b/echo.sh", 403, ""},
		{"/a/%2e%2e/a/b/echo.sh", 403, ""},
		{"/a%2fb%2fecho.sh", 403, ""},
	} {
		status, body := get(t, srv.URL+tc.path)
		if status != tc.status || (tc.body != "" && body != tc.body) {
			t.Errorf("%s: %d %q; want %d %q", tc.path, status, body, tc.status, tc.body)
		}
	}
}

func TestCGIHandlerEnv(t *testing.T) {
	t.Setenv("WSBRIDGE_SERVER_ONLY", "secret")
	t.Setenv("LD_LIBRARY_PATH", "/server/lib")
	t.Setenv("PATH", os.Getenv("PATH")+":/server/bin")
	for _, tc := range []struct {
		name string
		env  []string
		want []string
	}{
		{"passed", []string{"PATH=/usr/bin:/bin", "GREETING=hello there"},
			[]string{"PATH=/usr/bin:/bin", "GREETING=hello there", "LD_LIBRARY_PATH="}},
		{"none", nil,
			[]string{"PATH=" + defaultCGIPath, "LD_LIBRARY_PATH="}},
	} {
		srv, logs, dir := cgiServer(t, tc.env, nil, newGauge())
		status, body := get(t, srv.URL+"/a/env.sh/more?q=1")
		if status != 200 {
			t.Fatalf("%s: %d %q", tc.name, status, body)
		}
		lines := strings.Split(body, "\n")
		cwd, err := filepath.EvalSymlinks(filepath.Join(dir, "a"))
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range append(tc.want, "PATH_INFO=/more", "SCRIPT_NAME=/a/env.sh", "QUERY_STRING=q=1", "cwd="+cwd) {
			if !slices.Contains(lines, want) {
				t.Errorf("%s: no %q in\n%s", tc.name, want, body)
			}
		}
		for _, line := range lines {
			if strings.Contains(line, "secret") || strings.Contains(line, "/server/") {
				t.Errorf("%s: the server's environment came through: %q", tc.name, line)
			}
		}

		evs := logs.events("CGI program wrote to stderr")
		if len(evs) != 2 || evs[0]["stderr"] != "a line for the log" || evs[1]["stderr"] != "a last line with no newline" || evs[0]["script"] != "/a/env.sh" {
			t.Errorf("%s: stderr logged as %v", tc.name, evs)
		}
	}
}

func TestCGIHandlerLimit(t *testing.T) {
	limit := newForkLimit(1)
	srv, logs, _ := cgiServer(t, nil, limit, newGauge())
	if !limit.tryAcquire() {
		t.Fatal("the only slot is taken")
	}
	if status, body := get(t, srv.URL+"/a/b/echo.sh"); status != 429 {
		t.Errorf("with no slot free: %d %q, want 429", status, body)
	}
	if evs := logs.events("too many programs running; CGI program not run"); len(evs) != 1 {
		t.Errorf("refusal logged as %v", evs)
	}
	limit.release()
	for i := range 5 {
		if status, body := get(t, srv.URL+"/a/b/echo.sh"); status != 200 {
			t.Fatalf("run %d: %d %q, want 200", i, status, body)
		}
	}
	// A missing program takes no slot.
	if status, _ := get(t, srv.URL+"/missing"); status != 404 {
		t.Errorf("missing: %d, want 404", status)
	}
	if !limit.tryAcquire() {
		t.Error("the slot was not given back")
	}
}

func TestCGIHandlerCountsRunning(t *testing.T) {
	running := newGauge()
	srv, _, _ := cgiServer(t, nil, nil, running)
	body, write := io.Pipe()
	answered := make(chan string, 1)
	// CGI takes no chunked body: the length is told ahead.
	req, err := http.NewRequest("POST", srv.URL+"/read.sh", body)
	if err != nil {
		t.Fatal(err)
	}
	req.ContentLength = int64(len("hello\n"))
	defer write.Close()
	go func() {
		resp, err := srv.Client().Do(req)
		if err != nil {
			answered <- err.Error()
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		answered <- string(b)
	}()
	// The program waits for its line: it is running.
	proctest.Eventually(t, 10*time.Second, func() error {
		if v := testutil.ToFloat64(running); v != 1 {
			return fmt.Errorf("running = %v while the program waits, want 1", v)
		}
		return nil
	})
	write.Write([]byte("hello\n"))
	write.Close()
	if got := <-answered; got != "hello\n" {
		t.Fatalf("answer %q", got)
	}
	if v := testutil.ToFloat64(running); v != 0 {
		t.Errorf("running = %v after the program ended, want 0", v)
	}
}

// newGauge returns a gauge registered nowhere.
func newGauge() prometheus.Gauge {
	return prometheus.NewGauge(prometheus.GaugeOpts{Name: "running"})
}

func TestLineLogger(t *testing.T) {
	logs := &syncBuffer{}
	l := &lineLogger{log: zerolog.New(logs)}
	long := strings.Repeat("x", maxLogLine+10)
	for _, p := range []string{"ab", "c\nde\r\n", "\n", long[:100], long[100:] + "\nta", "il"} {
		if n, err := l.Write([]byte(p)); n != len(p) || err != nil {
			t.Fatalf("Write: %d, %v", n, err)
		}
	}
	l.flush()
	l.flush()
	var got []string
	for _, ev := range logs.events("CGI program wrote to stderr") {
		got = append(got, ev["stderr"].(string))
	}
	want := []string{"abc", "de", "", long[:maxLogLine], long[maxLogLine:], "tail"}
	if !slices.Equal(got, want) {
		t.Errorf("logged %q, want %q", got, want)
	}
}
