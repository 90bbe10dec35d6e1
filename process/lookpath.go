package process

import (
	"bytes"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
)

// LookPath finds the program name the way exec.LookPath does and checks
// that it can be started. When it cannot, the error says why in words that
// say what to do: a file without its execute bit, a bare name that is not
// in $PATH but is a file of the working directory, a script whose #!
// interpreter does not exist, a directory.
func LookPath(name string) (string, error) {
	path, err := exec.LookPath(name)
	if err != nil {
		return "", fmt.Errorf("program %q: %w", name, notFound(name, err))
	}
	if err := checkInterpreter(path); err != nil {
		return "", fmt.Errorf("program %q: %w", name, err)
	}
	return path, nil
}

// notFound explains exec.LookPath's err about name.
func notFound(name string, err error) error {
	inner := errors.Unwrap(err)
	if strings.ContainsRune(name, filepath.Separator) || !errors.Is(err, exec.ErrNotFound) {
		if why := whyNotRun(name, inner); why != nil {
			return why
		}
		return inner
	}
	fi, serr := os.Stat(name)
	if serr != nil || !fi.Mode().IsRegular() {
		return errors.New("not found in $PATH")
	}
	local := "." + string(filepath.Separator) + name
	if !executable(fi.Mode()) {
		return fmt.Errorf("not found in $PATH; did you mean %s, after chmod +x %s?", local, shellQuote(local))
	}
	return fmt.Errorf("not found in $PATH; did you mean %s?", local)
}

// startError is the error of Start for the program at path whose start
// failed with err: why the file cannot be run when it shows it, else err.
func startError(path string, err error) error {
	if why := whyNotRun(path, err); why != nil {
		return why
	}
	return err
}

// whyNotRun says why the program at path cannot be run, in words that say
// what to do, when err, what the system said, is about the file and the
// file shows more than err says. Otherwise it returns nil.
func whyNotRun(path string, err error) error {
	if !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, fs.ErrPermission) &&
		!errors.Is(err, syscall.ENOEXEC) && !errors.Is(err, syscall.EISDIR) {
		return nil
	}
	fi, serr := os.Stat(path)
	switch {
	case serr != nil:
		return nil
	case fi.IsDir():
		return errors.New("a directory, not a program")
	case !executable(fi.Mode()):
		return fmt.Errorf("not executable: chmod +x %s", shellQuote(path))
	}
	if why := checkInterpreter(path); why != nil {
		return why
	}
	if errors.Is(err, syscall.ENOEXEC) {
		return errors.New("neither a program for this system nor a script that starts with #!")
	}
	return nil
}

// checkInterpreter reports an interpreter that the file at path names and
// that cannot be run: that of its #! line, or for an ELF program its
// dynamic loader. Either makes running the file fail with "no such file or
// directory" although the file is there. It reads the #! line no further
// than the system does.
func checkInterpreter(path string) error {
	if fi, err := os.Stat(path); err != nil || !fi.Mode().IsRegular() {
		return nil // nothing to read, or nothing to read safely
	}
	f, err := os.Open(path)
	if err != nil {
		return nil // starting it will say why
	}
	defer f.Close()
	head := make([]byte, 256) // what Linux reads of a #! line
	n, _ := io.ReadFull(f, head)
	head = head[:n]
	if line, ok := bytes.CutPrefix(head, []byte("#!")); ok {
		line, _, _ = bytes.Cut(line, []byte("\n"))
		name, _, _ := strings.Cut(strings.TrimLeft(string(line), " \t"), " ")
		name, _, _ = strings.Cut(name, "\t")
		switch problem := cannotRun(name); {
		case name == "":
			return errors.New("its #! line names no interpreter")
		case problem != "" && strings.HasSuffix(name, "\r"):
			return fmt.Errorf("its interpreter %s (from its #! line) %s: the file has DOS line endings (dos2unix fixes them)", strings.TrimSuffix(name, "\r"), problem)
		case problem != "":
			return fmt.Errorf("its interpreter %s (from its #! line) %s", name, problem)
		}
		return nil
	}
	if !bytes.HasPrefix(head, []byte(elf.ELFMAG)) {
		return nil
	}
	prog, err := elf.NewFile(f)
	if err != nil {
		return nil
	}
	for _, p := range prog.Progs {
		if p.Type == elf.PT_INTERP {
			name, _ := io.ReadAll(io.LimitReader(p.Open(), 4096))
			loader := string(bytes.TrimRight(name, "\x00"))
			if problem := cannotRun(loader); problem != "" {
				return fmt.Errorf("its loader %s %s: it was built for another system or C library", loader, problem)
			}
		}
	}
	return nil
}

// cannotRun says what keeps the interpreter at path from running: "does
// not exist", "is not executable", or "" when nothing does or path is
// relative (found from the program's working directory, if at all).
func cannotRun(path string) string {
	if !filepath.IsAbs(path) {
		return ""
	}
	fi, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "does not exist"
	case err == nil && (fi.IsDir() || !executable(fi.Mode())):
		return "is not executable"
	}
	return ""
}

// executable reports whether a file with mode m may be run. Windows keeps
// no execute bits, so there every file may.
func executable(m fs.FileMode) bool {
	return runtime.GOOS == "windows" || m&0o111 != 0
}

// shellQuote quotes s for a POSIX shell when it needs it.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_./+-:@%,=") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
