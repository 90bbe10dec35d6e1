package main

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"
)

// target is a platform wsbridge is built for.
type target struct{ goos, goarch string }

// source is what a release is made from.
type source struct {
	dir      string    // the root of the module
	version  string    // 1.2.3 for a tag v1.2.3, else a pseudo-version
	revision string    // the commit
	time     time.Time // the commit's time, or SOURCE_DATE_EPOCH: every file's mtime
}

// readSource reads the version, the revision and its time from git in
// dir. A tree with changes not committed gets "+dirty" after its version.
// SOURCE_DATE_EPOCH, when set, is the time instead of the commit's.
func readSource(dir string) (source, error) {
	s := source{dir: dir}
	git := func(args ...string) (string, error) {
		out, err := exec.Command("git", append([]string{"-C", dir}, args...)...).Output()
		if err != nil {
			return "", fmt.Errorf("git %s: %w", strings.Join(args, " "), err)
		}
		return strings.TrimSpace(string(out)), nil
	}
	info, err := git("log", "-1", "--format=%H %ct")
	if err != nil {
		return s, fmt.Errorf("reading the commit to release: %w", err)
	}
	rev, ct, _ := strings.Cut(info, " ")
	epoch, err := strconv.ParseInt(ct, 10, 64)
	if err != nil {
		return s, fmt.Errorf("reading the commit's time %q: %w", ct, err)
	}
	if env := os.Getenv("SOURCE_DATE_EPOCH"); env != "" {
		if epoch, err = strconv.ParseInt(env, 10, 64); err != nil {
			return s, fmt.Errorf("SOURCE_DATE_EPOCH=%s: not a number of seconds", env)
		}
	}
	s.revision, s.time = rev, time.Unix(epoch, 0).UTC()
	if tag, err := git("describe", "--tags", "--exact-match", "--match=v[0-9]*", "HEAD"); err == nil {
		s.version = strings.TrimPrefix(tag, "v")
	} else {
		// As the go command names an untagged commit.
		committed, _ := strconv.ParseInt(ct, 10, 64)
		s.version = "0.0.0-" + time.Unix(committed, 0).UTC().Format("20060102150405") + "-" + rev[:12]
	}
	status, err := git("status", "--porcelain", "--untracked-files=no")
	if err != nil {
		return s, err
	}
	if status != "" {
		s.version += "+dirty"
	}
	return s, nil
}

// build builds wsbridge for t into dir and returns the binary's path:
// static, without the paths of the machine that built it, and stamped
// with the source's version, revision and time.
func build(s source, t target, dir string) (string, error) {
	name := "wsbridge"
	if t.goos == "windows" {
		name += ".exe"
	}
	out := filepath.Join(dir, t.goos+"-"+t.goarch, name)
	ldflags := fmt.Sprintf("-s -w -X main.version=%s -X main.revision=%s -X main.revisionTime=%s",
		s.version, s.revision, s.time.Format(time.RFC3339))
	cmd := exec.Command("go", "build", "-trimpath", "-buildvcs=false", "-ldflags="+ldflags, "-o", out, ".")
	cmd.Dir = s.dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS="+t.goos, "GOARCH="+t.goarch, "GOFLAGS=")
	if msg, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building for %s/%s: %w\n%s", t.goos, t.goarch, err, msg)
	}
	return out, nil
}

// docs are the files an archive and a package carry besides the binary,
// by their names in an archive.
type docs map[string][]byte

// makeDocs reads the README and the licence, and asks the binary built
// for this machine for its manual page and completion scripts.
func makeDocs(s source, hostBinary string) (docs, error) {
	d := docs{}
	for _, name := range []string{"README.md", "LICENSE"} {
		b, err := os.ReadFile(filepath.Join(s.dir, name))
		if err != nil {
			return nil, fmt.Errorf("reading what the archives carry: %w", err)
		}
		d[name] = b
	}
	for name, arg := range map[string]string{
		"wsbridge.1":                "--man",
		"completions/wsbridge.bash": "--completion=bash",
		"completions/_wsbridge":     "--completion=zsh",
		"completions/wsbridge.fish": "--completion=fish",
	} {
		out, err := exec.Command(hostBinary, arg).Output()
		if err != nil {
			return nil, fmt.Errorf("wsbridge %s: %w", arg, err)
		}
		d[name] = out
	}
	return d, nil
}

// release writes into out the archives of targets, the Debian packages of
// debArchs and SHA256SUMS, and returns their names.
func release(src, out string, targets []target, debArchs []string) ([]string, error) {
	s, err := readSource(src)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp("", "wsbridge-release")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)

	binaries := map[target]string{}
	for _, t := range targets {
		if binaries[t], err = build(s, t, tmp); err != nil {
			return nil, err
		}
	}
	host := target{runtime.GOOS, runtime.GOARCH}
	if binaries[host] == "" {
		if binaries[host], err = build(s, host, filepath.Join(tmp, "host")); err != nil {
			return nil, err
		}
	}
	d, err := makeDocs(s, binaries[host])
	if err != nil {
		return nil, err
	}

	var names []string
	for _, t := range targets {
		name, err := writeArchive(s, t, binaries[t], d, out)
		if err != nil {
			return nil, err
		}
		names = append(names, name)
	}
	for _, arch := range debArchs {
		t := target{"linux", arch}
		if binaries[t] == "" {
			if binaries[t], err = build(s, t, tmp); err != nil {
				return nil, err
			}
		}
		name, err := writeDeb(s, arch, binaries[t], d, tmp, out)
		if err != nil {
			return nil, err
		}
		names = append(names, name)
	}
	slices.Sort(names)
	if err := writeChecksums(out, names); err != nil {
		return nil, err
	}
	return append(names, "SHA256SUMS"), nil
}

// writeChecksums writes out/SHA256SUMS, which sha256sum -c reads: the
// SHA-256 of each of the files names.
func writeChecksums(out string, names []string) error {
	var sums bytes.Buffer
	for _, name := range names {
		b, err := os.ReadFile(filepath.Join(out, name))
		if err != nil {
			return err
		}
		fmt.Fprintf(&sums, "%x  %s\n", sha256.Sum256(b), name)
	}
	if err := os.WriteFile(filepath.Join(out, "SHA256SUMS"), sums.Bytes(), 0o644); err != nil {
		return fmt.Errorf("writing the checksums: %w", err)
	}
	return nil
}
