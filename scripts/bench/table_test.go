//go:build linux

package main

import (
	"math"
	"strings"
	"testing"
)

func TestTableWrite(t *testing.T) {
	lat := figure{name: "p50", format: formatSeconds, agg: median, ratio: true}
	fail := figure{name: "failures", format: formatCount, agg: sum}
	intact := figure{name: "intact", format: formatYesNo, agg: minimum}
	tb := newTable(
		[]group{{name: "latency", figures: []figure{lat, fail}}, {name: "long|line", figures: []figure{intact}}, {name: "not reached", figures: []figure{lat}}},
		[]string{"a", "b", "ceiling"},
		[]string{"ceiling", "b"},
	)
	for _, v := range []float64{100e-6, 300e-6, 200e-6} {
		tb.add(cell{"latency", "p50", "a"}, v)
	}
	tb.add(cell{"latency", "p50", "b"}, 400e-6)
	tb.add(cell{"latency", "p50", "b"}, math.NaN())
	tb.add(cell{"latency", "p50", "ceiling"}, 100e-6)
	tb.add(cell{"latency", "failures", "a"}, 1)
	tb.add(cell{"latency", "failures", "a"}, 2)
	tb.add(cell{"latency", "failures", "b"}, math.NaN())
	tb.add(cell{"latency", "failures", "ceiling"}, 0)
	tb.add(cell{"long|line", "intact", "a"}, 1)
	tb.add(cell{"long|line", "intact", "a"}, 0)
	tb.add(cell{"long|line", "intact", "b"}, 1)

	var b strings.Builder
	if err := tb.write(&b); err != nil {
		t.Fatal(err)
	}
	want := `| scenario | figure | server | median | ÷ ceiling | ÷ b |
|---|---|---|--:|--:|--:|
| latency | p50 | a | 200 µs | 2.00× | 0.50× |
|  |  | b | 400 µs (1 of 2 runs) | 4.00× | 1.00× |
|  |  | ceiling | 100 µs | 1.00× | 0.25× |
|  | failures | a | 3 | — | — |
|  |  | b | failed | — | — |
|  |  | ceiling | 0 | — | — |
| long\|line | intact | a | no | — | — |
|  |  | b | yes | — | — |
|  |  | ceiling | n/a | — | — |
`
	if got := b.String(); got != want {
		t.Errorf("table:\n%s\nwant:\n%s", got, want)
	}
}
