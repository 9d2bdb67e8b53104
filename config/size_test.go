package config

import (
	"strings"
	"testing"
)

func TestSize(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want Size
	}{
		{"1048576", 1 << 20},
		{"1", 1},
		{"10B", 10},
		{"512KiB", 512 << 10},
		{"1MiB", 1 << 20},
		{"1 mib", 1 << 20},
		{"2GIB", 2 << 30},
		{" 64KiB ", 64 << 10},
		{"8388608GiB", 8388607<<30 + 1<<30},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			var s Size
			if err := s.UnmarshalText([]byte(tt.in)); err != nil || s != tt.want {
				t.Errorf("UnmarshalText(%q) = %d, %v; want %d", tt.in, s, err, tt.want)
			}
		})
	}
}

func TestSizeErrors(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"", `invalid size ""`},
		{"MiB", `invalid size "MiB"`},
		{"0", `size "0" must be at least 1 byte`},
		{"0KiB", `size "0KiB" must be at least 1 byte`},
		{"-1", `invalid size "-1"`},
		{"+1", `invalid size "+1"`},
		{"1.5MiB", `invalid size "1.5MiB"`},
		{"64KB", `invalid size "64KB" (want bytes, or a whole number of KiB, MiB or GiB, e.g. 64KiB)`},
		{"64kB", `invalid size "64kB"`},
		{"64K", `invalid size "64K"`},
		{"1M", `invalid size "1M"`},
		{"1 G", `invalid size "1 G"`},
		{"lots", `invalid size "lots"`},
		{"9223372036854775808", `size "9223372036854775808" out of range`},
		{"8589934592GiB", `size "8589934592GiB" out of range`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			var s Size
			err := s.UnmarshalText([]byte(tt.in))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("UnmarshalText(%q) = %d, %v; want an error containing %q", tt.in, s, err, tt.want)
			}
		})
	}
}

func TestSizeString(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   Size
		want string
	}{
		{1 << 20, "1MiB"},
		{3 << 10, "3KiB"},
		{5 << 30, "5GiB"},
		{1536 << 10, "1536KiB"},
		{1000, "1000"},
		{1, "1"},
	}
	for _, tt := range tests {
		if got := tt.in.String(); got != tt.want {
			t.Errorf("Size(%d).String() = %q; want %q", int64(tt.in), got, tt.want)
		}
		var back Size
		text, _ := tt.in.MarshalText()
		if err := back.UnmarshalText(text); err != nil || back != tt.in {
			t.Errorf("round trip of %d through %q = %d, %v", int64(tt.in), text, back, err)
		}
	}
}
