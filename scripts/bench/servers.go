//go:build linux

package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
)

// A server is a WebSocket server under test. It is started afresh for each
// measurement with websocketd's listening flags appended to its command
// line: --port=PORT --address=127.0.0.1.
type server struct {
	name  string   // as shown in the table
	about string   // what it is, for the report
	argv  []string // the command line, before the flags the harness adds
	// bridge reports whether the server runs a child per connection, so
	// that it takes a scenario's flags and child command after the
	// listening flags; the ceiling does not.
	bridge bool
}

// servers returns the servers to measure: wsbridge (the binary at path,
// or built into dir), each -vs command line, and the ceiling.
func servers(ctx context.Context, prog *progress, dir, path string, vs []string) ([]server, error) {
	about := "wsbridge at " + path
	if path == "" {
		prog.show("building wsbridge")
		var err error
		if path, err = buildWsbridge(ctx, dir); err != nil {
			return nil, err
		}
		about = "wsbridge built from the working tree"
	}
	if v := version(ctx, path); v != "" {
		about += " (" + v + ")"
	}
	list := []server{{name: "wsbridge", about: about, argv: []string{path}, bridge: true}}
	for _, v := range vs {
		argv := strings.Fields(v)
		if _, err := exec.LookPath(argv[0]); err != nil {
			return nil, fmt.Errorf("-vs %q: %w", v, err)
		}
		about := "`" + v + "`"
		if ver := version(ctx, argv[0]); ver != "" {
			about += " (" + ver + ")"
		}
		list = append(list, server{name: v, about: about, argv: argv, bridge: true})
	}
	self, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("finding the harness's own binary for the ceiling: %w", err)
	}
	list = append(list, server{
		name:  "ceiling",
		about: "ceiling: an echo server on coder/websocket with no child, run as a process of its own; each connection is read and written by two goroutines joined by a bounded queue, the messages waiting in it leaving in one write",
		argv:  []string{self, "ceiling"},
	})
	seen := make(map[string]bool)
	for _, s := range list {
		if seen[s.name] {
			return nil, fmt.Errorf("two servers named %q", s.name)
		}
		seen[s.name] = true
	}
	return list, nil
}

// buildWsbridge builds wsbridge from the module holding the working
// directory into dir and returns the binary's path.
func buildWsbridge(ctx context.Context, dir string) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("finding the wsbridge module: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", errors.New("finding the wsbridge module: the working directory is in no module")
	}
	bin := dir + "/wsbridge"
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, ".")
	cmd.Dir = strings.TrimSuffix(gomod, "/go.mod")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building wsbridge: %w\n%s", err, out)
	}
	return bin, nil
}

// names returns the names of the servers.
func names(list []server) []string {
	n := make([]string, len(list))
	for i, s := range list {
		n[i] = s.name
	}
	return n
}
