package sse

import (
	"io"
	"strings"
	"testing"
)

func TestAppendEvent(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		ev     Event
		withID bool
		want   string
	}{
		{"data only", Event{Data: "a"}, false, "data: a\n\n"},
		{"message type omitted", Event{Type: "message", Data: "a"}, false, "data: a\n\n"},
		{"all fields", Event{Type: "update", ID: "7", Data: "a", Retry: 3000, HasRetry: true}, true, "id: 7\nevent: update\nretry: 3000\ndata: a\n\n"},
		{"id not asked for", Event{ID: "7", Data: "a"}, false, "data: a\n\n"},
		{"empty id resets", Event{Data: "a"}, true, "id\ndata: a\n\n"},
		{"empty data", Event{}, false, "data:\n\n"},
		{"multi-line data", Event{Data: "a\nb\r\nc\rd"}, false, "data: a\ndata: b\ndata: c\ndata: d\n\n"},
		{"trailing newline", Event{Data: "a\n"}, false, "data: a\ndata:\n\n"},
		{"only newlines", Event{Data: "\r\n\n\r"}, false, "data:\ndata:\ndata:\ndata:\n\n"},
		{"leading space kept", Event{Data: " a", ID: " 1", Type: " t"}, true, "id:  1\nevent:  t\ndata:  a\n\n"},
		{"forged type omitted", Event{Type: "x\ndata: evil", Data: "a"}, false, "data: a\n\n"},
		{"forged id omitted", Event{ID: "1\r\nevent: x", Data: "a"}, true, "data: a\n\n"},
		{"nul id omitted", Event{ID: "1\x00", Data: "a"}, true, "data: a\n\n"},
		{"negative retry omitted", Event{Data: "a", Retry: -1, HasRetry: true}, false, "data: a\n\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := string(AppendEvent([]byte("x"), &tt.ev, tt.withID)); got != "x"+tt.want {
				t.Errorf("AppendEvent got %q; want %q", got, "x"+tt.want)
			}
		})
	}
}

// Whatever an event holds, its wire form parses back to exactly that event, with
// data line ends as LF.
func TestAppendEventRoundTrip(t *testing.T) {
	t.Parallel()
	datas := map[string]string{
		"empty":           "",
		"plain":           "hello",
		"lf":              "a\nb",
		"cr":              "a\rb",
		"crlf":            "a\r\nb",
		"lfcr":            "a\n\rb",
		"trailing lf":     "a\n",
		"trailing cr":     "a\r",
		"trailing crlf":   "a\r\n",
		"leading newline": "\na",
		"only lf":         "\n",
		"only crlf":       "\r\n",
		"blank lines":     "a\n\n\nb",
		"leading space":   " a\n  b",
		"data: inside":    "data: x\n\ndata: y",
		"field lookalike": "id: 9\nevent: evil\nretry: 1\n: comment",
		"nul":             "a\x00b",
		"colon first":     ":a\n:",
		"unicode":         "😀\u2028\u0085€",
		"bom":             "\uFEFFa",
	}
	ids := []string{"", "1", " 1", "a b:c", "€", "\uFEFF"}
	types := []string{"", "message", "update", " x", "a:b", "€"}
	for name, data := range datas {
		t.Run(name, func(t *testing.T) {
			for i, id := range ids {
				ev := Event{Type: types[i], ID: id, Data: data, Retry: int64(i), HasRetry: i%2 == 0}
				checkRoundTrip(t, ev)
			}
		})
	}
}

// checkRoundTrip asserts that ev, encoded with its id, parses to exactly one event
// equal to it.
func checkRoundTrip(tb testing.TB, ev Event) {
	tb.Helper()
	wire := string(AppendEvent(nil, &ev, true))
	got, err := parseAll(tb, strings.NewReader(wire), len(wire))
	want := ev
	want.Type = ev.TypeOrDefault()
	want.Data = normalizeNewlines(ev.Data)
	if !want.HasRetry {
		want.Retry = 0
	}
	if err != io.EOF || len(got) != 1 || got[0] != want {
		tb.Fatalf("%q parsed to %#v, %v; want [%#v], EOF", wire, got, err, want)
	}
}

func TestAppendComment(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"", ":\n"},
		{"hi", ": hi\n"},
		{"a\nb\r\nc\r", ": a\n: b\n: c\n:\n"},
		{"\ndata: x\n\n", ":\n: data: x\n:\n:\n"},
	}
	for _, tt := range tests {
		got := string(AppendComment(nil, tt.in))
		if got != tt.want {
			t.Errorf("AppendComment(%q) got %q; want %q", tt.in, got, tt.want)
		}
		// A comment dispatches nothing and changes nothing after it.
		evs, err := parseAll(t, strings.NewReader(got+"data: a\n\n"), 0)
		if err != io.EOF || len(evs) != 1 || evs[0] != msg("a", "") {
			t.Errorf("AppendComment(%q) then an event parsed to %#v, %v; want the event", tt.in, evs, err)
		}
	}
}

func TestAppendRetry(t *testing.T) {
	t.Parallel()
	if got, want := string(AppendRetry(nil, 2500)), "retry: 2500\n\n"; got != want {
		t.Errorf("AppendRetry(2500) got %q; want %q", got, want)
	}
	if got := AppendRetry([]byte("x"), -1); string(got) != "x" {
		t.Errorf("AppendRetry(-1) got %q; want nothing appended", got)
	}
	p := NewParser(strings.NewReader(string(AppendRetry(nil, 2500))+"data: a\n\n"), 0)
	ev, err := p.Next()
	if err != nil || ev.Data != "a" || ev.Retry != 2500 || !ev.HasRetry {
		t.Errorf("AppendRetry(2500) then an event parsed to %#v, %v; want the event with retry 2500", ev, err)
	}
}

func TestAppendEventNoAlloc(t *testing.T) {
	ev := Event{Type: "update", ID: "12345", Data: strings.Repeat("x", 100) + "\n" + strings.Repeat("y", 100), Retry: 1000, HasRetry: true}
	buf := make([]byte, 0, 1024)
	allocs := testing.AllocsPerRun(100, func() {
		buf = AppendEvent(buf[:0], &ev, true)
		buf = AppendComment(buf, "")
	})
	if allocs != 0 {
		t.Errorf("allocations got %v; want 0", allocs)
	}
}

// Data of many lines ending in one kind of line end is encoded in linear time: the
// other kind is not searched for once per line.
func TestAppendEventManyLines(t *testing.T) {
	t.Parallel()
	for _, sep := range []string{"\r", "\n", "\r\n"} {
		ev := Event{Data: strings.Repeat("ab"+sep, 1<<18)}
		checkRoundTrip(t, ev)
	}
}
