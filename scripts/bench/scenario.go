//go:build linux

package main

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// A scenario is one workload, run against one server at a time; its
// figures are one group of rows of the table.
type scenario struct {
	group
	about   string        // one line saying what it does, for the legend
	flags   []string      // the bridge flags it needs, before the command
	command []string      // the child each connection gets
	ceiling bool          // whether the ceiling runs it
	timeout time.Duration // how long one run may take, server start excluded
	// run measures the server p and returns the figures it got, by
	// name. An error says why some are missing or what went wrong; the
	// figures returned are kept all the same.
	run func(ctx context.Context, p *process) (measurement, error)
}

// A measurement is the value of each figure of one run, by figure name.
type measurement map[string]float64

// messageSize is the size of the text messages of the latency, throughput,
// churn and concurrency scenarios.
const messageSize = 64

// throughputWindow is how many messages the second throughput scenario
// keeps unanswered at most: a load under which websocketd keeps answering,
// where it stops under the first one's.
const throughputWindow = 64

// sizes are the amounts of work of the scenarios.
type sizes struct {
	warmUp, roundTrips int   // latency
	messages           int   // throughput
	churn              int   // connections, one after the other
	churnHeld          int   // connections held meanwhile, in the second churn
	storm              int   // clients connecting at once
	held               []int // concurrency: connections held at once, one scenario each
	heldTrips          int   // round trips of each held connection
	longLine           int   // bytes
	binary             int   // 64 KiB messages
	compressed         int   // compression: messages
	compressedHeld     int   // compression: connections held at once
}

// fullSizes are the sizes of a real run; quickSizes those of -quick.
var (
	fullSizes = sizes{
		warmUp: 200, roundTrips: 2000,
		messages:  100_000,
		churn:     1000,
		churnHeld: 2000,
		storm:     2000,
		held:      []int{1000, 4000},
		heldTrips: 3,
		longLine:  100_000_000,
		binary:    2000,

		compressed:     50_000,
		compressedHeld: 1000,
	}
	quickSizes = sizes{
		warmUp: 50, roundTrips: 500,
		messages:  10_000,
		churn:     200,
		churnHeld: 500,
		storm:     500,
		held:      []int{200, 500},
		heldTrips: 3,
		longLine:  10_000_000,
		binary:    300,

		compressed:     5000,
		compressedHeld: 200,
	}
)

// scenarios returns every scenario, in table order.
func scenarios(sz sizes) []scenario {
	s := []scenario{
		latency(sz.warmUp, sz.roundTrips),
		throughput(sz.messages, 0),
		throughput(sz.messages, throughputWindow),
		churn(sz.churn, 0),
		churn(sz.churn, sz.churnHeld),
		storm(sz.storm),
	}
	for _, n := range sz.held {
		s = append(s, concurrency(n, sz.heldTrips))
	}
	s = append(s, fanout(sz.held[0])...)
	return append(s, longLine(sz.longLine), binary(sz.binary),
		compression(sz.compressed, sz.compressedHeld, false),
		compression(sz.compressed, sz.compressedHeld, true))
}

// pick returns the scenarios whose names start with one of the
// comma-separated words of only, in table order; all of them when only is
// empty.
func pick(scs []scenario, only string) ([]scenario, error) {
	if only == "" {
		return scs, nil
	}
	words := strings.Split(only, ",")
	used := make([]bool, len(words))
	var picked []scenario
	for _, sc := range scs {
		matched := false
		for i, w := range words {
			if w != "" && strings.HasPrefix(sc.name, w) {
				used[i], matched = true, true
			}
		}
		if matched {
			picked = append(picked, sc)
		}
	}
	for i, w := range words {
		if !used[i] {
			return nil, fmt.Errorf("-only: no scenario's name starts with %q", w)
		}
	}
	return picked, nil
}
