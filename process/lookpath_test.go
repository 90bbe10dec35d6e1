//go:build unix

package process

import (
	"debug/elf"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// programs writes, in dir, files that cannot be run, each for its own
// reason, and one that can.
func programs(t *testing.T, dir string) {
	t.Helper()
	for name, file := range map[string]struct {
		mode    os.FileMode
		content string
	}{
		"noexec.sh":   {0o644, "#!/bin/sh\necho hi\n"},
		"it's.sh":     {0o644, "#!/bin/sh\necho hi\n"},
		"run.sh":      {0o755, "#!/bin/sh\necho hi\n"},
		"python9.sh":  {0o755, "#! /no/such/python9 -u\nprint('hi')\n"},
		"crlf.sh":     {0o755, "#!/bin/sh\r\necho hi\r\n"},
		"bare.sh":     {0o755, "#!\necho hi\n"},
		"textfile.sh": {0o755, "echo hi\n"},
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(file.content), file.mode); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(dir, "adir"), 0o755); err != nil {
		t.Fatal(err)
	}
	writeWithoutLoader(t, filepath.Join(dir, "noloader"))
}

// writeWithoutLoader writes at path a copy of /bin/true whose dynamic
// loader is one that does not exist, as a program built for another C
// library has.
func writeWithoutLoader(t *testing.T, path string) {
	t.Helper()
	prog, err := elf.Open("/bin/true")
	if err != nil {
		t.Skipf("no ELF program to copy: %v", err)
	}
	defer prog.Close()
	data, err := os.ReadFile("/bin/true")
	if err != nil {
		t.Fatal(err)
	}
	loader := "/no/such/ld.so\x00"
	patched := false
	for _, p := range prog.Progs {
		if p.Type == elf.PT_INTERP && int(p.Filesz) >= len(loader) {
			copy(data[p.Off:p.Off+p.Filesz], loader+strings.Repeat("\x00", int(p.Filesz)-len(loader)))
			patched = true
		}
	}
	if !patched {
		t.Skip("/bin/true has no dynamic loader")
	}
	if err := os.WriteFile(path, data, 0o755); err != nil {
		t.Fatal(err)
	}
}

func TestLookPathSaysWhy(t *testing.T) {
	dir := t.TempDir()
	programs(t, dir)
	t.Chdir(dir)
	t.Setenv("PATH", "/usr/bin:/bin")
	for _, tc := range []struct{ name, want string }{
		{"./noexec.sh", `program "./noexec.sh": not executable: chmod +x ./noexec.sh`},
		{"./it's.sh", `program "./it's.sh": not executable: chmod +x './it'\''s.sh'`},
		{"noexec.sh", `program "noexec.sh": not found in $PATH; did you mean ./noexec.sh, after chmod +x ./noexec.sh?`},
		{"run.sh", `program "run.sh": not found in $PATH; did you mean ./run.sh?`},
		{"no-such-program-anywhere", `program "no-such-program-anywhere": not found in $PATH`},
		{"adir", `program "adir": not found in $PATH`},
		{"./adir", `program "./adir": a directory, not a program`},
		{"./python9.sh", `program "./python9.sh": its interpreter /no/such/python9 (from its #! line) does not exist`},
		{"./crlf.sh", `program "./crlf.sh": its interpreter /bin/sh (from its #! line) does not exist: the file has DOS line endings (dos2unix fixes them)`},
		{"./bare.sh", `program "./bare.sh": its #! line names no interpreter`},
		{"./noloader", `program "./noloader": its loader /no/such/ld.so does not exist: it was built for another system or C library`},
		{"./missing.sh", `program "./missing.sh": stat ./missing.sh: no such file or directory`},
	} {
		if _, err := LookPath(tc.name); err == nil || err.Error() != tc.want {
			t.Errorf("LookPath(%q): %v\nwant %s", tc.name, err, tc.want)
		}
	}
	for _, name := range []string{"./run.sh", "sh"} {
		if _, err := LookPath(name); err != nil {
			t.Errorf("LookPath(%q): %v", name, err)
		}
	}
}

func TestStartSaysWhy(t *testing.T) {
	dir := t.TempDir()
	programs(t, dir)
	for _, tc := range []struct{ name, want string }{
		{"noexec.sh", "not executable: chmod +x " + filepath.Join(dir, "noexec.sh")},
		{"adir", "a directory, not a program"},
		{"python9.sh", "its interpreter /no/such/python9 (from its #! line) does not exist"},
		{"crlf.sh", "its interpreter /bin/sh (from its #! line) does not exist: the file has DOS line endings (dos2unix fixes them)"},
		{"textfile.sh", "neither a program for this system nor a script that starts with #!"},
		{"noloader", "its loader /no/such/ld.so does not exist: it was built for another system or C library"},
		{"missing.sh", "no such file or directory"},
	} {
		path := filepath.Join(dir, tc.name)
		p, err := Start(Config{Path: path})
		if err == nil {
			p.Stop()
			t.Errorf("%s started", tc.name)
			continue
		}
		if want := `starting "` + path + `": `; !strings.HasPrefix(err.Error(), want) || !strings.HasSuffix(err.Error(), tc.want) {
			t.Errorf("starting %s: %v\nwant %s%s", tc.name, err, want, tc.want)
		}
	}
}
