//go:build unix

package upgrade

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"wsbridge/process/proctest"
)

// openTestDir opens dir as the directory flag names, until the end of
// the test.
func openTestDir(t testing.TB, flag, dir string, dotfiles bool) *servedDir {
	t.Helper()
	d, err := openServedDir(flag, dir, dotfiles)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.root.Close() })
	return d
}

// linkTree makes, in a new directory, a served directory "root" reached
// through the symbolic link "given", with files, directories and symbolic
// links of every kind: relative and absolute, chained, to directories,
// out of the directory, and in loops. It returns the path of "given" and
// of "root".
func linkTree(t testing.TB) (given, real string) {
	t.Helper()
	tmp := t.TempDir()
	real = filepath.Join(tmp, "root")
	given = filepath.Join(tmp, "given")
	proctest.WriteFile(t, filepath.Join(tmp, "outside", "secret.txt"), "SECRET\n", 0o644)
	proctest.WriteFile(t, filepath.Join(real, "a", "b", "file.txt"), "file\n", 0o644)
	proctest.WriteFile(t, filepath.Join(real, ".hidden", "x.txt"), "hidden\n", 0o644)
	symlink(t, real, given)
	for name, target := range map[string]string{
		"rel":            "a/b/file.txt",
		"abs":            filepath.Join(real, "a", "b", "file.txt"),
		"abs-given":      filepath.Join(given, "a", "b", "file.txt"),
		"abs-root":       real + "/",
		"chain":          "abs-dir/b/../../rel", // relative, to an absolute link to a directory, then back up
		"abs-dir":        filepath.Join(real, "a"),
		"rel-dir":        "a/b",
		"a/up":           "..",
		"a/b/to-abs":     "../../abs",
		"dangling":       "missing",
		"out-abs":        filepath.Join(tmp, "outside", "secret.txt"),
		"out-rel":        "../outside/secret.txt",
		"a/out-deep":     "../../outside",
		"out-abs-dots":   real + "/../outside/secret.txt",
		"out-abs-prefix": real + "x/secret.txt", // a sibling whose name starts like the root's
		"loop1":          "loop2",
		"loop2":          filepath.Join(real, "loop1"),
		"self":           "./self",
		"through-file":   "a/b/file.txt/..",
	} {
		symlink(t, target, filepath.Join(real, filepath.FromSlash(name)))
	}
	return given, real
}

func TestWalk(t *testing.T) {
	given, _ := linkTree(t)
	d := openTestDir(t, "--staticdir", given, false)
	for _, tc := range []struct {
		path    string // URL segments, joined by "/"
		want    string // the name reached, relative to the root
		wantErr error
		reason  string // a part of the error
	}{
		{path: "a/b/file.txt", want: "a/b/file.txt"},
		{path: "a", want: "a"},
		{path: "rel", want: "a/b/file.txt"},
		{path: "abs", want: "a/b/file.txt"},
		{path: "abs-given", want: "a/b/file.txt"},
		{path: "abs-root", want: "."},
		{path: "abs-root/a/b/file.txt", want: "a/b/file.txt"},
		{path: "chain", want: "a/b/file.txt"},
		{path: "abs-dir/b/file.txt", want: "a/b/file.txt"},
		{path: "rel-dir/file.txt", want: "a/b/file.txt"},
		{path: "a/up/a/up/rel", want: "a/b/file.txt"},
		{path: "a/b/to-abs", want: "a/b/file.txt"},
		{path: ".hidden/x.txt", want: ".hidden/x.txt"}, // hiding is the callers' to do

		{path: "missing", wantErr: errNotFound},
		{path: "dangling", wantErr: errNotFound},
		{path: "a/b/file.txt/x", wantErr: errNotFound, reason: "a/b/file.txt is not a directory"},
		{path: "through-file", wantErr: errNotFound, reason: "is not a directory"},

		{path: "out-abs", wantErr: errForbidden, reason: "symlink out-abs points to " + filepath.Dir(given) + "/outside/secret.txt, outside --staticdir"},
		{path: "out-rel", wantErr: errForbidden, reason: "symlink out-rel points to ../outside/secret.txt, outside --staticdir"},
		{path: "a/out-deep/secret.txt", wantErr: errForbidden, reason: "symlink a/out-deep points to ../../outside, outside --staticdir"},
		{path: "out-abs-dots", wantErr: errForbidden, reason: "symlink out-abs-dots points to"},
		{path: "out-abs-prefix", wantErr: errForbidden, reason: "outside --staticdir"},
		{path: "loop1", wantErr: errForbidden, reason: "more than 40 symbolic links"},
		{path: "self", wantErr: errForbidden, reason: "more than 40 symbolic links"},
	} {
		w := d.walk()
		var err error
		for _, seg := range strings.Split(tc.path, "/") {
			if _, err = w.step(seg); err != nil {
				break
			}
		}
		if tc.wantErr != nil {
			if !errors.Is(err, tc.wantErr) || !strings.Contains(err.Error(), tc.reason) {
				t.Errorf("%s: reached %s, %v; want %v saying %q", tc.path, w.name(), err, tc.wantErr, tc.reason)
			}
			continue
		}
		if got := filepath.ToSlash(w.name()); err != nil || got != tc.want {
			t.Errorf("%s: reached %s, %v; want %s", tc.path, got, err, tc.want)
		}
	}
}

// TestWalkCountsLinksOfWholePath checks that the bound on symbolic links
// holds for a whole path, not for each of its segments.
func TestWalkCountsLinksOfWholePath(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "d"), 0o755); err != nil {
		t.Fatal(err)
	}
	symlink(t, ".", filepath.Join(dir, "d", "s"))
	d := openTestDir(t, "--dir", dir, false)
	w := d.walk()
	if _, err := w.step("d"); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= maxLinks; i++ {
		if _, err := w.step("s"); err != nil {
			t.Fatalf("link %d: %v", i, err)
		}
	}
	if _, err := w.step("s"); !errors.Is(err, errForbidden) {
		t.Errorf("link %d: %v, want %v", maxLinks+1, err, errForbidden)
	}
}

func TestHidden(t *testing.T) {
	d := &servedDir{}
	for _, tc := range []struct {
		depth int
		name  string
		want  bool
	}{
		{0, ".env", true},
		{0, ".git", true},
		{1, "config", false},
		{2, ".x", true},
		{0, "..", true},
		{0, "file.txt", false},
		{0, "a.b", false},
		{0, ".well-known", false},
		{1, ".well-known", true},
	} {
		if got := d.hidden(tc.depth, tc.name); got != tc.want {
			t.Errorf("hidden(%d, %q) = %v, want %v", tc.depth, tc.name, got, tc.want)
		}
	}
	d.dotfiles = true
	if d.hidden(0, ".env") {
		t.Error("with dotfiles, .env is hidden")
	}
}

func TestOpenServedDirMissing(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "missing")
	_, err := openServedDir("--staticdir", dir, false)
	if err == nil || !strings.HasPrefix(err.Error(), "--staticdir "+dir+": ") || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("got %v, want an error naming --staticdir and the directory", err)
	}
}
