package upgrade

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path"
	"slices"
	"strings"

	"github.com/rs/zerolog"
)

// staticHandler serves the files of d (the --staticdir directory) to
// plain GET and HEAD requests; other methods get 405. Symbolic links are
// followed while they stay inside d. A directory is served as its
// index.html; without one, as a listing when listDirs is set, or else
// with 403, as nginx and Apache do. Names d hides are 404, as if absent,
// and left out of listings. A path d refuses (a symbolic link out of it,
// say) is 403, logged to log with the reason.
func staticHandler(d *servedDir, listDirs bool, log zerolog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "405 method not allowed", http.StatusMethodNotAllowed)
			return
		}
		fsys := &staticFS{d: d}
		if listDirs || !strings.HasSuffix(r.URL.Path, "/") || !serveIndex(w, r, fsys) {
			http.FileServerFS(fsys).ServeHTTP(w, r)
		}
		if fsys.refused != nil {
			log.Warn().Str("remote", r.RemoteAddr).Str("path", r.URL.Path).Err(fsys.refused).Msg("refused static path")
		}
	})
}

// serveIndex answers a request whose URL path, ending in "/", names a
// directory of fsys: with its index.html, or else with 403. It reports
// false, having answered nothing, when the path names no directory.
func serveIndex(w http.ResponseWriter, r *http.Request, fsys *staticFS) bool {
	name := strings.Trim(path.Clean(r.URL.Path), "/")
	if name == "" {
		name = "."
	}
	dir, err := fsys.Open(name)
	if err != nil {
		return false
	}
	fi, err := dir.Stat()
	dir.Close()
	if err != nil || !fi.IsDir() {
		return false
	}
	index, err := fsys.Open(path.Join(name, "index.html"))
	if err == nil {
		defer index.Close()
		fi, err = index.Stat()
		if content, ok := index.(io.ReadSeeker); ok && err == nil && fi.Mode().IsRegular() {
			http.ServeContent(w, r, "index.html", fi.ModTime(), content)
			return true
		}
	}
	if err == nil || errors.Is(err, fs.ErrNotExist) {
		fsys.refuse(fmt.Errorf("%s has no index.html file, and listings are off (see --listdirs): %w", name, errForbidden))
	}
	http.Error(w, "403 forbidden", http.StatusForbidden)
	return true
}

// staticFS is the file system of a --staticdir directory as one request
// sees it: Open walks the path with the directory's walk, so that links
// inside are followed, and opens what it reaches through the os.Root. Its
// errors are fs.ErrNotExist or fs.ErrPermission, which http.FileServerFS
// answers with 404 and 403; refused keeps the reason of the first 403.
type staticFS struct {
	d       *servedDir
	refused error
}

// Open opens name, a slash-separated path from the root of the directory.
func (f *staticFS) Open(name string) (fs.File, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrInvalid}
	}
	w := f.d.walk()
	depth := 0 // of the directory's entries, if name is one
	if name != "." {
		segs := strings.Split(name, "/")
		for i, seg := range segs {
			if f.d.hidden(i, seg) {
				return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
			}
			if _, err := w.step(seg); err != nil {
				return nil, f.fail(name, err)
			}
		}
		depth = len(segs)
	}
	file, err := f.d.root.Open(w.name())
	if err != nil {
		return nil, f.fail(name, err)
	}
	if f.d.dotfiles {
		return file, nil
	}
	return dotless{File: file, d: f.d, depth: depth}, nil
}

// fail returns the error to answer for name, which could not be opened
// for err: not found, or else forbidden, err kept for the log.
func (f *staticFS) fail(name string, err error) error {
	if errors.Is(err, errNotFound) || errors.Is(err, fs.ErrNotExist) {
		return &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	}
	f.refuse(err)
	return &fs.PathError{Op: "open", Path: name, Err: fs.ErrPermission}
}

// refuse keeps err as the reason of the answer's 403, unless one is kept
// already.
func (f *staticFS) refuse(err error) {
	if f.refused == nil {
		f.refused = err
	}
}

// dotless is a file of a --staticdir directory which, if it is a
// directory, lists none of the names the directory hides.
type dotless struct {
	*os.File
	d     *servedDir
	depth int // of the entries in the URL path: 0 for the root's
}

// ReadDir reads the directory's entries as os.File.ReadDir does, leaving
// out the hidden names.
func (f dotless) ReadDir(n int) ([]fs.DirEntry, error) {
	for {
		entries, err := f.File.ReadDir(n)
		entries = slices.DeleteFunc(entries, func(e fs.DirEntry) bool { return f.d.hidden(f.depth, e.Name()) })
		if len(entries) > 0 || err != nil || n <= 0 {
			return entries, err
		}
	}
}
