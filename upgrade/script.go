package upgrade

import (
	"fmt"
	"io/fs"
	"net/url"
	"path/filepath"
	"runtime"
	"strings"
)

// script is the program that serves a URL path in --dir mode.
type script struct {
	Path     string // the file to run, inside the directory, links resolved; an absolute path
	Name     string // SCRIPT_NAME: the URL path that led to the file, e.g. "/chat/room.sh"
	PathInfo string // PATH_INFO: the rest of the URL path after Name, "" or starting with "/"
}

// resolveScript finds the program for the URL path escapedPath
// (r.URL.EscapedPath()) in d, the --dir or --cgidir directory whose path
// is dir.
//
// The path is walked one unescaped segment at a time from the root,
// symbolic links followed as long as they stay inside: directories lead
// on, and the first regular file with an execute bit is the program, the
// segments after it making PATH_INFO. A missing name, a name d hides
// (see servedDir.hidden), a directory at the end of the path or a file
// that is not executable is errNotFound. A segment that is "." or "..",
// or holds a slash, a backslash or a NUL byte once unescaped, is
// errForbidden, as is a symbolic link that leads out of the directory.
//
// script.Name and script.PathInfo keep the URL's names; script.Path is
// the file they lead to, links resolved, made absolute so that running it
// depends neither on the working directory given to the program nor on a
// search of PATH.
func resolveScript(d *servedDir, dir, escapedPath string) (script, error) {
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
	w := d.walk()
	for i, seg := range segs {
		switch {
		case seg == "":
			// An empty name ("//", or a trailing "/" after a
			// directory) is no file.
			return script{}, fmt.Errorf("resolving %q: empty segment: %w", escapedPath, errNotFound)
		case d.hidden(i, seg):
			return script{}, fmt.Errorf("resolving %q: %q starts with \".\" (see --dotfiles): %w", escapedPath, seg, errNotFound)
		}
		fi, err := w.step(seg)
		switch {
		case err != nil:
			return script{}, fmt.Errorf("resolving %q: %w", escapedPath, err)
		case fi.IsDir():
			continue
		case !fi.Mode().IsRegular() || !executable(fi.Mode()):
			return script{}, fmt.Errorf("resolving %q: %s is not an executable file: %w", escapedPath, filepath.ToSlash(w.name()), errNotFound)
		}
		abs, err := filepath.Abs(filepath.Join(dir, w.name()))
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
