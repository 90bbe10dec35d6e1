package upgrade

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// errNotFound and errForbidden tell a served directory's refusals apart:
// 404 and 403. They are wrapped with the reason, so test for them with
// errors.Is.
var (
	errNotFound  = errors.New("not found")
	errForbidden = errors.New("not allowed")
)

// maxLinks bounds the symbolic links followed in one lookup, as Linux
// bounds them (ELOOP).
const maxLinks = 40

// servedDir is a directory whose files URL paths name: --dir, --cgidir or
// --staticdir. Its files are opened through an os.Root, which never
// leaves the directory whatever is swapped in meanwhile; symbolic links
// are followed by a walk, which lets a link whose target is absolute but
// inside the directory lead there, as the kernel would.
type servedDir struct {
	root     *os.Root
	flag     string   // the flag that names the directory, for errors: "--dir"
	paths    []string // the directory's absolute paths: as given, and with symbolic links resolved
	dotfiles bool     // names that start with "." may be reached
}

// openServedDir opens dir, the directory flag names. With dotfiles false,
// URL paths cannot reach names that start with "." (see hidden).
func openServedDir(flag, dir string, dotfiles bool) (*servedDir, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", flag, dir, err)
	}
	paths, err := absPaths(dir)
	if err != nil {
		root.Close()
		return nil, fmt.Errorf("%s %s: %w", flag, dir, err)
	}
	return &servedDir{root: root, flag: flag, paths: paths, dotfiles: dotfiles}, nil
}

// absPaths returns the absolute path of dir and, if it differs, its path
// with symbolic links resolved.
func absPaths(dir string) ([]string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	real, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return nil, err
	}
	if real == abs {
		return []string{abs}, nil
	}
	return []string{abs, real}, nil
}

// hidden reports whether the URL path segment name, at depth (0 for the
// first segment), is kept from clients: without dotfiles, a name that
// starts with "." is, but for a first segment ".well-known" (RFC 8615).
func (d *servedDir) hidden(depth int, name string) bool {
	return !d.dotfiles && strings.HasPrefix(name, ".") && (depth > 0 || name != ".well-known")
}

// inside returns the path, relative to the directory, that the absolute
// path target names when it lies under one of the directory's paths.
func (d *servedDir) inside(target string) (string, bool) {
	for _, p := range d.paths {
		if target == p {
			return "", true
		}
		prefix := p
		if !strings.HasSuffix(prefix, string(filepath.Separator)) {
			prefix += string(filepath.Separator)
		}
		if rest, ok := strings.CutPrefix(target, prefix); ok {
			return rest, true
		}
	}
	return "", false
}

// walk is one lookup in a servedDir, made one URL path segment at a time
// by step.
type walk struct {
	d     *servedDir
	at    []string // what was reached, as names from the root: no symbolic links among them
	isDir bool     // at is a directory
	links int      // the symbolic links followed
}

// walk starts a lookup at the directory's root.
func (d *servedDir) walk() *walk {
	return &walk{d: d, isDir: true}
}

// name returns the path, relative to the root, of what the walk reached:
// "." for the root itself.
func (w *walk) name() string {
	if len(w.at) == 0 {
		return "."
	}
	return filepath.Join(w.at...)
}

// link is a symbolic link whose target a walk follows.
type link struct {
	name   string // the link, relative to the root
	target string // what it points to
}

// pending is a name a walk has still to take: a URL path segment (from
// is nil) or a part of a link's target.
type pending struct {
	name string
	from *link
}

// step goes from what the walk reached, which must be a directory, to its
// entry name (a URL path segment: no "/"), following symbolic links to
// the end, and returns what it found. A missing name, or a file where a
// directory is needed, is errNotFound. A symbolic link that points
// outside the directory, more than maxLinks links, or a name that cannot
// be looked at (permission denied) is errForbidden.
func (w *walk) step(name string) (fs.FileInfo, error) {
	todo := []pending{{name: name}}
	var fi fs.FileInfo // of the last name taken, nil after "." or ".."
	for len(todo) > 0 {
		p := todo[0]
		todo = todo[1:]
		if !w.isDir {
			return nil, fmt.Errorf("%s is not a directory: %w", w.name(), errNotFound)
		}
		switch p.name {
		case "", ".":
			fi = nil
			continue
		case "..":
			if len(w.at) == 0 {
				return nil, w.outside(p.from)
			}
			w.at = w.at[:len(w.at)-1]
			fi = nil
			continue
		}
		next := filepath.Join(w.name(), p.name)
		var err error
		fi, err = w.d.root.Lstat(next)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			return nil, fmt.Errorf("%w: %w", errNotFound, err)
		case err != nil:
			return nil, fmt.Errorf("%w: %w", errForbidden, err)
		case fi.Mode()&fs.ModeSymlink != 0:
			more, err := w.follow(next)
			if err != nil {
				return nil, err
			}
			todo = append(more, todo...)
			continue
		}
		w.at = append(w.at, p.name)
		w.isDir = fi.IsDir()
	}
	if fi == nil {
		// The walk ended on "." or "..": a directory, and no link.
		var err error
		if fi, err = w.d.root.Lstat(w.name()); err != nil {
			return nil, fmt.Errorf("%w: %w", errForbidden, err)
		}
	}
	return fi, nil
}

// follow reads the symbolic link name, in the directory the walk reached,
// and returns the names its target is made of, to be taken from there on.
// An absolute target that lies inside the directory is taken from the
// root; one that lies outside is errForbidden.
func (w *walk) follow(name string) ([]pending, error) {
	w.links++
	if w.links > maxLinks {
		return nil, fmt.Errorf("%s: more than %d symbolic links followed (a loop?): %w", filepath.ToSlash(name), maxLinks, errForbidden)
	}
	target, err := w.d.root.Readlink(name)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errForbidden, err)
	}
	l := &link{name: filepath.ToSlash(name), target: target}
	rel := target
	if filepath.IsAbs(target) {
		var ok bool
		if rel, ok = w.d.inside(target); !ok {
			return nil, w.outside(l)
		}
		w.at = w.at[:0]
	}
	var names []pending
	for _, n := range strings.Split(filepath.ToSlash(rel), "/") {
		names = append(names, pending{name: n, from: l})
	}
	return names, nil
}

// outside is the error of a walk that would leave the directory by l, or
// by the URL path itself when l is nil.
func (w *walk) outside(l *link) error {
	if l == nil {
		return fmt.Errorf("path leads outside %s: %w", w.d.flag, errForbidden)
	}
	return fmt.Errorf("symlink %s points to %s, outside %s: %w", l.name, l.target, w.d.flag, errForbidden)
}
