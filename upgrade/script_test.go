//go:build unix

package upgrade

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"wsbridge/process/proctest"
)

// symlink makes name a symbolic link to target.
func symlink(t testing.TB, target, name string) {
	t.Helper()
	if err := os.Symlink(target, name); err != nil {
		t.Fatal(err)
	}
}

// scriptDir makes a --dir directory with programs, a plain file,
// directories, symbolic links that lead in and out of it and names that
// start with ".", and returns it opened, with its path.
func scriptDir(t testing.TB) (*servedDir, string) {
	t.Helper()
	tmp := t.TempDir()
	outside := filepath.Join(tmp, "outside")
	proctest.WriteFile(t, filepath.Join(outside, "secret.sh"), "#!/bin/sh\n", 0o755)
	proctest.WriteFile(t, filepath.Join(outside, "dir", "prog.sh"), "#!/bin/sh\n", 0o755)

	dir := filepath.Join(tmp, "scripts")
	proctest.WriteFile(t, filepath.Join(dir, "a", "b", "prog.sh"), "#!/bin/sh\n", 0o755)
	proctest.WriteFile(t, filepath.Join(dir, "top.sh"), "#!/bin/sh\n", 0o700)
	proctest.WriteFile(t, filepath.Join(dir, "plain.txt"), "text\n", 0o644)
	if err := os.Mkdir(filepath.Join(dir, "a", "b", "c"), 0o755); err != nil {
		t.Fatal(err)
	}
	symlink(t, "../outside/secret.sh", filepath.Join(dir, "out-file"))
	symlink(t, filepath.Join(outside, "secret.sh"), filepath.Join(dir, "abs-file"))
	symlink(t, "../outside/dir", filepath.Join(dir, "out-dir"))
	symlink(t, "a/b/prog.sh", filepath.Join(dir, "in-file"))
	symlink(t, "../..", filepath.Join(dir, "a", "b", "up"))
	symlink(t, "../../..", filepath.Join(dir, "a", "b", "out"))
	symlink(t, "a", filepath.Join(dir, "in-dir"))
	symlink(t, filepath.Join(dir, "a", "b", "prog.sh"), filepath.Join(dir, "abs-in-file"))
	symlink(t, filepath.Join(dir, "a", "b"), filepath.Join(dir, "abs-in-dir"))
	symlink(t, "abs-in-dir/prog.sh", filepath.Join(dir, "chain"))
	symlink(t, "loop", filepath.Join(dir, "loop"))
	proctest.WriteFile(t, filepath.Join(dir, ".hidden.sh"), "#!/bin/sh\n", 0o755)
	proctest.WriteFile(t, filepath.Join(dir, ".git", "hooks", "pre-commit.sample"), "#!/bin/sh\n", 0o755)
	proctest.WriteFile(t, filepath.Join(dir, ".well-known", "prog.sh"), "#!/bin/sh\n", 0o755)

	return openTestDir(t, "--dir", dir, false), dir
}

func TestResolveScript(t *testing.T) {
	d, dir := scriptDir(t)
	for _, tc := range []struct {
		path    string
		want    script // Path relative to dir
		wantErr error
	}{
		{path: "/a/b/prog.sh/x/y", want: script{"a/b/prog.sh", "/a/b/prog.sh", "/x/y"}},
		{path: "/a/b/prog.sh", want: script{"a/b/prog.sh", "/a/b/prog.sh", ""}},
		{path: "/top.sh", want: script{"top.sh", "/top.sh", ""}},
		{path: "/top.sh/", want: script{"top.sh", "/top.sh", "/"}},
		{path: "/top.sh/x//y", want: script{"top.sh", "/top.sh", "/x//y"}},
		{path: "/a/b/prog.sh/x%20y/%3F%25", want: script{"a/b/prog.sh", "/a/b/prog.sh", "/x y/?%"}},
		{path: "/%61/b/prog%2Esh", want: script{"a/b/prog.sh", "/a/b/prog.sh", ""}},

		// Symbolic links that stay inside: the URL's names, the
		// file they lead to.
		{path: "/in-file/z", want: script{"a/b/prog.sh", "/in-file", "/z"}},
		{path: "/in-dir/b/prog.sh", want: script{"a/b/prog.sh", "/in-dir/b/prog.sh", ""}},
		{path: "/a/b/up/top.sh", want: script{"top.sh", "/a/b/up/top.sh", ""}},
		{path: "/abs-in-file", want: script{"a/b/prog.sh", "/abs-in-file", ""}},
		{path: "/abs-in-dir/prog.sh/x", want: script{"a/b/prog.sh", "/abs-in-dir/prog.sh", "/x"}},
		{path: "/chain", want: script{"a/b/prog.sh", "/chain", ""}},

		// Names that start with ".", but for /.well-known, and in
		// PATH_INFO.
		{path: "/.hidden.sh", wantErr: errNotFound},
		{path: "/.git/hooks/pre-commit.sample", wantErr: errNotFound},
		{path: "/%2egit/hooks/pre-commit.sample", wantErr: errNotFound},
		{path: "/.well-known/prog.sh", want: script{".well-known/prog.sh", "/.well-known/prog.sh", ""}},
		{path: "/top.sh/.x", want: script{"top.sh", "/top.sh", "/.x"}},

		{path: "", wantErr: errNotFound},
		{path: "/", wantErr: errNotFound},
		{path: "//top.sh", wantErr: errNotFound},
		{path: "/missing", wantErr: errNotFound},
		{path: "/a/missing/prog.sh", wantErr: errNotFound},
		{path: "/a", wantErr: errNotFound},
		{path: "/a/b/", wantErr: errNotFound},
		{path: "/a/b/c", wantErr: errNotFound},
		{path: "/plain.txt", wantErr: errNotFound},
		{path: "/plain.txt/x", wantErr: errNotFound},

		{path: "/..", wantErr: errForbidden},
		{path: "/../outside/secret.sh", wantErr: errForbidden},
		{path: "/a/../top.sh", wantErr: errForbidden},
		{path: "/./top.sh", wantErr: errForbidden},
		{path: "/%2e%2e/outside/secret.sh", wantErr: errForbidden},
		{path: "/%2E%2e/", wantErr: errForbidden},
		{path: "/a/%2e%2E/top.sh", wantErr: errForbidden},
		{path: "/%2e/top.sh", wantErr: errForbidden},
		{path: "/a/b/prog.sh/../x", wantErr: errForbidden},
		{path: "/a/b/prog.sh/x/%2e%2e", wantErr: errForbidden},
		{path: "/a%2fb%2fprog.sh", wantErr: errForbidden},
		{path: "/a%2F..%2F..%2Foutside/secret.sh", wantErr: errForbidden},
		{path: "/top.sh/x%2fy", wantErr: errForbidden},
		{path: "/top.sh%00", wantErr: errForbidden},
		{path: "/a%00/b/prog.sh", wantErr: errForbidden},
		{path: "/a%5cb/prog.sh", wantErr: errForbidden},
		{path: `/a\b/prog.sh`, wantErr: errForbidden},
		{path: `/..%5C..%5Coutside/secret.sh`, wantErr: errForbidden},

		// Symbolic links that lead out.
		{path: "/out-file", wantErr: errForbidden},
		{path: "/out-file/x", wantErr: errForbidden},
		{path: "/abs-file", wantErr: errForbidden},
		{path: "/out-dir/prog.sh", wantErr: errForbidden},
		{path: "/a/b/out/outside/secret.sh", wantErr: errForbidden},
		{path: "/loop", wantErr: errForbidden},
	} {
		got, err := resolveScript(d, dir, tc.path)
		if tc.wantErr != nil {
			if !errors.Is(err, tc.wantErr) {
				t.Errorf("%q: got %+v, %v; want %v", tc.path, got, err, tc.wantErr)
			}
			continue
		}
		want := tc.want
		want.Path = filepath.Join(dir, filepath.FromSlash(want.Path))
		if err != nil || got != want {
			t.Errorf("%q: got %+v, %v; want %+v", tc.path, got, err, want)
		}
	}
}

// TestResolveScriptUnreadableDir checks that a directory the server may
// not search is refused as forbidden.
func TestResolveScriptUnreadableDir(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root may search any directory")
	}
	d, dir := scriptDir(t)
	locked := filepath.Join(dir, "a", "b")
	if err := os.Chmod(locked, 0); err != nil {
		t.Fatal(err)
	}
	defer os.Chmod(locked, 0o755)
	if _, err := resolveScript(d, dir, "/a/b/prog.sh"); !errors.Is(err, errForbidden) {
		t.Errorf("got %v, want %v", err, errForbidden)
	}
}

// TestResolveScriptRelativeDir checks that a program in a directory given
// by a relative path still gets an absolute Path.
func TestResolveScriptRelativeDir(t *testing.T) {
	d, dir := scriptDir(t)
	t.Chdir(filepath.Dir(dir))
	got, err := resolveScript(d, filepath.Base(dir), "/top.sh")
	if err != nil {
		t.Fatal(err)
	}
	want, err := filepath.Abs(filepath.Join(filepath.Base(dir), "top.sh"))
	if err != nil {
		t.Fatal(err)
	}
	if got.Path != want || !filepath.IsAbs(got.Path) {
		t.Errorf("Path %q, want %q", got.Path, want)
	}
}

// TestResolveScriptDotfiles checks that with dotfiles, names that start
// with "." are programs like any other.
func TestResolveScriptDotfiles(t *testing.T) {
	_, dir := scriptDir(t)
	d := openTestDir(t, "--dir", dir, true)
	for _, path := range []string{"/.hidden.sh", "/.git/hooks/pre-commit.sample"} {
		got, err := resolveScript(d, dir, path)
		if want := filepath.Join(dir, filepath.FromSlash(path)); err != nil || got.Path != want {
			t.Errorf("%s: got %+v, %v; want %s", path, got, err, want)
		}
	}
}
