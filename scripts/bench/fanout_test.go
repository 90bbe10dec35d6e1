//go:build linux

package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"
)

// TestFanoutCeiling runs the fanout scenario's clients against the
// ceiling's fan-out: every client gets every line, in order, and every
// figure is measured. The flood is shorter than the queue a client may
// have before the ceiling drops it: the clients share the machine with
// the server here, and one the scheduler leaves waiting while another
// reads must not fail the test.
func TestFanoutCeiling(t *testing.T) {
	if testing.Short() {
		t.Skip("the paced lines take 10 s by design")
	}
	srv := httptest.NewServer(http.HandlerFunc(serveFanout))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	p := &process{pid: os.Getpid(), addr: strings.TrimPrefix(srv.URL, "http://")}
	m, err := runFanout(ctx, []*process{p}, nil, 20, fanoutQueue/2)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []figure{fanRate, fanP50, fanP99, fanCPU} {
		if v, ok := m[f.name]; !ok || !(v > 0) {
			t.Errorf("%s = %v, %v; want a positive value", f.name, v, ok)
		}
	}
	if m[fanFailures.name] != 0 {
		t.Errorf("%s = %v, want 0", fanFailures.name, m[fanFailures.name])
	}
}
