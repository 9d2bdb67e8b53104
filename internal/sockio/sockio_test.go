//go:build unix

package sockio

import (
	"io"
	"net"
	"syscall"
	"testing"
	"time"
)

func tcpPair(t *testing.T) (a, b *net.TCPConn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	s, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(); s.Close() })
	return s.(*net.TCPConn), c.(*net.TCPConn)
}

func rawOf(t *testing.T, c *net.TCPConn) syscall.RawConn {
	t.Helper()
	raw, err := c.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// TestTryWritevIgnoresAPastDeadline: a deadline set for blocking writes that has
// passed since does not stop a write that never waits.
func TestTryWritevIgnoresAPastDeadline(t *testing.T) {
	s, c := tcpPair(t)
	if err := s.SetWriteDeadline(time.Now().Add(-time.Second)); err != nil {
		t.Fatal(err)
	}
	if n := TryWritev(rawOf(t, s), [][]byte{[]byte("hello")}); n != 5 {
		t.Fatalf("TryWritev wrote %d bytes; want 5", n)
	}
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 5)
	if _, err := c.Read(buf); err != nil || string(buf) != "hello" {
		t.Fatalf("peer read %q, %v", buf, err)
	}
}

// TestReadable: a socket with nothing to read is not readable; one with bytes is,
// and peeking leaves them there.
func TestReadable(t *testing.T) {
	s, c := tcpPair(t)
	raw := rawOf(t, s)
	check := func(want bool) {
		t.Helper()
		var got bool
		if err := raw.Control(func(fd uintptr) { got = Readable(fd) }); err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Fatalf("Readable = %v; want %v", got, want)
		}
	}
	check(false)
	if _, err := c.Write([]byte("x")); err != nil {
		t.Fatal(err)
	}
	_ = s.SetReadDeadline(time.Now().Add(5 * time.Second))
	if err := raw.Read(Readable); err != nil {
		t.Fatal(err)
	}
	check(true)
	b := make([]byte, 1)
	if n, err := s.Read(b); n != 1 || err != nil {
		t.Fatalf("read after peek: %d, %v", n, err)
	}
}

// TestTryWritevWritesInOrder: the buffers arrive back to back, in order, from one
// call, and the count covers them all.
func TestTryWritevWritesInOrder(t *testing.T) {
	s, c := tcpPair(t)
	bufs := [][]byte{[]byte("data: a\n\n"), nil, []byte("data: b\n\n"), []byte(":\n")}
	if n := TryWritev(rawOf(t, s), bufs); n != 20 {
		t.Fatalf("TryWritev wrote %d bytes; want 20", n)
	}
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	got := make([]byte, 20)
	if _, err := io.ReadFull(c, got); err != nil || string(got) != "data: a\n\ndata: b\n\n:\n" {
		t.Fatalf("peer read %q, %v", got, err)
	}
}

// TestTryWritevNeverWaits: once the socket is full, TryWritev returns 0 at once,
// and before that it reports the part of a batch the socket took.
func TestTryWritevNeverWaits(t *testing.T) {
	s, _ := tcpPair(t)
	_ = s.SetWriteBuffer(4 << 10)
	raw := rawOf(t, s)
	chunk := make([]byte, 16<<10)
	bufs := [][]byte{chunk, chunk, chunk, chunk}
	partial := false
	for i := 0; ; i++ {
		n := TryWritev(raw, bufs)
		if n == 0 {
			break
		}
		partial = partial || n < 4*len(chunk)
		if i > 10000 {
			t.Fatal("socket never filled")
		}
	}
	if !partial {
		t.Fatal("no write took part of a batch before the socket filled")
	}
}
