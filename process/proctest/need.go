package proctest

import (
	"os"
	"os/exec"
	"testing"
)

// StrictEnv is the environment variable that, set to 1, makes a program a
// test needs and cannot find a failure rather than a reason to skip the
// test; scripts/test sets it where it can install every such program.
const StrictEnv = "WSBRIDGE_TEST_STRICT"

// strict is StrictEnv's setting, read as the test binary starts: a
// TestMain may then take the variable out of the environment of what the
// tests run.
var strict = os.Getenv(StrictEnv) == "1"

// Need returns the path of program (a name looked up in PATH, or a path),
// which the test cannot do without. If it is missing the test is skipped
// with a message naming debianPackage, the package that holds it, or fails
// when StrictEnv is 1.
func Need(t testing.TB, program, debianPackage string) string {
	t.Helper()
	path, err := exec.LookPath(program)
	if err == nil {
		return path
	}
	if strict {
		t.Fatalf("%s (Debian's %s, which ./scripts/test installs) is needed, and %s=1: %v", program, debianPackage, StrictEnv, err)
	}
	t.Skipf("%s (Debian's %s, which ./scripts/test installs) is needed: %v", program, debianPackage, err)
	return ""
}
