//go:build linux

package main

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// formatSeconds writes a duration given in seconds with three significant
// digits, in µs, ms or s.
func formatSeconds(s float64) string {
	switch {
	case s < 1e-3:
		return sig3(s*1e6) + " µs"
	case s < 1:
		return sig3(s*1e3) + " ms"
	default:
		return sig3(s) + " s"
	}
}

// formatBytes writes a size in bytes with three significant digits, in
// B, KiB, MiB or GiB.
func formatBytes(b float64) string {
	units := []string{"B", "KiB", "MiB", "GiB"}
	i := 0
	for math.Abs(b) >= 1024 && i < len(units)-1 {
		b /= 1024
		i++
	}
	return sig3(b) + " " + units[i]
}

// formatRate returns a function writing a rate per second as a whole
// number with thousands separators, followed by unit.
func formatRate(unit string) func(float64) string {
	return func(r float64) string {
		if r < 100 {
			return sig3(r) + " " + unit
		}
		return thousands(int64(math.Round(r))) + " " + unit
	}
}

// formatMBps writes a rate in bytes per second as MB/s (10⁶ bytes).
func formatMBps(r float64) string {
	return formatRate("MB/s")(r / 1e6)
}

// formatCount writes a count as a whole number.
func formatCount(n float64) string {
	return thousands(int64(math.Round(n)))
}

// formatDecimal writes x with two digits after the point.
func formatDecimal(x float64) string {
	return strconv.FormatFloat(x, 'f', 2, 64)
}

// formatYesNo writes 1 as "yes" and anything else as "no".
func formatYesNo(v float64) string {
	if v == 1 {
		return "yes"
	}
	return "no"
}

// formatRatio writes a ratio between two values of one figure.
func formatRatio(r float64) string {
	return strconv.FormatFloat(r, 'f', 2, 64) + "×"
}

// sig3 writes x with three significant digits and no exponent, dropping
// digits after the point that are not significant: 0.0123, 1.23, 12.3,
// 123, 1235.
func sig3(x float64) string {
	if x == 0 || math.IsNaN(x) || math.IsInf(x, 0) {
		return strconv.FormatFloat(x, 'f', -1, 64)
	}
	digits := 3 - 1 - int(math.Floor(math.Log10(math.Abs(x))))
	if digits < 0 {
		digits = 0
	}
	return strconv.FormatFloat(x, 'f', digits, 64)
}

// thousands writes n with a comma between groups of three digits.
func thousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// plural writes n followed by noun, with an s when n is not 1.
func plural(n int, noun string) string {
	if n == 1 {
		return fmt.Sprintf("1 %s", noun)
	}
	return fmt.Sprintf("%s %ss", thousands(int64(n)), noun)
}
