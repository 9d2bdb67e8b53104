package ws

import (
	"bytes"
	"errors"
	"net"
	"slices"
	"testing"
	"time"
)

// recordConn is a net.Conn that records every write and write deadline.
type recordConn struct {
	net.Conn      // nil: only the methods below are called
	writes        [][]byte
	deadlines     []time.Time
	readDeadlines []time.Time
	closed        bool
}

func (r *recordConn) Write(p []byte) (int, error) {
	r.writes = append(r.writes, bytes.Clone(p))
	return len(p), nil
}

func (r *recordConn) SetWriteDeadline(t time.Time) error {
	r.deadlines = append(r.deadlines, t)
	return nil
}

func (r *recordConn) Read(p []byte) (int, error) { return len(p), nil }

func (r *recordConn) SetReadDeadline(t time.Time) error {
	r.readDeadlines = append(r.readDeadlines, t)
	return nil
}

func (r *recordConn) Close() error {
	r.closed = true
	return nil
}

func mustWrite(t *testing.T, b *batchConn, p string) {
	t.Helper()
	if n, err := b.Write([]byte(p)); err != nil || n != len(p) {
		t.Fatalf("Write(%q) = %d, %v; want %d, nil", p, n, err, len(p))
	}
}

func TestBatchConnHoldsUntilLastMessage(t *testing.T) {
	rc := &recordConn{}
	b := newBatchConn(rc)

	mustWrite(t, b, "handshake") // no batch open: straight through
	b.holdNext(true)
	mustWrite(t, b, "a")
	mustWrite(t, b, "b")
	if len(rc.writes) != 1 {
		t.Fatalf("%d network writes while holding; want only the handshake", len(rc.writes))
	}
	b.holdNext(false)
	mustWrite(t, b, "c")
	want := []string{"handshake", "abc"}
	if got := strs(rc.writes); !slices.Equal(got, want) {
		t.Fatalf("network writes %q; want %q", got, want)
	}
	if b.buf != nil {
		t.Error("batch buffer kept after the batch went out; want it back in the pool")
	}
}

// A write larger than what is left goes out after the batch, and one as
// large as half a batch is not copied.
func TestBatchConnOverflow(t *testing.T) {
	rc := &recordConn{}
	b := newBatchConn(rc)
	b.holdNext(true)
	mustWrite(t, b, "a")
	big := string(bytes.Repeat([]byte("x"), batchSize))
	mustWrite(t, b, big)
	mustWrite(t, b, "b")
	b.holdNext(false)
	mustWrite(t, b, "c")
	want := []string{"a", big, "bc"}
	if got := strs(rc.writes); !slices.Equal(got, want) {
		t.Fatalf("network writes %d; want %d: the batch, the large write, the rest", len(got), len(want))
	}
}

// bypass (CloseNow, the peer's close frame) sends a batch held open at
// once, with the frame that follows.
func TestBatchConnBypass(t *testing.T) {
	rc := &recordConn{}
	b := newBatchConn(rc)
	b.holdNext(true)
	mustWrite(t, b, "data")
	b.bypass()
	mustWrite(t, b, "close")
	want := []string{"dataclose"}
	if got := strs(rc.writes); !slices.Equal(got, want) {
		t.Fatalf("network writes %q; want %q", got, want)
	}
	mustWrite(t, b, "more") // the writer may still hold: bypass is for good
	if len(rc.writes) != 2 {
		t.Fatalf("write after bypass held back")
	}
}

// The deadline gorilla sets before each frame is applied once per network
// write: the last one set before the batch goes out.
func TestBatchConnDeadline(t *testing.T) {
	rc := &recordConn{}
	b := newBatchConn(rc)
	t0 := time.Now()
	b.holdNext(true)
	for i := range 3 {
		_ = b.SetWriteDeadline(t0.Add(time.Duration(i) * time.Second))
		mustWrite(t, b, "m")
	}
	b.holdNext(false)
	last := t0.Add(10 * time.Second)
	_ = b.SetWriteDeadline(last)
	mustWrite(t, b, "m")
	_ = b.SetWriteDeadline(last)
	mustWrite(t, b, "m") // same deadline: not set again
	if len(rc.deadlines) != 1 || !rc.deadlines[0].Equal(last) {
		t.Fatalf("deadlines set %v; want only %v", rc.deadlines, last)
	}
}

func TestBatchConnClose(t *testing.T) {
	rc := &recordConn{}
	b := newBatchConn(rc)
	b.holdNext(true)
	mustWrite(t, b, "pending")
	if err := b.Close(); err != nil || !rc.closed {
		t.Fatalf("Close: %v, closed %v", err, rc.closed)
	}
	if b.buf != nil {
		t.Error("Close kept the batch buffer")
	}
	if _, err := b.Write([]byte("x")); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Write after Close: %v; want net.ErrClosed", err)
	}
	if len(rc.writes) != 0 {
		t.Errorf("network writes %q after Close; want none", strs(rc.writes))
	}
}

func TestFindBatchConn(t *testing.T) {
	b := newBatchConn(&recordConn{})
	if got := findBatchConn(b); got != b {
		t.Error("findBatchConn(batchConn) did not find it")
	}
	if got := findBatchConn(wrapper{b}); got != b {
		t.Error("findBatchConn did not look under a wrapper with NetConn")
	}
	if got := findBatchConn(&recordConn{}); got != nil {
		t.Error("findBatchConn found a batchConn where there is none")
	}
	var nilConn *batchConn
	nilConn.holdNext(true) // a Conn without batching calls these on nil
	nilConn.bypass()
}

type wrapper struct{ net.Conn }

func (w wrapper) NetConn() net.Conn { return w.Conn }

func strs(ps [][]byte) []string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = string(p)
	}
	return s
}

// Once New sets the timeouts, every network read and every write that
// gorilla gave no deadline get a fresh one; an explicit deadline (a
// control frame's, Close's budget) is kept.
func TestBatchConnTimeouts(t *testing.T) {
	rc := &recordConn{}
	b := newBatchConn(rc)
	mustWrite(t, b, "handshake") // before New: zero means none
	if len(rc.deadlines) != 0 {
		t.Fatalf("deadline %v set before the timeouts; want none", rc.deadlines)
	}

	b.setTimeouts(2*time.Second, 5*time.Second)
	before := time.Now()
	mustWrite(t, b, "data")
	if len(rc.deadlines) != 1 || rc.deadlines[0].Before(before.Add(5*time.Second)) || rc.deadlines[0].After(time.Now().Add(5*time.Second)) {
		t.Fatalf("deadlines %v; want one of about now+5s", rc.deadlines)
	}
	explicit := before.Add(time.Second)
	_ = b.SetWriteDeadline(explicit)
	mustWrite(t, b, "control")
	if got := rc.deadlines[len(rc.deadlines)-1]; !got.Equal(explicit) {
		t.Errorf("deadline %v for an explicit one; want %v", got, explicit)
	}

	if _, err := b.Read(make([]byte, 1)); err != nil {
		t.Fatal(err)
	}
	if len(rc.readDeadlines) != 1 || rc.readDeadlines[0].Before(before.Add(2*time.Second)) {
		t.Fatalf("read deadlines %v; want one of about now+2s", rc.readDeadlines)
	}
}
