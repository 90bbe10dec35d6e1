package upgrade

import (
	"errors"
	"io/fs"
	"net/http"
	"os"
)

// staticHandler serves the files of root (the --staticdir directory) to
// plain GET and HEAD requests; no path escapes it by "..", encoded dots or
// symlinks. A directory is served as its index.html, or else as a listing.
// Other methods are answered with 405.
func staticHandler(root *os.Root) http.Handler {
	files := http.FileServerFS(rootFS{root.FS()})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "405 method not allowed", http.StatusMethodNotAllowed)
			return
		}
		files.ServeHTTP(w, r)
	})
}

// rootFS is the fs.FS of an os.Root whose errors http.FileServerFS turns
// into the right status: the root's refusal of a symbolic link that leads
// out of it becomes 403, not 500.
type rootFS struct{ fsys fs.FS }

// Open opens name in the root.
func (f rootFS) Open(name string) (fs.File, error) {
	file, err := f.fsys.Open(name)
	if err != nil && !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, fs.ErrPermission) {
		err = forbiddenError{err}
	}
	return file, err
}

// forbiddenError is an error of the root that counts as fs.ErrPermission.
type forbiddenError struct{ err error }

// Error returns the root's error message.
func (e forbiddenError) Error() string { return e.err.Error() }

// Unwrap returns the root's error.
func (e forbiddenError) Unwrap() error { return e.err }

// Is reports whether target is fs.ErrPermission.
func (e forbiddenError) Is(target error) bool { return target == fs.ErrPermission }
