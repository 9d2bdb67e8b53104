package ws

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/gorilla/websocket"
)

// FrameScanner follows the frames of one direction of a WebSocket connection as its
// bytes arrive, for a relay that passes them on unchanged (a tunnel between a client
// and an upstream): it holds a frame's header until it is whole, then lets the
// payload through in whatever pieces it comes, so a relay never copies a message to
// reassemble it and can tell where frames start and end (to put frames of its own
// between them). It checks what such a relay must (RFC 6455 section 5): no reserved
// bits or opcodes, control frames short and whole, continuation frames only inside a
// message, masking as the direction requires, and a message size limit.
//
// gorilla/websocket reads a connection it owns, through its own buffer, waiting for
// the bytes it needs; a relay fed by an event loop has bytes when they come.
type FrameScanner struct {
	masked bool  // frames must be masked (from a client); else they must not be
	limit  int64 // largest message, in payload bytes; 0: none

	hdr  [maxClientHeader]byte
	nhdr int   // header bytes so far
	hlen int   // the length of the last whole header (Header)
	left int64 // payload bytes left in the current frame, once its header is whole
	cur  Frame
	// inPayload: the header is whole and left counts the payload.
	inPayload bool
	frameDone bool  // the last Scan ended a frame
	inMessage bool  // a data message is under way (its last frame is to come)
	msgLen    int64 // the payload of the message so far
	// ctl is the current control frame's payload, unmasked (Control).
	ctl  [maxControl]byte
	nctl int
}

// maxControl is the longest payload of a control frame.
const maxControl = 125

// maxClientHeader is the longest frame header: 2 bytes, 8 of length, 4 of mask key.
const maxClientHeader = 14

// Frame is a frame header, as a FrameScanner read it.
type Frame struct {
	Opcode int // websocket.TextMessage, ... websocket.PongMessage; 0: continuation
	Fin    bool
	Len    int64 // payload bytes
	Masked bool
	Key    [4]byte
}

// IsControl reports a close, ping or pong frame.
func (f Frame) IsControl() bool { return f.Opcode >= websocket.CloseMessage }

// ScanResult says what FrameScanner.Scan consumed.
type ScanResult int

const (
	// ScanMore: all of it went into a header that is not whole yet.
	ScanMore ScanResult = iota
	// ScanHeader: a header is whole (Header, Frame); the bytes consumed were its last.
	ScanHeader
	// ScanPayload: the bytes consumed are payload of the current frame.
	ScanPayload
)

// ErrFrame is a frame a relay must not pass on; ErrMessageTooBig, one that takes
// its message over the limit.
var (
	ErrFrame         = errors.New("ws: protocol error in frame")
	ErrMessageTooBig = errors.New("ws: message over the size limit")
)

// NewFrameScanner returns a scanner for frames from a client (masked) or from a
// server, with a message size limit (0: none).
func NewFrameScanner(fromClient bool, limit int64) *FrameScanner {
	return &FrameScanner{masked: fromClient, limit: limit}
}

// Scan consumes the start of b and returns how many bytes and what they were. A
// header is returned whole by Header once Scan reports ScanHeader (its bytes may
// have come over several calls); payload bytes are b[:n] when it reports
// ScanPayload. After either, FrameDone reports whether the frame is over. An error
// is final: the stream cannot be followed any further.
func (s *FrameScanner) Scan(b []byte) (n int, r ScanResult, err error) {
	s.frameDone = false
	if len(b) == 0 {
		return 0, ScanMore, nil
	}
	if s.inPayload {
		k := int(min(int64(len(b)), s.left))
		if s.cur.IsControl() {
			for _, c := range b[:k] {
				s.ctl[s.nctl] = c ^ s.cur.Key[s.nctl%4] // Key is zero when unmasked
				s.nctl++
			}
		}
		s.left -= int64(k)
		s.endPayload()
		return k, ScanPayload, nil
	}
	for n < len(b) {
		s.hdr[s.nhdr] = b[n]
		s.nhdr++
		n++
		if need := s.headerLen(); s.nhdr < need {
			continue
		}
		s.hlen, s.nhdr = s.nhdr, 0
		if err := s.parseHeader(); err != nil {
			return n, ScanHeader, err
		}
		s.endPayload()
		return n, ScanHeader, nil
	}
	return n, ScanMore, nil
}

// endPayload ends the frame when its payload is all there.
func (s *FrameScanner) endPayload() {
	if s.left == 0 {
		s.inPayload = false
		s.frameDone = true
	}
}

// headerLen is how long the header being read is, as far as its bytes so far tell.
func (s *FrameScanner) headerLen() int {
	if s.nhdr < 2 {
		return 2
	}
	n := 2
	switch s.hdr[1] & 0x7F {
	case 126:
		n += 2
	case 127:
		n += 8
	}
	if s.hdr[1]&0x80 != 0 {
		n += 4
	}
	return n
}

// parseHeader checks the whole header in hdr and starts its payload.
func (s *FrameScanner) parseHeader() error {
	h := s.hdr[:s.hlen]
	f := Frame{Opcode: int(h[0] & 0x0F), Fin: h[0]&0x80 != 0, Masked: h[1]&0x80 != 0}
	i := 2
	switch l := h[1] & 0x7F; l {
	case 126:
		f.Len = int64(binary.BigEndian.Uint16(h[2:]))
		i += 2
	case 127:
		u := binary.BigEndian.Uint64(h[2:])
		if u>>63 != 0 {
			return fmt.Errorf("%w: length with its top bit set", ErrFrame)
		}
		f.Len = int64(u)
		i += 8
	default:
		f.Len = int64(l)
	}
	if f.Masked {
		copy(f.Key[:], h[i:i+4])
	}
	switch {
	case h[0]&0x70 != 0:
		return fmt.Errorf("%w: reserved bits set", ErrFrame)
	case f.Masked != s.masked && s.masked:
		return fmt.Errorf("%w: a client's frame not masked", ErrFrame)
	case f.Masked != s.masked:
		return fmt.Errorf("%w: a server's frame masked", ErrFrame)
	case f.IsControl():
		if f.Opcode > websocket.PongMessage {
			return fmt.Errorf("%w: reserved opcode %d", ErrFrame, f.Opcode)
		}
		if !f.Fin || f.Len > 125 {
			return fmt.Errorf("%w: control frame fragmented or over 125 bytes", ErrFrame)
		}
	case f.Opcode > websocket.BinaryMessage:
		return fmt.Errorf("%w: reserved opcode %d", ErrFrame, f.Opcode)
	case f.Opcode == 0 && !s.inMessage:
		return fmt.Errorf("%w: continuation frame outside a message", ErrFrame)
	case f.Opcode != 0 && s.inMessage:
		return fmt.Errorf("%w: new message inside a fragmented one", ErrFrame)
	}
	if !f.IsControl() {
		if f.Opcode != 0 {
			s.msgLen = 0
		}
		s.msgLen = min(s.msgLen, math.MaxInt64-f.Len) + f.Len // saturates: lengths may be up to 2^63-1 each
		if s.limit > 0 && s.msgLen > s.limit {
			return fmt.Errorf("%w: %d bytes so far, limit %d", ErrMessageTooBig, s.msgLen, s.limit)
		}
		s.inMessage = !f.Fin
	}
	s.cur = f
	s.left = f.Len
	s.inPayload = true
	s.nctl = 0
	return nil
}

// Header returns the bytes of the header Scan last reported whole, valid until the
// next call of Scan.
func (s *FrameScanner) Header() []byte { return s.hdr[:s.hlen] }

// Frame returns the current frame's header.
func (s *FrameScanner) Frame() Frame { return s.cur }

// MessageLen is the payload of the current data message up to the current frame.
func (s *FrameScanner) MessageLen() int64 { return s.msgLen }

// Control returns the payload of the current control frame, unmasked, as far as it
// has come: all of it once FrameDone. It is valid until the next frame's header.
// A relay that does not pass a control frame on as it is (a close to rewrite, a
// ping to answer) reads it here.
func (s *FrameScanner) Control() []byte { return s.ctl[:s.nctl] }

// ClosePayload returns the status code and reason of a close frame's payload
// (RFC 6455 section 5.5.1): websocket.CloseNoStatusReceived when it has none.
func ClosePayload(p []byte) (code int, text string) {
	if len(p) < 2 {
		return websocket.CloseNoStatusReceived, ""
	}
	return int(binary.BigEndian.Uint16(p)), string(p[2:])
}

// FrameDone reports whether the last Scan ended the current frame; the next starts
// the next frame's header.
func (s *FrameScanner) FrameDone() bool { return s.frameDone }

// AtBoundary reports whether the stream is between frames: a relay may put a frame
// of its own there.
func (s *FrameScanner) AtBoundary() bool { return !s.inPayload && s.nhdr == 0 }
