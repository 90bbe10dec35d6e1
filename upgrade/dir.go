package upgrade

import (
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

// script is the program that serves a URL path in --dir mode.
type script struct {
	Path     string // the file to run, inside the directory; an absolute path
	Name     string // SCRIPT_NAME: the URL path that led to the file, e.g. "/chat/room.sh"
	PathInfo string // PATH_INFO: the rest of the URL path after Name, "" or starting with "/"
}

// errNotFound and errForbidden tell resolveScript's refusals apart: 404 and
// 403. resolveScript wraps them with the reason, so test for them with
// errors.Is.
var (
	errNotFound  = errors.New("no program for this path")
	errForbidden = errors.New("path not allowed")
)

// resolveScript finds the program for the URL path escapedPath
// (r.URL.EscapedPath()) in root (opened with os.OpenRoot on the --dir
// directory; dir is that directory's path, used to build script.Path).
//
// The path is walked one unescaped segment at a time from the root:
// directories lead on, and the first regular file with an execute bit is
// the program, the segments after it making PATH_INFO. A missing name, a
// directory at the end of the path or a file that is not executable is
// errNotFound. A segment that is "." or "..", or holds a slash, a
// backslash or a NUL byte once unescaped, is errForbidden, as is a
// symbolic link that leads out of the root.
//
// script.Path is made absolute, so that running it depends neither on the
// working directory given to the program nor on a search of PATH.
func resolveScript(root *os.Root, dir, escapedPath string) (script, error) {
	rest, ok := strings.CutPrefix(escapedPath, "/")
	if !ok || rest == "" {
		return script{}, fmt.Errorf("resolving %q: %w", escapedPath, errNotFound)
	}
	segs := strings.Split(rest, "/")
	for i, seg := range segs {
		s, err := url.PathUnescape(seg)
		if err != nil {
			return script{}, fmt.Errorf("resolving %q: %w: %w", escapedPath, errNotFound, err)
		}
		if !safeSegment(s) {
			return script{}, fmt.Errorf("resolving %q: segment %q: %w", escapedPath, s, errForbidden)
		}
		segs[i] = s
	}
	for i := range segs {
		if segs[i] == "" {
			// An empty name ("//", or a trailing "/" after a
			// directory) is no file.
			return script{}, fmt.Errorf("resolving %q: empty segment: %w", escapedPath, errNotFound)
		}
		name := filepath.Join(segs[:i+1]...)
		fi, err := root.Stat(name)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			return script{}, fmt.Errorf("resolving %q: %w: %w", escapedPath, errNotFound, err)
		case err != nil:
			// Permission denied, or a symbolic link out of the root.
			return script{}, fmt.Errorf("resolving %q: %w: %w", escapedPath, errForbidden, err)
		case fi.IsDir():
			continue
		case !fi.Mode().IsRegular() || !executable(fi.Mode()):
			return script{}, fmt.Errorf("resolving %q: %s is not an executable file: %w", escapedPath, name, errNotFound)
		}
		abs, err := filepath.Abs(filepath.Join(dir, name))
		if err != nil {
			return script{}, fmt.Errorf("resolving %q: %w", escapedPath, err)
		}
		s := script{
			Path: abs,
			Name: "/" + strings.Join(segs[:i+1], "/"),
		}
		if i+1 < len(segs) {
			s.PathInfo = "/" + strings.Join(segs[i+1:], "/")
		}
		return s, nil
	}
	return script{}, fmt.Errorf("resolving %q: a directory: %w", escapedPath, errNotFound)
}

// safeSegment reports whether s, one unescaped segment of a URL path, can
// only name something inside the directory that holds it. The empty
// segment is safe here: it names nothing.
func safeSegment(s string) bool {
	if s == "" {
		return true
	}
	return s != "." && s != ".." &&
		!strings.ContainsAny(s, "/\\\x00") &&
		filepath.IsLocal(s) // On Windows: no drive letters or reserved names.
}

// executable reports whether a file with mode m may be run. Windows keeps
// no execute bits, so there every regular file may.
func executable(m fs.FileMode) bool {
	return runtime.GOOS == "windows" || m&0o111 != 0
}
