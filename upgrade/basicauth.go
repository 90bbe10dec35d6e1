package upgrade

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"os"
	"runtime"
	"sync"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/crypto/bcrypt"
)

// Why Basic credentials are refused: the reason of the access events and
// the reason label of wsbridge_auth_refusals_total.
const (
	authNoCredentials = "nocredentials" // no Authorization header, or not Basic
	authUnknownUser   = "unknownuser"   // a user the file does not have
	authBadPassword   = "badpassword"   // a known user, a wrong password
	authGone          = "gone"          // the client left while its check waited
	authThrottled     = "throttled"     // its address sent wrong ones a moment ago
)

// rememberFor is how long a (user, password) pair that checked out is
// taken without a new bcrypt comparison; maxRemembered bounds how many are.
const (
	rememberFor   = 5 * time.Minute
	maxRemembered = 1024
)

// fallbackHash is compared with when the file has no user at all, so that
// an unknown user costs what a known one would. No password matches it.
var fallbackHash = []byte("$2a$10$qJy69WsAv5lIkMEud08iTepnidCWKcUtXkicTuoqxWxqaIJwVYPQe")

// basicAuth checks HTTP Basic credentials against an htpasswd file of
// bcrypt hashes, the --basic-auth-file, which it reads again whenever it
// changes.
//
// bcrypt is slow on purpose, so that a stolen file is slow to crack, and
// a client sending wrong passwords without end would keep every core
// busy: at most GOMAXPROCS comparisons run at once, the others wait for
// their turn (or for their client to leave). So that such a client does
// not keep everyone else waiting, each client address has one comparison
// at a time, and after wrong credentials none until its penalty is over
// (penaltyBox); its requests are refused meanwhile. A pair that checked out is
// remembered for rememberFor under a keyed hash (never the password
// itself), so the users who are in do not queue behind such a client and
// a page that loads many files costs one comparison. An unknown user is
// compared with a hash of the file all the same, so the time an answer
// takes does not tell whether the user exists.
type basicAuth struct {
	file   string
	log    zerolog.Logger
	checks chan struct{} // one token per comparison running
	box    *penaltyBox   // the turns and penalties of client addresses
	key    []byte        // keys the hashes of remembered pairs

	mu      sync.Mutex
	seen    os.FileInfo // the version of the file last read, good or bad
	missing string      // why the file could not be found, as last logged
	users   *userSet
}

// userSet is one good version of the file.
type userSet struct {
	hashes map[string][]byte
	dummy  []byte // compared with for unknown users: the costliest hash

	mu   sync.Mutex
	good map[[sha256.Size]byte]time.Time // pairs that checked out → until when
}

// newBasicAuth reads file, or returns an error naming the line that
// cannot be used.
func newBasicAuth(file string, log zerolog.Logger) (*basicAuth, error) {
	a := &basicAuth{file: file, log: log, checks: make(chan struct{}, runtime.GOMAXPROCS(0)), box: newPenaltyBox(), key: make([]byte, 32)}
	rand.Read(a.key)
	fi, err := os.Stat(file)
	if err != nil {
		return nil, err
	}
	if a.users, err = readUsers(file); err != nil {
		return nil, err
	}
	a.seen = fi
	return a, nil
}

// readUsers reads and parses the file.
func readUsers(file string) (*userSet, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	hashes, cost, err := parseHtpasswd(bytes.NewReader(data), file)
	if err != nil {
		return nil, err
	}
	set := &userSet{hashes: hashes, dummy: fallbackHash, good: map[[sha256.Size]byte]time.Time{}}
	for _, h := range hashes {
		if c, _ := bcrypt.Cost(h); c == cost {
			set.dummy = h
			break
		}
	}
	return set, nil
}

// current returns the users of the file as it is now. A file that changed
// since it was last read is read again; one that can no longer be read or
// parsed leaves the last good users in place, and the error is logged
// once for each version of the file (once for as long as it is missing).
func (a *basicAuth) current() *userSet {
	a.mu.Lock()
	defer a.mu.Unlock()
	fi, err := os.Stat(a.file)
	switch {
	case err != nil:
		// Read it again when it is back, whatever its date.
		a.seen = nil
		if err.Error() != a.missing {
			a.missing = err.Error()
			a.complain(err)
		}
	case a.seen != nil && os.SameFile(fi, a.seen) && fi.ModTime().Equal(a.seen.ModTime()) && fi.Size() == a.seen.Size():
	default:
		if err := a.readLocked(fi); err != nil {
			a.complain(err)
			break
		}
		a.log.Info().Str("file", a.file).Int("users", len(a.users.hashes)).Msg("read --basic-auth-file again")
	}
	return a.users
}

// readLocked reads the file, which os.Stat described as fi, and keeps its
// users if it parses; a.mu must be held.
func (a *basicAuth) readLocked(fi os.FileInfo) error {
	a.seen, a.missing = fi, ""
	users, err := readUsers(a.file)
	if err != nil {
		return err
	}
	a.users = users
	return nil
}

// reload reads the file again at once, whether it seems to have changed
// or not, and returns how many users it holds. If it cannot be read or
// parsed, the users read before stay.
func (a *basicAuth) reload() (int, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	fi, err := os.Stat(a.file)
	if err != nil {
		a.seen, a.missing = nil, err.Error()
		return 0, err
	}
	if err := a.readLocked(fi); err != nil {
		return 0, err
	}
	return len(a.users.hashes), nil
}

// ReloadBasicAuth reads the --basic-auth-file again at once, whether it
// seems to have changed or not, and returns how many users it holds. If it
// cannot be read or parsed, the error says why and the users read before
// stay. Without a --basic-auth-file it does nothing.
func (s *Server) ReloadBasicAuth() (users int, err error) {
	if s.basic == nil {
		return 0, nil
	}
	if users, err = s.basic.reload(); err != nil {
		return 0, fmt.Errorf("--basic-auth-file: %w", err)
	}
	return users, nil
}

// complain logs that the file cannot be used.
func (a *basicAuth) complain(err error) {
	a.log.Error().Str("file", a.file).Err(err).Msg("cannot use --basic-auth-file; the users read before stay")
}

// check reports why user and password, sent by the client at remoteAddr
// (a request's RemoteAddr), are refused, or "" when they are the file's.
// It waits for its address's turn to compare, then for a free core, until
// ctx is done. An address in its penalty for wrong credentials is refused
// without a comparison, even with credentials that checked out before:
// answering those at once would let it try passwords at full speed.
func (a *basicAuth) check(ctx context.Context, remoteAddr, user, password string) string {
	set := a.current()
	mac := hmac.New(sha256.New, a.key)
	fmt.Fprintf(mac, "%d:%s:%s", len(user), user, password)
	var pair [sha256.Size]byte
	mac.Sum(pair[:0])
	if a.box.throttled(remoteAddr) {
		return authThrottled
	}
	if set.remembered(pair) {
		a.box.forgive(remoteAddr)
		return ""
	}
	done, why := a.box.enter(ctx, remoteAddr)
	if why != "" {
		return why
	}
	// The comparison the turn waited for may have been of this pair.
	if !set.remembered(pair) {
		why = a.compare(ctx, set, pair, user, password)
	}
	if penalty := done(why); penalty > 0 {
		a.log.Warn().Str("remote", remoteAddr).Str("user", user).Dur("penalty", penalty).
			Msg("wrong credentials: the next ones from this address are refused for a while")
	}
	return why
}

// compare compares password with the hash of user in set, or a hash of
// the file for an unknown user, once a core is free, and remembers pair
// if they match. It reports why they are refused, or "".
func (a *basicAuth) compare(ctx context.Context, set *userSet, pair [sha256.Size]byte, user, password string) string {
	hash, known := set.hashes[user]
	if !known {
		hash = set.dummy
	}
	select {
	case a.checks <- struct{}{}:
	case <-ctx.Done():
		return authGone
	}
	err := bcrypt.CompareHashAndPassword(hash, []byte(password))
	<-a.checks
	switch {
	case !known:
		return authUnknownUser
	case err != nil:
		return authBadPassword
	}
	set.remember(pair)
	return ""
}

// remembered reports whether pair checked out less than rememberFor ago.
func (s *userSet) remembered(pair [sha256.Size]byte) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	until, ok := s.good[pair]
	return ok && time.Now().Before(until)
}

// remember notes that pair checked out. Once maxRemembered pairs are
// noted, those that expired are let go; if none has, pair is not noted.
func (s *userSet) remember(pair [sha256.Size]byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	if len(s.good) >= maxRemembered {
		for p, until := range s.good {
			if !now.Before(until) {
				delete(s.good, p)
			}
		}
		if len(s.good) >= maxRemembered {
			return
		}
	}
	s.good[pair] = now.Add(rememberFor)
}
