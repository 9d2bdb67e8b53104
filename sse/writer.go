package sse

import (
	"hash/maphash"
	"io"
)

// Writer writes an event stream to an io.Writer, one Write call per event, comment
// or retry block, from a buffer it reuses.
//
// It remembers the last id it wrote and writes an id line only when an event's id
// differs from it, starting from "" as a new EventSource connection's last event ID
// buffer does. An event whose id is "" after one that had an id therefore writes an
// empty id line, which resets the client's last event ID.
//
// A Writer is not safe for concurrent use. It does not flush: callers that write to
// an http.ResponseWriter flush when they choose.
//
// When the destination has a buffer of its own to lend (AvailableBuffer, as
// bufio.Writer has), each block is encoded straight into it: the Writer then keeps
// no buffer, and the bytes are not copied from one buffer into another.
type Writer struct {
	w      io.Writer
	lender availableBufferer // w, when it lends its buffer
	buf    []byte
	lastID string
	// lastIDHash is lastID's hash. A new id is told by its hash, without reading
	// lastID, which a stream whose events come seconds apart has let fall out of
	// the cache by then.
	lastIDHash uint64
}

// idSeed seeds the hashes of the ids written.
var idSeed = maphash.MakeSeed()

// availableBufferer is a destination that lends its buffer's free space, which a
// Write of that space appends without copying (bufio.Writer.AvailableBuffer).
type availableBufferer interface {
	AvailableBuffer() []byte
}

// NewWriter returns a Writer writing to w.
func NewWriter(w io.Writer) *Writer {
	ww := new(Writer)
	ww.Reset(w)
	return ww
}

// Reset makes w a new Writer writing to dst, for a caller that keeps its Writer
// inside a structure of its own rather than allocate one.
func (w *Writer) Reset(dst io.Writer) {
	lender, _ := dst.(availableBufferer)
	*w = Writer{w: dst, lender: lender, lastIDHash: maphash.String(idSeed, "")}
}

// WriteEvent writes ev (see AppendEvent). ev should have passed Sanitize.
func (w *Writer) WriteEvent(ev *Event) error {
	h := maphash.String(idSeed, ev.ID)
	// Equal hashes compare the strings: the same string, usually, which is
	// told by its address alone.
	withID := (h != w.lastIDHash || ev.ID != w.lastID) && !breaksLine(ev.ID)
	w.buf = AppendEvent(w.block(), ev, withID)
	if err := w.write(); err != nil {
		return err
	}
	if withID {
		w.lastID, w.lastIDHash = ev.ID, h
	}
	return nil
}

// WriteComment writes text as comment lines (see AppendComment).
func (w *Writer) WriteComment(text string) error {
	w.buf = AppendComment(w.block(), text)
	return w.write()
}

// WriteRetry writes a block that sets the client's reconnection time (see
// AppendRetry).
func (w *Writer) WriteRetry(ms int64) error {
	w.buf = AppendRetry(w.block(), ms)
	return w.write()
}

// LastID returns the last id written: the client's last event ID once it has read
// everything written.
func (w *Writer) LastID() string { return w.lastID }

// block is where the next block is encoded: the destination's free space when it
// lends it, else the Writer's own buffer.
func (w *Writer) block() []byte {
	if w.lender != nil {
		return w.lender.AvailableBuffer()
	}
	return w.buf[:0]
}

func (w *Writer) write() error {
	if len(w.buf) == 0 {
		return nil
	}
	_, err := w.w.Write(w.buf)
	if w.lender != nil || cap(w.buf) > keepBuf {
		// The destination's buffer is not ours to keep, and a large event's
		// buffer is not worth keeping for a long-lived stream.
		w.buf = nil
	}
	return err
}
