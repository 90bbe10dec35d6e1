package listen

import (
	"os"
	"strconv"
	"testing"
)

func TestActivationVariables(t *testing.T) {
	self := strconv.Itoa(os.Getpid())
	for _, tc := range []struct {
		pid, fds string
		err      string
	}{
		{"1", "2", ""}, // another process's sockets: not ours to take
		{self, "0", ""},
		{self, "two", `socket activation: LISTEN_FDS="two" is not a number of sockets`},
	} {
		t.Setenv("LISTEN_PID", tc.pid)
		t.Setenv("LISTEN_FDS", tc.fds)
		t.Setenv("LISTEN_FDNAMES", "web")
		lns, _, err := Activated()
		if len(lns) != 0 || (err == nil) != (tc.err == "") || err != nil && err.Error() != tc.err {
			t.Errorf("LISTEN_PID=%s LISTEN_FDS=%s: %d listeners, error %v; want none and %q", tc.pid, tc.fds, len(lns), err, tc.err)
		}
		for _, name := range []string{"LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"} {
			if v, ok := os.LookupEnv(name); ok {
				t.Errorf("LISTEN_PID=%s LISTEN_FDS=%s: %s=%q left in the environment", tc.pid, tc.fds, name, v)
			}
		}
	}
}
