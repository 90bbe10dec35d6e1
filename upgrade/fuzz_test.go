//go:build unix

package upgrade

import (
	"bufio"
	"bytes"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzChildEnv parses any request the way the HTTP server does and checks
// the environment built from it: every entry NAME=VALUE, names made of
// upper-case letters, digits and "_", each name once, no value with a NUL
// or a line break.
func FuzzChildEnv(f *testing.F) {
	f.Fuzz(func(t *testing.T, request []byte, remote, pathInfo string) {
		r, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(request)))
		if err != nil {
			return
		}
		r.RemoteAddr = remote
		env := childEnv(r, []string{"PATH=/usr/bin:/bin"}, envInfo{
			ScriptName: "/",
			PathInfo:   pathInfo,
			UniqueID:   "0123456789abcdef",
			Software:   "wsbridge/devel",
		})
		seen := map[string]bool{}
		for _, kv := range env {
			name, value, ok := strings.Cut(kv, "=")
			if !ok || !envName(name) {
				t.Fatalf("entry %q has no proper name", kv)
			}
			if seen[name] {
				t.Fatalf("%s twice in %q", name, env)
			}
			seen[name] = true
			if strings.ContainsAny(value, "\x00\r\n") {
				t.Fatalf("entry %q holds a NUL or a line break", kv)
			}
		}
		if !seen["HTTP_HOST"] || !seen["REQUEST_METHOD"] {
			t.Fatalf("environment %q lacks HTTP_HOST or REQUEST_METHOD", env)
		}
	})
}

// envName reports whether name is made of upper-case ASCII letters, digits
// and "_", starting with a letter.
func envName(name string) bool {
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !('A' <= c && c <= 'Z' || i > 0 && ('0' <= c && c <= '9' || c == '_')) {
			return false
		}
	}
	return name != ""
}

// FuzzResolveScript resolves any URL path in the directory scriptDir makes
// and checks that whatever it finds is an executable file inside the
// directory, symbolic links followed.
func FuzzResolveScript(f *testing.F) {
	d, dir := scriptDir(f)
	real, err := filepath.EvalSymlinks(dir)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, path string) {
		s, err := resolveScript(d, dir, path)
		if err != nil {
			if !errors.Is(err, errNotFound) && !errors.Is(err, errForbidden) {
				t.Fatalf("%q: %v, neither not found nor forbidden", path, err)
			}
			return
		}
		file, err := filepath.EvalSymlinks(s.Path)
		if err != nil {
			t.Fatalf("%q resolved to %q: %v", path, s.Path, err)
		}
		if rel, err := filepath.Rel(real, file); err != nil || !filepath.IsLocal(rel) {
			t.Fatalf("%q resolved to %q, outside %q", path, file, real)
		}
		if fi, err := os.Stat(file); err != nil || !fi.Mode().IsRegular() || fi.Mode()&0o111 == 0 {
			t.Fatalf("%q resolved to %q, not an executable file", path, file)
		}
		if !strings.HasPrefix(s.Name, "/") || s.PathInfo != "" && !strings.HasPrefix(s.PathInfo, "/") {
			t.Fatalf("%q: SCRIPT_NAME %q, PATH_INFO %q", path, s.Name, s.PathInfo)
		}
		if strings.Contains(s.Name+s.PathInfo, "\x00") {
			t.Fatalf("%q: SCRIPT_NAME %q, PATH_INFO %q hold a NUL", path, s.Name, s.PathInfo)
		}
	})
}
