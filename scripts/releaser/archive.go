package main

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/flate"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// entry is a file of an archive.
type entry struct {
	name string // the path in the archive, below its top directory
	mode os.FileMode
	data []byte
}

// archiveEntries returns the files of an archive, sorted by name: the
// binary and the docs.
func archiveEntries(binaryName string, binary []byte, d docs) []entry {
	entries := []entry{{binaryName, 0o755, binary}}
	for name, data := range d {
		entries = append(entries, entry{name, 0o644, data})
	}
	slices.SortFunc(entries, func(a, b entry) int { return strings.Compare(a.name, b.name) })
	return entries
}

// writeArchive writes the archive of t into out, a .zip for Windows and a
// .tar.gz for the others, and returns its name. Everything in it is
// under one directory named like the archive.
func writeArchive(s source, t target, binaryPath string, d docs, out string) (string, error) {
	binary, err := os.ReadFile(binaryPath)
	if err != nil {
		return "", err
	}
	top := fmt.Sprintf("wsbridge-%s-%s-%s", s.version, t.goos, t.goarch)
	entries := archiveEntries(filepath.Base(binaryPath), binary, d)
	var b bytes.Buffer
	name := top + ".tar.gz"
	if t.goos == "windows" {
		name = top + ".zip"
		err = writeZip(&b, top, entries, s.time)
	} else {
		err = writeTarGz(&b, top, entries, s.time)
	}
	if err != nil {
		return "", fmt.Errorf("making %s: %w", name, err)
	}
	if err := os.WriteFile(filepath.Join(out, name), b.Bytes(), 0o644); err != nil {
		return "", err
	}
	return name, nil
}

// dirs returns the directories of entries below top, top first, each
// before what it holds.
func dirs(top string, entries []entry) []string {
	all := []string{top}
	for _, e := range entries {
		for dir := path.Dir(e.name); dir != "."; dir = path.Dir(dir) {
			all = append(all, path.Join(top, dir))
		}
	}
	slices.Sort(all)
	return slices.Compact(all)
}

// writeTarGz writes entries under top as a gzipped tar that depends on
// nothing but them and mtime: every time is mtime, every owner root, and
// the gzip header has neither name nor time.
func writeTarGz(w io.Writer, top string, entries []entry, mtime time.Time) error {
	gz, err := gzip.NewWriterLevel(w, gzip.BestCompression)
	if err != nil {
		return err
	}
	tw := tar.NewWriter(gz)
	header := func(name string, mode os.FileMode, typ byte, size int64) *tar.Header {
		return &tar.Header{Typeflag: typ, Name: name, Mode: int64(mode), Size: size, ModTime: mtime,
			Uname: "root", Gname: "root", Format: tar.FormatPAX}
	}
	for _, dir := range dirs(top, entries) {
		if err := tw.WriteHeader(header(dir+"/", 0o755, tar.TypeDir, 0)); err != nil {
			return err
		}
	}
	for _, e := range entries {
		if err := tw.WriteHeader(header(path.Join(top, e.name), e.mode, tar.TypeReg, int64(len(e.data)))); err != nil {
			return err
		}
		if _, err := tw.Write(e.data); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return gz.Close()
}

// writeZip writes entries under top as a zip whose every time is mtime.
func writeZip(w io.Writer, top string, entries []entry, mtime time.Time) error {
	zw := zip.NewWriter(w)
	zw.RegisterCompressor(zip.Deflate, func(w io.Writer) (io.WriteCloser, error) {
		return flate.NewWriter(w, flate.BestCompression)
	})
	for _, dir := range dirs(top, entries) {
		h := &zip.FileHeader{Name: dir + "/", Modified: mtime}
		h.SetMode(os.ModeDir | 0o755)
		if _, err := zw.CreateHeader(h); err != nil {
			return err
		}
	}
	for _, e := range entries {
		h := &zip.FileHeader{Name: path.Join(top, e.name), Method: zip.Deflate, Modified: mtime}
		h.SetMode(e.mode)
		f, err := zw.CreateHeader(h)
		if err != nil {
			return err
		}
		if _, err := f.Write(e.data); err != nil {
			return err
		}
	}
	return zw.Close()
}
