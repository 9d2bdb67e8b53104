package bridge

import (
	"bufio"
	"context"
	"net"
	"net/http"
	"sync"
	"time"
)

// sseClient sends an SSE upstream's request. A plain http:// upstream reached
// without a proxy gets a connection of its own, whose response the stream's
// goroutine reads straight from the socket: http.Transport would keep two goroutines
// and their buffers per connection, for as long as the stream lasts, which for a
// stream is as long as its client stays. Anything else (https, with its TLS and
// HTTP/2, a proxy from the environment, a redirect to follow) goes through the
// http.Client.
type sseClient struct {
	client  *http.Client
	dialer  net.Dialer
	timeout time.Duration // dial, and then request and response headers
}

func newSSEClient(client *http.Client, timeout time.Duration) *sseClient {
	return &sseClient{client: client, dialer: net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second}, timeout: timeout}
}

// do sends req and returns its response with the function that lets it go: it
// closes the connection of a direct exchange, the body otherwise. Call it after
// ending req's context, so that nothing waits on the stream.
func (c *sseClient) do(req *http.Request) (resp *http.Response, release func(), err error) {
	if !c.direct(req) {
		return c.viaClient(req)
	}
	resp, conn, err := c.roundTripDirect(req)
	if err != nil {
		return nil, nil, err
	}
	switch resp.StatusCode {
	case http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther, http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
		loc, lerr := resp.Location()
		conn.Close()
		if lerr != nil {
			return nil, nil, lerr
		}
		// EventSource follows redirects: the http.Client does, from here on.
		next := req.Clone(req.Context())
		next.URL, next.Host, next.Close = loc, "", false
		return c.viaClient(next)
	}
	if body, ok := resp.Body.(*streamBody); ok {
		return resp, func() { body.Close() }, nil
	}
	return resp, func() { conn.Close() }, nil
}

func (c *sseClient) viaClient(req *http.Request) (*http.Response, func(), error) {
	resp, err := c.client.Do(req)
	if err != nil {
		return nil, nil, err
	}
	return resp, func() { resp.Body.Close() }, nil
}

// direct reports whether req can go out on a connection of ssews's own.
func (c *sseClient) direct(req *http.Request) bool {
	if req.URL.Scheme != "http" {
		return false
	}
	proxy, err := http.ProxyFromEnvironment(req)
	return err == nil && proxy == nil
}

// roundTripDirect dials req's host, writes req and reads the response headers
// within the timeout. req's context ends the exchange and, later, the reads of the
// body.
func (c *sseClient) roundTripDirect(req *http.Request) (*http.Response, net.Conn, error) {
	ctx := req.Context()
	addr := req.URL.Host
	if req.URL.Port() == "" {
		addr = net.JoinHostPort(req.URL.Hostname(), "80")
	}
	conn, err := c.dialer.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, nil, err
	}
	stopDeadline := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(longAgo) })
	_ = conn.SetDeadline(time.Now().Add(c.timeout))
	req.Close = true // the stream is the connection's only exchange
	if err := writeRequest(conn, req); err != nil {
		conn.Close()
		return nil, nil, err
	}
	br := headReaders.Get().(*bufio.Reader)
	br.Reset(conn)
	resp, err := http.ReadResponse(br, req)
	for err == nil && resp.StatusCode >= 100 && resp.StatusCode <= 199 { // informational
		resp, err = http.ReadResponse(br, req)
	}
	if err != nil {
		conn.Close()
		return nil, nil, err
	}
	_ = conn.SetDeadline(time.Time{})
	if ctx.Err() != nil { // ended while the deadline was cleared: end the reads again
		_ = conn.SetDeadline(longAgo)
	}
	// A stream's body (chunked, or to the connection's end) is read with no
	// buffer in between, and can be read from the relay loop.
	chunked := len(resp.TransferEncoding) == 1 && resp.TransferEncoding[0] == "chunked"
	if resp.StatusCode/100 == 2 && (chunked || resp.ContentLength < 0 && len(resp.TransferEncoding) == 0) {
		head, _ := br.Peek(br.Buffered())
		resp.Body = newStreamBody(ctx, conn, stopDeadline, head, chunked)
		// The body has what was read past the head: the reader is free
		// (another answer's body reads through it).
		br.Reset(nil)
		headReaders.Put(br)
	}
	return resp, conn, nil
}

// headReaders and requestWriters lend the buffers a stream's exchange needs until
// its body starts (and headReaders, headConn the one it reads a recorded handshake
// with), so that thousands of clients connecting at once leave no 4 or 8 KB of
// garbage each.
var (
	headReaders    = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 4<<10) }}
	requestWriters = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, 4<<10) }}
)

// writeRequest writes req to conn through a lent buffer.
func writeRequest(conn net.Conn, req *http.Request) error {
	bw := requestWriters.Get().(*bufio.Writer)
	bw.Reset(conn)
	err := req.Write(bw)
	if err == nil {
		err = bw.Flush()
	}
	bw.Reset(nil)
	requestWriters.Put(bw)
	return err
}
