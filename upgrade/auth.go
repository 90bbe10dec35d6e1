package upgrade

import (
	"context"
	"net/http"
	"strings"
)

// authTypeHeader is AUTH_TYPE for a user named by a trusted proxy in the
// --auth-header; Basic credentials give "Basic".
const authTypeHeader = "Proxy"

// authRealm is the realm a client asked for Basic credentials is told.
const authRealm = "wsbridge"

// authWhy says each reason for refusing credentials in words, for the
// logs.
var authWhy = map[string]string{
	authNoCredentials: "no credentials",
	authUnknownUser:   "unknown user",
	authBadPassword:   "wrong password",
	authGone:          "client left before its credentials were checked",
	authThrottled:     "its address sent wrong credentials a moment ago",
}

// identity is who a request comes from: the child's REMOTE_USER and
// AUTH_TYPE. The zero value is an anonymous request.
type identity struct {
	user     string
	authType string
}

// identityKey is the context key of a request's identity.
type identityKey struct{}

// withIdentity returns r with id attached, for the handlers of plain
// requests that build a program's environment.
func withIdentity(r *http.Request, id identity) *http.Request {
	if id == (identity{}) {
		return r
	}
	return r.WithContext(context.WithValue(r.Context(), identityKey{}, id))
}

// identityOf returns the identity attached to r.
func identityOf(r *http.Request) identity {
	id, _ := r.Context().Value(identityKey{}).(identity)
	return id
}

// authenticate finds who r comes from: the user a trusted proxy names in
// the --auth-header (from any other peer the header was removed on
// arrival), or else, with --basic-auth-file, the user whose Basic
// credentials the file has. It returns that identity and why r is refused,
// "" when it is not: with --basic-auth-file, a request nobody vouches for
// goes no further. The identity of a refused request has the user its
// credentials named, if any, for the logs, and no AUTH_TYPE. Credentials
// that were checked are removed from r, so that no program sees the
// password.
func (s *Server) authenticate(r *http.Request) (identity, string) {
	if s.cfg.AuthHeader != "" {
		if name := cleanUser(r.Header.Get(s.cfg.AuthHeader)); name != "" {
			return identity{name, authTypeHeader}, ""
		}
	}
	if s.basic == nil {
		return identity{}, ""
	}
	user, password, ok := r.BasicAuth()
	if !ok {
		s.metrics.authRefused(authNoCredentials)
		return identity{}, authNoCredentials
	}
	r.Header.Del("Authorization")
	if why := s.basic.check(r.Context(), r.RemoteAddr, user, password); why != "" {
		s.metrics.authRefused(why)
		// Requests refused for their address's penalty cost nothing
		// and come as fast as a client sends them: the warning of the
		// penalty said it all.
		ev := s.cfg.Log.Warn()
		if why == authThrottled {
			ev = s.cfg.Log.Debug()
		}
		ev.Str("remote", r.RemoteAddr).Str("path", r.URL.Path).Str("user", user).Str("reason", authWhy[why]).Msg("refused credentials")
		return identity{user: user}, why
	}
	return identity{user, "Basic"}, ""
}

// challenge adds to an answer the header that asks for Basic
// credentials, for a request refused by authenticate; the answer is 401.
func challenge(h http.Header) {
	h.Set("WWW-Authenticate", `Basic realm="`+authRealm+`", charset="UTF-8"`)
}

// cleanUser returns a user name from a header with its control
// characters replaced by spaces and surrounding spaces removed.
func cleanUser(s string) string {
	return strings.TrimSpace(strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return ' '
		}
		return r
	}, s))
}
