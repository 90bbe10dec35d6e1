//go:build linux

package main

import (
	"fmt"
	"io"
	"math"
	"strings"
)

// A figure is one quantity a scenario measures: a row of the table for
// each server.
type figure struct {
	name   string                  // what is measured
	format func(float64) string    // how a value is written
	agg    func([]float64) float64 // how the values of the runs are combined
	ratio  bool                    // whether dividing it by another server's means something
}

// A group is the figures of one scenario: a group of rows of the table.
type group struct {
	name    string
	figures []figure
}

// A cell names the values of one figure of one scenario for one server.
type cell struct {
	group, figure, server string
}

// A table is everything measured, ready to be written in Markdown.
type table struct {
	groups  []group
	servers []string           // in row order
	refs    []string           // the servers each figure is divided by, one column each
	values  map[cell][]float64 // one value per run that produced it
	tried   map[cell]int       // how many runs were attempted; absent: the server does not run the scenario
}

// add records the value of one run, or only the attempt when v is NaN.
func (t *table) add(c cell, v float64) {
	t.tried[c]++
	if !math.IsNaN(v) {
		t.values[c] = append(t.values[c], v)
	}
}

// newTable returns an empty table of the given scenarios, servers and
// reference servers.
func newTable(groups []group, servers, refs []string) *table {
	return &table{
		groups:  groups,
		servers: servers,
		refs:    refs,
		values:  make(map[cell][]float64),
		tried:   make(map[cell]int),
	}
}

// write writes t as a Markdown table: one row per scenario, figure and
// server, with the combined value of the runs and its ratio to each
// reference server's.
func (t *table) write(w io.Writer) error {
	var b strings.Builder
	b.WriteString("| scenario | figure | server | median |")
	for _, r := range t.refs {
		fmt.Fprintf(&b, " ÷ %s |", escape(r))
	}
	b.WriteString("\n|---|---|---|--:|")
	b.WriteString(strings.Repeat("--:|", len(t.refs)))
	b.WriteString("\n")
	for _, g := range t.groups {
		if !t.reached(g) {
			continue
		}
		for i, f := range g.figures {
			for j, s := range t.servers {
				c := cell{g.name, f.name, s}
				scenario, name := "", ""
				if i == 0 && j == 0 {
					scenario = g.name
				}
				if j == 0 {
					name = f.name
				}
				fmt.Fprintf(&b, "| %s | %s | %s | %s |", escape(scenario), escape(name), escape(s), t.value(c, f))
				for _, r := range t.refs {
					fmt.Fprintf(&b, " %s |", t.ratio(c, cell{g.name, f.name, r}, f))
				}
				b.WriteString("\n")
			}
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// reached reports whether any run of g was attempted: the groups of an
// interrupted benchmark that were never reached are left out.
func (t *table) reached(g group) bool {
	for _, f := range g.figures {
		for _, s := range t.servers {
			if t.tried[cell{g.name, f.name, s}] > 0 {
				return true
			}
		}
	}
	return false
}

// value writes the combined value of c: "n/a" when its server does not
// run the scenario, "failed" when no run produced a value, and the number
// of runs that did when some did not.
func (t *table) value(c cell, f figure) string {
	tried := t.tried[c]
	vs := t.values[c]
	switch {
	case tried == 0:
		return "n/a"
	case len(vs) == 0:
		return "failed"
	case len(vs) < tried:
		return fmt.Sprintf("%s (%d of %d runs)", f.format(f.agg(vs)), len(vs), tried)
	}
	return f.format(f.agg(vs))
}

// ratio writes the combined value of c divided by that of ref, or "—"
// when either is missing or the division means nothing.
func (t *table) ratio(c, ref cell, f figure) string {
	vs, rs := t.values[c], t.values[ref]
	if !f.ratio || len(vs) == 0 || len(rs) == 0 {
		return "—"
	}
	r := f.agg(rs)
	if r == 0 {
		return "—"
	}
	return formatRatio(f.agg(vs) / r)
}

// escape makes s safe inside a Markdown table cell.
func escape(s string) string {
	return strings.ReplaceAll(s, "|", `\|`)
}
