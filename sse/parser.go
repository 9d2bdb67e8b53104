package sse

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"sync"
	"unsafe"
)

// ErrTooLong reports a line or an event data buffer over the parser's size limit.
var ErrTooLong = errors.New("sse: event exceeds size limit")

// ErrWouldBlock is what a Parser's reader returns when it has no input now but the
// stream goes on: a reader fed by an event loop rather than one that waits. Next
// returns it as is, with every complete event before it returned already, and is
// called again once there is input; unlike the reader's other errors it does not
// end the stream.
var ErrWouldBlock = errors.New("sse: no input yet")

const (
	// DefaultMaxSize is the size limit NewParser uses when given none.
	DefaultMaxSize = 1 << 20

	minBufSize = 4096     // first read buffer; it grows only for a longer line
	keepBuf    = 64 << 10 // a larger buffer is released once empty
	// jointMax is the largest Data that shares one allocation with a new ID.
	// The ID keeps the whole allocation alive, so the bound keeps that cheap.
	jointMax = 4096
)

var bom = []byte("\xEF\xBB\xBF")

// Parser reads an event stream and dispatches its events exactly as the WHATWG HTML
// standard's EventSource does: "Parsing an event stream" and "Interpreting an event
// stream" (https://html.spec.whatwg.org/multipage/server-sent-events.html#parsing-an-event-stream).
//
// The parser buffers at most about one line and one event's data, so memory stays
// proportional to its size limit whatever the stream sends. Lines are processed as
// soon as they end, and an event is returned as soon as its blank line is read:
// Next never waits for input it does not need.
//
// A Parser is not safe for concurrent use.
type Parser struct {
	r   io.Reader
	max int
	err error // sticky: the reader's error, or ErrTooLong

	buf        []byte // read buffer; buf[start:end] is not parsed yet
	start, end int
	lf, cr     index // where the next line ends, remembered across reads
	bomDone    bool  // the stream's start has been checked for a BOM
	skipLF     bool  // the last line ended in CR: a LF right after it belongs to it

	// sc, when the parser has one, holds its first read buffer and the block
	// buffers below, all lent back while it waits between blocks (lend).
	sc       *scratch
	data     []byte // data buffer
	dataHint int    // capacity for data: the size of the last event, when large
	typ      []byte // event type buffer
	// idBuf is the last event ID buffer while idSet (an id field came in the
	// block being read); otherwise the buffer holds id, which the last blank
	// line set from it, and idBuf need not be kept.
	idBuf []byte
	idSet bool
	id    string // last event ID string, set from the buffer at each blank line

	retry        int64
	hasRetry     bool
	retryPending bool // a retry field arrived since the last dispatched event

	types   [4]string // recent event types, so a repeated type costs no allocation
	typeIdx int

	readSize int // the first read buffer's size when not minBufSize (SetReadSize)
	// reuseData: an event's Data is read from the data buffer where it is
	// (ReuseData).
	reuseData bool
}

// NewParser returns a parser reading the event stream r. maxSize bounds one event:
// the length of any line, and the data of one event. When maxSize <= 0 it is
// DefaultMaxSize.
func NewParser(r io.Reader, maxSize int) *Parser {
	p := new(Parser)
	p.Reset(r, maxSize)
	return p
}

// Reset makes p a new parser of r, as NewParser does, for a caller that keeps its
// Parser inside a structure of its own rather than allocate one.
func (p *Parser) Reset(r io.Reader, maxSize int) {
	if maxSize <= 0 {
		maxSize = DefaultMaxSize
	}
	*p = Parser{r: r, max: maxSize, lf: index{c: '\n', at: -1}, cr: index{c: '\r', at: -1}}
}

// SetReadSize makes the parser read up to n bytes at a time (at most the size limit
// plus one), instead of 4 KiB, from its next read on. A reader shared by many
// clients wants it: each read is a batch that goes to all of them together.
func (p *Parser) SetReadSize(n int) {
	p.readSize = min(max(n, minBufSize), p.max+1)
}

// ReuseData makes each event's Data share the parser's data buffer rather than be
// a string of its own: it is valid only until the next call to Next, which reuses
// the buffer (or lends it to another parser). For a caller that writes each event
// out before it reads the next, that saves an allocation per event and the work of
// collecting it. Type and ID stay strings of their own.
func (p *Parser) ReuseData() { p.reuseData = true }

// Next returns the next dispatched event. Its fields are valid UTF-8: the stream is
// decoded as the standard says, invalid bytes becoming U+FFFD.
//
// When the stream ends, a block not yet ended by a blank line is discarded, as the
// standard says, and Next returns io.EOF; another error from the reader is returned
// as is. A line or event data over the size limit returns an error matching
// ErrTooLong. After any error but ErrWouldBlock the parser returns that error again.
func (p *Parser) Next() (Event, error) {
	for {
		line, err := p.line()
		if err != nil {
			return Event{}, err
		}
		if len(line) == 0 {
			if ev, ok := p.dispatch(); ok {
				return ev, nil
			}
			continue
		}
		if err := p.field(line); err != nil {
			return Event{}, err
		}
	}
}

// LastEventID returns the last event ID string: the last event ID buffer as the last
// blank line left it, whether or not that block dispatched an event. It is what a
// client sends as Last-Event-ID when it reconnects.
func (p *Parser) LastEventID() string { return p.id }

// SetLastEventID sets the last event ID buffer and string, as if the stream had sent
// id. The standard starts each connection with an empty buffer; callers that want
// events without an id field to carry the id they resumed from can preset it.
func (p *Parser) SetLastEventID(id string) {
	p.idBuf, p.idSet = p.idBuf[:0], false
	p.id = id
}

// Retry returns the reconnection time the stream last set, in milliseconds.
func (p *Parser) Retry() (ms int64, ok bool) { return p.retry, p.hasRetry }

// Buffered returns how many bytes have been read but not yet parsed. When it is not
// zero, the next call to Next may return without reading, so a caller that relays
// events can delay its flush.
func (p *Parser) Buffered() int { return p.end - p.start }

// line returns the next complete line, without its line end. It is valid until the
// next call. Line ends are CRLF, LF and CR; a line ending in CR is returned at once,
// and a LF that follows it, in this read or the next, is skipped.
func (p *Parser) line() ([]byte, error) {
	for {
		if p.start < p.end && p.skipLF {
			p.skipLF = false
			if p.buf[p.start] == '\n' {
				p.start++
				continue
			}
		}
		if !p.bomDone && !p.stripBOM() {
			if err := p.fill(); err != nil {
				return nil, err
			}
			continue
		}
		if i := p.lineEnd(); i >= 0 {
			if i-p.start > p.max {
				return nil, p.fail("line", i-p.start)
			}
			line := p.buf[p.start:i]
			p.start = i + 1
			p.skipLF = p.buf[i] == '\r'
			return line, nil
		}
		if p.end-p.start > p.max {
			return nil, p.fail("line", p.end-p.start)
		}
		if err := p.fill(); err != nil {
			return nil, err
		}
	}
}

// stripBOM removes one byte order mark from the start of the stream, as the UTF-8
// decode algorithm does. It reports false when it needs more input to tell.
func (p *Parser) stripBOM() bool {
	b := p.buf[p.start:p.end]
	n := min(len(b), len(bom))
	switch {
	case !bytes.Equal(b[:n], bom[:n]):
	case n == len(bom):
		p.start += n
	case p.err == nil:
		return false
	}
	p.bomDone = true
	return true
}

// lineEnd returns the index in buf of the first CR or LF after start, or -1. Both
// are searched to the end of what was read, not just to the other: a stream whose
// lines all end in LF is searched for CR once per read, not once per line.
func (p *Parser) lineEnd() int {
	lf := p.lf.next(p.buf, p.start, p.end)
	if cr := p.cr.next(p.buf, p.start, p.end); cr >= 0 && (lf < 0 || cr < lf) {
		return cr
	}
	return lf
}

// fill reads more input after what is buffered, moving that to the front of the
// buffer or growing it when it is full. It returns the sticky error once the reader
// has failed.
func (p *Parser) fill() error {
	if p.err != nil {
		return p.err
	}
	if p.start > 0 {
		p.end = copy(p.buf, p.buf[p.start:p.end])
		p.lf.shift(p.start)
		p.cr.shift(p.start)
		p.start = 0
	}
	if p.end == 0 && len(p.buf) > max(keepBuf, p.readSize) {
		p.buf = nil // the long line is gone: an idle stream need not keep its buffer
	}
	switch {
	case len(p.buf) == 0 && p.readSize > minBufSize:
		p.buf = make([]byte, p.readSize)
	case len(p.buf) == 0:
		p.borrow()
	case len(p.buf) < p.readSize && p.end < len(p.buf):
		// Larger reads from now on; what is pending moves with them.
		buf := make([]byte, p.readSize)
		copy(buf, p.buf[:p.end])
		p.buf = buf
	case p.end == len(p.buf):
		// The pending line fills the buffer and is not over the limit, so the
		// buffer is below max+1 bytes: room for the longest line and its end.
		n := min(max(2*len(p.buf), minBufSize), max(p.max+1, minBufSize))
		buf := make([]byte, n)
		copy(buf, p.buf[:p.end])
		p.buf = buf
	}
	for range 100 {
		n, err := p.r.Read(p.buf[p.end:])
		p.end += n
		if err == ErrWouldBlock {
			if n > 0 {
				return nil
			}
			p.lend()
			return err // not sticky: the stream goes on
		}
		if err != nil {
			p.err = err
		}
		if n > 0 {
			return nil
		}
		if err != nil {
			return err
		}
	}
	p.err = io.ErrNoProgress
	return p.err
}

func (p *Parser) fail(what string, n int) error {
	p.err = fmt.Errorf("%w: %s of %d bytes, limit %d", ErrTooLong, what, n, p.max)
	return p.err
}

// field processes one non-blank line: "Interpreting an event stream" and "process
// the field" (https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation).
// Names are compared as bytes: CR, LF, ':' and ' ' are ASCII, so they end any
// ill-formed UTF-8 sequence and splitting before decoding is the same as after.
func (p *Parser) field(line []byte) error {
	if line[0] == ':' {
		return nil // comment
	}
	name, value := line, []byte(nil)
	if i := bytes.IndexByte(line, ':'); i >= 0 {
		name, value = line[:i], line[i+1:]
		if len(value) > 0 && value[0] == ' ' {
			value = value[1:]
		}
	}
	switch string(name) {
	case "event":
		p.typ = appendUTF8(p.typ[:0], value)
	case "data":
		if p.dataHint > 0 && len(p.data) == 0 {
			if cap(p.data) < p.dataHint {
				p.data = make([]byte, 0, p.dataHint) // allocate once, not grow
			}
			p.dataHint = 0
		}
		p.data = append(appendUTF8(p.data, value), '\n')
		if n := len(p.data) - 1; n > p.max {
			return p.fail("data", n)
		}
	case "id":
		if bytes.IndexByte(value, 0) < 0 {
			p.idBuf, p.idSet = appendUTF8(p.idBuf[:0], value), true
		}
	case "retry":
		if ms, ok := parseRetry(value); ok {
			p.retry, p.hasRetry, p.retryPending = ms, true, true
		}
	}
	return nil
}

// parseRetry accepts only a non-empty run of ASCII digits, as the standard says: no
// sign, no space, no unit. A value beyond int64 saturates at math.MaxInt64 (some
// 292 million years), which keeps the stream's intent (reconnect much later) where
// ignoring it would keep an earlier, shorter time.
func parseRetry(v []byte) (int64, bool) {
	if len(v) == 0 {
		return 0, false
	}
	var n int64
	for _, c := range v {
		if c < '0' || c > '9' {
			return 0, false
		}
		d := int64(c - '0')
		if n > (math.MaxInt64-d)/10 {
			n = math.MaxInt64
		} else {
			n = n*10 + d
		}
	}
	return n, true
}

// dispatch handles a blank line: "dispatch the event"
// (https://html.spec.whatwg.org/multipage/server-sent-events.html#dispatchMessage).
// It commits the last event ID even when there is no event to dispatch.
func (p *Parser) dispatch() (Event, bool) {
	// An id field makes a new string even when its value is the string's already:
	// comparing would read the old string, which a stream that sends events
	// seconds apart has long let fall out of the cache; a new one shares the
	// event's allocation (jointMax).
	idChanged := p.idSet
	p.idSet = false // the buffer's value is the string's from here
	if len(p.data) == 0 {
		if idChanged {
			p.id = string(p.idBuf)
		}
		p.typ = p.typ[:0]
		return Event{}, false
	}
	var ev Event
	n := len(p.data) - 1 // without the last LF
	switch {
	case p.reuseData:
		if idChanged {
			p.id = string(p.idBuf)
		}
		if n > 0 {
			ev.Data = unsafe.String(&p.data[0], n)
		}
	case idChanged && n <= jointMax:
		// One allocation for both strings: in the usual stream every event has a
		// new id.
		p.data = append(p.data[:n], p.idBuf...)
		s := string(p.data)
		ev.Data, p.id = s[:n], s[n:]
	case idChanged:
		p.id = string(p.idBuf)
		fallthrough
	default:
		ev.Data = string(p.data[:n])
	}
	ev.ID = p.id
	ev.Type = p.eventType()
	if p.retryPending {
		ev.Retry, ev.HasRetry = p.retry, true
		p.retryPending = false
	}
	p.data = p.data[:0]
	if cap(p.data) > keepBuf {
		// Don't keep a large buffer for an idle stream; size the next one for a
		// stream of large events.
		p.data = nil
		if n > keepBuf {
			p.dataHint = min(n+1, p.max+1)
		}
	}
	p.typ = p.typ[:0]
	return ev, true
}

// eventType returns the type buffer as a string, "message" when it is empty, reusing
// a recent string when it is the same.
func (p *Parser) eventType() string {
	if len(p.typ) == 0 || string(p.typ) == DefaultType {
		return DefaultType
	}
	for _, t := range p.types {
		if string(p.typ) == t {
			return t
		}
	}
	t := string(p.typ)
	p.types[p.typeIdx] = t
	p.typeIdx = (p.typeIdx + 1) % len(p.types)
	return t
}

// scratch is what a parser works in: its first read buffer and the buffers of the
// block being read. A parser whose reader can say that no input is there yet
// (ErrWouldBlock) lends it back while it waits between blocks, so that thousands of
// streams, idle or taking turns on one goroutine, share a few scratches hot in the
// cache instead of each keeping buffers of its own that every event would have to
// fetch from memory.
type scratch struct {
	read          [minBufSize]byte
	data, typ, id []byte
}

// keepScratch bounds a block buffer that goes back with its scratch.
const keepScratch = 4 << 10

var scratches = sync.Pool{New: func() any { return new(scratch) }}

// borrow gives the parser a read buffer: its scratch's, taking one first when it
// has none. The scratch's block buffers come with it when no block is begun (as
// when the scratch went back); a begun block keeps the buffers it has.
func (p *Parser) borrow() {
	if p.sc == nil {
		p.sc = scratches.Get().(*scratch)
		if p.blockEmpty() {
			p.data, p.typ, p.idBuf = p.sc.data[:0], p.sc.typ[:0], p.sc.id[:0]
		}
	}
	p.buf = p.sc.read[:]
}

// lend gives the scratch back while the parser waits with nothing to hold: no bytes
// read and not parsed, in the scratch's own read buffer, and no block begun.
func (p *Parser) lend() {
	sc := p.sc
	if sc == nil || p.end != 0 || len(p.buf) != minBufSize || &p.buf[0] != &sc.read[0] || !p.blockEmpty() {
		return
	}
	sc.data, sc.typ, sc.id = keepable(p.data), keepable(p.typ), keepable(p.idBuf)
	p.sc, p.buf, p.data, p.typ, p.idBuf = nil, nil, nil, nil, nil
	scratches.Put(sc)
}

// blockEmpty reports that no field of a block has been read since its last blank
// line (a comment or retry leaves nothing to keep).
func (p *Parser) blockEmpty() bool { return len(p.data) == 0 && len(p.typ) == 0 && !p.idSet }

func keepable(b []byte) []byte {
	if cap(b) > keepScratch {
		return nil
	}
	return b[:0]
}

// index finds the next occurrence of one byte in the read buffer with
// bytes.IndexByte, and remembers what it found, so that a stream whose lines end in
// CR is not searched to the end for a LF once per line (and the other way round).
type index struct {
	c       byte
	at      int // the next c at or after start when at >= start
	scanned int // no c between start and scanned
}

func (x *index) next(buf []byte, start, end int) int {
	if x.at >= start {
		if x.at < end {
			return x.at
		}
		return -1
	}
	from := max(start, x.scanned)
	if from >= end {
		return -1
	}
	if i := bytes.IndexByte(buf[from:end], x.c); i >= 0 {
		x.at = from + i
		return x.at
	}
	x.scanned = end
	return -1
}

// shift follows the buffer's content moving n bytes to the front.
func (x *index) shift(n int) {
	x.at -= n
	x.scanned -= n
}
