package sse

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"testing/iotest"
)

// parseAll parses r to its end and returns the events and the error that ended it.
func parseAll(tb testing.TB, r io.Reader, maxSize int) ([]Event, error) {
	tb.Helper()
	p := NewParser(r, maxSize)
	var evs []Event
	blocked := 0
	for {
		ev, err := p.Next()
		if err == ErrWouldBlock {
			// wouldBlockReader has more: a parser that kept the error would
			// return it for ever.
			if blocked++; blocked > 1<<20 {
				tb.Fatal("ErrWouldBlock stuck")
			}
			continue
		}
		if err != nil {
			return evs, err
		}
		if len(ev.Data) > p.max {
			tb.Fatalf("event data of %d bytes passed the limit of %d", len(ev.Data), p.max)
		}
		evs = append(evs, ev)
	}
}

// readers returns input fed in every way the parser must not notice: whole, one
// byte at a time, with the error on the last read, and split in two at every offset.
func readers(input string) map[string]func() io.Reader {
	rs := map[string]func() io.Reader{
		"whole":    func() io.Reader { return strings.NewReader(input) },
		"one byte": func() io.Reader { return iotest.OneByteReader(strings.NewReader(input)) },
		"data err": func() io.Reader { return iotest.DataErrReader(strings.NewReader(input)) },
		// Fed by an event loop: each byte comes after "no input yet".
		"would block": func() io.Reader { return &wouldBlockReader{r: iotest.OneByteReader(strings.NewReader(input))} },
	}
	for i := 1; i < len(input); i++ {
		rs[fmt.Sprintf("split at %d", i)] = func() io.Reader { return splitReader(input, i) }
	}
	return rs
}

// splitReader reads s in parts cut at the given offsets, never across one.
func splitReader(s string, at ...int) io.Reader {
	var rs []io.Reader
	last := 0
	for _, i := range at {
		i = min(max(i, last), len(s))
		rs = append(rs, strings.NewReader(s[last:i]))
		last = i
	}
	return io.MultiReader(append(rs, strings.NewReader(s[last:]))...)
}

// wouldBlockReader answers every other read with ErrWouldBlock, as the reader of a
// parser fed by an event loop does when the bytes it was given are used up.
type wouldBlockReader struct {
	r       io.Reader
	blocked bool
}

func (w *wouldBlockReader) Read(p []byte) (int, error) {
	w.blocked = !w.blocked
	if w.blocked {
		return 0, ErrWouldBlock
	}
	return w.r.Read(p)
}

// checkParse asserts that input, fed in every way readers knows, parses to want and
// then ends with wantErr (io.EOF when nil).
func checkParse(t *testing.T, input string, maxSize int, want []Event, wantErr error) {
	t.Helper()
	if wantErr == nil {
		wantErr = io.EOF
	}
	for how, r := range readers(input) {
		got, err := parseAll(t, r(), maxSize)
		if !errors.Is(err, wantErr) {
			t.Errorf("%s: error got %v; want %v", how, err, wantErr)
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s: got %#v; want %#v", how, got, want)
		}
	}
}

// normalizeNewlines turns CRLF and CR into LF, as a parser does with data lines.
func normalizeNewlines(s string) string {
	return strings.NewReplacer("\r\n", "\n", "\r", "\n").Replace(s)
}

// msg returns an event of type "message".
func msg(data, id string) Event { return Event{Type: DefaultType, Data: data, ID: id} }
