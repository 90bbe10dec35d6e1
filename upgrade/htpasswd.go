package upgrade

import (
	"bufio"
	"fmt"
	"io"
	"strings"

	"golang.org/x/crypto/bcrypt"
)

// parseHtpasswd reads an htpasswd file of bcrypt hashes, as `htpasswd -B`
// writes them: one "user:hash" a line, the hash starting with $2y$, $2a$
// or $2b$. Blank lines and lines starting with "#" are skipped, and a line
// may end in "\r\n". It returns the hash of each user, and the highest
// cost found (0 for no users). Anything else (a line without a colon, an
// empty user name, a user given twice, a hash of another kind such as
// MD5's $apr1$ or {SHA}) is an error naming file and line; the error
// never holds a hash.
func parseHtpasswd(r io.Reader, file string) (users map[string][]byte, maxCost int, err error) {
	users = map[string][]byte{}
	lines := map[string]int{} // the line of each user
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSuffix(sc.Text(), "\r")
		if strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#") {
			continue
		}
		user, hash, ok := strings.Cut(line, ":")
		switch {
		case !ok:
			return nil, 0, fmt.Errorf("%s:%d: want user:hash", file, n)
		case user == "":
			return nil, 0, fmt.Errorf("%s:%d: no user name", file, n)
		case lines[user] != 0:
			return nil, 0, fmt.Errorf("%s:%d: user %q already on line %d", file, n, user, lines[user])
		}
		cost, ok := bcryptCost(hash)
		if !ok {
			return nil, 0, fmt.Errorf("%s:%d: user %q: not a bcrypt hash ($2y$, $2a$ or $2b$); make one with htpasswd -B", file, n, user)
		}
		users[user], lines[user] = []byte(hash), n
		maxCost = max(maxCost, cost)
	}
	if err := sc.Err(); err != nil {
		return nil, 0, fmt.Errorf("%s: %w", file, err)
	}
	return users, maxCost, nil
}

// bcryptCost returns the cost of hash and true when it is a well-formed
// bcrypt hash: "$2y$", "$2a$" or "$2b$", a two-digit cost, "$", and 53
// characters of bcrypt's base64 (the salt and the digest).
func bcryptCost(hash string) (int, bool) {
	if len(hash) != 60 || !(strings.HasPrefix(hash, "$2y$") || strings.HasPrefix(hash, "$2a$") || strings.HasPrefix(hash, "$2b$")) || hash[6] != '$' {
		return 0, false
	}
	for _, c := range []byte(hash[7:]) {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '/') {
			return 0, false
		}
	}
	cost, err := bcrypt.Cost([]byte(hash))
	return cost, err == nil
}
