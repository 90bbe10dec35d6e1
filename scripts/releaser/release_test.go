package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"
)

// The release these tests check: linux/amd64 alone, the platform the Debian
// package is tested on, as the others are made the same way.
var (
	once         sync.Once
	releaseDir   string
	releaseFiles []string
	releaseErr   error
)

// testRelease makes the release once for all the tests.
func testRelease(t *testing.T) (dir string, files []string) {
	t.Helper()
	once.Do(func() {
		releaseDir, releaseErr = os.MkdirTemp("", "wsbridge-release-test")
		if releaseErr == nil {
			releaseFiles, releaseErr = release("../..", releaseDir, []target{{"linux", "amd64"}}, []string{"amd64"})
		}
	})
	if releaseErr != nil {
		t.Fatal(releaseErr)
	}
	return releaseDir, releaseFiles
}

func TestMain(m *testing.M) {
	code := m.Run()
	if releaseDir != "" {
		os.RemoveAll(releaseDir)
	}
	os.Exit(code)
}

// TestReproducible makes the release again, at another time and into
// another directory, and compares: every file must be the same.
func TestReproducible(t *testing.T) {
	dir, files := testRelease(t)
	again := t.TempDir()
	files2, err := release("../..", again, []target{{"linux", "amd64"}}, []string{"amd64"})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(files, " ") != strings.Join(files2, " ") {
		t.Fatalf("first %q, then %q", files, files2)
	}
	for _, name := range files {
		a, _ := os.ReadFile(filepath.Join(dir, name))
		b, _ := os.ReadFile(filepath.Join(again, name))
		if len(a) == 0 || !bytes.Equal(a, b) {
			t.Errorf("%s differs from one run to the next (%d and %d bytes)", name, len(a), len(b))
		}
	}
}

// need returns the path of tool. When it is not installed the test is
// skipped, or fails where WSBRIDGE_TEST_STRICT=1, as ./scripts/test sets
// it where it can install every tool.
func need(t *testing.T, tool, pkg string) string {
	t.Helper()
	path, err := exec.LookPath(tool)
	if err != nil && os.Getenv("WSBRIDGE_TEST_STRICT") == "1" {
		t.Fatalf("%s (Debian's %s, which ./scripts/test installs) is needed, and WSBRIDGE_TEST_STRICT=1: %v", tool, pkg, err)
	}
	if err != nil {
		t.Skipf("%s (Debian's %s, which ./scripts/test installs) is needed: %v", tool, pkg, err)
	}
	return path
}

// output runs a command and returns its output, which must be all.
func output(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// TestArchive checks what the archive holds, and that sha256sum accepts
// the checksums.
func TestArchive(t *testing.T) {
	dir, files := testRelease(t)
	var archive string
	for _, f := range files {
		if strings.HasSuffix(f, "-linux-amd64.tar.gz") {
			archive = f
		}
	}
	if archive == "" {
		t.Fatalf("no linux-amd64 archive in %q", files)
	}
	top := strings.TrimSuffix(archive, ".tar.gz")
	list := output(t, "tar", "-tvzf", filepath.Join(dir, archive))
	for _, want := range []string{"-rwxr-xr-x root/root", top + "/wsbridge\n", top + "/README.md\n", top + "/LICENSE\n",
		top + "/wsbridge.1\n", top + "/completions/wsbridge.bash\n", top + "/completions/_wsbridge\n", top + "/completions/wsbridge.fish\n"} {
		if !strings.Contains(list, want) {
			t.Errorf("%s lacks %q:\n%s", archive, want, list)
		}
	}
	cmd := exec.Command(need(t, "sha256sum", "coreutils"), "-c", "SHA256SUMS")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("sha256sum -c: %v\n%s", err, out)
	}
}

// TestDeb checks the Debian package with dpkg-deb, installs it into a
// scratch root, runs the installed wsbridge, renders its manual page,
// creates its user as the package's postinst does, and checks its
// systemd units.
func TestDeb(t *testing.T) {
	dpkgDeb := need(t, "dpkg-deb", "dpkg")
	dir, files := testRelease(t)
	var deb string
	for _, f := range files {
		if strings.HasSuffix(f, "_amd64.deb") {
			deb = filepath.Join(dir, f)
		}
	}
	if deb == "" {
		t.Fatalf("no amd64 package in %q", files)
	}
	s, err := readSource("../..")
	if err != nil {
		t.Fatal(err)
	}
	info := output(t, dpkgDeb, "--info", deb)
	for _, want := range []string{"Package: wsbridge\n", "Version: " + debVersion(s.version) + "\n", "Architecture: amd64\n", "Depends: adduser\n", " conffiles ", " postinst "} {
		if !strings.Contains(info, want) {
			t.Errorf("dpkg-deb --info lacks %q:\n%s", want, info)
		}
	}
	contents := output(t, dpkgDeb, "--contents", deb)
	for _, want := range []string{"./usr/bin/wsbridge", "./usr/share/man/man1/wsbridge.1.gz", "." + bashPath, "." + zshPath, "." + fishPath,
		"." + servicePath, "." + socketPath, "." + sysusersPath, "." + configPath, "." + chatPath, "." + copyrightPath} {
		if !regexp.MustCompile(`(?m) ` + regexp.QuoteMeta(want) + `$`).MatchString(contents) {
			t.Errorf("dpkg-deb --contents lacks %s:\n%s", want, contents)
		}
	}
	if conffiles := output(t, dpkgDeb, "--info", deb, "conffiles"); conffiles != configPath+"\n" {
		t.Errorf("conffiles %q, want %s", conffiles, configPath)
	}

	root := t.TempDir()
	output(t, dpkgDeb, "-x", deb, root)
	if runtime.GOOS == "linux" && runtime.GOARCH == "amd64" {
		version := output(t, filepath.Join(root, "usr/bin/wsbridge"), "--version")
		want := "wsbridge " + s.version + "\nrevision " + s.revision + ", " + s.time.Format("2006-01-02T15:04:05Z") + "\n"
		if !strings.HasPrefix(version, want) {
			t.Errorf("the installed wsbridge --version printed %q, want %q first", version, want)
		}
	}

	if _, err := exec.LookPath("man"); err == nil {
		cmd := exec.Command("man", "--warnings=w", "-l", filepath.Join(root, manPath))
		cmd.Env = append(os.Environ(), "MANWIDTH=80", "MANPAGER=cat", "LC_ALL=C.UTF-8")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil || stderr.Len() != 0 || !strings.Contains(string(out), "WSBRIDGE(1)") {
			t.Errorf("man -l %s: %v\n%s", manPath, err, stderr.String())
		}
	}

	// The postinst, run as dpkg --root runs it, creates the user in the
	// scratch root.
	need(t, "systemd-sysusers", "systemd")
	cmd := exec.Command("sh", "-c", postinst, "postinst", "configure")
	cmd.Env = append(os.Environ(), "DPKG_ROOT="+root)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("postinst: %v\n%s", err, out)
	}
	passwd, err := os.ReadFile(filepath.Join(root, "etc/passwd"))
	if err != nil || !regexp.MustCompile(`(?m)^wsbridge:x:\d+:\d+:`).Match(passwd) {
		t.Errorf("postinst made no wsbridge user: %v\n%s", err, passwd)
	}

	// systemd's checker, with the units where the package puts them and
	// the config file's program where it puts it.
	analyze := need(t, "systemd-analyze", "systemd")
	service, err := os.ReadFile(filepath.Join(root, servicePath))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(service), "\nExecStart=/usr/bin/wsbridge --config=/etc/wsbridge/wsbridge.toml\n") ||
		!strings.Contains(string(service), "\nUser=wsbridge\n") {
		t.Errorf("the packaged service does not run /usr/bin/wsbridge as wsbridge:\n%s", service)
	}
	units := t.TempDir()
	text := strings.ReplaceAll(string(service), "ExecStart=/usr/bin/wsbridge ", "ExecStart="+filepath.Join(root, "usr/bin/wsbridge")+" ")
	if err := os.WriteFile(filepath.Join(units, "wsbridge.service"), []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	socket, err := os.ReadFile(filepath.Join(root, socketPath))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(units, "wsbridge.socket"), socket, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(analyze, "verify", filepath.Join(units, "wsbridge.socket"), filepath.Join(units, "wsbridge.service")).CombinedOutput()
	if err != nil || len(out) != 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
	config, err := os.ReadFile(filepath.Join(root, configPath))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(config), `command = ["`+chatPath+`"]`) {
		t.Errorf("the packaged config does not run %s:\n%s", chatPath, config)
	}
}

func TestDebVersion(t *testing.T) {
	for in, want := range map[string]string{
		"1.2.3":                             "1.2.3",
		"1.2.3-rc.1":                        "1.2.3~rc.1",
		"0.0.0-20261207042812-264f3e96df26": "0.0.0~20261207042812.264f3e96df26",
		"0.0.0-20261207042812-264f3e96df26+dirty": "0.0.0~20261207042812.264f3e96df26+dirty",
	} {
		if got := debVersion(in); got != want {
			t.Errorf("debVersion(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestPackagedSystemdFailsLoudly checks that a change to the examples
// that the package would no longer follow stops the release.
func TestPackagedSystemdFailsLoudly(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "examples/systemd"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"wsbridge.service", "wsbridge.socket", "wsbridge.toml"} {
		b, err := os.ReadFile(filepath.Join("../../examples/systemd", name))
		if err != nil {
			t.Fatal(err)
		}
		if name == "wsbridge.service" {
			b = bytes.ReplaceAll(b, []byte("DynamicUser=yes"), []byte("DynamicUser=true"))
		}
		if err := os.WriteFile(filepath.Join(dir, "examples/systemd", name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, _, err := packagedSystemd(dir); err == nil || !strings.Contains(err.Error(), "DynamicUser=yes") {
		t.Errorf("got %v, want an error naming DynamicUser=yes", err)
	}
}
