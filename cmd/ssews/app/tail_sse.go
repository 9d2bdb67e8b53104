package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/ssews/ssews/sse"
)

// tailSSESource connects to an event stream as a browser's EventSource does, and parses
// it with the same parser as the bridge, so tail shows what a browser would dispatch.
type tailSSESource struct {
	client  *http.Client
	url     string
	headers http.Header
	raw     io.Writer // --raw: where the bytes go as they are read; nil otherwise
}

func newTailSSESource(o *tailOptions, raw io.Writer) *tailSSESource {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.ResponseHeaderTimeout = tailConnectTimeout
	// Compression would hide the bytes --raw promises and could hold events back in
	// the decompressor; EventSource servers rarely compress anyway.
	tr.DisableCompression = true
	tr.DialContext = (&net.Dialer{Timeout: tailConnectTimeout, KeepAlive: 15 * time.Second}).DialContext
	return &tailSSESource{client: &http.Client{Transport: tr}, url: o.url.String(), headers: o.headers, raw: raw}
}

func (s *tailSSESource) connect(ctx context.Context, lastID string) (tailStream, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.url, nil)
	if err != nil {
		return nil, endFatal(fmt.Errorf("request %s: %w", s.url, err))
	}
	// What EventSource sends; -H may override any of it.
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("Cache-Control", "no-cache")
	for name, values := range s.headers {
		if name == "Host" {
			req.Host = values[0]
			continue
		}
		req.Header[name] = values
	}
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		if ue, ok := errors.AsType[*url.Error](err); ok {
			err = ue.Err // the URL comes first in our message already
		}
		return nil, endLost(fmt.Errorf("connect to %s: %w", s.url, err))
	}
	if err := checkTailResponse(resp); err != nil {
		resp.Body.Close()
		return nil, err
	}
	body := io.Reader(resp.Body)
	st := &tailSSEStream{body: resp.Body}
	if s.raw != nil {
		st.rawOut = &tailErrWriter{w: s.raw}
		body = io.TeeReader(body, st.rawOut)
	}
	st.parser = sse.NewParser(body, tailMaxEvent)
	st.parser.SetLastEventID(lastID) // lastEventId persists across connections
	return st, nil
}

func (s *tailSSESource) close() { s.client.CloseIdleConnections() }

// checkTailResponse applies EventSource's checks on the answer ("announce the
// connection" or "fail the connection"). Browsers want exactly 200; tail takes any
// 2xx but 204, which is the standard way for a server to say "stop reconnecting".
func checkTailResponse(resp *http.Response) error {
	where := resp.Request.URL.Redacted()
	switch {
	case resp.StatusCode == http.StatusNoContent:
		return endFinished(fmt.Errorf("%s answered %s", where, resp.Status))
	case resp.StatusCode < 200 || resp.StatusCode > 299:
		return endFatal(fmt.Errorf("%s answered %s", where, resp.Status))
	}
	ct := resp.Header.Get("Content-Type")
	if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "text/event-stream" {
		return endFatal(fmt.Errorf("%s answered Content-Type %q, not text/event-stream", where, ct))
	}
	return nil
}

// tailSSEStream is one response being parsed.
type tailSSEStream struct {
	body   io.Closer
	parser *sse.Parser
	rawOut *tailErrWriter
}

func (s *tailSSEStream) next() (sse.Event, error) {
	ev, err := s.parser.Next()
	if err == nil {
		return ev, nil
	}
	switch {
	case s.rawOut != nil && s.rawOut.err != nil:
		return ev, endFatal(fmt.Errorf("write output: %w", s.rawOut.err))
	case errors.Is(err, io.EOF):
		return ev, endEnded(errors.New("stream ended"))
	case errors.Is(err, sse.ErrTooLong):
		return ev, endFatal(err)
	default:
		return ev, endLost(fmt.Errorf("connection lost: %w", err))
	}
}

func (s *tailSSEStream) lastEventID() string { return s.parser.LastEventID() }

func (s *tailSSEStream) retry() (time.Duration, bool) {
	ms, ok := s.parser.Retry()
	return sse.RetryDuration(ms), ok
}

func (s *tailSSEStream) close() { s.body.Close() }

// tailErrWriter remembers a write error, so that a failure to write --raw output is
// told apart from a failure to read the stream.
type tailErrWriter struct {
	w   io.Writer
	err error
}

func (e *tailErrWriter) Write(b []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(b)
	e.err = err
	return n, err
}
