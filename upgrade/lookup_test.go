package upgrade

import (
	"context"
	"testing"
)

func TestLookupHost(t *testing.T) {
	ctx := context.Background()
	for _, notIP := range []string{"@", "", "unix-socket", "example.com:80"} {
		if got := lookupHost(ctx, notIP); got != "" {
			t.Errorf("lookupHost(%q) = %q, want nothing", notIP, got)
		}
	}
	// A trusted proxy names a client without a port: it is looked up all
	// the same.
	withPort, alone := lookupHost(ctx, "127.0.0.1:4000"), lookupHost(ctx, "127.0.0.1")
	if alone == "" || alone != withPort {
		t.Errorf("127.0.0.1 looked up as %q, and with a port as %q", alone, withPort)
	}
}
