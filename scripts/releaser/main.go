// Command releaser writes wsbridge's release into a directory: an archive
// of a static binary for each platform, with the README, the licence, the
// manual page and the shell completions; a Debian package for amd64 and
// arm64; and SHA256SUMS. The same commit gives the same files, byte for
// byte.
//
// Run it from the root of the module, as ./scripts/release OUTDIR does:
//
//	go -C scripts/releaser run . -src ../.. OUTDIR
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// targets are the platforms a release is built for.
var targets = []target{
	{"linux", "amd64"},
	{"linux", "arm64"},
	{"darwin", "amd64"},
	{"darwin", "arm64"},
	{"windows", "amd64"},
}

// debArchs are the architectures a Debian package is made for.
var debArchs = []string{"amd64", "arm64"}

func main() {
	src := flag.String("src", ".", "the root of the wsbridge module")
	flag.Usage = func() {
		fmt.Fprintln(flag.CommandLine.Output(), "usage: releaser [-src DIR] OUTDIR")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 1 {
		flag.Usage()
		os.Exit(2)
	}
	start := time.Now()
	files, err := release(*src, flag.Arg(0), targets, debArchs)
	if err != nil {
		fmt.Fprintln(os.Stderr, "release:", err)
		os.Exit(1)
	}
	for _, f := range files {
		fmt.Println(filepath.Join(flag.Arg(0), f))
	}
	fmt.Fprintf(os.Stderr, "release: %d files in %s\n", len(files), time.Since(start).Round(time.Second))
}
