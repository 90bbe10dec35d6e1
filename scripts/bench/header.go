//go:build linux

package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"time"
)

// machine describes this machine: its CPUs (as many as nproc counts), its
// CPU model, its memory and its kernel.
func machine() string {
	var b strings.Builder
	fmt.Fprintf(&b, "nproc %d", runtime.NumCPU())
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		if m := cpuModel(f); m != "" {
			fmt.Fprintf(&b, ", %s", m)
		}
		f.Close()
	}
	if f, err := os.Open("/proc/meminfo"); err == nil {
		if n, err := parseStatus(f, "MemTotal"); err == nil {
			fmt.Fprintf(&b, ", %s RAM", formatBytes(float64(n)))
		}
		f.Close()
	}
	if r, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		fmt.Fprintf(&b, ", Linux %s", strings.TrimSpace(string(r)))
	}
	return b.String()
}

// cpuModel returns the first "model name" of a /proc/cpuinfo file, or ""
// if there is none.
func cpuModel(r io.Reader) string {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(name) == "model name" {
			return strings.TrimSpace(value)
		}
	}
	return ""
}

// commandLine writes the command line the harness was run with, as it
// would be typed: "go run ./scripts/bench" when it was built by go run.
func commandLine(args []string) string {
	name := args[0]
	if strings.Contains(filepath.ToSlash(name), "/go-build") {
		name = "go run ./scripts/bench"
	}
	words := []string{name}
	for _, a := range args[1:] {
		words = append(words, shellQuote(a))
	}
	return strings.Join(words, " ")
}

// plainWord matches the words a shell takes as they are.
var plainWord = regexp.MustCompile(`^[A-Za-z0-9_./=:,+@%-]+$`)

// shellQuote quotes s for a POSIX shell when it needs quoting.
func shellQuote(s string) string {
	if plainWord.MatchString(s) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// version returns the first line printed by the program argv0 when asked
// for its version, or "" if it does not answer in time.
func version(ctx context.Context, argv0 string) string {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, argv0, "--version").Output()
	if err != nil {
		return ""
	}
	line, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
	return line
}
