//go:build linux

package main

import (
	"slices"
	"testing"
)

func TestPick(t *testing.T) {
	all := scenarios(quickSizes)
	for _, tc := range []struct {
		only string
		want []string
	}{
		{"", []string{"latency", "throughput", "throughput, 64 in flight", "churn", "churn, 500 held", "storm", "concurrency 200", "concurrency 500", "fanout", "fanout over NATS", "long line", "binary", "compression off", "compression on"}},
		{"compression", []string{"compression off", "compression on"}},
		{"churn", []string{"churn", "churn, 500 held"}},
		{"fanout", []string{"fanout", "fanout over NATS"}},
		{"throughput", []string{"throughput", "throughput, 64 in flight"}},
		{"concurrency,latency", []string{"latency", "concurrency 200", "concurrency 500"}},
		{"concurrency 500", []string{"concurrency 500"}},
	} {
		got, err := pick(all, tc.only)
		if err != nil {
			t.Errorf("pick(%q): %v", tc.only, err)
			continue
		}
		if names := groupNames(got); !slices.Equal(names, tc.want) {
			t.Errorf("pick(%q) = %q, want %q", tc.only, names, tc.want)
		}
	}
	for _, only := range []string{"nope", "churn,", "churn,nope"} {
		if _, err := pick(all, only); err == nil {
			t.Errorf("pick(%q): no error", only)
		}
	}
}

func groupNames(scs []scenario) []string {
	var names []string
	for _, sc := range scs {
		names = append(names, sc.name)
	}
	return names
}
