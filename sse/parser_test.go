package sse

import (
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"
	"time"
)

// One case per rule of "Parsing an event stream" and "Interpreting an event stream"
// (https://html.spec.whatwg.org/multipage/server-sent-events.html#parsing-an-event-stream).
func TestParser(t *testing.T) {
	t.Parallel()
	retry := func(ev Event, ms int64) Event { ev.Retry, ev.HasRetry = ms, true; return ev }
	typed := func(typ, data string) Event { return Event{Type: typ, Data: data} }
	tests := []struct {
		name    string
		input   string
		max     int
		want    []Event
		wantErr error // io.EOF when nil
	}{
		{name: "single event", input: "data: hello\n\n", want: []Event{msg("hello", "")}},
		{name: "empty stream", input: ""},
		{name: "bom stripped once", input: "\xEF\xBB\xBFdata: a\n\n", want: []Event{msg("a", "")}},
		{name: "second bom is content", input: "\xEF\xBB\xBF\xEF\xBB\xBFdata: a\n\ndata: b\n\n", want: []Event{msg("b", "")}},
		{name: "bom only at stream start", input: "data: a\n\n\xEF\xBB\xBFdata: b\n\n", want: []Event{msg("a", "")}},
		{name: "bom in value is content", input: "\xEF\xBB\xBFdata:\xEF\xBB\xBFa\n\n", want: []Event{msg("\uFEFFa", "")}},
		{name: "bom alone", input: "\xEF\xBB\xBF"},
		{name: "bom prefix is content", input: "\xEF\xBB\n\ndata: a\n\n", want: []Event{msg("a", "")}},
		{name: "lf line ends", input: "data: a\ndata: b\n\n", want: []Event{msg("a\nb", "")}},
		{name: "cr line ends", input: "data: a\rdata: b\r\r", want: []Event{msg("a\nb", "")}},
		{name: "crlf line ends", input: "data: a\r\ndata: b\r\n\r\n", want: []Event{msg("a\nb", "")}},
		{name: "mixed line ends", input: "data: a\ndata: b\r\ndata: c\r\r\ndata: d\n\r", want: []Event{msg("a\nb\nc", ""), msg("d", "")}},
		{name: "lf cr is two line ends", input: "data: a\n\rdata: b\n\n", want: []Event{msg("a", ""), msg("b", "")}},
		{name: "cr cr is two line ends", input: "data: a\r\rdata: b\r\r", want: []Event{msg("a", ""), msg("b", "")}},
		{name: "crlf cr is two line ends", input: "data: a\r\n\rdata: b\n\n", want: []Event{msg("a", ""), msg("b", "")}},
		{name: "empty data not dispatched", input: "\n\n\nevent: x\nid\nretry: 5\n\n"},
		{name: "type reset by block without data", input: "event: x\n\ndata: a\n\n", want: []Event{msg("a", "")}},
		{name: "data: with no value dispatches empty string", input: "data:\n\n", want: []Event{msg("", "")}},
		{name: "data: space only dispatches empty string", input: "data: \n\n", want: []Event{msg("", "")}},
		{name: "data lines joined with lf", input: "data: a\ndata: b\ndata: c\n\n", want: []Event{msg("a\nb\nc", "")}},
		{name: "one trailing lf removed", input: "data: a\ndata:\ndata:\n\n", want: []Event{msg("a\n\n", "")}},
		{name: "unterminated event at eof discarded", input: "data: a\n\ndata: b\n", want: []Event{msg("a", "")}},
		{name: "final line without line end ignored", input: "data: a\n\ndata: b", want: []Event{msg("a", "")}},
		{name: "final cr ends the line", input: "data: a\r\r", want: []Event{msg("a", "")}},
		{name: "id committed by block without data", input: "id: 7\n\ndata: a\n\n", want: []Event{msg("a", "7")}},
		{name: "id applies to its own block", input: "data: a\nid: 1\n\n", want: []Event{msg("a", "1")}},
		{name: "id persists across events", input: "id: 1\ndata: a\n\ndata: b\n\n", want: []Event{msg("a", "1"), msg("b", "1")}},
		{name: "id in discarded block still set", input: "id: 1\nevent: x\n\ndata: a\n\n", want: []Event{msg("a", "1")}},
		{name: "empty id resets", input: "id: 1\ndata: a\n\nid\ndata: b\n\nid: 2\n\nid:\ndata: c\n\n", want: []Event{msg("a", "1"), msg("b", ""), msg("c", "")}},
		{name: "id with nul ignored", input: "id: 1\ndata: a\n\nid: 2\x003\ndata: b\n\n", want: []Event{msg("a", "1"), msg("b", "1")}},
		{name: "id last wins", input: "id: 1\nid: 2\ndata: a\n\n", want: []Event{msg("a", "2")}},
		{name: "id keeps spaces after the first", input: "id:  1 \ndata: a\n\n", want: []Event{msg("a", " 1 ")}},
		{name: "leading space removed once", input: "data:  a\n\n", want: []Event{msg(" a", "")}},
		{name: "no leading space", input: "data:a\n\n", want: []Event{msg("a", "")}},
		{name: "leading tab kept", input: "data:\ta\n\n", want: []Event{msg("\ta", "")}},
		{name: "trailing space kept", input: "data: a \n\n", want: []Event{msg("a ", "")}},
		{name: "colon in value kept", input: "data: a: b\ndata::c\n\n", want: []Event{msg("a: b\n:c", "")}},
		{name: "field without colon", input: "data\ndata\n\n", want: []Event{msg("\n", "")}},
		{name: "event without colon resets type", input: "event: x\nevent\ndata: a\n\n", want: []Event{msg("a", "")}},
		{name: "space before colon is part of the name", input: "data : a\n\n"},
		{name: "comment", input: ": hello\ndata: a\n: data: b\n:\n\n", want: []Event{msg("a", "")}},
		{name: "comment alone dispatches nothing", input: ":\n\n: x\n\n"},
		{name: "unknown field", input: "foo: bar\ndata: a\nfoo\n\n", want: []Event{msg("a", "")}},
		{name: "field names case-sensitive", input: "Data: a\nDATA: b\nEvent: x\nID: 1\n\n"},
		{name: "event type", input: "event: update\ndata: a\n\ndata: b\n\n", want: []Event{typed("update", "a"), msg("b", "")}},
		{name: "event type last wins", input: "event: a\nevent: b\ndata: x\n\n", want: []Event{typed("b", "x")}},
		{name: "event type message", input: "event: message\ndata: x\n\n", want: []Event{msg("x", "")}},
		{name: "event type empty is message", input: "event:\ndata: x\n\n", want: []Event{msg("x", "")}},
		{name: "event type with space", input: "event:  a b\ndata: x\n\n", want: []Event{typed(" a b", "x")}},
		{name: "retry", input: "retry: 3000\ndata: a\n\ndata: b\n\n", want: []Event{retry(msg("a", ""), 3000), msg("b", "")}},
		{name: "retry carried from block without data", input: "retry: 10\n\ndata: a\n\n", want: []Event{retry(msg("a", ""), 10)}},
		{name: "retry last wins", input: "retry: 1\nretry: 2\ndata: a\n\n", want: []Event{retry(msg("a", ""), 2)}},
		{name: "retry zero", input: "retry: 0\ndata: a\n\n", want: []Event{retry(msg("a", ""), 0)}},
		{name: "retry leading zeros", input: "retry: 0007\ndata: a\n\n", want: []Event{retry(msg("a", ""), 7)}},
		{name: "retry no space", input: "retry:5\ndata: a\n\n", want: []Event{retry(msg("a", ""), 5)}},
		{name: "retry many leading zeros", input: "retry: " + strings.Repeat("0", 40) + "1\ndata: a\n\n", want: []Event{retry(msg("a", ""), 1)}},
		{name: "retry overflow saturates", input: "retry: 9223372036854775808\ndata: a\n\nretry: 99999999999999999999999\ndata: b\n\n", want: []Event{retry(msg("a", ""), math.MaxInt64), retry(msg("b", ""), math.MaxInt64)}},
		{name: "retry max int64", input: "retry: 9223372036854775807\ndata: a\n\n", want: []Event{retry(msg("a", ""), math.MaxInt64)}},
		{name: "retry non-digits ignored", input: "retry: +5\nretry:  5\nretry: 5ms\nretry: -1\nretry: 1.5\nretry: 5 \nretry: 0x10\nretry: \xD9\xA5\ndata: a\n\n", want: []Event{msg("a", "")}},
		{name: "retry empty ignored", input: "retry\nretry:\nretry: \ndata: a\n\n", want: []Event{msg("a", "")}},
		{name: "invalid retry keeps earlier one", input: "retry: 5\nretry: x\ndata: a\n\n", want: []Event{retry(msg("a", ""), 5)}},
		{name: "nul in data kept", input: "data: a\x00b\n\n", want: []Event{msg("a\x00b", "")}},
		{name: "valid utf8 kept", input: "event: ü\nid: €\ndata: 😀 日本\n\n", want: []Event{{Type: "ü", ID: "€", Data: "😀 日本"}}},
		{name: "invalid utf8 maximal subpart", input: "data: \xE2\x82x\xFF\xFE\xF0\x9F\x98\n\n", want: []Event{msg("\uFFFDx\uFFFD\uFFFD\uFFFD", "")}},
		{name: "invalid utf8 surrogate", input: "data: \xED\xA0\x80\n\n", want: []Event{msg("\uFFFD\uFFFD\uFFFD", "")}},
		{name: "invalid utf8 overlong", input: "data: \xC0\xAF\xE0\x80\xAF\n\n", want: []Event{msg("\uFFFD\uFFFD\uFFFD\uFFFD\uFFFD", "")}},
		{name: "invalid utf8 before line end", input: "data: a\xE2\x82\ndata: \xF0\x9F\r\n\n", want: []Event{msg("a\uFFFD\n\uFFFD", "")}},
		{name: "invalid utf8 in type and id", input: "event: \xFFx\nid: \xE2\x82\ndata: a\n\n", want: []Event{{Type: "\uFFFDx", ID: "\uFFFD", Data: "a"}}},
		{name: "invalid utf8 before colon", input: "data\xFF: a\n\ndata:\xE2\x82: b\n\n", want: []Event{msg("\uFFFD: b", "")}},
		{name: "line at size limit", input: "data: 12\n\n", max: 8, want: []Event{msg("12", "")}},
		{name: "line over size limit", input: "data: a\n\ndata: 123\n\n", max: 8, want: []Event{msg("a", "")}, wantErr: ErrTooLong},
		{name: "unterminated line over size limit", input: "data: a\n\ndata: 123", max: 8, want: []Event{msg("a", "")}, wantErr: ErrTooLong},
		{name: "comment over size limit", input: ": 12345678\n\n", max: 8, wantErr: ErrTooLong},
		{name: "data at size limit", input: "data:12345\ndata:6789\n\n", max: 10, want: []Event{msg("12345\n6789", "")}},
		{name: "data over size limit", input: "data:12345\ndata:67890\n\n", max: 10, wantErr: ErrTooLong},
		{name: "data limit counts the event not the stream", input: strings.Repeat("data:12345\n\n", 5), max: 10, want: []Event{msg("12345", ""), msg("12345", ""), msg("12345", ""), msg("12345", ""), msg("12345", "")}},
		{name: "crlf not counted in line length", input: "data: 12\r\n\r\n", max: 8, want: []Event{msg("12", "")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			checkParse(t, tt.input, tt.max, tt.want, tt.wantErr)
		})
	}
}

// The classic bug (go-sse's "Separate CRLF" test): a CR ending one read and the LF
// starting the next are one line end, and the line ending in CR must be processed
// without waiting for the next read.
func TestParserCRLFSplitAcrossReads(t *testing.T) {
	t.Parallel()
	pr, pw := io.Pipe()
	defer pr.Close()
	p := NewParser(pr, 0)
	// write writes each part in its own read, in order, while the test reads.
	write := func(parts ...string) {
		go func() {
			for _, s := range parts {
				if _, err := pw.Write([]byte(s)); err != nil {
					return
				}
			}
		}()
	}
	next := func(want Event) {
		t.Helper()
		type result struct {
			ev  Event
			err error
		}
		done := make(chan result, 1)
		go func() { ev, err := p.Next(); done <- result{ev, err} }()
		select {
		case r := <-done:
			if r.err != nil || r.ev != want {
				t.Fatalf("Next() got %#v, %v; want %#v, nil", r.ev, r.err, want)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("Next() waited for input after a complete event")
		}
	}
	// The blank line ends in CR and nothing follows yet: dispatch now.
	write("data: a\r\ndata: b\r\n\r")
	next(msg("a\nb", ""))
	if p.Buffered() != 0 {
		t.Errorf("Buffered() got %d; want 0", p.Buffered())
	}
	// The LF after that CR, and after "data: c\r", are not blank lines.
	write("\ndata: c\r", "\ndata: d\r\n\r")
	next(msg("c\nd", ""))
	pw.Close()
	if _, err := p.Next(); err != io.EOF {
		t.Errorf("Next() at end got %v; want io.EOF", err)
	}
}

func TestParserDispatchesWithoutReading(t *testing.T) {
	t.Parallel()
	input := "data: a\n\ndata: b\n\n"
	// The reader fails the test if it is read after the first read returned
	// everything.
	r := &onceReader{t: t, data: input}
	p := NewParser(r, 0)
	for _, want := range []Event{msg("a", ""), msg("b", "")} {
		if ev, err := p.Next(); err != nil || ev != want {
			t.Fatalf("Next() got %#v, %v; want %#v, nil", ev, err, want)
		}
		if want.Data == "a" && p.Buffered() != len("data: b\n\n") {
			t.Errorf("Buffered() got %d; want %d", p.Buffered(), len("data: b\n\n"))
		}
	}
}

type onceReader struct {
	t    *testing.T
	data string
	read bool
}

func (r *onceReader) Read(b []byte) (int, error) {
	if r.read {
		r.t.Fatal("read again though a complete event was buffered")
	}
	r.read = true
	return copy(b, r.data), nil
}

func TestParserLastEventID(t *testing.T) {
	t.Parallel()
	p := NewParser(strings.NewReader("id: 1\ndata: a\n\nid: 2\n\nid: 3\ndata: b\n"), 0)
	if got := p.LastEventID(); got != "" {
		t.Errorf("LastEventID() at start got %q; want \"\"", got)
	}
	if _, err := p.Next(); err != nil {
		t.Fatal(err)
	}
	if got := p.LastEventID(); got != "1" {
		t.Errorf("LastEventID() after first event got %q; want 1", got)
	}
	if _, err := p.Next(); err != io.EOF {
		t.Fatalf("Next() got %v; want io.EOF", err)
	}
	// "id: 2" was committed by its blank line, "id: 3" never was.
	if got := p.LastEventID(); got != "2" {
		t.Errorf("LastEventID() at end got %q; want 2", got)
	}
}

func TestParserSetLastEventID(t *testing.T) {
	t.Parallel()
	p := NewParser(strings.NewReader("data: a\n\nid\ndata: b\n\n"), 0)
	p.SetLastEventID("41")
	if got := p.LastEventID(); got != "41" {
		t.Errorf("LastEventID() got %q; want 41", got)
	}
	for _, want := range []Event{msg("a", "41"), msg("b", "")} {
		if ev, err := p.Next(); err != nil || ev != want {
			t.Fatalf("Next() got %#v, %v; want %#v, nil", ev, err, want)
		}
	}
}

func TestParserRetry(t *testing.T) {
	t.Parallel()
	p := NewParser(strings.NewReader("retry: 1500\n\nretry: x\n\n"), 0)
	if _, ok := p.Retry(); ok {
		t.Error("Retry() at start got ok; want not ok")
	}
	if _, err := p.Next(); err != io.EOF {
		t.Fatalf("Next() got %v; want io.EOF", err)
	}
	if ms, ok := p.Retry(); ms != 1500 || !ok {
		t.Errorf("Retry() got %d, %v; want 1500, true", ms, ok)
	}
}

func TestParserReadError(t *testing.T) {
	t.Parallel()
	boom := errors.New("boom")
	r := io.MultiReader(strings.NewReader("data: a\n\ndata: b\n"), iotest.ErrReader(boom))
	evs, err := parseAll(t, r, 0)
	if err != boom {
		t.Errorf("error got %v; want %v", err, boom)
	}
	if want := []Event{msg("a", "")}; !slices.Equal(evs, want) {
		t.Errorf("got %#v; want %#v", evs, want)
	}
}

func TestParserTooLongIsSticky(t *testing.T) {
	t.Parallel()
	p := NewParser(strings.NewReader("data: 123456789\n\ndata: a\n\n"), 8)
	for range 2 {
		if _, err := p.Next(); !errors.Is(err, ErrTooLong) {
			t.Fatalf("Next() got %v; want ErrTooLong", err)
		}
	}
}

func TestParserNoProgress(t *testing.T) {
	t.Parallel()
	p := NewParser(emptyReader{}, 0)
	if _, err := p.Next(); err != io.ErrNoProgress {
		t.Errorf("Next() got %v; want io.ErrNoProgress", err)
	}
}

type emptyReader struct{}

func (emptyReader) Read([]byte) (int, error) { return 0, nil }

// A line far over the limit fails once the limit is passed, without reading or
// buffering the rest of it.
func TestParserLongLineMemory(t *testing.T) {
	t.Parallel()
	const maxSize = 100 << 10
	for _, prefix := range []string{"data: ", ":", "id: ", ""} {
		r := &countingReader{prefix: prefix, fill: 'a', limit: 100 << 20}
		p := NewParser(r, maxSize)
		if _, err := p.Next(); !errors.Is(err, ErrTooLong) {
			t.Fatalf("%q line: got %v; want ErrTooLong", prefix, err)
		}
		if r.n > maxSize+1 {
			t.Errorf("%q line: read %d bytes; want at most %d", prefix, r.n, maxSize+1)
		}
		if len(p.buf) > maxSize+1 {
			t.Errorf("%q line: buffer got %d bytes; want at most %d", prefix, len(p.buf), maxSize+1)
		}
	}
}

// countingReader reads prefix then fill bytes up to limit bytes in all.
type countingReader struct {
	prefix string
	fill   byte
	n      int
	limit  int
}

func (r *countingReader) Read(b []byte) (int, error) {
	if r.n >= r.limit {
		return 0, io.EOF
	}
	b = b[:min(len(b), r.limit-r.n)]
	n := 0
	if r.n < len(r.prefix) {
		n = copy(b, r.prefix[r.n:])
	}
	for i := n; i < len(b); i++ {
		b[i] = r.fill
	}
	r.n += len(b)
	return len(b), nil
}

func TestParserBufferShrinks(t *testing.T) {
	t.Parallel()
	big := strings.Repeat("x", 512<<10)
	p := NewParser(strings.NewReader("data: "+big+"\n\ndata: a\n\n"), 0)
	for _, want := range []string{big, "a"} {
		if ev, err := p.Next(); err != nil || ev.Data != want {
			t.Fatalf("Next() got %d bytes, %v; want %d bytes", len(ev.Data), err, len(want))
		}
	}
	// Waiting for the next event, the parser holds no large buffer.
	if _, err := p.Next(); err != io.EOF {
		t.Fatalf("Next() got %v; want io.EOF", err)
	}
	if len(p.buf) > keepBuf || cap(p.data) > keepBuf {
		t.Errorf("after a large event, buffers got %d and %d bytes; want at most %d", len(p.buf), cap(p.data), keepBuf)
	}
}

// TestParserReset: a reset parser reads its new stream from the start, with the
// standard's initial state (no last event id, no retry, a BOM stripped again).
func TestParserReset(t *testing.T) {
	t.Parallel()
	p := NewParser(strings.NewReader("retry: 5\nid: 1\ndata: a\n\ndata: unfinished"), 10)
	if ev, err := p.Next(); err != nil || ev.Data != "a" {
		t.Fatalf("first stream: %+v, %v", ev, err)
	}
	p.Reset(strings.NewReader("\ufeffdata: b\n\n"), 0)
	ev, err := p.Next()
	if err != nil || ev != (Event{Type: DefaultType, Data: "b"}) {
		t.Fatalf("after Reset: %+v, %v; want only data b", ev, err)
	}
	if _, ok := p.Retry(); ok || p.LastEventID() != "" || p.max != DefaultMaxSize {
		t.Errorf("after Reset: retry set %v, last id %q, limit %d", ok, p.LastEventID(), p.max)
	}
}

// sizeRecorder records the size of every read buffer it is given.
type sizeRecorder struct {
	r     io.Reader
	sizes []int
}

func (s *sizeRecorder) Read(p []byte) (int, error) {
	s.sizes = append(s.sizes, len(p))
	return s.r.Read(p)
}

// TestParserSetReadSize: after SetReadSize the parser asks for reads of that size,
// bounded by the size limit, also in the middle of a line, and the events are the
// same.
func TestParserSetReadSize(t *testing.T) {
	t.Parallel()
	var input strings.Builder
	for i := range 2000 {
		fmt.Fprintf(&input, "id: %d\ndata: %s\n\n", i, strings.Repeat("x", i%50))
	}
	for _, c := range []struct{ set, limit, want int }{{64 << 10, 0, 64 << 10}, {1 << 20, 10000, 10001}, {100, 0, minBufSize}} {
		rec := &sizeRecorder{r: splitReader(input.String(), 5000, 30001)}
		p := NewParser(rec, c.limit)
		if _, err := p.Next(); err != nil { // a first read of 4 KiB: the setting comes mid-stream
			t.Fatal(err)
		}
		p.SetReadSize(c.set)
		n := 1
		for ; ; n++ {
			ev, err := p.Next()
			if err != nil {
				break
			}
			if want := strconv.Itoa(n); ev.ID != want || len(ev.Data) != n%50 {
				t.Fatalf("SetReadSize(%d): event %d has id %q and %d bytes of data", c.set, n, ev.ID, len(ev.Data))
			}
		}
		if n != 2000 {
			t.Fatalf("SetReadSize(%d): %d events; want 2000", c.set, n)
		}
		if got := slices.Max(rec.sizes[1:]); got != c.want {
			t.Errorf("SetReadSize(%d) with limit %d: reads of up to %d bytes; want %d", c.set, c.limit, got, c.want)
		}
	}
}

// TestParserLendsItsScratchWhileWaiting: a parser fed by an event loop holds no
// buffers while it waits between blocks with nothing pending, and one that waits in
// the middle of a line or of a block keeps what it has read.
func TestParserLendsItsScratchWhileWaiting(t *testing.T) {
	t.Parallel()
	stream := "data: a\n\nid: 7\ndata: b\n" + "\ndata: c\n\n" + ": ping\n" + "event: x\ndata: d"
	r := &wouldBlockReader{r: splitReader(stream, 10, 14, 24, 35, 43)}
	p := NewParser(r, 0)
	var got []string
	lent, kept := 0, 0
	for {
		ev, err := p.Next()
		if err == ErrWouldBlock {
			pending := p.end - p.start
			switch idle := pending == 0 && p.blockEmpty(); {
			case idle && (p.sc != nil || p.buf != nil || p.data != nil || p.typ != nil || p.idBuf != nil):
				t.Fatalf("waiting between blocks, the parser holds its buffers (scratch %v, %d read bytes, data %d)",
					p.sc != nil, len(p.buf), cap(p.data))
			case idle:
				lent++
			case pending > 0 && p.buf == nil:
				t.Fatalf("waiting with %d bytes pending, the parser lost its buffer", pending)
			default:
				kept++
			}
			continue
		}
		if err != nil {
			break
		}
		got = append(got, ev.ID+":"+ev.Data)
	}
	if want := []string{":a", "7:b", "7:c"}; !slices.Equal(got, want) {
		t.Errorf("events %q; want %q (the unfinished block is discarded)", got, want)
	}
	if lent == 0 || kept == 0 {
		t.Errorf("waited %d times between blocks and %d times in one; want both", lent, kept)
	}
}

// In the steady state an event costs one allocation, its data and new id together;
// a repeated event type costs none. With ReuseData, only a new id is allocated.
func TestParserAllocs(t *testing.T) {
	events := "id: 41\nevent: update\ndata: " + strings.Repeat("x", 100) + "\n\n" +
		"id: 42\nevent: other\n: comment\ndata: a\ndata: b\nretry: 10\n\n"
	for _, c := range []struct {
		events    string
		reuseData bool
		want      float64
	}{
		{events, false, 1},
		{"id: 1\ndata: hello\n\n", false, 1}, // the same id again: only the data
		{events, true, 1},
		{"id: 12\ndata: hello\n\n", true, 1},
		{"event: update\ndata: hello\n\n", true, 0},
	} {
		p := NewParser(&loopReader{data: c.events}, 0)
		if c.reuseData {
			p.ReuseData()
		}
		next := func() {
			if _, err := p.Next(); err != nil {
				t.Fatal(err)
			}
		}
		for range 10 { // warm up the buffers
			next()
		}
		if allocs := testing.AllocsPerRun(1000, next); allocs != c.want {
			t.Errorf("ReuseData %v: allocations per event of %q got %v; want %v", c.reuseData, c.events, allocs, c.want)
		}
	}
}

// loopReader repeats data forever, in reads that don't align with it.
type loopReader struct {
	data string
	off  int
}

func (r *loopReader) Read(b []byte) (int, error) {
	n := 0
	for n < len(b) {
		c := copy(b[n:], r.data[r.off:])
		n += c
		r.off = (r.off + c) % len(r.data)
	}
	return n, nil
}

// Lines ending in CR alone, in a buffer grown large by a long line, are parsed in
// linear time: the parser does not search the rest of the buffer for a LF once per
// line.
func TestParserManyCRLines(t *testing.T) {
	t.Parallel()
	const n = 1 << 17
	input := "data: " + strings.Repeat("x", 1<<20-16) + "\r\r" + strings.Repeat("data: ab\r\r", n)
	p := NewParser(strings.NewReader(input), 0)
	count := 0
	for {
		_, err := p.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		count++
	}
	if count != n+1 {
		t.Errorf("events got %d; want %d", count, n+1)
	}
}
