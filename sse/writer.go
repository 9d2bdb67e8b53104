package sse

import "io"

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
type Writer struct {
	w      io.Writer
	buf    []byte
	lastID string
}

// NewWriter returns a Writer writing to w.
func NewWriter(w io.Writer) *Writer { return &Writer{w: w} }

// Reset makes w a new Writer writing to dst, for a caller that keeps its Writer
// inside a structure of its own rather than allocate one.
func (w *Writer) Reset(dst io.Writer) { *w = Writer{w: dst} }

// WriteEvent writes ev (see AppendEvent). ev should have passed Sanitize.
func (w *Writer) WriteEvent(ev *Event) error {
	withID := ev.ID != w.lastID && !breaksLine(ev.ID)
	w.buf = AppendEvent(w.buf[:0], ev, withID)
	if err := w.write(); err != nil {
		return err
	}
	if withID {
		w.lastID = ev.ID
	}
	return nil
}

// WriteComment writes text as comment lines (see AppendComment).
func (w *Writer) WriteComment(text string) error {
	w.buf = AppendComment(w.buf[:0], text)
	return w.write()
}

// WriteRetry writes a block that sets the client's reconnection time (see
// AppendRetry).
func (w *Writer) WriteRetry(ms int64) error {
	w.buf = AppendRetry(w.buf[:0], ms)
	return w.write()
}

// LastID returns the last id written: the client's last event ID once it has read
// everything written.
func (w *Writer) LastID() string { return w.lastID }

func (w *Writer) write() error {
	if len(w.buf) == 0 {
		return nil
	}
	_, err := w.w.Write(w.buf)
	if cap(w.buf) > keepBuf {
		w.buf = nil // don't keep a large event's buffer for a long-lived stream
	}
	return err
}
