package sse

import (
	"errors"
	"io"
	"slices"
	"strings"
	"testing"
	"testing/iotest"
	"unicode/utf8"
)

// FuzzParse checks that the parser never panics, keeps to its size limit, and
// dispatches the same events however the input is cut into reads.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"data: hello\n\n",
		"\xEF\xBB\xBFid: 1\r\nevent: x\r\ndata: a\r\ndata\r\n\r\n",
		"data: a\rdata: b\r\rretry: 10\r\r",
		": comment\nfoo: bar\ndata:  x\n\nid: \x00\n\n",
		"data: \xE2\x82\xFF\xF0\x9F\x98\n\n",
		"retry: 99999999999999999999999\ndata:\n\n",
		"data: " + strings.Repeat("x", 100) + "\n\n",
		"data: a\n\ndata: b",
	} {
		f.Add([]byte(s), uint16(len(s)/2), uint16(len(s)-1))
	}
	f.Fuzz(func(t *testing.T, input []byte, a, b uint16) {
		const maxSize = 64
		s := string(input)
		i, j := int(a)%(len(s)+1), int(b)%(len(s)+1)
		whole, wholeID, wholeErr := parseRecord(t, strings.NewReader(s), maxSize, false)
		for how, r := range map[string]io.Reader{
			"split":       splitReader(s, min(i, j), max(i, j)),
			"one byte":    iotest.OneByteReader(strings.NewReader(s)),
			"would block": &wouldBlockReader{r: splitReader(s, min(i, j), max(i, j))},
			"reuse data":  &wouldBlockReader{r: splitReader(s, min(i, j), max(i, j))},
		} {
			got, id, err := parseRecord(t, r, maxSize, how == "reuse data")
			if !slices.Equal(got, whole) || errors.Is(err, ErrTooLong) != errors.Is(wholeErr, ErrTooLong) || id != wholeID {
				t.Fatalf("%s: got %#v, %v, last id %q; want %#v, %v, last id %q", how, got, err, id, whole, wholeErr, wholeID)
			}
		}
	})
}

// parseRecord parses r to its end and checks the limits the parser keeps to. With
// reuse, the parser reuses its data buffer (ReuseData), and each event's Data is
// copied when it comes.
func parseRecord(tb testing.TB, r io.Reader, maxSize int, reuse bool) ([]Event, string, error) {
	tb.Helper()
	p := NewParser(r, maxSize)
	if reuse {
		p.ReuseData()
	}
	var evs []Event
	blocked := 0
	for {
		ev, err := p.Next()
		if len(p.buf) > max(maxSize+1, minBufSize) {
			tb.Fatalf("buffer of %d bytes; limit %d", len(p.buf), maxSize)
		}
		if err == ErrWouldBlock {
			// wouldBlockReader has more: a parser that kept the error would
			// return it for ever.
			if blocked++; blocked > 1<<20 {
				tb.Fatal("ErrWouldBlock stuck")
			}
			continue
		}
		if err != nil {
			if err != io.EOF && !errors.Is(err, ErrTooLong) {
				tb.Fatalf("unexpected error %v", err)
			}
			return evs, p.LastEventID(), err
		}
		if len(ev.Data) > maxSize || len(ev.Type) > 3*maxSize || len(ev.ID) > 3*maxSize {
			tb.Fatalf("event %#v over the limit of %d", ev, maxSize)
		}
		if !utf8.ValidString(ev.Type) || !utf8.ValidString(ev.ID) || !utf8.ValidString(ev.Data) {
			tb.Fatalf("event %#v is not valid UTF-8", ev) // DropLineBreaks relies on it
		}
		if reuse {
			ev.Data = strings.Clone(ev.Data)
		}
		evs = append(evs, ev)
	}
}

// FuzzRoundTrip checks that any event, once sanitized, encodes to bytes that parse
// to exactly that event.
func FuzzRoundTrip(f *testing.F) {
	f.Add("update", "1", "hello", int64(3000), true)
	f.Add("", "", "", int64(0), false)
	f.Add("message", " 1", "a\r\nb\rc\n", int64(-1), true)
	f.Add("x\ndata: evil", "1\x00", "data: x\n\nid: 2", int64(5), false)
	f.Add("\xFF", "\xE2\x82", "\xF0\x9F\x98\r", int64(1), true)
	f.Add(" ", ":", "\n\n\n", int64(9223372036854775807), true)
	f.Fuzz(func(t *testing.T, typ, id, data string, retry int64, hasRetry bool) {
		ev := Event{Type: typ, ID: id, Data: data, Retry: retry, HasRetry: hasRetry}
		dropped := Sanitize(&ev)
		if (dropped&DroppedType != 0) != breaksLine(typ) || (dropped&DroppedID != 0) != breaksLine(id) {
			t.Fatalf("Sanitize(%q, %q) dropped %v", typ, id, dropped)
		}
		if retry < 0 {
			ev.HasRetry = false // AppendEvent leaves it out
		}
		checkRoundTrip(t, ev)
	})
}

// FuzzDecodeUTF8 checks the decoder against the Encoding standard's steps.
func FuzzDecodeUTF8(f *testing.F) {
	for _, s := range []string{"", "a€😀", "\xE2\x82a", "\xED\xA0\x80", "\xF0\x9F\xE2\x82\xAC", "\xF4\x90\x80\x80"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := DecodeUTF8(s), referenceDecode(s); got != want {
			t.Fatalf("DecodeUTF8(%q) got %q; want %q", s, got, want)
		}
	})
}
