//go:build linux

package main

import (
	"strings"
	"testing"
)

func TestCPUModel(t *testing.T) {
	cpuinfo := "processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC 7B13 64-Core Processor\nflags\t\t: fpu\n\nprocessor\t: 1\nmodel name\t: AMD EPYC 7B13 64-Core Processor\n"
	if got, want := cpuModel(strings.NewReader(cpuinfo)), "AMD EPYC 7B13 64-Core Processor"; got != want {
		t.Errorf("cpuModel = %q, want %q", got, want)
	}
	if got := cpuModel(strings.NewReader("processor\t: 0\n")); got != "" {
		t.Errorf("cpuModel without a model name = %q, want empty", got)
	}
}

func TestCommandLine(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"/tmp/go-build123/b001/exe/bench", "-quick"}, "go run ./scripts/bench -quick"},
		{[]string{"./bench", "-vs", "websocketd --loglevel=error", "-runs=5"}, "./bench -vs 'websocketd --loglevel=error' -runs=5"},
		{[]string{"bench", "-vs", "it's"}, `bench -vs 'it'\''s'`},
		{[]string{"bench", "-vs", ""}, "bench -vs ''"},
	}
	for _, tt := range tests {
		if got := commandLine(tt.args); got != tt.want {
			t.Errorf("commandLine(%q) = %q, want %q", tt.args, got, tt.want)
		}
	}
}
