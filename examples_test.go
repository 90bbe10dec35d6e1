package main_test

// End-to-end tests of the examples in examples/, each started as the
// "Run:" line of its header says.

import (
	"io"
	"maps"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"wsbridge/bridge/wstest"
	"wsbridge/process/proctest"
)

// runArgs returns the flags and command of the "Run: go run . ..." line in
// the header of the example file, with its --port=8080 left out, for
// startServer to use with a free port.
func runArgs(t *testing.T, file string) []string {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	_, line, ok := strings.Cut(string(b), "Run: go run . ")
	if !ok {
		t.Fatalf("%s: no %q line", file, "Run: go run .")
	}
	line, _, _ = strings.Cut(line, "\n")
	args := strings.Fields(line)
	i := slices.Index(args, "--port=8080")
	if i < 0 {
		t.Fatalf("%s: the Run line %q has no --port=8080", file, line)
	}
	return slices.Delete(args, i, i+1)
}

// get fetches url and returns its status, its Content-Type and its body.
func get(t *testing.T, url string) (int, string, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header.Get("Content-Type"), string(body)
}

// dialURL opens a WebSocket to url.
func dialURL(t *testing.T, url string) *websocket.Conn {
	t.Helper()
	c, _, err := websocket.Dial(wstest.Context(t), url, nil)
	if err != nil {
		t.Fatalf("dialing %s: %v", url, err)
	}
	t.Cleanup(func() { c.CloseNow() })
	return c
}

// siteScripts checks each script of examples/site/scripts by what a
// client of its socket, at the URL given, sees.
var siteScripts = map[string]func(t *testing.T, url string){
	"clock.sh": func(t *testing.T, url string) {
		_, msg, err := dialURL(t, url).Read(wstest.Context(t))
		if _, perr := time.Parse("15:04:05", string(msg)); err != nil || perr != nil {
			t.Fatalf("clock.sh sent %q, %v; want the time", msg, err)
		}
	},
	"upper.sh": func(t *testing.T, url string) {
		c := dialURL(t, url)
		wstest.Send(t, c, websocket.MessageText, "hello, wsbridge")
		wstest.Expect(t, c, websocket.MessageText, "HELLO, WSBRIDGE")
		wstest.Send(t, c, websocket.MessageText, "")
		wstest.Expect(t, c, websocket.MessageText, "")
	},
	"count.sh": func(t *testing.T, url string) {
		// Each client has a program of its own, and a count of its own.
		ann, bob := dialURL(t, url), dialURL(t, url)
		for _, want := range []string{"1", "2", "3"} {
			wstest.Send(t, ann, websocket.MessageText, "+")
			wstest.Expect(t, ann, websocket.MessageText, want)
		}
		wstest.Send(t, bob, websocket.MessageText, "+")
		wstest.Expect(t, bob, websocket.MessageText, "1")
	},
}

// checkSite fetches the site example's page at base, an http URL ending
// in "/", and checks each socket it opens, at the URL the page makes of
// the script's name relative to base.
func checkSite(t *testing.T, base string) {
	t.Helper()
	want, err := os.ReadFile("examples/site/public/index.html")
	if err != nil {
		t.Fatal(err)
	}
	status, typ, page := get(t, base)
	if status != 200 || !strings.HasPrefix(typ, "text/html") || page != string(want) {
		t.Fatalf("GET %s: %d %q, %d bytes; want 200, the page", base, status, typ, len(page))
	}
	// The page opens its sockets with connect("NAME", ...) to NAME.sh,
	// relative to its own URL, in ws: as it came by http:.
	var opened []string
	for _, m := range regexp.MustCompile(`connect\("([a-z]+)"`).FindAllStringSubmatch(page, -1) {
		opened = append(opened, m[1]+".sh")
	}
	if !strings.Contains(page, `socketURL(name + ".sh")`) {
		t.Fatal(`the page no longer opens its sockets with socketURL(name + ".sh")`)
	}
	slices.Sort(opened)
	scripts := slices.Sorted(maps.Keys(siteScripts))
	if !slices.Equal(opened, scripts) {
		t.Fatalf("the page opens sockets to %q, want %q", opened, scripts)
	}
	baseURL, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range opened {
		u := baseURL.ResolveReference(&url.URL{Path: name})
		u.Scheme = "ws"
		t.Run(name, func(t *testing.T) { siteScripts[name](t, u.String()) })
	}
}

func TestExampleSite(t *testing.T) {
	args := runArgs(t, "examples/site/public/index.html")
	scripts, err := filepath.Glob("examples/site/scripts/*")
	if err != nil || len(scripts) != len(siteScripts) {
		t.Fatalf("examples/site/scripts holds %q, %v; want %d scripts", scripts, err, len(siteScripts))
	}
	for _, script := range scripts {
		if got := runArgs(t, script); !slices.Equal(got, args) {
			t.Errorf("%s says to run %q, the page %q", script, got, args)
		}
	}
	s := startServer(t, args...)
	t.Run("direct", func(t *testing.T) { checkSite(t, "http://"+s.addr+"/") })

	// A plain GET of a script is not its source: the scripts are not in
	// --staticdir.
	if status, _, body := get(t, "http://"+s.addr+"/clock.sh"); status != 404 || strings.Contains(body, "date") {
		t.Errorf("GET /clock.sh: %d %q, want 404", status, body)
	}

	// Behind nginx, under its /ws/ prefix, the page and its sockets work
	// as they are.
	t.Run("behind nginx", func(t *testing.T) {
		proxy := startNginx(t, nginx{upstreams: [2]string{s.addr, s.addr}})
		checkSite(t, "http://"+proxy+"/ws/")
	})
}

func TestExampleCGI(t *testing.T) {
	proctest.Need(t, "python3", "python3")
	s := startServer(t, runArgs(t, "examples/cgi-bin/greet.py")...)
	url := "http://" + s.addr + "/greet.py"

	status, typ, page := get(t, url)
	if status != 200 || typ != "text/html; charset=utf-8" || !strings.Contains(page, `<form method="post">`) {
		t.Fatalf("GET: %d %q %q, want 200 and the form", status, typ, page)
	}
	resp, err := http.PostForm(url, map[string][]string{"name": {"Zoë <b>"}})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), `<p id="greeting">Hello, Zoë &lt;b&gt;!</p>`) {
		t.Errorf("POST: %d %q, want the greeting, escaped", resp.StatusCode, body)
	}
	req, err := http.NewRequest(http.MethodPut, url, strings.NewReader("name=x"))
	if err != nil {
		t.Fatal(err)
	}
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 405 || resp.Header.Get("Allow") != "GET, HEAD, POST" {
		t.Errorf("PUT: %d, Allow %q; want 405 and the methods allowed", resp.StatusCode, resp.Header.Get("Allow"))
	}

	// The page's socket, at the page's own path, is greeter.py.
	if !strings.Contains(page, "new URL(location.pathname, location.href)") {
		t.Fatal("the page no longer opens its socket at its own path")
	}
	c := s.dial("/greet.py")
	wstest.Send(t, c, websocket.MessageText, "Ann")
	wstest.Expect(t, c, websocket.MessageText, "Hello, Ann!")
}

func TestExampleEnv(t *testing.T) {
	s := startServer(t, runArgs(t, "examples/env.sh")...)
	c, _, err := websocket.Dial(wstest.Context(t), "ws://"+s.addr+"/some/path?x=1&y=two", &websocket.DialOptions{
		HTTPHeader: http.Header{"X-Name": {"Ann"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	var lines []string
	for {
		_, line, err := c.Read(wstest.Context(t))
		if err != nil {
			if websocket.CloseStatus(err) != websocket.StatusNormalClosure {
				t.Fatalf("env.sh ended with %v, want 1000", err)
			}
			break
		}
		lines = append(lines, string(line))
	}
	if !slices.IsSorted(lines) {
		t.Errorf("not sorted: %q", lines)
	}
	for _, want := range []string{
		"HTTP_X_NAME=Ann",
		"PATH_INFO=/some/path",
		"QUERY_STRING=x=1&y=two",
		"REMOTE_ADDR=127.0.0.1",
		"REQUEST_METHOD=GET",
		"REQUEST_URI=/some/path?x=1&y=two",
		"SCRIPT_NAME=/",
	} {
		if !slices.Contains(lines, want) {
			t.Errorf("no %s in %q", want, lines)
		}
	}
}

// TestExamplesListed checks that examples/README.md lists each example
// with the command line its header gives.
func TestExamplesListed(t *testing.T) {
	b, err := os.ReadFile("examples/README.md")
	if err != nil {
		t.Fatal(err)
	}
	list, _, _ := strings.Cut(string(b), "\n## ")
	for _, file := range []string{"examples/site/public/index.html", "examples/cgi-bin/greet.py", "examples/env.sh"} {
		want := "`go run . " + strings.Join(append([]string{"--port=8080"}, runArgs(t, file)...), " ") + "`"
		if !strings.Contains(list, want) {
			t.Errorf("the list of examples/README.md has no %s for %s", want, file)
		}
	}
	if !strings.Contains(string(b), "\n## The program's environment\n") || !strings.Contains(list, "(#the-programs-environment)") {
		t.Error("the list of examples/README.md does not link to the section on the program's environment")
	}
}
