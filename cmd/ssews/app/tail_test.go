package app

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/ssews/ssews/sse"
)

// typedStream exercises the parser through tail: comments, retry, typed events,
// multi-line data, an id set by a block without data, and a final unterminated block
// that must not be shown.
const typedStream = ": hello\n" +
	"retry: 1000\n" +
	"event: update\nid: 1\ndata: line one\ndata: line two\n\n" +
	"data: plain\n\n" +
	": keep-alive\n" +
	"event: ping\ndata: {\"a\":1}\n\n" +
	"id: 7\n\n" +
	"data:after\n\n" +
	"data: never dispatched"

func typedServer(t *testing.T) string {
	srv := startTailSSE(t, func(w *tailSSEWriter, _ *http.Request) { w.send(typedStream) })
	return srv.URL
}

func TestTailSSEJSON(t *testing.T) {
	r := runTail(t, "--json", "--no-reconnect", typedServer(t))
	if r.code != exitOK {
		t.Fatalf("exit %d, stderr %q; want 0", r.code, r.stderr)
	}
	want := []map[string]any{
		{"event": "update", "data": "line one\nline two", "id": "1", "retry": 1000.0},
		{"event": "message", "data": "plain", "id": "1"},
		{"event": "ping", "data": `{"a":1}`, "id": "1"},
		{"event": "message", "data": "after", "id": "7"},
	}
	lines := r.stdout.lines()
	if len(lines) != len(want) {
		t.Fatalf("got %d lines:\n%s\nwant %d", len(lines), r.stdout, len(want))
	}
	for i, line := range lines {
		var got map[string]any
		if err := json.Unmarshal([]byte(line), &got); err != nil {
			t.Fatalf("line %d %q: %v", i, line, err)
		}
		if !reflect.DeepEqual(got, want[i]) {
			t.Errorf("line %d: got %v; want %v", i, got, want[i])
		}
	}
	if s := r.stderr.String(); s != "" {
		t.Errorf("stderr %q; want nothing at a clean end", s)
	}
}

func TestTailSSEText(t *testing.T) {
	r := runTail(t, "--no-reconnect", typedServer(t))
	if r.code != exitOK {
		t.Fatalf("exit %d, stderr %q; want 0", r.code, r.stderr)
	}
	want := []string{
		`update  id=1 retry=1000 line one\nline two`,
		`message id=1 plain`,
		`ping    id=1 {"a":1}`,
		`message id=7 after`,
	}
	timeRE := regexp.MustCompile(`^\d\d:\d\d:\d\d\.\d\d\d `)
	lines := r.stdout.lines()
	if len(lines) != len(want) {
		t.Fatalf("got %d lines:\n%s\nwant %d", len(lines), r.stdout, len(want))
	}
	for i, line := range lines {
		if !timeRE.MatchString(line) {
			t.Errorf("line %q does not start with a time", line)
			continue
		}
		if got := line[len("15:04:05.000 "):]; got != want[i] {
			t.Errorf("line %d: got %q; want %q", i, got, want[i])
		}
	}
	if strings.Contains(r.stdout.String(), "\x1b") {
		t.Errorf("colour on an output that is not a terminal: %q", r.stdout)
	}
}

// TestTailSeedArticle tails the server of the classic SSE tutorial: data lines of
// plain sentences, nothing else.
func TestTailSeedArticle(t *testing.T) {
	sentences := []string{
		"Server-Sent Events keep one HTTP response open.",
		"The server writes data: lines ended by a blank line.",
		"The browser's EventSource reconnects by itself.",
	}
	srv := startTailSSE(t, func(w *tailSSEWriter, _ *http.Request) {
		for _, s := range sentences {
			w.send("data: " + s + "\n\n")
		}
	})
	r := runTail(t, "--no-reconnect", srv.URL)
	if r.code != exitOK {
		t.Fatalf("exit %d, stderr %q; want 0", r.code, r.stderr)
	}
	lines := r.stdout.lines()
	if len(lines) != len(sentences) {
		t.Fatalf("got %d lines:\n%s\nwant %d", len(lines), r.stdout, len(sentences))
	}
	for i, line := range lines {
		if want := " message " + sentences[i]; !strings.HasSuffix(line, want) {
			t.Errorf("line %q; want it to end with %q", line, want)
		}
	}
}

// TestTailResumeAfterDrop cuts the first connection in the middle of an event: tail
// must wait the stream's retry, send the last id, and show every event once.
func TestTailResumeAfterDrop(t *testing.T) {
	resumed := make(chan string, 1)
	srv := startTailSSE(t, func(w *tailSSEWriter, r *http.Request) {
		id := r.Header.Get("Last-Event-ID")
		if id == "" {
			w.send("retry: 20\nid: 1\ndata: one\n\nid: 2\ndata: two\n\nid: 3\ndata: partial")
			w.drop()
		}
		resumed <- id
		switch id {
		case "2":
			w.send("id: 3\ndata: three\n\nid: 4\ndata: four\n\n")
		default:
			w.send("data: resumed from the wrong id\n\n")
		}
		<-r.Context().Done()
	})
	run := startTail(t, nil, "--json", srv.URL)
	lines := run.waitLines(t, 4)
	select {
	case id := <-resumed:
		if id != "2" {
			t.Errorf("resumed with Last-Event-ID %q; want 2", id)
		}
	case <-time.After(tailWait):
		t.Fatal("no reconnect")
	}
	var got []string
	for _, line := range lines {
		var ev struct{ Data, ID string }
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			t.Fatalf("line %q: %v", line, err)
		}
		got = append(got, ev.ID+"="+ev.Data)
	}
	if want := []string{"1=one", "2=two", "3=three", "4=four"}; !reflect.DeepEqual(got, want) {
		t.Errorf("events %q; want %q", got, want)
	}
	if s := run.stderr.String(); !strings.Contains(s, "reconnecting in 20ms (Last-Event-ID: 2)") {
		t.Errorf("stderr %q; want a reconnect note with the delay and id", s)
	}
	run.cancel()
	if code := run.wait(t); code != exitOK {
		t.Errorf("exit %d after interrupt; want 0", code)
	}
}

func TestTailLostWithoutReconnect(t *testing.T) {
	srv := startTailSSE(t, func(w *tailSSEWriter, _ *http.Request) {
		w.send("data: one\n\n")
		w.drop()
	})
	r := runTail(t, "--no-reconnect", srv.URL)
	if r.code != exitError {
		t.Errorf("exit %d; want 1 for a dropped connection", r.code)
	}
	if lines := r.stderrLines(); len(lines) != 1 || !strings.Contains(lines[0], "connection lost") {
		t.Errorf("stderr %q; want one line saying the connection was lost", r.stderr)
	}
	if lines := r.stdout.lines(); len(lines) != 1 {
		t.Errorf("stdout %q; want the one event before the drop", r.stdout)
	}
}

func TestTailRequestHeaders(t *testing.T) {
	got := make(chan *http.Request, 1)
	srv := startTailSSE(t, func(w *tailSSEWriter, r *http.Request) {
		got <- r
		w.send("data: x\n\n")
	})
	r := runTail(t, "--no-reconnect", "-H", "Authorization: Bearer t0ken", "-H", "x-trace:  a ", "-H", "X-Trace: b",
		"-H", "Host: example.test", srv.URL, "--last-event-id", "41")
	if r.code != exitOK {
		t.Fatalf("exit %d, stderr %q; want 0", r.code, r.stderr)
	}
	req := <-got
	for name, want := range map[string][]string{
		"Authorization": {"Bearer t0ken"},
		"X-Trace":       {"a", "b"},
		"Last-Event-Id": {"41"},
		"Accept":        {"text/event-stream"},
		"Cache-Control": {"no-cache"},
	} {
		if v := req.Header.Values(name); !reflect.DeepEqual(v, want) {
			t.Errorf("%s: %q; want %q", name, v, want)
		}
	}
	if req.Host != "example.test" {
		t.Errorf("Host %q; want example.test", req.Host)
	}
	if line := r.stdout.lines()[0]; !strings.HasSuffix(line, " message id=41 x") {
		t.Errorf("line %q; want the resumed id on an event without one, as EventSource", line)
	}
}

// rawStream has everything the parser hides: a BOM, CR and CRLF line ends, comments,
// a retry line, unknown fields and a trailing unterminated block.
const rawStream = "\xEF\xBB\xBF: comment\r\nretry: 500\r\nevent: a\rdata: 1\r\r\nfoo: bar\ndata: 2\n\ndata: unterminated"

func TestTailRawSSE(t *testing.T) {
	srv := startTailSSE(t, func(w *tailSSEWriter, _ *http.Request) {
		w.send(rawStream[:20])
		w.send(rawStream[20:])
	})
	r := runTail(t, "--raw", "--no-reconnect", srv.URL)
	if r.code != exitOK {
		t.Fatalf("exit %d, stderr %q; want 0", r.code, r.stderr)
	}
	if got := r.stdout.String(); got != rawStream {
		t.Errorf("raw output %q; want the bytes sent %q", got, rawStream)
	}
}

func TestTailWebSocket(t *testing.T) {
	handshake := make(chan *http.Request, 1)
	srv := startTailWS(t, func(c *websocket.Conn, r *http.Request) {
		handshake <- r
		for _, m := range []struct {
			typ  int
			data string
		}{
			{websocket.TextMessage, `{"event":"update","data":"hello","id":"5","retry":3000}`},
			{websocket.TextMessage, "plain\ntext"},
			{websocket.BinaryMessage, "\x00\x01\xFF"},
			{websocket.TextMessage, ` {"data":{"x": [1, 2]},"id":6}`},
			{websocket.TextMessage, `{"no":"data"}`},
			{websocket.TextMessage, `{"data":"bad fields","event":3,"id":true,"retry":-1}`},
		} {
			if err := c.WriteMessage(m.typ, []byte(m.data)); err != nil {
				return
			}
		}
		tailCloseWS(c, websocket.CloseNormalClosure)
	})
	r := startTail(t, nil, "--json", "-H", "X-Test: yes", "--last-event-id", "4", tailWSURL(srv))
	if code := r.wait(t); code != exitOK {
		t.Fatalf("exit %d, stderr %q; want 0 after close 1000", code, r.stderr)
	}
	req := <-handshake
	if got := req.Header.Get("X-Test"); got != "yes" {
		t.Errorf("X-Test %q; want yes", got)
	}
	if got := req.Header.Get("Last-Event-ID"); got != "4" {
		t.Errorf("Last-Event-ID %q; want 4", got)
	}
	want := []map[string]any{
		{"event": "update", "data": "hello", "id": "5", "retry": 3000.0},
		{"event": "message", "data": "plain\ntext", "id": "5"},
		{"event": "binary", "data": base64.StdEncoding.EncodeToString([]byte("\x00\x01\xFF")), "id": "5"},
		{"event": "message", "data": `{"x":[1,2]}`, "id": "6"},
		{"event": "message", "data": `{"no":"data"}`, "id": "6"},
		{"event": "message", "data": "bad fields", "id": "6"},
	}
	lines := r.stdout.lines()
	if len(lines) != len(want) {
		t.Fatalf("got %d lines:\n%s\nwant %d", len(lines), r.stdout, len(want))
	}
	for i, line := range lines {
		var got map[string]any
		if err := json.Unmarshal([]byte(line), &got); err != nil {
			t.Fatalf("line %d %q: %v", i, line, err)
		}
		if !reflect.DeepEqual(got, want[i]) {
			t.Errorf("line %d: got %v; want %v", i, got, want[i])
		}
	}
	if lines := r.stderrLines(); len(lines) != 1 || !strings.Contains(lines[0], "1000") {
		t.Errorf("stderr %q; want one line on why tail stopped", r.stderr)
	}
}

func TestTailWebSocketReconnect(t *testing.T) {
	resumed := make(chan string, 1)
	srv := startTailWS(t, func(c *websocket.Conn, r *http.Request) {
		id := r.Header.Get("Last-Event-ID")
		if id == "" {
			c.WriteMessage(websocket.TextMessage, []byte(`{"data":"one","id":"1","retry":20}`))
			tailCloseWS(c, websocket.CloseGoingAway)
			return
		}
		resumed <- id
		c.WriteMessage(websocket.TextMessage, []byte(`{"data":"two","id":"2"}`))
		tailDrainWS(c)
	})
	r := startTail(t, nil, tailWSURL(srv))
	lines := r.waitLines(t, 2)
	if id := <-resumed; id != "1" {
		t.Errorf("resumed with Last-Event-ID %q; want 1", id)
	}
	if !strings.HasSuffix(lines[0], " id=1 retry=20 one") || !strings.HasSuffix(lines[1], " id=2 two") {
		t.Errorf("lines %q; want one then two", lines)
	}
	r.cancel()
	if code := r.wait(t); code != exitOK {
		t.Errorf("exit %d after interrupt; want 0", code)
	}
}

func TestTailRawWebSocket(t *testing.T) {
	srv := startTailWS(t, func(c *websocket.Conn, _ *http.Request) {
		c.WriteMessage(websocket.TextMessage, []byte(`{"data":"x"}`))
		c.WriteMessage(websocket.TextMessage, []byte("two"))
		tailCloseWS(c, websocket.CloseNormalClosure)
	})
	r := runTail(t, "--raw", "--no-reconnect", tailWSURL(srv))
	if r.code != exitOK {
		t.Fatalf("exit %d, stderr %q; want 0", r.code, r.stderr)
	}
	if got, want := r.stdout.String(), "{\"data\":\"x\"}\ntwo\n"; got != want {
		t.Errorf("raw output %q; want %q", got, want)
	}
}

func TestTailInterrupt(t *testing.T) {
	sseSrv := startTailSSE(t, func(w *tailSSEWriter, r *http.Request) {
		w.send("data: first\n\n")
		<-r.Context().Done()
	})
	wsSrv := startTailWS(t, func(c *websocket.Conn, _ *http.Request) {
		c.WriteMessage(websocket.TextMessage, []byte("first"))
		tailDrainWS(c)
	})
	for name, url := range map[string]string{"sse": sseSrv.URL, "ws": tailWSURL(wsSrv)} {
		t.Run(name, func(t *testing.T) {
			r := startTail(t, nil, url)
			r.waitLines(t, 1)
			r.cancel()
			if code := r.wait(t); code != exitOK {
				t.Errorf("exit %d; want 0", code)
			}
			if s := r.stderr.String(); s != "" {
				t.Errorf("stderr %q; want nothing on interrupt", s)
			}
		})
	}
}

func TestTailStops(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/204", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })
	mux.HandleFunc("/404", http.NotFound)
	mux.HandleFunc("/html", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.Write([]byte("<p>hi</p>"))
	})
	mux.HandleFunc("/ws403", func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "origin not allowed", http.StatusForbidden)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	ws := tailWSURL(srv)
	closed := tailUnusedAddr(t)
	for _, tc := range []struct {
		name, url string
		code      int
		stderr    string
	}{
		{"204", srv.URL + "/204", exitOK, "204 No Content; not reconnecting"},
		{"ws 204", ws + "/204", exitOK, "204 No Content; not reconnecting"},
		{"404", srv.URL + "/404", exitError, "answered 404 Not Found"},
		{"content type", srv.URL + "/html", exitError, `Content-Type "text/html", not text/event-stream`},
		{"ws 403", ws + "/ws403", exitError, "refused the WebSocket handshake: 403 Forbidden"},
		{"ws not upgraded", ws + "/html", exitError, "200 OK without a valid WebSocket handshake"},
		{"unreachable", "http://" + closed + "/events", exitError, "connect to http://" + closed + "/events: "},
		{"ws unreachable", "ws://" + closed + "/events", exitError, "connect to ws://" + closed + "/events: "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runTail(t, tc.url) // reconnecting by default: these stop regardless
			if r.code != tc.code {
				t.Errorf("exit %d; want %d", r.code, tc.code)
			}
			lines := r.stderrLines()
			if len(lines) != 1 || !strings.Contains(lines[0], tc.stderr) || !strings.HasPrefix(lines[0], "ssews tail: ") {
				t.Errorf("stderr %q; want one line with %q", r.stderr, tc.stderr)
			}
			if s := r.stdout.String(); s != "" {
				t.Errorf("stdout %q; want nothing", s)
			}
		})
	}
}

func TestTailBadArguments(t *testing.T) {
	for _, tc := range []struct {
		name   string
		args   []string
		stderr string
	}{
		{"no URL", nil, "missing URL"},
		{"unknown flag", []string{"--follow", "http://x/"}, "unknown flag --follow"},
		{"ftp", []string{"ftp://example.com/feed"}, `unsupported scheme "ftp:"`},
		{"no scheme", []string{"/events"}, "has no scheme"},
		{"host without scheme", []string{"localhost:8080/events"}, "has no scheme"},
		{"unknown short flag", []string{"-x", "http://a/"}, "unknown flag -x"},
		{"bad URL", []string{"http://[::1"}, "invalid URL"},
		{"no host", []string{"http:///events"}, "has no host"},
		{"two URLs", []string{"http://a/", "http://b/"}, "one URL expected"},
		{"bad header", []string{"-H", "NoColon", "http://a/"}, "is not 'Name: value'"},
		{"header name", []string{"-H", "Bad Name: x", "http://a/"}, "is not 'Name: value'"},
		{"json and raw", []string{"--json", "--raw", "http://a/"}, "exclude each other"},
		{"missing value", []string{"http://a/", "--last-event-id"}, "flag needs an argument"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runTail(t, tc.args...)
			if r.code != exitConfig {
				t.Errorf("exit %d; want 2", r.code)
			}
			lines := r.stderrLines()
			if len(lines) != 2 || !strings.Contains(lines[0], tc.stderr) || !strings.Contains(lines[1], "ssews tail -h") {
				t.Errorf("stderr %q; want a line with %q and a usage hint", r.stderr, tc.stderr)
			}
			if s := r.stdout.String(); s != "" {
				t.Errorf("stdout %q; want nothing", s)
			}
		})
	}
}

func TestTailHelp(t *testing.T) {
	for _, arg := range []string{"-h", "--help"} {
		r := runTail(t, arg)
		if r.code != exitOK {
			t.Errorf("%s: exit %d; want 0", arg, r.code)
		}
		out := r.stdout.String()
		for _, want := range []string{"Usage: ssews tail [flags] URL", "-H 'Name: value'", "--json", "--raw", "--no-reconnect", "--last-event-id ID"} {
			if !strings.Contains(out, want) {
				t.Errorf("%s: help lacks %q:\n%s", arg, want, out)
			}
		}
		if s := r.stderr.String(); s != "" {
			t.Errorf("%s: stderr %q; want nothing", arg, s)
		}
	}
}

func TestParseTailArgs(t *testing.T) {
	_, err := parseTailArgs([]string{"--json", "HTTPS://h/e?q=1", "-H", "A: 1", "--", "--not-a-flag"})
	if err == nil || !strings.Contains(err.Error(), "one URL expected") {
		t.Errorf("-- then a second argument: err %v; want one URL expected", err)
	}
	o, err := parseTailArgs([]string{"--json", "HTTPS://h/e?q=1", "-H", "A: 1", "--no-reconnect"})
	if err != nil {
		t.Fatal(err)
	}
	if !o.json || !o.noReconnect || o.url.String() != "https://h/e?q=1" || o.headers.Get("A") != "1" || o.webSocket() {
		t.Errorf("options %+v", o)
	}
	o, err = parseTailArgs([]string{"--", "wss://h/"})
	if err != nil || !o.webSocket() {
		t.Errorf("-- URL: %v, %+v", err, o)
	}
}

func TestAppendTailEscaped(t *testing.T) {
	for in, want := range map[string]string{
		"plain":                   "plain",
		"a\nb\r\nc\td":            `a\nb\r\nc\td`,
		`back\slash`:              `back\\slash`,
		"\x1b[31mred\x00\x7f":     `\x1b[31mred\x00\x7f`,
		"héllo, 世界 🎉":             "héllo, 世界 🎉",
		"line\u2028sep\u0085":     `line\u2028sep\u0085`,
		"bad \xff utf8":           `bad \xff utf8`,
		`{"json": "as is"}`:       `{"json": "as is"}`,
		"nbsp\u00a0and\U000e0001": `nbsp\u00a0and\U000e0001`,
	} {
		if got := string(appendTailEscaped(nil, in)); got != want {
			t.Errorf("escape %q: got %q; want %q", in, got, want)
		}
	}
}

func TestTailPrinterColour(t *testing.T) {
	var out tailBuffer
	p := newTailPrinter(&out, tailModeText, true)
	p.now = func() time.Time { return time.Date(2025, 1, 2, 3, 4, 5, 6e6, time.UTC) }
	if err := p.event(&sse.Event{Type: "update", Data: "d", ID: "9"}); err != nil {
		t.Fatal(err)
	}
	want := tailSGRDim + "03:04:05.006" + tailSGRReset + " " + tailTypeColour("update") + "update" + tailSGRReset +
		"  " + tailSGRDim + "id=9" + tailSGRReset + " d\n"
	if got := out.String(); got != want {
		t.Errorf("got %q; want %q", got, want)
	}
}

func TestTailUseColour(t *testing.T) {
	var buf tailBuffer
	if tailUseColour(&buf, map[string]string{}) {
		t.Error("colour on a buffer")
	}
	f, err := os.Open(os.DevNull)
	if err != nil {
		t.Skip(err)
	}
	defer f.Close()
	if tailUseColour(f, map[string]string{}) {
		t.Error("colour on a file that is not a terminal")
	}
	// A terminal cannot be faked without a pty; NO_COLOR must win before any check.
	if tailUseColour(f, map[string]string{"NO_COLOR": "1"}) {
		t.Error("colour despite NO_COLOR")
	}
}
