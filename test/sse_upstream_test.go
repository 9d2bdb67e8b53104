package test

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ssews/ssews/sse"
)

// typicalStream exercises types, ids, retry, multi-line data, comments and the id
// reset, in one upstream stream.
const typicalStream = ": hello\n" +
	"retry: 2500\n" +
	"id: 1\nevent: update\ndata: first\n\n" +
	"data: line one\ndata: line two\n\n" +
	"id: 3\ndata:  two spaces\n\n" +
	"id\nevent: reset\ndata: x\n\n"

// wantTypical is what typicalStream dispatches.
var wantTypical = []sse.Event{
	{Type: "update", Data: "first", ID: "1", Retry: 2500, HasRetry: true},
	{Type: "message", Data: "line one\nline two", ID: "1"},
	{Type: "message", Data: " two spaces", ID: "3"},
	{Type: "reset", Data: "x", ID: ""},
}

func TestSSEToWebSocketJSON(t *testing.T) {
	t.Parallel()
	up := newSSEBackend(t, func(w http.ResponseWriter, r *http.Request, n int) {
		write(w, typicalStream)
		up := r.Context()
		<-up.Done()
	})
	p := startProxy(t, map[string]string{"SSEWS_ROUTES": routes("/news", up.URL)})
	c := dialWS(t, p.ws+"/news", nil)
	want := []string{
		`{"event":"update","data":"first","id":"1","retry":2500}`,
		`{"event":"message","data":"line one\nline two","id":"1"}`,
		`{"event":"message","data":" two spaces","id":"3"}`,
		`{"event":"reset","data":"x"}`,
	}
	for i, w := range want {
		if got := readText(t, c); got != w {
			t.Errorf("frame %d: got %s; want %s", i, got, w)
		}
	}
}

func TestSSEToWebSocketRaw(t *testing.T) {
	t.Parallel()
	up := newSSEBackend(t, func(w http.ResponseWriter, r *http.Request, n int) {
		write(w, typicalStream)
		<-r.Context().Done()
	})
	p := startProxy(t, map[string]string{"SSEWS_ROUTES": routes("/news", up.URL)})
	c := dialWS(t, p.ws+"/news?format=raw", nil)
	for i, w := range []string{"first", "line one\nline two", " two spaces", "x"} {
		if got := readText(t, c); got != w {
			t.Errorf("frame %d: got %q; want %q", i, got, w)
		}
	}
	if req := recv(t, up.requests, "upstream request"); req.URL.Query().Has("format") {
		t.Errorf("upstream query %q carries format", req.URL.RawQuery)
	}
}

func TestSSEToSSEReservesStream(t *testing.T) {
	t.Parallel()
	up := newSSEBackend(t, func(w http.ResponseWriter, r *http.Request, n int) {
		write(w, typicalStream)
		<-r.Context().Done()
	})
	p := startProxy(t, map[string]string{"SSEWS_ROUTES": routes("/news", up.URL), "SSEWS_RETRY": "3s"})
	s := openSSE(t, p.url+"/news", nil)
	// The exact bytes: our retry first, then every event re-encoded.
	want := "retry: 3000\n\n" +
		"id: 1\nevent: update\nretry: 2500\ndata: first\n\n" +
		"data: line one\ndata: line two\n\n" +
		"id: 3\ndata:  two spaces\n\n"
	got := make([]byte, len(want))
	if _, err := io.ReadFull(s.resp.Body, got); err != nil {
		t.Fatalf("read: %v", err)
	}
	if string(got) != want {
		t.Errorf("stream:\ngot  %q\nwant %q", got, want)
	}
	// The id reset must be written so the client's lastEventId is reset too.
	rest := make([]byte, 64)
	n, _ := s.resp.Body.Read(rest)
	if !strings.HasPrefix(string(rest[:n]), "id") || !strings.Contains(string(rest[:n]), "event: reset\ndata: x\n\n") {
		t.Errorf("reset event: got %q", rest[:n])
	}
}

func TestSSEToSSEEventsMatchWHATWG(t *testing.T) {
	t.Parallel()
	up := newSSEBackend(t, func(w http.ResponseWriter, r *http.Request, n int) {
		write(w, typicalStream)
		<-r.Context().Done()
	})
	p := startProxy(t, map[string]string{"SSEWS_ROUTES": routes("/news", up.URL)})
	s := openSSE(t, p.url+"/news", nil)
	for i, want := range wantTypical {
		if got := s.next(t); got != want {
			t.Errorf("event %d: got %+v; want %+v", i, got, want)
		}
	}
}

// TestSeedServers runs the two upstreams of the article ssews grew from, a
// Flask-style and a Go-style /events handler, through both client kinds.
func TestSeedServers(t *testing.T) {
	t.Parallel()
	sentences := []string{"The quick brown fox.", "Jumps over the lazy dog.", "Server-sent events are simple."}
	flask := newBackend(t, func(w http.ResponseWriter, r *http.Request, n int) {
		// Flask: Response(generate(), mimetype="text/event-stream") with yield f"data: {s}\n\n"
		w.Header().Set("Content-Type", "text/event-stream; charset=utf-8")
		w.Header().Set("Cache-Control", "no-cache")
		w.Header().Set("Connection", "keep-alive")
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for _, s := range sentences {
			fmt.Fprintf(w, "data: %s\n\n", s)
			w.(http.Flusher).Flush()
			select {
			case <-tick.C:
			case <-r.Context().Done():
				return
			}
		}
	})
	gostyle := newBackend(t, func(w http.ResponseWriter, r *http.Request, n int) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.Header().Set("Cache-Control", "no-cache")
		w.Header().Set("Connection", "keep-alive")
		flusher := w.(http.Flusher)
		for i, s := range sentences {
			if i > 0 {
				select {
				case <-time.After(time.Second):
				case <-r.Context().Done():
					return
				}
			}
			fmt.Fprintf(w, "data: %s\n\n", s)
			flusher.Flush()
		}
		<-r.Context().Done()
	})
	p := startProxy(t, map[string]string{"SSEWS_ROUTES": routes("/flask", flask.URL+"/events", "/go", gostyle.URL+"/events")})
	for _, path := range []string{"/flask", "/go"} {
		t.Run(path, func(t *testing.T) {
			t.Parallel()
			s := openSSE(t, p.url+path, nil)
			c := dialWS(t, p.ws+path, nil)
			for _, want := range sentences {
				if got := s.next(t); got.Data != want || got.Type != "message" {
					t.Errorf("sse: got %+v; want data %q", got, want)
				}
				if got, w := readText(t, c), fmt.Sprintf(`{"event":"message","data":%q}`, want); got != w {
					t.Errorf("ws: got %s; want %s", got, w)
				}
			}
		})
	}
}
