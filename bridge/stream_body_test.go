package bridge

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"
	"testing"

	"github.com/ssews/ssews/sse"
)

// partsConn is a net.Conn whose reads return parts in order, each cut to the
// reader's buffer and never joined with the next, then io.EOF. Only Read is used.
type partsConn struct {
	net.Conn
	parts [][]byte
}

func newPartsConn(parts []string) *partsConn {
	c := &partsConn{}
	for _, p := range parts {
		if p != "" {
			c.parts = append(c.parts, []byte(p))
		}
	}
	return c
}

func (c *partsConn) Read(p []byte) (int, error) {
	if len(c.parts) == 0 {
		return 0, io.EOF
	}
	n := copy(p, c.parts[0])
	if c.parts[0] = c.parts[0][n:]; len(c.parts[0]) == 0 {
		c.parts = c.parts[1:]
	}
	return n, nil
}

// guard fills the bytes of buf past the caller's p, to catch a Read writing there.
const guard = 0xA5

// readBody reads b with reads of size bytes until an error, and returns what it
// read and that error. Every Read must answer within p, write nowhere past it, and
// make progress: a Read returning neither bytes nor an error many times is stuck.
func readBody(tb testing.TB, b *streamBody, size int) ([]byte, error) {
	tb.Helper()
	buf := make([]byte, size+16)
	var got []byte
	for idle := 0; ; {
		for i := range buf {
			buf[i] = guard
		}
		n, err := b.Read(buf[:size])
		if n < 0 || n > size {
			tb.Fatalf("Read of %d bytes returned n = %d", size, n)
		}
		for _, c := range buf[size:] {
			if c != guard {
				tb.Fatalf("Read of %d bytes wrote past p: %q", size, buf[size:])
			}
		}
		got = append(got, buf[:n]...)
		if err != nil {
			return got, err
		}
		if n == 0 {
			if idle++; idle > 1000 {
				tb.Fatalf("Read of %d bytes returned 0, nil %d times", size, idle)
			}
		} else {
			idle = 0
		}
	}
}

// finish reads the end of a body that returned err, and checks that the error
// sticks: the next Read returns it again, with no bytes.
func finish(tb testing.TB, b *streamBody, err error) error {
	tb.Helper()
	if err == sse.ErrWouldBlock {
		return err
	}
	if n, again := b.Read(make([]byte, 8)); n != 0 || again != err {
		tb.Errorf("Read after %v = %d, %v; want 0 and the same error", err, n, again)
	}
	return err
}

// decodeConn decodes parts read from a connection, parts[:heads] of them having
// come with the response head.
func decodeConn(tb testing.TB, chunked bool, parts []string, heads, size int) ([]byte, error) {
	tb.Helper()
	heads = min(heads, len(parts))
	head := []byte(strings.Join(parts[:heads], ""))
	b := newStreamBody(context.Background(), newPartsConn(parts[heads:]), nil, head, chunked)
	got, err := readBody(tb, b, size)
	return got, finish(tb, b, err)
}

// decodeLoop decodes parts fed by the relay loop, reading each until
// sse.ErrWouldBlock, and then the socket's end. The loop reuses its buffer: each
// part is overwritten once the body used it up.
func decodeLoop(tb testing.TB, chunked bool, parts []string, size int) ([]byte, error) {
	tb.Helper()
	b := &streamBody{fd: -1, chunked: chunked}
	var got []byte
	for _, part := range parts {
		buf := []byte(part)
		b.feed(buf)
		more, err := readBody(tb, b, size)
		got = append(got, more...)
		if err != sse.ErrWouldBlock {
			return got, finish(tb, b, err)
		}
		for i := range buf {
			buf[i] = '#'
		}
	}
	if n, err := b.Read(make([]byte, 8)); n != 0 || err != sse.ErrWouldBlock {
		tb.Fatalf("Read with nothing fed = %d, %v; want 0, ErrWouldBlock", n, err)
	}
	b.sockErr = io.EOF
	more, err := readBody(tb, b, size)
	return append(got, more...), finish(tb, b, err)
}

// feeds returns input cut in every way the body must not notice: whole, one byte
// per read, and in two at every offset.
func feeds(input string) map[string][]string {
	ways := map[string][]string{"whole": {input}}
	bytewise := make([]string, len(input))
	for i := range input {
		bytewise[i] = input[i : i+1]
	}
	ways["one byte"] = bytewise
	for i := 1; i < len(input); i++ {
		ways[fmt.Sprintf("split at %d", i)] = []string{input[:i], input[i:]}
	}
	return ways
}

// sameErr reports whether got is the error wanted: errChunkLine may be wrapped,
// io.EOF and io.ErrUnexpectedEOF must be themselves.
func sameErr(got, want error) bool {
	if want == errChunkLine {
		return errors.Is(got, want)
	}
	return got == want
}

// checkDecode asserts that input, fed in every way feeds knows, from a connection
// (with and without bytes read with the head) and from the relay loop, and read
// with big and small buffers, decodes to want and then ends with wantErr.
func checkDecode(t *testing.T, chunked bool, input, want string, wantErr error) {
	t.Helper()
	sizes := []int{1, 3, 4 << 10}
	if len(input) > 256 {
		sizes = []int{5} // the long lines: each size is another 3*len(input) decodes
	}
	for how, parts := range feeds(input) {
		for _, size := range sizes {
			modes := map[string]func() ([]byte, error){
				"conn": func() ([]byte, error) { return decodeConn(t, chunked, parts, 0, size) },
				"head": func() ([]byte, error) { return decodeConn(t, chunked, parts, 1, size) },
				"loop": func() ([]byte, error) { return decodeLoop(t, chunked, parts, size) },
			}
			for mode, decode := range modes {
				got, err := decode()
				if string(got) != want || !sameErr(err, wantErr) {
					t.Errorf("%s, %s, reads of %d: got %q, %v; want %q, %v",
						how, mode, size, clip(got), err, clip([]byte(want)), wantErr)
				}
			}
		}
	}
}

// clip shortens b for a failure message.
func clip(b []byte) string {
	if len(b) > 80 {
		return fmt.Sprintf("%s…(%d bytes)", b[:80], len(b))
	}
	return string(b)
}

func TestStreamBodyChunked(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("x", maxChunkLine)
	cases := []struct {
		name    string
		input   string
		want    string
		wantErr error
	}{
		{name: "single chunk", input: "5\r\nhello\r\n0\r\n\r\n", want: "hello", wantErr: io.EOF},
		{name: "several chunks", input: "5\r\nhello\r\n1\r\n \r\n5\r\nworld\r\n0\r\n\r\n", want: "hello world", wantErr: io.EOF},
		{name: "CRLF in the data", input: "4\r\na\r\nb\r\n0\r\n\r\n", want: "a\r\nb", wantErr: io.EOF},
		{name: "upper-case hex", input: "1A\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\n\r\n", want: "abcdefghijklmnopqrstuvwxyz", wantErr: io.EOF},
		{name: "lower-case hex", input: "1a\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\n\r\n", want: "abcdefghijklmnopqrstuvwxyz", wantErr: io.EOF},
		{name: "leading zeros", input: "0005\r\nhello\r\n000\r\n\r\n", want: "hello", wantErr: io.EOF},
		{name: "chunk extension", input: "5;name=value\r\nhello\r\n0;last\r\n\r\n", want: "hello", wantErr: io.EOF},
		{name: "quoted extension", input: "5;a=\"x;y\";b\r\nhello\r\n0\r\n\r\n", want: "hello", wantErr: io.EOF},
		{name: "whitespace before CRLF", input: "5 \t \r\nhello\r\n0 \r\n\r\n", want: "hello", wantErr: io.EOF},
		{name: "whitespace before extension", input: "5 ;name=value\r\nhello\r\n0\t;x\r\n\r\n", want: "hello", wantErr: io.EOF},
		{name: "bare LF", input: "5\nhello\n6\n world\n0\n\n", want: "hello world", wantErr: io.EOF},
		{name: "trailers", input: "5\r\nhello\r\n0\r\nExpires: never\r\nX-Other: 1\r\n\r\n", want: "hello", wantErr: io.EOF},
		{name: "zero chunk, no trailers", input: "0\r\n\r\n", want: "", wantErr: io.EOF},
		{name: "bytes after the end are not body", input: "3\r\nabc\r\n0\r\n\r\nHTTP/1.1 200 OK\r\n", want: "abc", wantErr: io.EOF},
		{name: "size not hex", input: "zz\r\nhello\r\n0\r\n\r\n", want: "", wantErr: errChunkLine},
		{name: "size empty", input: "\r\nhello\r\n0\r\n\r\n", want: "", wantErr: errChunkLine},
		{name: "size only whitespace", input: " \r\nhello\r\n", want: "", wantErr: errChunkLine},
		{name: "size only extension", input: ";x=y\r\nhello\r\n", want: "", wantErr: errChunkLine},
		{name: "size negative", input: "-5\r\nhello\r\n0\r\n\r\n", want: "", wantErr: errChunkLine},
		{name: "size with plus", input: "+5\r\nhello\r\n0\r\n\r\n", want: "", wantErr: errChunkLine},
		{name: "size with 0x", input: "0x5\r\nhello\r\n0\r\n\r\n", want: "", wantErr: errChunkLine},
		{name: "size with underscore", input: "0_5\r\nhello\r\n0\r\n\r\n", want: "", wantErr: errChunkLine},
		{name: "size with leading space", input: " 5\r\nhello\r\n0\r\n\r\n", want: "", wantErr: errChunkLine},
		{name: "size with bare CR", input: "5\r\r\nhello\r\n0\r\n\r\n", want: "", wantErr: errChunkLine},
		{name: "size over int64", input: "8000000000000000\r\nhello\r\n", want: "", wantErr: errChunkLine},
		{name: "bad size after a chunk", input: "3\r\nabc\r\nzz\r\n", want: "abc", wantErr: errChunkLine},
		{name: "data longer than its size", input: "3\r\nabcde\r\n0\r\n\r\n", want: "abc", wantErr: errChunkLine},
		{name: "data without its CRLF", input: "3\r\nabc0\r\n\r\n", want: "abc", wantErr: errChunkLine},
		{name: "data end over the line bound", input: "3\r\nabc" + long + "\r\n0\r\n\r\n", want: "abc", wantErr: errChunkLine},
		{name: "size line over the bound, unended", input: "5;" + long, want: "", wantErr: errChunkLine},
		{name: "trailer over the bound, unended", input: "1\r\na\r\n0\r\nX: " + long, want: "a", wantErr: errChunkLine},
		// The longest line taken however it is cut: maxChunkLine bytes with its CR.
		{name: "size line at the bound", input: "5;" + long[:maxChunkLine-3] + "\r\nhello\r\n0\r\n\r\n", want: "hello", wantErr: io.EOF},
		{
			name: "size line over the bound", input: "5;" + long + "\r\nhello\r\n0\r\n\r\n", want: "", wantErr: errChunkLine,
		},
		{
			name: "trailer over the bound", input: "0\r\nX: " + long + "\r\n\r\n", want: "", wantErr: errChunkLine,
		},
		{name: "end mid-data", input: "5\r\nhel", want: "hel", wantErr: io.ErrUnexpectedEOF},
		{name: "end mid-size line", input: "5\r\nhello\r\n1", want: "hello", wantErr: io.ErrUnexpectedEOF},
		{name: "end before data CRLF", input: "5\r\nhello", want: "hello", wantErr: io.ErrUnexpectedEOF},
		{name: "end between CR and LF", input: "5\r\nhello\r", want: "hello", wantErr: io.ErrUnexpectedEOF},
		{name: "end before the zero chunk", input: "5\r\nhello\r\n", want: "hello", wantErr: io.ErrUnexpectedEOF},
		{name: "end before the last blank line", input: "5\r\nhello\r\n0\r\n", want: "hello", wantErr: io.ErrUnexpectedEOF},
		{name: "end mid-trailers", input: "5\r\nhello\r\n0\r\nX: y\r\n", want: "hello", wantErr: io.ErrUnexpectedEOF},
		{name: "empty body", input: "", want: "", wantErr: io.ErrUnexpectedEOF},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			checkDecode(t, true, c.input, c.want, c.wantErr)
		})
	}
}

// TestStreamBodyChunkLineSplits names the cuts the feeds in checkDecode go
// through, at the places where a line is cut: a size line, and a CRLF.
func TestStreamBodyChunkLineSplits(t *testing.T) {
	t.Parallel()
	input := "1a;ext=v\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\n\r\n"
	cases := []struct {
		name  string
		parts []string
	}{
		{"size line split", []string{"1", "a;ex", "t=v\r\nabc", "defghijklmnopqrstuvwxyz\r\n0\r\n\r\n"}},
		{"size CRLF split", []string{"1a;ext=v\r", "\nabcdefghijklmnopqrstuvwxyz\r\n0\r\n\r\n"}},
		{"data CRLF split", []string{"1a;ext=v\r\nabcdefghijklmnopqrstuvwxyz\r", "\n0\r\n\r\n"}},
		{"data and its CRLF split", []string{"1a;ext=v\r\nabcdefghijklmnopqrstuvwxyz", "\r\n0\r\n\r\n"}},
		{"last CRLF split", []string{"1a;ext=v\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\n\r", "\n"}},
		{"every line apart", []string{"1a;ext=v\r\n", "abcdefghijklmnopqrstuvwxyz", "\r\n", "0\r\n", "\r\n"}},
	}
	for _, c := range cases {
		if strings.Join(c.parts, "") != input {
			t.Fatalf("%s: parts %q do not make the input", c.name, c.parts)
		}
		for _, size := range []int{1, 4 << 10} {
			results := map[string]func() ([]byte, error){
				"conn": func() ([]byte, error) { return decodeConn(t, true, c.parts, 0, size) },
				"head": func() ([]byte, error) { return decodeConn(t, true, c.parts, 1, size) },
				"loop": func() ([]byte, error) { return decodeLoop(t, true, c.parts, size) },
			}
			for mode, decode := range results {
				if got, err := decode(); string(got) != "abcdefghijklmnopqrstuvwxyz" || err != io.EOF {
					t.Errorf("%s, %s, reads of %d: got %q, %v; want the alphabet, EOF", c.name, mode, size, got, err)
				}
			}
		}
	}
}

func TestStreamBodyIdentity(t *testing.T) {
	t.Parallel()
	cases := []struct{ name, input string }{
		{"text", "data: hello\n\ndata: world\n\n"},
		{"chunked-looking bytes are data", "5\r\nhello\r\n0\r\n\r\n"},
		{"binary", "\x00\xff\r\n\x00"},
		{"empty", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			checkDecode(t, false, c.input, c.input, io.EOF)
		})
	}
}

// TestStreamBodyHeadFirst checks that the bytes read with the response head are
// decoded before the connection's, and are the body's own.
func TestStreamBodyHeadFirst(t *testing.T) {
	t.Parallel()
	cases := []struct {
		chunked    bool
		head, conn string
		want       string
	}{
		{false, "abc", "def", "abcdef"},
		{true, "3\r\nabc\r\n", "3\r\ndef\r\n0\r\n\r\n", "abcdef"},
		{true, "3\r\nab", "c\r\n3\r\ndef\r\n0\r\n\r\n", "abcdef"},
		{true, "3\r\nabc\r\n0\r\n\r\n", "", "abc"},
	}
	for _, c := range cases {
		for _, size := range []int{1, 4 << 10} {
			head := []byte(c.head)
			b := newStreamBody(context.Background(), newPartsConn([]string{c.conn}), nil, head, c.chunked)
			for i := range head {
				head[i] = '#' // the caller's buffer is reused
			}
			got, err := readBody(t, b, size)
			if string(got) != c.want || err != io.EOF {
				t.Errorf("chunked %v, head %q, conn %q, reads of %d: got %q, %v; want %q, EOF",
					c.chunked, c.head, c.conn, size, got, err, c.want)
			}
		}
	}
}

// TestStreamBodyNetPipe reads a body from a real net.Conn, written in parts.
func TestStreamBodyNetPipe(t *testing.T) {
	t.Parallel()
	cases := []struct {
		chunked bool
		parts   []string
		want    string
		wantErr error
	}{
		{true, []string{"5\r", "\nhel", "lo\r\n6;x\r\n world\r\n0\r\nT: 1\r\n\r\n"}, "hello world", io.EOF},
		{true, []string{"5\r\nhel"}, "hel", io.ErrUnexpectedEOF},
		{true, []string{"3\r\nabcd\r\n"}, "abc", errChunkLine},
		{false, []string{"data: a\n", "\n"}, "data: a\n\n", io.EOF},
	}
	for _, c := range cases {
		client, server := net.Pipe()
		done := make(chan struct{})
		go func() {
			defer close(done)
			defer server.Close()
			for _, p := range c.parts {
				if _, err := server.Write([]byte(p)); err != nil {
					return // the reader stopped at an error
				}
			}
		}()
		b := newStreamBody(context.Background(), client, nil, nil, c.chunked)
		got, err := readBody(t, b, 3)
		if string(got) != c.want || !sameErr(err, c.wantErr) {
			t.Errorf("parts %q: got %q, %v; want %q, %v", c.parts, got, err, c.want, c.wantErr)
		}
		b.Close()
		<-done
	}
}

// TestStreamBodyKeepPending checks that what the loop fed and the body has not
// decoded yet survives the loop reusing its buffer, after keepPending.
func TestStreamBodyKeepPending(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		chunked bool
		input   string
		want    string
	}{
		{"chunked", true, "5\r\nhello\r\n5\r\nworld\r\n0\r\n\r\n", "helloworld"},
		{"chunked, mid-line", true, "3\r\nabc\r\n1a;ext\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\n\r\n", "abcabcdefghijklmnopqrstuvwxyz"},
		{"identity", false, "data: hello\n\n", "data: hello\n\n"},
	}
	for _, c := range cases {
		// Take 1, 2, ... bytes from the fed buffer before the loop lets it go.
		for first := 1; first < len(c.want); first++ {
			b := &streamBody{fd: -1, chunked: c.chunked}
			buf := []byte(c.input)
			b.feed(buf)
			p := make([]byte, first)
			n, err := io.ReadFull(b, p)
			if n != first || err != nil {
				t.Fatalf("%s: first read = %d, %v; want %d bytes", c.name, n, err, first)
			}
			b.keepPending()
			for i := range buf {
				buf[i] = '#'
			}
			b.sockErr = io.EOF
			rest, err := readBody(t, b, 4)
			if got := string(p) + string(rest); got != c.want || err != io.EOF {
				t.Errorf("%s, %d bytes before keepPending: got %q, %v; want %q, EOF", c.name, first, got, err, c.want)
			}
		}
	}
}

// TestStreamBodyWouldBlock checks that sse.ErrWouldBlock does not stick, and that
// the other errors do.
func TestStreamBodyWouldBlock(t *testing.T) {
	t.Parallel()
	for _, chunked := range []bool{true, false} {
		b := &streamBody{fd: -1, chunked: chunked}
		for range 3 {
			if n, err := b.Read(make([]byte, 8)); n != 0 || err != sse.ErrWouldBlock {
				t.Fatalf("chunked %v: Read with nothing fed = %d, %v; want 0, ErrWouldBlock", chunked, n, err)
			}
		}
		in := "data: x\n\n"
		if chunked {
			in = "9\r\ndata: x\n\n\r\n"
		}
		b.feed([]byte(in))
		if got, err := readBody(t, b, 64); string(got) != "data: x\n\n" || err != sse.ErrWouldBlock {
			t.Errorf("chunked %v: after ErrWouldBlock, read %q, %v; want the data, then ErrWouldBlock", chunked, got, err)
		}
	}

	// A malformed body stays failed, whatever comes after.
	b := &streamBody{fd: -1, chunked: true}
	b.feed([]byte("zz\r\n"))
	if _, err := b.Read(make([]byte, 8)); !errors.Is(err, errChunkLine) {
		t.Fatalf("Read of a bad size = %v; want errChunkLine", err)
	}
	b.feed([]byte("5\r\nhello\r\n0\r\n\r\n"))
	if n, err := b.Read(make([]byte, 8)); n != 0 || !errors.Is(err, errChunkLine) {
		t.Errorf("Read after errChunkLine and good bytes = %d, %v; want 0, errChunkLine", n, err)
	}
}

// TestStreamBodySocketError checks that how the socket ended in the loop ends the
// body, after what was fed before it.
func TestStreamBodySocketError(t *testing.T) {
	t.Parallel()
	cases := []struct {
		chunked bool
		input   string
		sockErr error
		want    string
		wantErr error
	}{
		{true, "5\r\nhello\r\n", syscall.ECONNRESET, "hello", syscall.ECONNRESET},
		{false, "hello", syscall.ECONNRESET, "hello", syscall.ECONNRESET},
		{true, "5\r\nhello\r\n", io.EOF, "hello", io.ErrUnexpectedEOF},
		{false, "hello", io.EOF, "hello", io.EOF},
		// The end of the body is found before the socket's error is looked at.
		{true, "5\r\nhello\r\n0\r\n\r\n", syscall.ECONNRESET, "hello", io.EOF},
	}
	for _, c := range cases {
		b := &streamBody{fd: -1, chunked: c.chunked}
		b.feed([]byte(c.input))
		b.sockErr = c.sockErr
		got, err := readBody(t, b, 2)
		if string(got) != c.want || err != c.wantErr {
			t.Errorf("chunked %v, %q then %v: got %q, %v; want %q, %v", c.chunked, c.input, c.sockErr, got, err, c.want, c.wantErr)
		}
		if n, again := b.Read(make([]byte, 8)); n != 0 || again != c.wantErr {
			t.Errorf("chunked %v, %q then %v: next Read = %d, %v; want 0, %v", c.chunked, c.input, c.sockErr, n, again, c.wantErr)
		}
	}
}
