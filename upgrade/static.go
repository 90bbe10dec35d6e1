package upgrade

import (
	"errors"
	"io/fs"
	"net/http"
	"strings"

	"github.com/rs/zerolog"
)

// staticHandler serves the files of d (the --staticdir directory) to
// plain GET and HEAD requests; other methods get 405. Symbolic links are
// followed while they stay inside d. A directory is served as its
// index.html, or else as a listing. A path d refuses (a symbolic link out
// of it, say) is 403, logged to log with the reason.
func staticHandler(d *servedDir, log zerolog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "405 method not allowed", http.StatusMethodNotAllowed)
			return
		}
		fsys := &staticFS{d: d}
		http.FileServerFS(fsys).ServeHTTP(w, r)
		if fsys.refused != nil {
			log.Warn().Str("remote", r.RemoteAddr).Str("path", r.URL.Path).Err(fsys.refused).Msg("refused static path")
		}
	})
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
	if name != "." {
		for _, seg := range strings.Split(name, "/") {
			if _, err := w.step(seg); err != nil {
				return nil, f.fail(name, err)
			}
		}
	}
	file, err := f.d.root.Open(w.name())
	if err != nil {
		return nil, f.fail(name, err)
	}
	return file, nil
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
