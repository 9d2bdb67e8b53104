package ws

import (
	"bufio"
	"bytes"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// ---------------------------------------------------------------------------
// Running a scanner the way a relay does, and checking what it passes on.

// scanEntry is one event of a scan run: a frame's header became whole (done false,
// Frame() then), or a frame ended (done true, Frame() then). msgLen is MessageLen()
// at that moment.
type scanEntry struct {
	f      Frame
	done   bool
	msgLen int64
}

// scanRun is what a relay following a stream with a FrameScanner would have seen
// and passed on.
type scanRun struct {
	out      []byte      // re-emitted: Header() at each ScanHeader, b[:n] at each ScanPayload
	entries  []scanEntry // headers and frame ends, in order
	payloads [][]byte    // each accepted frame's payload as it came (still masked)
	consumed int         // input bytes Scan consumed, the failing call's included
	pending  []byte      // consumed into a header that was not whole at the end
	rejected []byte      // the whole header Scan failed at
	err      error       // the first error; the run stops there
}

// runScan feeds parts to s in order, as a relay's reads, each part until Scan has
// consumed it all, and checks on every call what Scan promises: 0 <= n <= len(b),
// progress on non-empty input, ScanMore only for all of b, Header() being exactly
// the bytes consumed for it (over however many calls), FrameDone when (and only
// when) the payload announced by the header has gone by, AtBoundary agreeing.
func runScan(tb testing.TB, s *FrameScanner, parts [][]byte) scanRun {
	tb.Helper()
	var r scanRun
	var held []byte // consumed into the header not yet whole
	var got int64   // payload bytes of the open frame so far
	open := false   // a header was whole and its frame has not ended
	for _, p := range parts {
		if len(p) == 0 {
			wasBoundary := s.AtBoundary()
			n, res, err := s.Scan(p)
			if n != 0 || res != ScanMore || err != nil || s.FrameDone() || s.AtBoundary() != wasBoundary {
				tb.Fatalf("Scan(empty) = %d, %d, %v, FrameDone %v, AtBoundary %v (was %v); want 0, ScanMore, nil, false, unchanged",
					n, res, err, s.FrameDone(), s.AtBoundary(), wasBoundary)
			}
			continue
		}
		for len(p) > 0 {
			at := r.consumed
			n, res, err := s.Scan(p)
			if n < 0 || n > len(p) {
				tb.Fatalf("at %d: Scan(%d bytes) consumed %d", at, len(p), n)
			}
			if n == 0 {
				tb.Fatalf("at %d: Scan(%d bytes) consumed nothing (result %d, err %v)", at, len(p), res, err)
			}
			b := p[:n]
			all := n == len(p)
			p = p[n:]
			r.consumed += n
			if err != nil {
				if res != ScanHeader {
					tb.Fatalf("at %d: error %v with result %d; want it with the header (ScanHeader)", at, err, res)
				}
				if !errors.Is(err, ErrFrame) && !errors.Is(err, ErrMessageTooBig) {
					tb.Fatalf("at %d: error %v wraps neither ErrFrame nor ErrMessageTooBig", at, err)
				}
				r.rejected = append(slices.Clip(held), b...)
				if h := s.Header(); !bytes.Equal(h, r.rejected) {
					tb.Fatalf("at %d: Header() after the error = % x; want the rejected header % x", at, h, r.rejected)
				}
				r.err = err
				r.pending = nil
				return r
			}
			switch res {
			case ScanMore:
				if !all {
					tb.Fatalf("at %d: ScanMore after %d of %d bytes; want all of them", at, n, n+len(p))
				}
				if open {
					tb.Fatalf("at %d: ScanMore inside a frame's payload", at)
				}
				held = append(held, b...)
				if len(held) >= maxClientHeader {
					tb.Fatalf("at %d: %d bytes held for a header", at, len(held))
				}
				if s.FrameDone() || s.AtBoundary() {
					tb.Fatalf("at %d: mid-header: FrameDone %v, AtBoundary %v; want false, false", at, s.FrameDone(), s.AtBoundary())
				}
			case ScanHeader:
				if open {
					tb.Fatalf("at %d: ScanHeader inside a frame's payload", at)
				}
				h := s.Header()
				if want := append(slices.Clip(held), b...); !bytes.Equal(h, want) {
					tb.Fatalf("at %d: Header() = % x; want the bytes consumed for it, % x", at, h, want)
				}
				if len(h) < 2 || len(h) > maxClientHeader {
					tb.Fatalf("at %d: Header() is %d bytes", at, len(h))
				}
				held = held[:0]
				r.out = append(r.out, h...)
				f := s.Frame()
				r.entries = append(r.entries, scanEntry{f: f, msgLen: s.MessageLen()})
				r.payloads = append(r.payloads, []byte{})
				got, open = 0, true
				if s.FrameDone() != (f.Len == 0) {
					tb.Fatalf("at %d: header of a %d-byte frame: FrameDone %v", at, f.Len, s.FrameDone())
				}
			case ScanPayload:
				if !open {
					tb.Fatalf("at %d: ScanPayload outside a frame", at)
				}
				r.out = append(r.out, b...)
				last := len(r.payloads) - 1
				r.payloads[last] = append(r.payloads[last], b...)
				got += int64(n)
				f := s.Frame()
				if got > f.Len {
					tb.Fatalf("at %d: %d payload bytes of a %d-byte frame", at, got, f.Len)
				}
				if s.FrameDone() != (got == f.Len) {
					tb.Fatalf("at %d: %d of %d payload bytes: FrameDone %v", at, got, f.Len, s.FrameDone())
				}
			default:
				tb.Fatalf("at %d: unknown result %d", at, res)
			}
			if res != ScanMore {
				if s.AtBoundary() != s.FrameDone() {
					tb.Fatalf("at %d: AtBoundary %v, FrameDone %v; want them equal after a header or payload", at, s.AtBoundary(), s.FrameDone())
				}
				if s.FrameDone() {
					hdr := r.entries[len(r.entries)-1]
					if hdr.done || s.Frame() != hdr.f {
						tb.Fatalf("at %d: frame done is %+v; its header was %+v", at, s.Frame(), hdr)
					}
					r.entries = append(r.entries, scanEntry{f: s.Frame(), done: true, msgLen: s.MessageLen()})
					open = false
				}
			}
		}
	}
	r.pending = held
	return r
}

// checkReemit checks that what the run passed on is the input, unchanged: all of it
// but a header still incomplete at the end, or, after an error, all of it up to the
// rejected header.
func checkReemit(tb testing.TB, in []byte, r scanRun) {
	tb.Helper()
	if r.consumed > len(in) {
		tb.Fatalf("consumed %d of %d bytes", r.consumed, len(in))
	}
	if r.err == nil {
		if r.consumed != len(in) {
			tb.Fatalf("consumed %d of %d bytes without an error", r.consumed, len(in))
		}
		if got := append(slices.Clip(r.out), r.pending...); !bytes.Equal(got, in) {
			tb.Fatalf("re-emitted %d bytes + %d pending are not the %d input bytes", len(r.out), len(r.pending), len(in))
		}
		return
	}
	if got := append(slices.Clip(r.out), r.rejected...); !bytes.Equal(got, in[:r.consumed]) {
		tb.Fatalf("re-emitted %d bytes + %d rejected are not the %d input bytes consumed", len(r.out), len(r.rejected), r.consumed)
	}
}

// sameRun checks that two runs over the same input, read in different pieces, saw
// the same frames, payloads, bytes and error.
func sameRun(tb testing.TB, name string, want, got scanRun) {
	tb.Helper()
	if !slices.Equal(got.entries, want.entries) {
		tb.Fatalf("%s: frames\n%+v\nwant (whole input)\n%+v", name, got.entries, want.entries)
	}
	if !slices.EqualFunc(got.payloads, want.payloads, bytes.Equal) {
		tb.Fatalf("%s: payloads differ from the whole input's", name)
	}
	if !bytes.Equal(got.out, want.out) || !bytes.Equal(got.pending, want.pending) || !bytes.Equal(got.rejected, want.rejected) {
		tb.Fatalf("%s: re-emitted %d+%d+%d bytes; whole input %d+%d+%d", name,
			len(got.out), len(got.pending), len(got.rejected), len(want.out), len(want.pending), len(want.rejected))
	}
	if got.consumed != want.consumed || fmt.Sprint(got.err) != fmt.Sprint(want.err) {
		tb.Fatalf("%s: consumed %d, error %v; whole input %d, %v", name, got.consumed, got.err, want.consumed, want.err)
	}
}

// bytewise is in one byte at a time.
func bytewise(in []byte) [][]byte {
	parts := make([][]byte, len(in))
	for i := range in {
		parts[i] = in[i : i+1]
	}
	return parts
}

// splitOffsets are where to split in in two: everywhere for a short input, else the
// first and last bytes and a stride through the middle (a 65 KiB payload split at
// every offset is 65 K runs over 65 KiB).
func splitOffsets(n int) []int {
	if n <= 4096 {
		offs := make([]int, 0, n+1)
		for i := 0; i <= n; i++ {
			offs = append(offs, i)
		}
		return offs
	}
	var offs []int
	for i := 0; i <= n; i++ {
		if i < 64 || i > n-64 || i%509 == 0 {
			offs = append(offs, i)
		}
	}
	return offs
}

// scanAllWays runs a scanner over in whole, one byte at a time and split in two at
// every offset, checks each run against the whole one and that the bytes pass
// through unchanged, and returns the whole run.
func scanAllWays(tb testing.TB, fromClient bool, limit int64, in []byte) scanRun {
	tb.Helper()
	whole := runScan(tb, NewFrameScanner(fromClient, limit), [][]byte{in})
	checkReemit(tb, in, whole)
	sameRun(tb, "one byte at a time", whole, runScan(tb, NewFrameScanner(fromClient, limit), bytewise(in)))
	for _, i := range splitOffsets(len(in)) {
		r := runScan(tb, NewFrameScanner(fromClient, limit), [][]byte{in[:i], in[i:]})
		sameRun(tb, fmt.Sprintf("split at %d", i), whole, r)
	}
	return whole
}

// headers is the Frame of each whole header of a run.
func headers(r scanRun) []Frame {
	var fs []Frame
	for _, e := range r.entries {
		if !e.done {
			fs = append(fs, e.f)
		}
	}
	return fs
}

// ---------------------------------------------------------------------------
// Frames built by hand.

const (
	opCont   = 0
	opText   = websocket.TextMessage
	opBinary = websocket.BinaryMessage
	opClose  = websocket.CloseMessage
	opPing   = websocket.PingMessage
	opPong   = websocket.PongMessage
)

// tframe is a frame to encode, including what RFC 6455 forbids.
type tframe struct {
	op      int
	fin     bool
	rsv     byte // RSV1, RSV2, RSV3 as 4, 2, 1
	masked  bool
	key     [4]byte
	payload []byte
	// form is the length encoding: 0 the shortest; 7, 16 or 64 that one, even if
	// longer than needed (RFC 6455 5.2 says the shortest MUST be used).
	form int
	// length, if setLen, is the length the header declares, whatever the payload.
	length uint64
	setLen bool
}

func frm(op int, fin bool, payload string) tframe {
	return tframe{op: op, fin: fin, payload: []byte(payload)}
}

func text(s string) tframe        { return frm(opText, true, s) }
func textN(n int) tframe          { return text(strings.Repeat("t", n)) }
func binaryN(n int) tframe        { return frm(opBinary, true, strings.Repeat("\xb5", n)) }
func ctl(op int, s string) tframe { return frm(op, true, s) }

// masked4 is f masked with a key, as a client sends it.
func (f tframe) masked4() tframe {
	f.masked, f.key = true, [4]byte{0x37, 0xfa, 0x21, 0x3d}
	return f
}

func (f tframe) withForm(form int) tframe { f.form = form; return f }

func (f tframe) withRSV(rsv byte) tframe { f.rsv = rsv; return f }

func (f tframe) withLen(n uint64) tframe { f.length, f.setLen = n, true; return f }

func (f tframe) declared() uint64 {
	if f.setLen {
		return f.length
	}
	return uint64(len(f.payload))
}

func (f tframe) header() []byte {
	b0 := byte(f.op&0x0F) | f.rsv<<4
	if f.fin {
		b0 |= 0x80
	}
	var m byte
	if f.masked {
		m = 0x80
	}
	n := f.declared()
	form := f.form
	if form == 0 {
		switch {
		case n <= 125:
			form = 7
		case n <= 0xFFFF:
			form = 16
		default:
			form = 64
		}
	}
	var h []byte
	switch {
	case form == 7 && n <= 125:
		h = []byte{b0, m | byte(n)}
	case form == 16 && n <= 0xFFFF:
		h = binary.BigEndian.AppendUint16([]byte{b0, m | 126}, uint16(n))
	case form == 64:
		h = binary.BigEndian.AppendUint64([]byte{b0, m | 127}, n)
	default:
		panic(fmt.Sprintf("length %d in the %d-bit form", n, form))
	}
	if f.masked {
		h = append(h, f.key[:]...)
	}
	return h
}

// bytes is the frame on the wire: header, then the payload, masked if it is.
func (f tframe) bytes() []byte {
	b := f.header()
	for i, c := range f.payload {
		if f.masked {
			c ^= f.key[i%4]
		}
		b = append(b, c)
	}
	return b
}

// frame is the Frame a scanner should read from f's header.
func (f tframe) frame() Frame {
	fr := Frame{Opcode: f.op, Fin: f.fin, Len: int64(f.declared()), Masked: f.masked}
	if f.masked {
		fr.Key = f.key
	}
	return fr
}

func wire(fs ...tframe) []byte {
	var b []byte
	for _, f := range fs {
		b = append(b, f.bytes()...)
	}
	return b
}

// ---------------------------------------------------------------------------
// One case per rule.

type scanCase struct {
	name       string
	fromClient bool
	limit      int64
	frames     []tframe
	// wantErr, if set, is the error at the header of frames[accepted]; else every
	// frame is accepted.
	wantErr  error
	accepted int
}

func (c scanCase) input() []byte { return wire(c.frames...) }

func scanCases() []scanCase {
	cont := func(fin bool, s string) tframe { return frm(opCont, fin, s) }
	cases := []scanCase{
		// Data frames and the length forms.
		{name: "text", frames: []tframe{text("hello")}},
		{name: "binary", frames: []tframe{frm(opBinary, true, "\x00\x01\xfe\xff")}},
		{name: "empty text ends at its header", frames: []tframe{text(""), text("x"), frm(opBinary, true, "")}},
		{name: "125 bytes, 7-bit length", frames: []tframe{textN(125)}},
		{name: "126 bytes, 16-bit length", frames: []tframe{textN(126)}},
		{name: "65535 bytes, 16-bit length", frames: []tframe{binaryN(65535)}},
		{name: "65536 bytes, 64-bit length", frames: []tframe{binaryN(65536), text("after")}},
		{name: "sequence of messages", frames: []tframe{text("a"), binaryN(200), text(""), textN(126), ctl(opPing, "")}},

		// Non-minimal length encodings: RFC 6455 5.2 says the shortest form MUST be
		// used; the scanner does not check it (nor does gorilla) and takes the
		// length as declared.
		{name: "non-minimal: 5 bytes in 16-bit form accepted", frames: []tframe{text("hello").withForm(16)}},
		{name: "non-minimal: 5 bytes in 64-bit form accepted", frames: []tframe{text("hello").withForm(64)}},
		{name: "non-minimal: 0 bytes in 64-bit form accepted", frames: []tframe{text("").withForm(64), text("x")}},
		{name: "non-minimal: 300 bytes in 64-bit form accepted", frames: []tframe{textN(300).withForm(64)}},
		{name: "non-minimal: masked 125 bytes in 16-bit form accepted", fromClient: true, frames: []tframe{textN(125).withForm(16).masked4()}},
		// Control frames: only the length value is checked (<= 125), not its form.
		{name: "non-minimal: ping of 5 bytes in 16-bit form accepted", frames: []tframe{ctl(opPing, "hello").withForm(16)}},
		{name: "non-minimal: close of 0 bytes in 64-bit form accepted", frames: []tframe{ctl(opClose, "").withForm(64)}},

		// Fragmentation.
		{name: "fragmented text with a ping in the middle", frames: []tframe{
			frm(opText, false, "ab"), ctl(opPing, "p"), cont(false, "cd"), ctl(opPong, ""), cont(true, "ef"), text("next"),
		}},
		{name: "fragmented binary of empty fragments", frames: []tframe{
			frm(opBinary, false, ""), cont(false, ""), ctl(opPing, ""), cont(true, ""), frm(opBinary, true, ""),
		}},
		{name: "fragmented across length forms", frames: []tframe{
			frm(opBinary, false, strings.Repeat("a", 70000)), cont(false, strings.Repeat("b", 300)), cont(true, "c"),
		}},

		// Control frames.
		{name: "close ping pong", frames: []tframe{ctl(opClose, "\x03\xe8bye"), ctl(opPing, ""), ctl(opPong, "pp")}},
		{name: "control frame of 125 bytes", frames: []tframe{ctl(opPing, strings.Repeat("p", 125)), ctl(opClose, strings.Repeat("c", 125))}},

		// Masking: a client's frames must be masked, a server's must not.
		{name: "client: masked frames accepted", fromClient: true, frames: []tframe{
			text("hello").masked4(), frm(opBinary, false, "ab").masked4(), ctl(opPing, "x").masked4(),
			cont(true, "cd").masked4(), text("").masked4(), binaryN(65536).masked4(),
		}},
		{name: "client: masked with a zero key accepted", fromClient: true, frames: []tframe{
			func() tframe { f := text("hi"); f.masked = true; return f }(),
		}},
		{name: "client: unmasked text rejected", fromClient: true, frames: []tframe{text("hello")}, wantErr: ErrFrame},
		{name: "client: unmasked close rejected", fromClient: true, frames: []tframe{ctl(opClose, "")}, wantErr: ErrFrame},
		{name: "client: unmasked continuation rejected", fromClient: true,
			frames: []tframe{frm(opText, false, "a").masked4(), cont(true, "b")}, wantErr: ErrFrame, accepted: 1},
		{name: "server: masked text rejected", frames: []tframe{text("hello").masked4()}, wantErr: ErrFrame},
		{name: "server: masked pong rejected", frames: []tframe{text("ok"), ctl(opPong, "").masked4()}, wantErr: ErrFrame, accepted: 1},
		{name: "server: mask bit with a zero key rejected", frames: []tframe{
			func() tframe { f := text("hi"); f.masked = true; return f }(),
		}, wantErr: ErrFrame},

		// Control frames must be whole and short.
		{name: "ping with FIN=0", frames: []tframe{frm(opPing, false, "")}, wantErr: ErrFrame},
		{name: "close with FIN=0", frames: []tframe{frm(opClose, false, "\x03\xe8")}, wantErr: ErrFrame},
		{name: "pong with FIN=0 inside a message", frames: []tframe{frm(opText, false, "a"), frm(opPong, false, "")}, wantErr: ErrFrame, accepted: 1},
		{name: "ping of 126 bytes", frames: []tframe{ctl(opPing, strings.Repeat("p", 126))}, wantErr: ErrFrame},
		{name: "close of 126 bytes", frames: []tframe{ctl(opClose, strings.Repeat("c", 126))}, wantErr: ErrFrame},
		{name: "pong of 65536 bytes", frames: []tframe{ctl(opPong, strings.Repeat("p", 65536))}, wantErr: ErrFrame},

		// Continuation frames only inside a message; no new message inside one.
		{name: "continuation first", frames: []tframe{cont(true, "x")}, wantErr: ErrFrame},
		{name: "continuation FIN=0 first", frames: []tframe{cont(false, "")}, wantErr: ErrFrame},
		{name: "continuation after a whole message", frames: []tframe{text("a"), cont(true, "b")}, wantErr: ErrFrame, accepted: 1},
		{name: "continuation after a message's last fragment", frames: []tframe{
			frm(opText, false, "a"), cont(true, "b"), cont(true, "c"),
		}, wantErr: ErrFrame, accepted: 2},
		{name: "text inside a fragmented text", frames: []tframe{frm(opText, false, "a"), text("b")}, wantErr: ErrFrame, accepted: 1},
		{name: "binary inside a fragmented text", frames: []tframe{frm(opText, false, "a"), cont(false, "b"), frm(opBinary, true, "c")}, wantErr: ErrFrame, accepted: 2},
		{name: "text after a ping inside a fragmented binary", frames: []tframe{
			frm(opBinary, false, "a"), ctl(opPing, ""), frm(opText, false, "b"),
		}, wantErr: ErrFrame, accepted: 2},

		// 64-bit lengths with the top bit set (RFC 6455 5.2: it MUST be 0).
		{name: "64-bit length 1<<63", frames: []tframe{text("").withLen(1 << 63).withForm(64)}, wantErr: ErrFrame},
		{name: "64-bit length all ones", frames: []tframe{text("ok"), frm(opBinary, true, "").withLen(math.MaxUint64).withForm(64)}, wantErr: ErrFrame, accepted: 1},
		{name: "client: 64-bit length with the top bit set", fromClient: true, frames: []tframe{text("").withLen(1<<63 | 5).masked4()}, wantErr: ErrFrame},
		{name: "64-bit length 1<<63-1 accepted at the header", frames: []tframe{text("").withLen(math.MaxInt64).withForm(64)}},

		// The message size limit: counted at headers, over all of a message's data
		// frames, never for control frames.
		{name: "limit: single frame over", limit: 10, frames: []tframe{textN(11)}, wantErr: ErrMessageTooBig},
		{name: "limit: binary over after one at the limit", limit: 10, frames: []tframe{binaryN(10), binaryN(11)}, wantErr: ErrMessageTooBig, accepted: 1},
		{name: "limit: exactly at the limit accepted", limit: 10, frames: []tframe{textN(10), binaryN(10)}},
		{name: "limit: sum of fragments over, each under", limit: 10, frames: []tframe{
			frm(opText, false, "123456"), cont(true, "78901"),
		}, wantErr: ErrMessageTooBig, accepted: 1},
		{name: "limit: third fragment takes it over", limit: 10, frames: []tframe{
			frm(opText, false, "1234"), ctl(opPing, ""), cont(false, "567"), cont(true, "8901"),
		}, wantErr: ErrMessageTooBig, accepted: 3},
		{name: "limit: fragments summing to the limit accepted", limit: 10, frames: []tframe{
			frm(opText, false, "1234"), cont(false, "567"), cont(false, ""), cont(true, "890"),
		}},
		{name: "limit: control frames are not counted", limit: 10, frames: []tframe{
			frm(opText, false, "1234567890"), ctl(opPing, strings.Repeat("p", 125)), ctl(opPong, strings.Repeat("q", 125)),
			cont(true, ""), ctl(opClose, strings.Repeat("c", 125)),
		}},
		{name: "limit: each message counted from zero", limit: 10, frames: []tframe{
			frm(opText, false, "12345"), cont(true, "67890"), frm(opBinary, false, "12345"), cont(true, "67890"), textN(10),
		}},
		{name: "limit: declared length over, before any payload", limit: 1 << 20, frames: []tframe{text("").withLen(1<<20 + 1)}, wantErr: ErrMessageTooBig},
		{name: "limit: client frame over", fromClient: true, limit: 4, frames: []tframe{text("four").masked4(), text("five!").masked4()}, wantErr: ErrMessageTooBig, accepted: 1},
		{name: "limit: a protocol error wins over the limit", limit: 4, frames: []tframe{textN(5).withRSV(4)}, wantErr: ErrFrame},
		{name: "limit 0 is no limit", frames: []tframe{binaryN(65536), frm(opText, false, strings.Repeat("a", 70000)), frm(opCont, true, "").withLen(math.MaxInt64 - 70000)}},
		{name: "limit 1: empty and 1-byte messages accepted", limit: 1, frames: []tframe{text(""), textN(1), frm(opBinary, false, ""), cont(true, "x")}},
		{
			name: "limit: fragment lengths summing past MaxInt64", limit: 10,
			frames:   []tframe{frm(opText, false, "a"), frm(opCont, true, "").withLen(math.MaxInt64)},
			wantErr:  ErrMessageTooBig,
			accepted: 1,
		},
	}
	// Reserved bits, on data, control and continuation frames, from either side.
	for _, rsv := range []byte{4, 2, 1, 7} {
		cases = append(cases,
			scanCase{name: fmt.Sprintf("RSV %03b on text", rsv), frames: []tframe{text("x").withRSV(rsv)}, wantErr: ErrFrame},
			scanCase{name: fmt.Sprintf("RSV %03b on ping", rsv), frames: []tframe{ctl(opPing, "").withRSV(rsv)}, wantErr: ErrFrame},
			scanCase{name: fmt.Sprintf("RSV %03b on continuation", rsv), frames: []tframe{frm(opText, false, "a"), cont(true, "b").withRSV(rsv)}, wantErr: ErrFrame, accepted: 1},
			// permessage-deflate sets RSV1; a relay that passes frames unchanged
			// has not negotiated it.
			scanCase{name: fmt.Sprintf("client: RSV %03b on masked text", rsv), fromClient: true, frames: []tframe{text("x").withRSV(rsv).masked4()}, wantErr: ErrFrame},
		)
	}
	// Reserved opcodes: 3-7 (data), 11-15 (control), with FIN either way.
	for _, op := range []int{3, 4, 5, 6, 7, 11, 12, 13, 14, 15} {
		cases = append(cases,
			scanCase{name: fmt.Sprintf("opcode %d", op), frames: []tframe{text("ok"), ctl(op, "")}, wantErr: ErrFrame, accepted: 1},
			scanCase{name: fmt.Sprintf("opcode %d FIN=0", op), frames: []tframe{frm(op, false, "x")}, wantErr: ErrFrame},
			scanCase{name: fmt.Sprintf("client: opcode %d inside a message", op), fromClient: true,
				frames: []tframe{frm(opText, false, "a").masked4(), ctl(op, "b").masked4()}, wantErr: ErrFrame, accepted: 1},
		)
	}
	return cases
}

func TestFrameScannerRules(t *testing.T) {
	t.Parallel()
	for _, tc := range scanCases() {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			in := tc.input()
			r := scanAllWays(t, tc.fromClient, tc.limit, in)
			accepted := len(tc.frames)
			if tc.wantErr != nil {
				accepted = tc.accepted
			}
			want := make([]Frame, accepted)
			for i := range want {
				want[i] = tc.frames[i].frame()
			}
			if got := headers(r); !slices.Equal(got, want) {
				t.Fatalf("frames\n%+v\nwant\n%+v", got, want)
			}
			if tc.wantErr == nil {
				if r.err != nil {
					t.Fatalf("error %v; want none", r.err)
				}
				if len(r.pending) != 0 || !bytes.Equal(r.out, in) {
					t.Fatalf("re-emitted %d of %d bytes, %d pending", len(r.out), len(in), len(r.pending))
				}
				return
			}
			if !errors.Is(r.err, tc.wantErr) {
				t.Fatalf("error %v; want %v", r.err, tc.wantErr)
			}
			other := ErrFrame
			if tc.wantErr == ErrFrame {
				other = ErrMessageTooBig
			}
			if errors.Is(r.err, other) {
				t.Fatalf("error %v is also %v", r.err, other)
			}
			// The error comes at the bad frame's header, before any of its payload.
			errAt := len(wire(tc.frames[:accepted]...)) + len(tc.frames[accepted].header())
			if r.consumed != errAt {
				t.Fatalf("error after %d bytes; want it at the end of the bad header, %d", r.consumed, errAt)
			}
			if !bytes.Equal(r.rejected, tc.frames[accepted].header()) {
				t.Fatalf("rejected header % x; want % x", r.rejected, tc.frames[accepted].header())
			}
		})
	}
}

// TestFrameScannerMessageLen: MessageLen is the current data message's payload as
// its headers declare it, counted at each header (before the frame's payload has
// come), unchanged by control frames, kept after the message ends and started
// again by the next message's first frame.
func TestFrameScannerMessageLen(t *testing.T) {
	t.Parallel()
	frames := []tframe{
		frm(opText, false, "abc"), ctl(opPing, "pp"), frm(opCont, false, ""), frm(opCont, false, "de"),
		ctl(opClose, "\x03\xe8"), frm(opCont, true, "f"), ctl(opPong, "zz"), frm(opBinary, true, "xy"), text(""),
	}
	// MessageLen after each frame's header (and, equally, at its end).
	want := []int64{3, 3, 3, 5, 5, 6, 6, 2, 0}
	r := scanAllWays(t, false, 0, wire(frames...))
	if r.err != nil {
		t.Fatal(r.err)
	}
	var got []int64
	for i, e := range r.entries {
		if !e.done {
			got = append(got, e.msgLen)
			continue
		}
		if prev := r.entries[i-1]; e.msgLen != prev.msgLen {
			t.Errorf("MessageLen %d at the end of %+v; %d at its header", e.msgLen, e.f, prev.msgLen)
		}
	}
	if !slices.Equal(got, want) {
		t.Fatalf("MessageLen at headers %v; want %v", got, want)
	}

	// Mid-payload: the whole frame is already counted at its header.
	s := NewFrameScanner(false, 0)
	in := wire(frm(opText, false, "0123456789"), frm(opCont, true, "abcde"))
	if n, res, err := s.Scan(in[:2]); n != 2 || res != ScanHeader || err != nil || s.MessageLen() != 10 {
		t.Fatalf("Scan(header) = %d, %d, %v, MessageLen %d; want 2, ScanHeader, nil, 10", n, res, err, s.MessageLen())
	}
	if n, res, err := s.Scan(in[2:5]); n != 3 || res != ScanPayload || err != nil || s.MessageLen() != 10 {
		t.Fatalf("Scan(3 payload bytes) = %d, %d, %v, MessageLen %d; want 3, ScanPayload, nil, 10", n, res, err, s.MessageLen())
	}
	if n, res, err := s.Scan(in[5:14]); n != 7 || res != ScanPayload || err != nil || !s.FrameDone() {
		t.Fatalf("Scan(rest and next header) = %d, %d, %v, FrameDone %v; want 7 (the rest of the payload only), ScanPayload, nil, true",
			n, res, err, s.FrameDone())
	}
	if n, res, err := s.Scan(in[12:]); n != 2 || res != ScanHeader || err != nil || s.MessageLen() != 15 {
		t.Fatalf("Scan(continuation header) = %d, %d, %v, MessageLen %d; want 2, ScanHeader, nil, 15", n, res, err, s.MessageLen())
	}
}

// TestFrameScannerMessageLenOverflow: without a limit, a message whose declared
// lengths add up past math.MaxInt64 is passed on (nothing else can be done with
// it), but MessageLen should not go negative.
func TestFrameScannerMessageLenOverflow(t *testing.T) {
	t.Parallel()
	in := wire(frm(opText, false, "0"), frm(opCont, true, "").withLen(math.MaxInt64))
	r := scanAllWays(t, false, 0, in)
	if r.err != nil {
		t.Fatal(r.err)
	}
	if got := r.entries[len(r.entries)-1].msgLen; got != math.MaxInt64 {
		t.Fatalf("MessageLen %d after a 1-byte and a MaxInt64-byte fragment; want it to saturate at MaxInt64", got)
	}
}

// TestFrameScannerAtBoundary follows one scanner call by call.
func TestFrameScannerAtBoundary(t *testing.T) {
	t.Parallel()
	s := NewFrameScanner(true, 0)
	if !s.AtBoundary() || s.FrameDone() {
		t.Fatalf("new scanner: AtBoundary %v, FrameDone %v; want true, false", s.AtBoundary(), s.FrameDone())
	}
	in := wire(text("hello").masked4(), ctl(opPing, "").masked4(), binaryN(300).masked4())
	type step struct {
		n        int // bytes to offer
		wantN    int
		res      ScanResult
		done     bool
		boundary bool
	}
	steps := []step{
		{0, 0, ScanMore, false, true},         // nothing: nothing changes
		{1, 1, ScanMore, false, false},        // mid-header
		{1, 1, ScanMore, false, false},        // length byte: 4 key bytes to come
		{3, 3, ScanMore, false, false},        // still mid-header
		{20, 1, ScanHeader, false, false},     // header whole: 6 bytes over 4 calls
		{0, 0, ScanMore, false, false},        // nothing, mid-payload
		{2, 2, ScanPayload, false, false},     // mid-payload
		{20, 3, ScanPayload, true, true},      // the payload's rest only
		{20, 6, ScanHeader, true, true},       // empty ping: done at its header
		{0, 0, ScanMore, false, true},         // FrameDone is about the last call
		{1, 1, ScanMore, false, false},        //
		{20, 7, ScanHeader, false, false},     // 16-bit length, masked: 8-byte header
		{299, 299, ScanPayload, false, false}, //
		{1, 1, ScanPayload, true, true},       //
	}
	off := 0
	for i, st := range steps {
		b := in[off:min(off+st.n, len(in))]
		n, res, err := s.Scan(b)
		if err != nil || n != st.wantN || res != st.res || s.FrameDone() != st.done || s.AtBoundary() != st.boundary {
			t.Fatalf("step %d: Scan(%d bytes) = %d, %d, %v, FrameDone %v, AtBoundary %v; want %d, %d, nil, %v, %v",
				i, len(b), n, res, err, s.FrameDone(), s.AtBoundary(), st.wantN, st.res, st.done, st.boundary)
		}
		off += n
	}
	if off != len(in) {
		t.Fatalf("consumed %d of %d bytes", off, len(in))
	}
}

// TestFrameScannerServerFrame: the package's own ServerFrame output scans back as
// the frame it is, at each length form.
func TestFrameScannerServerFrame(t *testing.T) {
	t.Parallel()
	var in []byte
	var want []Frame
	for i, n := range []int{0, 1, 125, 126, 65535, 65536} {
		bin := i%2 == 1
		in = append(in, ServerFrame(bin, bytes.Repeat([]byte{'a' + byte(i)}, n))...)
		op := opText
		if bin {
			op = opBinary
		}
		want = append(want, Frame{Opcode: op, Fin: true, Len: int64(n)})
	}
	r := scanAllWays(t, false, 65536, in)
	if r.err != nil {
		t.Fatal(r.err)
	}
	if got := headers(r); !slices.Equal(got, want) {
		t.Fatalf("frames %+v; want %+v", got, want)
	}
}

// ---------------------------------------------------------------------------
// Frames gorilla writes, both ways.

// gorillaMessages are sent by gorilla, each with NextWriter in writes of at most
// 3000 bytes through a 512-byte write buffer, so the longer ones go as several
// frames, with a ping after each.
var gorillaMessages = []struct {
	typ  int
	data string
}{
	{opText, ""},
	{opText, "hello"},
	{opBinary, strings.Repeat("\x00\xff", 62) + "x"},
	{opText, strings.Repeat("y", 126)},
	{opBinary, strings.Repeat("z", 5000)},
	{opText, strings.Repeat("w", 70000)},
}

func gorillaSend(c *websocket.Conn) error {
	for i, m := range gorillaMessages {
		w, err := c.NextWriter(m.typ)
		if err != nil {
			return err
		}
		for d := m.data; len(d) > 0; d = d[min(len(d), 3000):] {
			if _, err := io.WriteString(w, d[:min(len(d), 3000)]); err != nil {
				return err
			}
		}
		if err := w.Close(); err != nil {
			return err
		}
		if err := c.WriteControl(opPing, fmt.Appendf(nil, "ping %d", i), time.Now().Add(waitLimitScan)); err != nil {
			return err
		}
	}
	return c.WriteMessage(opClose, websocket.FormatCloseMessage(websocket.CloseNormalClosure, "bye"))
}

const waitLimitScan = 5 * time.Second

// checkGorillaStream scans what gorilla sent and reassembles its messages.
func checkGorillaStream(t *testing.T, fromClient bool, in []byte) {
	t.Helper()
	r := scanAllWays(t, fromClient, 70000, in)
	if r.err != nil || len(r.pending) != 0 {
		t.Fatalf("error %v, %d bytes pending", r.err, len(r.pending))
	}
	type msg struct {
		typ  int
		data string
	}
	var got []msg
	var pings []string
	var cur []byte
	curTyp, frames := 0, 0
	hdr := 0
	for _, e := range r.entries {
		if e.done {
			continue
		}
		f := e.f
		if f.Masked != fromClient {
			t.Fatalf("frame %+v: masked %v from a client %v", f, f.Masked, fromClient)
		}
		p := bytes.Clone(r.payloads[hdr])
		hdr++
		for i := range p {
			p[i] ^= f.Key[i%4]
		}
		switch {
		case f.IsControl():
			pings = append(pings, fmt.Sprintf("%d:%s", f.Opcode, p))
			continue
		case f.Opcode != opCont:
			curTyp, cur = f.Opcode, nil
		}
		frames++
		cur = append(cur, p...)
		if f.Fin {
			got = append(got, msg{curTyp, string(cur)})
		}
	}
	var want []msg
	var wantPings []string
	for i, m := range gorillaMessages {
		want = append(want, msg{m.typ, m.data})
		wantPings = append(wantPings, fmt.Sprintf("%d:ping %d", opPing, i))
	}
	wantPings = append(wantPings, fmt.Sprintf("%d:%s", opClose, websocket.FormatCloseMessage(websocket.CloseNormalClosure, "bye")))
	if len(got) != len(want) {
		t.Fatalf("%d messages; want %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("message %d: type %d, %d bytes; want type %d, %d bytes", i, got[i].typ, len(got[i].data), want[i].typ, len(want[i].data))
		}
	}
	if !slices.Equal(pings, wantPings) {
		t.Fatalf("control frames %q; want %q", pings, wantPings)
	}
	if frames <= len(want) {
		t.Fatalf("%d data frames for %d messages: gorilla did not fragment", frames, len(want))
	}
}

// TestFrameScannerGorillaClient scans a gorilla client's masked frames, read raw by
// a server that answers the handshake itself.
func TestFrameScannerGorillaClient(t *testing.T) {
	t.Parallel()
	got := make(chan []byte, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := sha1.Sum([]byte(r.Header.Get("Sec-WebSocket-Key") + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
		conn, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			got <- nil
			return
		}
		defer conn.Close()
		_ = conn.SetDeadline(time.Now().Add(waitLimitScan))
		fmt.Fprintf(brw, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n",
			base64.StdEncoding.EncodeToString(h[:]))
		if err := brw.Flush(); err != nil {
			got <- nil
			return
		}
		b, _ := io.ReadAll(brw) // until the client closes
		got <- b
	}))
	defer srv.Close()
	d := websocket.Dialer{WriteBufferSize: 512, HandshakeTimeout: waitLimitScan}
	c, _, err := d.Dial("ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err != nil {
		t.Fatal(err)
	}
	err = gorillaSend(c)
	c.Close()
	if err != nil {
		t.Fatal(err)
	}
	checkGorillaStream(t, true, <-got)
}

// TestFrameScannerGorillaServer scans a gorilla server's frames, read raw by a
// client that makes the handshake itself.
func TestFrameScannerGorillaServer(t *testing.T) {
	t.Parallel()
	sent := make(chan error, 1)
	up := websocket.Upgrader{WriteBufferSize: 512}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := up.Upgrade(w, r, nil)
		if err != nil {
			sent <- err
			return
		}
		defer c.Close()
		sent <- gorillaSend(c)
	}))
	defer srv.Close()
	conn, err := net.DialTimeout("tcp", srv.Listener.Addr().String(), waitLimitScan)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(waitLimitScan))
	fmt.Fprintf(conn, "GET / HTTP/1.1\r\nHost: test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("handshake: %s", resp.Status)
	}
	b, err := io.ReadAll(br) // until the server closes
	if err != nil {
		t.Fatal(err)
	}
	if err := <-sent; err != nil {
		t.Fatal(err)
	}
	checkGorillaStream(t, false, b)
}

// ---------------------------------------------------------------------------
// Fuzzing against a reference reading of RFC 6455.

// refScan reads whole input the way FrameScanner is meant to: the Frame of each
// whole header (a frame's payload need not be all there), then the error at the
// first bad header and where that header ends. overflow says the error is a
// message whose declared lengths add up past math.MaxInt64.
func refScan(in []byte, fromClient bool, limit int64) (fs []Frame, errAt int, overflow bool, err error) {
	var msg uint64 // saturating
	inMsg := false
	for pos := 0; len(in)-pos >= 2; {
		b0, b1 := in[pos], in[pos+1]
		hl := 2
		switch b1 & 0x7F {
		case 126:
			hl += 2
		case 127:
			hl += 8
		}
		masked := b1&0x80 != 0
		if masked {
			hl += 4
		}
		if len(in)-pos < hl {
			return fs, 0, false, nil
		}
		var n uint64
		switch b1 & 0x7F {
		case 126:
			n = uint64(binary.BigEndian.Uint16(in[pos+2:]))
		case 127:
			n = binary.BigEndian.Uint64(in[pos+2:])
		default:
			n = uint64(b1 & 0x7F)
		}
		f := Frame{Opcode: int(b0 & 0x0F), Fin: b0&0x80 != 0, Len: int64(n), Masked: masked}
		if masked {
			copy(f.Key[:], in[pos+hl-4:pos+hl])
		}
		isCtl := f.Opcode >= 8
		var bad bool
		switch op := f.Opcode; {
		case n >= 1<<63, b0&0x70 != 0, masked != fromClient:
			bad = true
		case op >= 3 && op <= 7, op >= 11:
			bad = true
		case isCtl:
			bad = !f.Fin || n > 125
		case op == opCont:
			bad = !inMsg
		default:
			bad = inMsg
		}
		if bad {
			return fs, pos + hl, false, ErrFrame
		}
		if !isCtl {
			if f.Opcode != opCont {
				msg = 0
			}
			sum := msg + n
			over := sum > math.MaxInt64
			if over {
				sum = math.MaxInt64 + 1
			}
			msg = sum
			if limit > 0 && msg > uint64(limit) {
				return fs, pos + hl, over, ErrMessageTooBig
			}
			inMsg = !f.Fin
		}
		fs = append(fs, f)
		pos += hl
		if uint64(len(in)-pos) < n {
			return fs, 0, false, nil
		}
		pos += int(n)
	}
	return fs, 0, false, nil
}

func FuzzFrameScanner(f *testing.F) {
	for _, tc := range scanCases() {
		in := tc.input()
		if len(in) > 4096 {
			continue
		}
		f.Add(in, uint16(1), uint16(len(in)/2), tc.fromClient, uint8(min(tc.limit, 255)))
	}
	f.Add([]byte{}, uint16(0), uint16(0), false, uint8(0))
	f.Add([]byte{0x81, 0xFF, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 1, 2, 3, 4}, uint16(3), uint16(9), true, uint8(3))
	f.Fuzz(func(t *testing.T, in []byte, i, j uint16, fromClient bool, limit uint8) {
		lim := int64(limit)
		whole := runScan(t, NewFrameScanner(fromClient, lim), [][]byte{in})
		checkReemit(t, in, whole)

		a, b := int(i)%(len(in)+1), int(j)%(len(in)+1)
		if a > b {
			a, b = b, a
		}
		for _, parts := range [][][]byte{
			{in[:a], in[a:b], in[b:]},
			{in[:a], nil, in[a:], nil},
			bytewise(in),
		} {
			r := runScan(t, NewFrameScanner(fromClient, lim), parts)
			checkReemit(t, in, r)
			sameRun(t, fmt.Sprintf("split at %d, %d", a, b), whole, r)
		}

		fs, errAt, _, err := refScan(in, fromClient, lim)
		if !errors.Is(whole.err, err) || (err == nil) != (whole.err == nil) || !slices.Equal(headers(whole), fs) ||
			(err != nil && whole.consumed != errAt) {
			t.Fatalf("scanner: frames %+v, error %v after %d bytes\nreference: frames %+v, error %v at %d",
				headers(whole), whole.err, whole.consumed, fs, err, errAt)
		}
		// Limits hold for whatever is accepted.
		for _, e := range whole.entries {
			if e.f.IsControl() {
				continue
			}
			if e.msgLen < 0 {
				t.Fatalf("MessageLen %d: a message's lengths wrapped", e.msgLen)
			}
			if lim > 0 && e.msgLen > lim {
				t.Fatalf("accepted %+v with MessageLen %d, limit %d", e.f, e.msgLen, lim)
			}
		}
	})
}

// ---------------------------------------------------------------------------

// BenchmarkFrameScanner follows a stream of 100-byte server text frames in 16 KiB
// reads, as a relay does.
func BenchmarkFrameScanner(b *testing.B) {
	frame := ServerFrame(false, bytes.Repeat([]byte("x"), 100))
	stream := bytes.Repeat(frame, 10000)
	const read = 16 << 10
	s := NewFrameScanner(false, 1<<20)
	b.ReportAllocs()
	b.SetBytes(int64(len(stream)))
	frames := 0
	for b.Loop() {
		for off := 0; off < len(stream); off += read {
			p := stream[off:min(off+read, len(stream))]
			for len(p) > 0 {
				n, _, err := s.Scan(p)
				if err != nil {
					b.Fatal(err)
				}
				if s.FrameDone() {
					frames++
				}
				p = p[n:]
			}
		}
	}
	b.StopTimer()
	if !s.AtBoundary() || frames%10000 != 0 {
		b.Fatalf("%d frames, AtBoundary %v", frames, s.AtBoundary())
	}
}

// TestFrameScannerControl: a control frame's payload comes out whole and unmasked
// however its bytes are cut, from a client (masked) and from a server.
func TestFrameScannerControl(t *testing.T) {
	t.Parallel()
	payload := "\x03\xe8" + strings.Repeat("r", 100)
	for _, fromClient := range []bool{false, true} {
		before, f := text("before"), ctl(opClose, payload)
		if fromClient {
			before, f = before.masked4(), f.masked4()
		}
		in := wire(before, f)
		for _, parts := range [][][]byte{{in}, bytewise(in)} {
			s := NewFrameScanner(fromClient, 0)
			var got string
			for _, part := range parts {
				for len(part) > 0 {
					n, res, err := s.Scan(part)
					if err != nil {
						t.Fatal(err)
					}
					part = part[n:]
					if res != ScanMore && s.FrameDone() && s.Frame().IsControl() {
						got = string(s.Control())
					}
				}
			}
			if got != payload {
				t.Fatalf("from a client %v, %d parts: control payload %q; want %q", fromClient, len(parts), got, payload)
			}
			if code, text := ClosePayload([]byte(got)); code != 1000 || text != strings.Repeat("r", 100) {
				t.Fatalf("close %d %q", code, text)
			}
		}
	}
	if code, _ := ClosePayload(nil); code != websocket.CloseNoStatusReceived {
		t.Fatalf("empty close: %d; want 1005", code)
	}
}
