package bridge

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"

	"github.com/ssews/ssews/internal/sockio"
	"github.com/ssews/ssews/sse"
)

// streamBody is the body of an SSE upstream's response on a connection of ssews's
// own (sseClient.roundTripDirect): chunked, or running until the connection closes.
// It is read either from its connection, which waits, or from the bytes the relay
// loop read from the socket (feed), answering sse.ErrWouldBlock when those are used
// up: unlike net/http's body it keeps its place across that, so the parser above it
// goes on where it stopped when the loop has more.
type streamBody struct {
	conn net.Conn // nil while the relay loop reads the socket
	fd   int      // the socket while the relay loop reads it, else -1
	// ctx ends the connection's reads (its deadline), for whichever conn is current;
	// stopDeadline unregisters that for the current connection, so that one the
	// relay loop took (closed) is not kept for it.
	ctx          context.Context
	stopDeadline func() bool
	// pending is what was read from the socket and not decoded yet.
	pending []byte
	readBuf []byte // the connection's read buffer, for a chunked body
	// sockErr is how the socket ended while the loop read it.
	sockErr error
	chunked bool
	state   chunkState
	left    int64  // chunked: data bytes left in the current chunk
	line    []byte // chunked: a size or trailer line cut by a read
	err     error  // sticky
}

type chunkState uint8

const (
	chunkSize    chunkState = iota // reading a chunk-size line
	chunkData                      // reading a chunk's data
	chunkDataEnd                   // reading the CRLF after a chunk's data
	chunkTrailer                   // reading trailer lines, up to the blank one
)

// maxChunkLine bounds a chunk-size or trailer line: the size and its extensions.
const maxChunkLine = 4 << 10

var (
	errChunkLine        = errors.New("sse upstream: malformed chunked encoding")
	errChunkLineTooLong = fmt.Errorf("%w: line over %d bytes", errChunkLine, maxChunkLine)
)

// newStreamBody reads a body from conn after the response head, starting with the
// bytes of it that were read with the head. ctx ends conn's reads through a
// registration that stopDeadline, if not nil, takes back.
func newStreamBody(ctx context.Context, conn net.Conn, stopDeadline func() bool, head []byte, chunked bool) *streamBody {
	return &streamBody{conn: conn, fd: -1, ctx: ctx, stopDeadline: stopDeadline, pending: bytes.Clone(head), chunked: chunked}
}

// Read decodes as much as is there, up to len(p): it waits for the socket only when
// it has nothing to return.
func (b *streamBody) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	if !b.chunked {
		if len(b.pending) == 0 && b.conn != nil {
			n, err := b.conn.Read(p) // straight into the parser's buffer
			b.err = err
			return n, err
		}
		if len(b.pending) == 0 {
			return 0, b.fill()
		}
		n := copy(p, b.pending)
		b.pending = b.pending[n:]
		return n, nil
	}
	n := 0
	for n < len(p) {
		if b.state == chunkData {
			if b.left == 0 {
				b.state = chunkDataEnd
				continue
			}
			if len(b.pending) == 0 {
				if n > 0 {
					return n, nil
				}
				if err := b.fill(); err != nil {
					return 0, err
				}
				continue
			}
			k := copy(p[n:], b.pending[:min(int64(len(b.pending)), b.left)])
			b.pending = b.pending[k:]
			b.left -= int64(k)
			n += k
			continue
		}
		line, ok, err := b.nextLine()
		if err != nil {
			b.err = err
			return n, err
		}
		if !ok {
			if n > 0 {
				return n, nil
			}
			if err := b.fill(); err != nil {
				return 0, err
			}
			continue
		}
		if err := b.chunkLine(line); err != nil {
			b.err = err
			return n, err
		}
		if b.err == io.EOF {
			if n == 0 {
				return 0, io.EOF
			}
			return n, nil // the next Read returns io.EOF
		}
	}
	return n, nil
}

// chunkLine processes one line of the chunked framing (RFC 9112 section 7.1).
func (b *streamBody) chunkLine(line []byte) error {
	switch b.state {
	case chunkSize:
		if i := bytes.IndexByte(line, ';'); i >= 0 {
			line = line[:i] // extensions are ignored
		}
		line = bytes.TrimRight(line, " \t")
		size, err := strconv.ParseUint(string(line), 16, 63)
		if err != nil || len(line) == 0 {
			return fmt.Errorf("%w: chunk size %q", errChunkLine, line)
		}
		b.left = int64(size)
		b.state = chunkData
		if size == 0 {
			b.state = chunkTrailer
		}
	case chunkDataEnd:
		if len(line) != 0 {
			return fmt.Errorf("%w: chunk data longer than its size", errChunkLine)
		}
		b.state = chunkSize
	case chunkTrailer:
		if len(line) == 0 {
			b.err = io.EOF // the body is over; trailers are ignored
		}
	}
	return nil
}

// nextLine takes one line, without its CRLF, from pending; ok is false when pending
// holds no line end yet, and what it holds is kept for the next call.
func (b *streamBody) nextLine() (line []byte, ok bool, err error) {
	i := bytes.IndexByte(b.pending, '\n')
	if i < 0 {
		if len(b.line)+len(b.pending) > maxChunkLine+1 { // +1: a CR whose LF is to come
			return nil, false, errChunkLineTooLong
		}
		b.line = append(b.line, b.pending...)
		b.pending = b.pending[:0]
		return nil, false, nil
	}
	line = b.pending[:i]
	b.pending = b.pending[i+1:]
	if len(b.line) > 0 {
		line = append(b.line, line...)
		b.line = b.line[:0]
	}
	line = bytes.TrimSuffix(line, []byte("\r"))
	if len(line) > maxChunkLine {
		return nil, false, errChunkLineTooLong
	}
	return line, true, nil
}

// fill reads more of the socket into pending: from the connection, which waits, or,
// while the relay loop reads the socket, sse.ErrWouldBlock (or how the socket ended).
func (b *streamBody) fill() error {
	if b.conn == nil {
		if b.sockErr != nil {
			b.err = b.sockErr
			if b.chunked && b.err == io.EOF {
				b.err = io.ErrUnexpectedEOF
			}
			return b.err
		}
		return sse.ErrWouldBlock
	}
	if b.readBuf == nil {
		b.readBuf = make([]byte, 4<<10)
	}
	n, err := b.conn.Read(b.readBuf)
	b.pending = b.readBuf[:n]
	if n > 0 {
		return nil
	}
	if err == io.EOF && b.chunked {
		err = io.ErrUnexpectedEOF
	}
	b.err = err
	return err
}

// idle reports whether nothing of the upstream's waits to be read: nothing read and
// not decoded, nothing in the socket, and the socket has not ended.
func (b *streamBody) idle() bool {
	if len(b.pending) > 0 || b.conn == nil || b.err != nil {
		return false
	}
	raw := rawSocket(b.conn)
	if raw == nil {
		return false
	}
	readable := true
	if err := raw.Control(func(fd uintptr) { readable = sockio.Readable(fd) }); err != nil {
		return false
	}
	return !readable
}

// feed gives the body bytes the relay loop read. They must be used up (Read
// answering sse.ErrWouldBlock) or kept (keepPending) before the loop reads again.
func (b *streamBody) feed(p []byte) { b.pending = p }

// keepPending copies what is left of the loop's bytes, before the body leaves it.
func (b *streamBody) keepPending() {
	if len(b.pending) > 0 {
		b.pending = bytes.Clone(b.pending)
	}
}

// Close closes the connection. It must not run while the relay loop reads the socket.
func (b *streamBody) Close() error {
	if b.conn == nil {
		return closeFD(b.fd)
	}
	return b.conn.Close()
}
