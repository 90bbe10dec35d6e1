//go:build linux

package main

import (
	"fmt"
	"io"
	"runtime"
	"strings"
	"time"
)

// A report is everything the harness prints on stdout.
type report struct {
	date      time.Time
	command   string // as typed
	runs      int
	servers   []server
	scenarios []scenario
	table     *table
	notes     []string // what went wrong or may skew the figures
}

// note adds msg to the notes of r and shows it on stderr at once.
func (r *report) note(prog *progress, msg string) {
	r.notes = append(r.notes, msg)
	prog.say(msg)
}

// write writes r in Markdown: where the figures come from, the table, what
// each scenario does, and the notes.
func (r *report) write(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "- date: %s\n", r.date.UTC().Format("2006-01-02 15:04 MST"))
	fmt.Fprintf(&b, "- machine: %s\n", machine())
	fmt.Fprintf(&b, "- Go: %s\n", runtime.Version())
	fmt.Fprintf(&b, "- command: `%s`\n", r.command)
	b.WriteString("- servers:\n")
	for _, s := range r.servers {
		fmt.Fprintf(&b, "  - %s\n", s.about)
	}
	fmt.Fprintf(&b, "- method: %s, the servers taking turns, each on a fresh process listening on 127.0.0.1 "+
		"with `--port=PORT --address=127.0.0.1` and the scenario's flags and child; the load generator is on the same machine. "+
		"A ÷ column divides a figure by the same figure of that server: for times, CPU and memory lower is better, for rates higher.\n\n",
		medianOf(r.runs))
	if err := r.table.write(&b); err != nil {
		return err
	}
	b.WriteString("\nScenarios:\n\n")
	for _, sc := range r.scenarios {
		fmt.Fprintf(&b, "- %s", sc.name)
		if len(sc.flags) > 0 {
			fmt.Fprintf(&b, " (server flags `%s`)", strings.Join(sc.flags, " "))
		}
		fmt.Fprintf(&b, ": %s", sc.about)
		if !sc.ceiling {
			b.WriteString("; the ceiling has no child, so n/a")
		}
		b.WriteString(".\n")
	}
	if len(r.notes) > 0 {
		b.WriteString("\nNotes:\n\n")
		for _, n := range r.notes {
			fmt.Fprintf(&b, "- %s\n", n)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// medianOf says how a figure is made from runs runs.
func medianOf(runs int) string {
	if runs == 1 {
		return "every figure from 1 run"
	}
	return fmt.Sprintf("every figure the median of %d runs (failures: their total)", runs)
}
