package bridge

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"mime"
	"net/http"
	"time"

	"github.com/ssews/ssews/sse"
)

// sseUpstream is an open text/event-stream response, parsed as it arrives.
type sseUpstream struct {
	parser  *sse.Parser
	cancel  context.CancelFunc
	release func() // lets the response go (sseClient.do)
	wait    *waitReader
}

// dialSSE returns a dialFunc for an SSE upstream. The request carries the client's
// forwarded headers and, when resuming, Last-Event-ID, as a browser's EventSource
// sends it on reconnect.
func dialSSE(client *sseClient, cr *clientRequest, maxSize int) dialFunc {
	return func(ctx context.Context, lastID string) (upstreamConn, error) {
		ctx, cancel := context.WithCancel(ctx)
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, cr.upstream.String(), nil)
		if err != nil {
			cancel()
			return nil, &upstreamError{status: http.StatusBadGateway, reason: reasonUnreachable, err: err}
		}
		maps.Copy(req.Header, cr.header)
		req.Header.Set("Accept", "text/event-stream")
		req.Header.Set("Cache-Control", "no-cache")
		if lastID != "" {
			req.Header.Set("Last-Event-ID", lastID)
		}
		resp, release, err := client.do(req)
		if err != nil {
			cancel()
			return nil, transportError("sse upstream", err)
		}
		// An answer that is no stream is not read: its connection goes (an error
		// body is not worth waiting for, however slowly the upstream sends it).
		if resp.StatusCode < 200 || resp.StatusCode > 299 || resp.StatusCode == http.StatusNoContent {
			cancel()
			release()
			return nil, statusError("sse upstream", resp.StatusCode)
		}
		if mt, _, err := mime.ParseMediaType(resp.Header.Get("Content-Type")); err != nil || mt != "text/event-stream" {
			cancel()
			release()
			return nil, &upstreamError{status: http.StatusBadGateway, reason: reasonContentType,
				err: fmt.Errorf("sse upstream: content type %q is not text/event-stream", resp.Header.Get("Content-Type"))}
		}
		wr := &waitReader{r: resp.Body}
		p := sse.NewParser(wr, maxSize)
		// Browsers seed a reconnected stream with the id they resume from, so events
		// without id: keep it rather than reset it.
		p.SetLastEventID(lastID)
		return &sseUpstream{parser: p, cancel: cancel, release: release, wait: wr}, nil
	}
}

// each reads the stream on the caller's goroutine: the wait hook runs before each
// read of the body. A done ctx ends the read, as the request's context.
func (u *sseUpstream) each(_ context.Context, fn func(sse.Event) bool) error {
	for {
		ev, err := u.parser.Next()
		if errors.Is(err, sse.ErrTooLong) {
			return errOversize
		}
		if err != nil {
			return err
		}
		if !fn(ev) {
			return nil
		}
	}
}

func (u *sseUpstream) setWaitHook(hook func()) { u.wait.hook = hook }
func (u *sseUpstream) validUTF8() bool         { return true }
func (u *sseUpstream) resumeID() string        { return u.parser.LastEventID() }

func (u *sseUpstream) retry() (time.Duration, bool) {
	ms, ok := u.parser.Retry()
	return sse.RetryDuration(ms), ok
}

func (u *sseUpstream) close() {
	u.cancel()
	u.release()
}

// drainAndClose reads a little of an unwanted body so the connection can be reused.
func drainAndClose(body io.ReadCloser) {
	_, _ = io.CopyN(io.Discard, body, 4<<10)
	body.Close()
}

// waitReader calls hook before each read of the upstream body: the parser reads only
// when it has no complete event left, so that is when the events so far must go out.
type waitReader struct {
	r    io.Reader
	hook func()
}

func (w *waitReader) Read(p []byte) (int, error) {
	if w.hook != nil {
		w.hook()
	}
	return w.r.Read(p)
}
