//go:build linux

package main

import "testing"

func TestFormat(t *testing.T) {
	tests := []struct {
		got, want string
	}{
		{formatSeconds(42.4e-6), "42.4 µs"},
		{formatSeconds(0.000157), "157 µs"},
		{formatSeconds(0.0123), "12.3 ms"},
		{formatSeconds(2.5), "2.50 s"},
		{formatBytes(512), "512 B"},
		{formatBytes(140 * 1024), "140 KiB"},
		{formatBytes(12.2 * 1024 * 1024), "12.2 MiB"},
		{formatRate("msg/s")(80332.4), "80,332 msg/s"},
		{formatRate("conn/s")(97.24), "97.2 conn/s"},
		{formatMBps(216e6), "216 MB/s"},
		{formatCount(0), "0"},
		{formatCount(2976), "2,976"},
		{formatDecimal(4.998), "5.00"},
		{formatYesNo(1), "yes"},
		{formatYesNo(0), "no"},
		{formatRatio(1.8449), "1.84×"},
		{thousands(-1234567), "-1,234,567"},
		{thousands(999), "999"},
		{plural(1, "run"), "1 run"},
		{plural(2000, "round trip"), "2,000 round trips"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
}
