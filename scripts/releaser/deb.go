package main

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/goreleaser/nfpm/v2"
	_ "github.com/goreleaser/nfpm/v2/deb" // registers the deb packager
	"github.com/goreleaser/nfpm/v2/files"
)

// The files of the package besides the binary, by where they are
// installed: where Debian's packages put each kind.
const (
	manPath        = "/usr/share/man/man1/wsbridge.1.gz"
	bashPath       = "/usr/share/bash-completion/completions/wsbridge"
	zshPath        = "/usr/share/zsh/vendor-completions/_wsbridge"
	fishPath       = "/usr/share/fish/vendor_completions.d/wsbridge.fish"
	servicePath    = "/usr/lib/systemd/system/wsbridge.service"
	socketPath     = "/usr/lib/systemd/system/wsbridge.socket"
	sysusersPath   = "/usr/lib/sysusers.d/wsbridge.conf"
	configPath     = "/etc/wsbridge/wsbridge.toml"
	chatPath       = "/usr/lib/wsbridge/chat.sh"
	copyrightPath  = "/usr/share/doc/wsbridge/copyright"
	readmePath     = "/usr/share/doc/wsbridge/README.md"
	overridesPath  = "/usr/share/lintian/overrides/wsbridge"
	systemUserLine = `u wsbridge - "wsbridge, a program as a WebSocket service" /nonexistent /usr/sbin/nologin` + "\n"
)

// postinst creates the wsbridge system user the service runs as, with
// systemd-sysusers where there is one, else with adduser; and has systemd
// read the units again. It enables nothing.
const postinst = `#!/bin/sh
set -e
if [ "$1" = configure ]; then
	if command -v systemd-sysusers >/dev/null 2>&1; then
		systemd-sysusers ${DPKG_ROOT:+--root="$DPKG_ROOT"} wsbridge.conf
	elif ! getent passwd wsbridge >/dev/null; then
		adduser --system --group --no-create-home --home /nonexistent wsbridge
	fi
	if [ -z "$DPKG_ROOT" ] && [ -d /run/systemd/system ]; then
		systemctl daemon-reload || true
	fi
fi
`

// lintianOverrides tells lintian that the binary is static on purpose:
// it is one file that runs on any Linux of its architecture.
const lintianOverrides = "wsbridge: statically-linked-binary [usr/bin/wsbridge]\n"

// writeDeb writes the Debian package of wsbridge for arch into out, with
// tmp for the files it makes, and returns its name.
func writeDeb(s source, arch, binary string, d docs, tmp, out string) (string, error) {
	service, socket, config, err := packagedSystemd(s.dir)
	if err != nil {
		return "", err
	}
	man, err := gzipped(d["wsbridge.1"])
	if err != nil {
		return "", err
	}
	made := map[string][]byte{
		"wsbridge.1.gz":    man,
		"wsbridge.service": []byte(service),
		"wsbridge.socket":  []byte(socket),
		"wsbridge.toml":    []byte(config),
		"wsbridge.conf":    []byte(systemUserLine),
		"postinst":         []byte(postinst),
		"overrides":        []byte(lintianOverrides),
	}
	for name, data := range d {
		made[name] = data
	}
	dir := filepath.Join(tmp, "deb-"+arch)
	for name, data := range made {
		if err := os.MkdirAll(filepath.Join(dir, filepath.Dir(name)), 0o755); err != nil {
			return "", err
		}
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			return "", err
		}
	}
	file := func(src, dst string, mode os.FileMode) *files.Content {
		return &files.Content{Source: src, Destination: dst, FileInfo: &files.ContentFileInfo{Mode: mode, MTime: s.time}}
	}
	contents := files.Contents{
		file(binary, "/usr/bin/wsbridge", 0o755),
		file(filepath.Join(dir, "wsbridge.1.gz"), manPath, 0o644),
		file(filepath.Join(dir, "completions/wsbridge.bash"), bashPath, 0o644),
		file(filepath.Join(dir, "completions/_wsbridge"), zshPath, 0o644),
		file(filepath.Join(dir, "completions/wsbridge.fish"), fishPath, 0o644),
		file(filepath.Join(dir, "wsbridge.service"), servicePath, 0o644),
		file(filepath.Join(dir, "wsbridge.socket"), socketPath, 0o644),
		file(filepath.Join(dir, "wsbridge.conf"), sysusersPath, 0o644),
		file(filepath.Join(s.dir, "examples/chat.sh"), chatPath, 0o755),
		file(filepath.Join(dir, "LICENSE"), copyrightPath, 0o644),
		file(filepath.Join(dir, "README.md"), readmePath, 0o644),
		file(filepath.Join(dir, "overrides"), overridesPath, 0o644),
	}
	conf := file(filepath.Join(dir, "wsbridge.toml"), configPath, 0o644)
	conf.Type = files.TypeConfigNoReplace
	contents = append(contents, conf)

	info := nfpm.WithDefaults(&nfpm.Info{
		Name:     "wsbridge",
		Arch:     arch,
		Platform: "linux",
		// Debian's own form of the version, which nfpm takes as it is.
		Version:       debVersion(s.version),
		VersionSchema: "none",
		Section:       "net",
		Priority:      "optional",
		Maintainer:    "The wsbridge authors",
		Description: "WebSocket service of any program that reads stdin and writes stdout\n" +
			"Every WebSocket client gets its own copy of the program: each message\n" +
			"it sends is a line on the program's stdin, each line the program\n" +
			"prints comes back as a message. A drop-in for websocketd.",
		License: "BSD-2-Clause",
		MTime:   s.time,
		Overridables: nfpm.Overridables{
			Contents: contents,
			// What the postinst creates the user with where systemd-sysusers is not.
			Depends: []string{"adduser"},
			Scripts: nfpm.Scripts{PostInstall: filepath.Join(dir, "postinst")},
		},
	})
	packager, err := nfpm.Get("deb")
	if err != nil {
		return "", err
	}
	if err := nfpm.PrepareForPackager(info, "deb"); err != nil {
		return "", fmt.Errorf("the Debian package for %s: %w", arch, err)
	}
	name := packager.ConventionalFileName(info)
	var b bytes.Buffer
	if err := packager.Package(info, &b); err != nil {
		return "", fmt.Errorf("making %s: %w", name, err)
	}
	if err := os.WriteFile(filepath.Join(out, name), b.Bytes(), 0o644); err != nil {
		return "", err
	}
	return name, nil
}

// debVersion returns version as Debian orders versions: 1.2.3-rc.1 comes
// before 1.2.3 as 1.2.3~rc.1, and a pseudo-version's dashes, which would
// start a Debian revision, are dots.
func debVersion(version string) string {
	v, pre, found := strings.Cut(version, "-")
	if !found {
		return version
	}
	return v + "~" + strings.ReplaceAll(pre, "-", ".")
}

// gzipped returns b compressed as gzip -9n does: no name, no time.
func gzipped(b []byte) ([]byte, error) {
	var out bytes.Buffer
	gz, err := gzip.NewWriterLevel(&out, gzip.BestCompression)
	if err != nil {
		return nil, err
	}
	if _, err := gz.Write(b); err != nil {
		return nil, err
	}
	if err := gz.Close(); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// packagedSystemd returns examples/systemd's service, socket and config
// file as the package installs them: wsbridge in /usr/bin, run as the
// wsbridge user, the example program in /usr/lib/wsbridge. It fails if
// the examples no longer have what it changes.
func packagedSystemd(dir string) (service, socket, config string, err error) {
	read := func(name string) string {
		b, rerr := os.ReadFile(filepath.Join(dir, "examples/systemd", name))
		if rerr != nil && err == nil {
			err = fmt.Errorf("reading the systemd example: %w", rerr)
		}
		return string(b)
	}
	service, socket, config = read("wsbridge.service"), read("wsbridge.socket"), read("wsbridge.toml")
	if err != nil {
		return "", "", "", err
	}
	replace := func(name, text, old, new string) string {
		if !strings.Contains(text, old) && err == nil {
			err = fmt.Errorf("examples/systemd/%s no longer has %q, which the package changes", name, old)
		}
		return strings.ReplaceAll(text, old, new)
	}
	// The comment on copying the files by hand is not for the package.
	if i := strings.Index(service, "\n[Unit]"); i > 0 {
		service = "# wsbridge as a socket-activated service, installed by the wsbridge package\n" +
			"# and not enabled: systemctl enable --now wsbridge.socket\n" + service[i+1:]
	}
	service = replace("wsbridge.service", service, "ExecStart=/usr/local/bin/wsbridge ", "ExecStart=/usr/bin/wsbridge ")
	service = replace("wsbridge.service", service, "\nDynamicUser=yes\n", "\nUser=wsbridge\nGroup=wsbridge\n")
	config = replace("wsbridge.toml", config, `"/usr/local/lib/wsbridge/chat.sh"`, `"`+chatPath+`"`)
	return service, socket, config, err
}
