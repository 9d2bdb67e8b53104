package sse

import (
	"bufio"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"
)

func TestWriter(t *testing.T) {
	t.Parallel()
	var out strings.Builder
	w := NewWriter(&out)
	events := []Event{
		{Data: "a"},                         // "" like a new connection: no id line
		{ID: "1", Data: "b"},                // new id
		{ID: strings.Clone("1"), Data: "c"}, // same id, another string: no id line
		{ID: "2", Type: "x"},                // new id, empty data
		{Data: "d"},                         // reset to ""
		{Data: "e"},                         // still ""
		{ID: "3\n", Data: "f"},              // unsanitized id: never written, not remembered
		{ID: "3", Data: "g\r\nh"},           // new id
	}
	for i := range events {
		if err := w.WriteEvent(&events[i]); err != nil {
			t.Fatal(err)
		}
		if i == 1 {
			if err := w.WriteComment("keepalive"); err != nil {
				t.Fatal(err)
			}
			if err := w.WriteRetry(500); err != nil {
				t.Fatal(err)
			}
		}
	}
	want := "data: a\n\n" +
		"id: 1\ndata: b\n\n" +
		": keepalive\n" +
		"retry: 500\n\n" +
		"data: c\n\n" +
		"id: 2\nevent: x\ndata:\n\n" +
		"id\ndata: d\n\n" +
		"data: e\n\n" +
		"data: f\n\n" +
		"id: 3\ndata: g\ndata: h\n\n"
	if got := out.String(); got != want {
		t.Errorf("wrote %q; want %q", got, want)
	}
	if got := w.LastID(); got != "3" {
		t.Errorf("LastID() got %q; want 3", got)
	}
	// What a client parses has the ids the events had (the unsanitized one
	// aside, which kept the id before it).
	got, err := parseAll(t, strings.NewReader(want), 0)
	wantEvents := []Event{
		msg("a", ""), msg("b", "1"), {Type: DefaultType, ID: "1", Data: "c", Retry: 500, HasRetry: true},
		{Type: "x", ID: "2"}, msg("d", ""), msg("e", ""), msg("f", ""), msg("g\nh", "3"),
	}
	if err != io.EOF || !slices.Equal(got, wantEvents) {
		t.Errorf("parsed %#v, %v; want %#v, EOF", got, err, wantEvents)
	}
}

func TestWriterError(t *testing.T) {
	t.Parallel()
	boom := errors.New("boom")
	w := NewWriter(failWriter{boom})
	if err := w.WriteEvent(&Event{ID: "1", Data: "a"}); err != boom {
		t.Errorf("WriteEvent got %v; want %v", err, boom)
	}
	if got := w.LastID(); got != "" {
		t.Errorf("LastID() after a failed write got %q; want \"\"", got)
	}
	if err := w.WriteComment(""); err != boom {
		t.Errorf("WriteComment got %v; want %v", err, boom)
	}
	if err := w.WriteRetry(1); err != boom {
		t.Errorf("WriteRetry got %v; want %v", err, boom)
	}
}

type failWriter struct{ err error }

func (w failWriter) Write([]byte) (int, error) { return 0, w.err }

func TestWriterNoAlloc(t *testing.T) {
	w := NewWriter(io.Discard)
	evs := []Event{{ID: "10", Data: strings.Repeat("x", 100)}, {ID: "11", Type: "t", Data: "y"}}
	i := 0
	allocs := testing.AllocsPerRun(100, func() {
		if err := w.WriteEvent(&evs[i%2]); err != nil {
			t.Fatal(err)
		}
		i++
	})
	if allocs != 0 {
		t.Errorf("allocations per event got %v; want 0", allocs)
	}
}

// TestWriterReset: a Writer reset onto another destination writes there, as a new
// Writer does: the id it last wrote is forgotten.
func TestWriterReset(t *testing.T) {
	t.Parallel()
	var a, b strings.Builder
	w := NewWriter(&a)
	if err := w.WriteEvent(&Event{Type: DefaultType, Data: "x", ID: "7"}); err != nil {
		t.Fatal(err)
	}
	w.Reset(&b)
	if err := w.WriteEvent(&Event{Type: DefaultType, Data: "y", ID: "7"}); err != nil {
		t.Fatal(err)
	}
	if got, want := b.String(), "id: 7\ndata: y\n\n"; got != want || w.LastID() != "7" {
		t.Errorf("after Reset wrote %q (last id %q); want %q", got, w.LastID(), want)
	}
	if a.String() != "id: 7\ndata: x\n\n" {
		t.Errorf("first destination got %q", a.String())
	}
}

// TestWriterIntoLentBuffer: over a destination that lends its buffer (bufio.Writer),
// the Writer writes the same bytes as over any other, encodes each block straight
// into that buffer, keeps none of its own, and allocates nothing per event.
func TestWriterIntoLentBuffer(t *testing.T) {
	var plain, lent strings.Builder
	bw := bufio.NewWriterSize(&lent, 64) // small: some blocks do not fit and grow
	a, b := NewWriter(&plain), NewWriter(bw)
	steps := []func(w *Writer) error{
		func(w *Writer) error { return w.WriteRetry(1500) },
		func(w *Writer) error { return w.WriteEvent(&Event{Type: "t", ID: "1", Data: "short"}) },
		func(w *Writer) error { return w.WriteComment("") },
		func(w *Writer) error { return w.WriteEvent(&Event{ID: "2", Data: strings.Repeat("long\n", 40)}) },
		func(w *Writer) error { return w.WriteEvent(&Event{ID: "2", Data: "same id"}) },
	}
	for i, step := range steps {
		if err := step(a); err != nil {
			t.Fatal(err)
		}
		if err := step(b); err != nil {
			t.Fatal(err)
		}
		if b.buf != nil {
			t.Fatalf("step %d: the Writer kept a buffer of %d bytes", i, cap(b.buf))
		}
	}
	if err := bw.Flush(); err != nil {
		t.Fatal(err)
	}
	if lent.String() != plain.String() {
		t.Errorf("through a lent buffer:\n%q\nwant\n%q", lent.String(), plain.String())
	}
	big := bufio.NewWriterSize(io.Discard, 4096)
	w := NewWriter(big)
	ev := Event{ID: "3", Data: strings.Repeat("x", 100)}
	if allocs := testing.AllocsPerRun(100, func() { _ = w.WriteEvent(&ev) }); allocs != 0 {
		t.Errorf("allocations per event got %v; want 0", allocs)
	}
}
