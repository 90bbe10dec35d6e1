package main

// End-to-end tests of the examples in examples/, each started as the
// "Run:" line of its header says.

import (
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/coder/websocket"
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

func TestExampleEnv(t *testing.T) {
	s := startServer(t, runArgs(t, "examples/env.sh")...)
	c, _, err := websocket.Dial(ctx(t), "ws://"+s.addr+"/some/path?x=1&y=two", &websocket.DialOptions{
		HTTPHeader: http.Header{"X-Name": {"Ann"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	var lines []string
	for {
		_, line, err := c.Read(ctx(t))
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
	for _, file := range []string{"examples/env.sh"} {
		want := "`go run . " + strings.Join(append([]string{"--port=8080"}, runArgs(t, file)...), " ") + "`"
		if !strings.Contains(list, want) {
			t.Errorf("the list of examples/README.md has no %s for %s", want, file)
		}
	}
	if !strings.Contains(string(b), "\n## The program's environment\n") || !strings.Contains(list, "(#the-programs-environment)") {
		t.Error("the list of examples/README.md does not link to the section on the program's environment")
	}
}
