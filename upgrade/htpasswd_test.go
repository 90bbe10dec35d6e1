package upgrade

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

// testHash is a bcrypt hash of password at the lowest cost, in the $2y$
// form htpasswd -B writes.
func testHash(t testing.TB, password string) string {
	t.Helper()
	h, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	return "$2y$" + string(h[4:])
}

func TestParseHtpasswd(t *testing.T) {
	ann, bob := testHash(t, "ann's secret"), testHash(t, "bob's secret")
	a2a, a2b := "$2a$"+ann[4:], "$2b$"+bob[4:]
	cost12 := "$2y$12$" + ann[7:]
	for _, tc := range []struct {
		name, file string
		users      []string
		maxCost    int
		err        string // in the error; "" for none
	}{
		{name: "empty", file: "", maxCost: 0},
		{name: "one user", file: "ann:" + ann + "\n", users: []string{"ann"}, maxCost: 4},
		{name: "no final newline", file: "ann:" + ann, users: []string{"ann"}, maxCost: 4},
		{name: "comments, blank lines and CRLF", file: "# users\r\n\r\n  \nann:" + ann + "\r\n#bob:" + bob + "\nbob:" + bob + "\n", users: []string{"ann", "bob"}, maxCost: 4},
		{name: "$2a$ and $2b$", file: "ann:" + a2a + "\nbob:" + a2b + "\n", users: []string{"ann", "bob"}, maxCost: 4},
		{name: "highest cost", file: "ann:" + ann + "\nbob:" + cost12 + "\n", users: []string{"ann", "bob"}, maxCost: 12},
		{name: "user with spaces and unicode", file: "Zoë Smith:" + ann + "\n", users: []string{"Zoë Smith"}, maxCost: 4},

		{name: "no colon", file: "# users\nann " + ann + "\n", err: "users:2: want user:hash"},
		{name: "no user", file: ":" + ann + "\n", err: "users:1: no user name"},
		{name: "twice", file: "ann:" + ann + "\n\nann:" + bob + "\n", err: `users:3: user "ann" already on line 1`},
		{name: "MD5", file: "ann:$apr1$x4b3x6fS$OqOmZ7Z1XnOf9DuMdyXTJ0\n", err: `users:1: user "ann": not a bcrypt hash`},
		{name: "SHA", file: "ann:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=\n", err: `users:1: user "ann": not a bcrypt hash`},
		{name: "crypt", file: "ann:rqXexS6ZhobKA\n", err: `users:1: user "ann": not a bcrypt hash`},
		{name: "plain text", file: "ann:secret\n", err: "not a bcrypt hash"},
		{name: "empty hash", file: "ann:\n", err: "not a bcrypt hash"},
		{name: "other bcrypt version", file: "ann:$2x$" + ann[4:] + "\n", err: "not a bcrypt hash"},
		{name: "cost too low", file: "ann:$2y$03$" + ann[7:] + "\n", err: "not a bcrypt hash"},
		{name: "cost not a number", file: "ann:$2y$1x$" + ann[7:] + "\n", err: "not a bcrypt hash"},
		{name: "cut short", file: "ann:" + ann[:59] + "\n", err: "not a bcrypt hash"},
		{name: "trailing space", file: "ann:" + ann + " \n", err: "not a bcrypt hash"},
		{name: "not base64", file: "ann:" + ann[:59] + "!\n", err: "not a bcrypt hash"},
		{name: "extra field", file: "ann:" + ann + ":comment\n", err: "not a bcrypt hash"},
	} {
		users, maxCost, err := parseHtpasswd(strings.NewReader(tc.file), "users")
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: error %v, want one about %q", tc.name, err, tc.err)
			}
			if err != nil && (strings.Contains(err.Error(), ann[7:]) || strings.Contains(err.Error(), "$apr1$")) {
				t.Errorf("%s: the error shows the hash: %v", tc.name, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if len(users) != len(tc.users) || maxCost != tc.maxCost {
			t.Errorf("%s: %d users with cost up to %d, want %q with %d", tc.name, len(users), maxCost, tc.users, tc.maxCost)
		}
		for _, u := range tc.users {
			if _, ok := users[u]; !ok {
				t.Errorf("%s: no user %q", tc.name, u)
			}
		}
	}
}

// The file htpasswd -B writes is read as it is, when htpasswd is there
// (Debian's apache2-utils).
func TestParseHtpasswdFromHtpasswd(t *testing.T) {
	htpasswd, err := exec.LookPath("htpasswd")
	if err != nil {
		t.Skip("no htpasswd here")
	}
	file := filepath.Join(t.TempDir(), "users")
	for i, user := range []string{"ann", "bob"} {
		args := []string{"-B", "-b", file, user, user + "'s secret"}
		if i == 0 {
			args = append([]string{"-c"}, args...)
		}
		if out, err := exec.Command(htpasswd, args...).CombinedOutput(); err != nil {
			t.Fatalf("htpasswd: %v: %s", err, out)
		}
	}
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	users, _, err := parseHtpasswd(f, file)
	if err != nil {
		t.Fatal(err)
	}
	for _, user := range []string{"ann", "bob"} {
		if err := bcrypt.CompareHashAndPassword(users[user], []byte(user+"'s secret")); err != nil {
			t.Errorf("%s: %v", user, err)
		}
	}
}
