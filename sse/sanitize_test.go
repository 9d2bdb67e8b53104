package sse

import (
	"math"
	"testing"
	"time"
	"unicode/utf8"
)

func TestSanitize(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		in      Event
		want    Event
		dropped Dropped
	}{
		{"clean", Event{Type: "t", ID: "1", Data: "a\nb"}, Event{Type: "t", ID: "1", Data: "a\nb"}, 0},
		{"type with lf", Event{Type: "t\ndata: x", ID: "1", Data: "a"}, Event{ID: "1", Data: "a"}, DroppedType},
		{"type with cr", Event{Type: "t\r", Data: "a"}, Event{Data: "a"}, DroppedType},
		{"type with nul", Event{Type: "t\x00", Data: "a"}, Event{Data: "a"}, DroppedType},
		{"id with nul", Event{ID: "1\x00", Data: "a"}, Event{Data: "a"}, DroppedID},
		{"id with crlf", Event{ID: "1\r\n", Data: "a"}, Event{Data: "a"}, DroppedID},
		{"both", Event{Type: "\n", ID: "\r", Data: "a"}, Event{Data: "a"}, DroppedType | DroppedID},
		{"data newlines and nul kept", Event{Data: "a\r\n\x00\rb"}, Event{Data: "a\r\n\x00\rb"}, 0},
		{"invalid utf8 decoded", Event{Type: "\xFFt", ID: "\xE2\x82", Data: "\xF0\x9F\x98a"}, Event{Type: "\uFFFDt", ID: "\uFFFD", Data: "\uFFFDa"}, 0},
		{"retry kept", Event{Data: "a", Retry: 5, HasRetry: true}, Event{Data: "a", Retry: 5, HasRetry: true}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev := tt.in
			if d := Sanitize(&ev); d != tt.dropped {
				t.Errorf("Sanitize dropped got %v; want %v", d, tt.dropped)
			}
			if ev != tt.want {
				t.Errorf("Sanitize got %#v; want %#v", ev, tt.want)
			}
			if !utf8.ValidString(tt.in.Type + tt.in.ID + tt.in.Data) {
				return // DropLineBreaks takes valid UTF-8 only
			}
			ev = tt.in
			if d := DropLineBreaks(&ev); d != tt.dropped || ev != tt.want {
				t.Errorf("DropLineBreaks got %#v, dropped %v; want %#v, %v", ev, d, tt.want, tt.dropped)
			}
		})
	}
}

func TestDroppedString(t *testing.T) {
	t.Parallel()
	for d, want := range map[Dropped]string{0: "", DroppedType: "type", DroppedID: "id", DroppedType | DroppedID: "type,id"} {
		if got := d.String(); got != want {
			t.Errorf("Dropped(%d).String() got %q; want %q", d, got, want)
		}
	}
}

func TestSanitizeNoAlloc(t *testing.T) {
	ev := Event{Type: "update", ID: "42", Data: "some data"}
	if allocs := testing.AllocsPerRun(100, func() { Sanitize(&ev) }); allocs != 0 {
		t.Errorf("allocations for a clean event got %v; want 0", allocs)
	}
}

func TestRetryDuration(t *testing.T) {
	t.Parallel()
	cases := []struct {
		ms   int64
		want time.Duration
	}{
		{0, 0},
		{2500, 2500 * time.Millisecond},
		{math.MaxInt64 / int64(time.Millisecond), time.Duration(math.MaxInt64/int64(time.Millisecond)) * time.Millisecond},
		{math.MaxInt64, math.MaxInt64}, // a parser caps overflowing retry here: never negative
	}
	for _, c := range cases {
		if got := RetryDuration(c.ms); got != c.want {
			t.Errorf("RetryDuration(%d) = %v; want %v", c.ms, got, c.want)
		}
	}
}
