package upgrade

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rs/zerolog"
	"golang.org/x/crypto/bcrypt"

	"wsbridge/process/proctest"
)

// htpasswdFile writes an htpasswd file with a user for each pair of
// names and passwords, at the lowest cost, and returns its path.
func htpasswdFile(t *testing.T, file string, userPasswords ...string) string {
	t.Helper()
	if file == "" {
		file = filepath.Join(t.TempDir(), "users")
	}
	content := "# users\n"
	for i := 0; i < len(userPasswords); i += 2 {
		content += userPasswords[i] + ":" + testHash(t, userPasswords[i+1]) + "\n"
	}
	proctest.WriteFile(t, file, content, 0o600)
	return file
}

func TestBasicAuthCheck(t *testing.T) {
	file := htpasswdFile(t, "", "ann", "ann's secret", "bob", "bob's secret")
	a, err := newBasicAuth(file, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, tc := range []struct{ user, password, want string }{
		{"ann", "ann's secret", ""},
		{"ann", "ann's secret", ""}, // remembered
		{"bob", "bob's secret", ""},
		{"ann", "bob's secret", authBadPassword},
		{"ann", "", authBadPassword},
		{"carl", "ann's secret", authUnknownUser},
		{"", "", authUnknownUser},
	} {
		if got := a.check(ctx, "", tc.user, tc.password); got != tc.want {
			t.Errorf("%q with %q: %q, want %q", tc.user, tc.password, got, tc.want)
		}
	}
	// A changed password is the only one from then on, remembered or not.
	htpasswdFile(t, file, "ann", "a new secret!")
	if got := a.check(ctx, "", "ann", "ann's secret"); got != authBadPassword {
		t.Errorf("old password: %q", got)
	}
	if got := a.check(ctx, "", "ann", "a new secret!"); got != "" {
		t.Errorf("new password: %q", got)
	}
	if got := a.check(ctx, "", "bob", "bob's secret"); got != authUnknownUser {
		t.Errorf("removed user: %q", got)
	}
}

func TestBasicAuthUnknownUserCostsAsMuch(t *testing.T) {
	file := filepath.Join(t.TempDir(), "users")
	h5, _ := bcrypt.GenerateFromPassword([]byte("x"), 5)
	h4, _ := bcrypt.GenerateFromPassword([]byte("x"), 4)
	proctest.WriteFile(t, file, "cheap:"+string(h4)+"\ndear:"+string(h5)+"\n", 0o600)
	set, err := readUsers(file)
	if err != nil {
		t.Fatal(err)
	}
	if string(set.dummy) != string(h5) {
		t.Errorf("unknown users are compared with %q, not the costliest hash", set.dummy)
	}
	proctest.WriteFile(t, file, "", 0o600)
	if set, err = readUsers(file); err != nil || string(set.dummy) != string(fallbackHash) {
		t.Errorf("with no users, unknown users are compared with %q, %v", set.dummy, err)
	}
	if c, err := bcrypt.Cost(fallbackHash); err != nil || c != bcrypt.DefaultCost {
		t.Errorf("the fallback hash: cost %d, %v", c, err)
	}
}

func TestBasicAuthKeepsLastGoodFile(t *testing.T) {
	file := htpasswdFile(t, "", "ann", "ann's secret")
	logs := &syncBuffer{}
	a, err := newBasicAuth(file, zerolog.New(logs))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	complaints := func() int { return len(logs.events("cannot use --basic-auth-file; the users read before stay")) }

	// A user added while running can log in.
	htpasswdFile(t, file, "ann", "ann's secret", "bob", "bob's secret")
	if got := a.check(ctx, "", "bob", "bob's secret"); got != "" {
		t.Fatalf("added user: %q", got)
	}
	if n := len(logs.events("read --basic-auth-file again")); n != 1 {
		t.Errorf("%d events for the file read again, want 1", n)
	}
	// A file broken while running leaves the users as they were, and
	// is complained about once.
	proctest.WriteFile(t, file, "ann:"+testHash(t, "x")+"\nbob:$apr1$x4b3x6fS$OqOmZ7Z1XnOf9DuMdyXTJ0\n", 0o600)
	for range 3 {
		if got := a.check(ctx, "", "bob", "bob's secret"); got != "" {
			t.Fatalf("after the file broke: %q", got)
		}
	}
	if n := complaints(); n != 1 {
		t.Errorf("%d complaints about the broken file, want 1", n)
	}
	// So does a file gone.
	os.Remove(file)
	for range 3 {
		if got := a.check(ctx, "", "ann", "ann's secret"); got != "" {
			t.Fatalf("after the file went: %q", got)
		}
	}
	if n := complaints(); n != 2 {
		t.Errorf("%d complaints, want 2", n)
	}
	// The file back, it is read.
	htpasswdFile(t, file, "carl", "carl's secret")
	if got := a.check(ctx, "", "carl", "carl's secret"); got != "" {
		t.Errorf("the file back: %q", got)
	}
	if got := a.check(ctx, "", "ann", "ann's secret"); got != authUnknownUser {
		t.Errorf("the file back, ann: %q", got)
	}
}

func TestBasicAuthBoundsComparisons(t *testing.T) {
	file := htpasswdFile(t, "", "ann", "ann's secret")
	a, err := newBasicAuth(file, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	if got := a.check(context.Background(), "", "ann", "ann's secret"); got != "" {
		t.Fatal(got)
	}
	// Every comparison slot taken, as by clients sending wrong
	// passwords: a check waits, and gives up when its client goes...
	for range cap(a.checks) {
		a.checks <- struct{}{}
	}
	gone, cancel := context.WithCancel(context.Background())
	cancel()
	if got := a.check(gone, "", "ann", "wrong"); got != authGone {
		t.Errorf("a check with its client gone: %q", got)
	}
	// ...but a user already in does not wait.
	if got := a.check(gone, "", "ann", "ann's secret"); got != "" {
		t.Errorf("a remembered user: %q", got)
	}
	// A slot free, the check goes on.
	<-a.checks
	if got := a.check(context.Background(), "", "ann", "wrong"); got != authBadPassword {
		t.Errorf("a check with a free slot: %q", got)
	}
}

func TestNewBasicAuthErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad")
	proctest.WriteFile(t, bad, "ann:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=\n", 0o600)
	for file, want := range map[string]string{
		filepath.Join(dir, "missing"): "no such file",
		bad:                           bad + `:1: user "ann": not a bcrypt hash`,
	} {
		if _, err := newBasicAuth(file, zerolog.Nop()); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want an error about %q", file, err, want)
		}
	}
}

func TestBasicAuthReload(t *testing.T) {
	file := htpasswdFile(t, "", "ann", "ann's secret")
	logs := &syncBuffer{}
	a, err := newBasicAuth(file, zerolog.New(logs))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	// A new password that keeps the file's size and time is not noticed
	// by itself...
	fi, err := os.Stat(file)
	if err != nil {
		t.Fatal(err)
	}
	htpasswdFile(t, file, "ann", "a new secret")
	if err := os.Chtimes(file, fi.ModTime(), fi.ModTime()); err != nil {
		t.Fatal(err)
	}
	if got := a.check(ctx, "", "ann", "a new secret"); got != authBadPassword {
		t.Fatalf("the new password before the reload: %q", got)
	}
	// ...but is once the file is reloaded.
	if n, err := a.reload(); n != 1 || err != nil {
		t.Fatalf("reload: %d users, %v", n, err)
	}
	if got := a.check(ctx, "", "ann", "a new secret"); got != "" {
		t.Errorf("the new password after the reload: %q", got)
	}
	// A file that cannot be used leaves the users as they were; the
	// error is the reload's to report, not logged again by a check.
	proctest.WriteFile(t, file, "ann:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=\n", 0o600)
	if _, err := a.reload(); err == nil || !strings.Contains(err.Error(), file+`:1: user "ann": not a bcrypt hash`) {
		t.Errorf("reload of a broken file: %v", err)
	}
	if got := a.check(ctx, "", "ann", "a new secret"); got != "" {
		t.Errorf("after a failed reload: %q", got)
	}
	if n := len(logs.events("cannot use --basic-auth-file; the users read before stay")); n != 0 {
		t.Errorf("%d complaints logged, want none", n)
	}
}
