package test

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"

	"github.com/ssews/ssews/cmd/ssews/app"
)

// runApp runs the ssews command line in-process, as the binary's main does, with
// stderr going to out; the returned func stops it (SIGTERM) and returns its status.
func runApp(tb testing.TB, env map[string]string, out io.Writer) (stop func() int) {
	tb.Helper()
	environ := []string{"SSEWS_LISTEN=127.0.0.1:0", "SSEWS_ADMIN_LISTEN="}
	for k, v := range env {
		environ = append(environ, k+"="+v)
	}
	ctx, cancel := context.WithCancel(context.Background())
	status := make(chan int, 1)
	go func() { status <- app.Run(ctx, nil, environ, io.Discard, out) }()
	stopped := false
	code := 0
	stop = func() int {
		if !stopped {
			stopped = true
			cancel()
			code = recv(tb, status, "ssews to stop")
		}
		return code
	}
	tb.Cleanup(func() { stop() })
	return stop
}

// TestJSONLog: SSEWS_LOG_FORMAT=json writes one JSON object per line; at debug every
// client connect and disconnect is a line with the route and the client's address,
// and upstream trouble is a warning.
func TestJSONLog(t *testing.T) {
	t.Parallel()
	up := newSSEBackend(t, func(w http.ResponseWriter, r *http.Request, n int) {
		write(w, "data: hi\n\n")
		<-r.Context().Done()
	})
	down := closedPort(t)
	out := newLineLog()
	stop := runApp(t, map[string]string{
		"SSEWS_LOG_FORMAT": "json",
		"SSEWS_LOG_LEVEL":  "debug",
		"SSEWS_ROUTES":     routes("/news", up.URL, "/down", "http://"+down),
	}, out)
	addr := out.waitRecord(t, "ssews listening").str("addr")

	// An EventSource client whose local address we know.
	var local string
	tr := &http.Transport{DialContext: func(ctx context.Context, network, a string) (net.Conn, error) {
		c, err := (&net.Dialer{}).DialContext(ctx, network, a)
		if err == nil {
			local = c.LocalAddr().String()
		}
		return c, err
	}}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr}).Get("http://" + addr + "/news")
	if err != nil {
		t.Fatal(err)
	}
	clientLines(t, out, "sse", local)
	resp.Body.Close()
	clientGone(t, out, "sse", local)

	c := dialWS(t, "ws://"+addr+"/news", nil)
	readText(t, c)
	clientLines(t, out, "ws", c.LocalAddr().String())
	c.Close()
	clientGone(t, out, "ws", c.LocalAddr().String())

	if got, _ := get(t, "http://"+addr+"/down", nil); got != http.StatusBadGateway {
		t.Errorf("unreachable upstream: %d; want 502", got)
	}
	var rec logRecord
	out.waitLine(t, "a warning about /down's upstream", func(line string) bool {
		rec = nil
		return json.Unmarshal([]byte(line), &rec) == nil && rec.str("route") == "/down" && rec.str("level") != "DEBUG"
	})
	if rec.str("level") != "WARN" || !strings.Contains(rec.str("err"), down) {
		t.Errorf("upstream trouble logged as %v; want level WARN with the error", rec)
	}

	if code := stop(); code != 0 {
		t.Errorf("exit status %d; want 0", code)
	}
	for _, line := range out.lines() {
		var rec logRecord
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Errorf("not a JSON line: %q", line)
			continue
		}
		if rec.str("time") == "" || rec.str("level") == "" || rec.str("msg") == "" {
			t.Errorf("line %q lacks time, level or msg", line)
		}
	}
}

// clientLines waits for the debug line of a client connecting.
func clientLines(tb testing.TB, out *lineLog, protocol, client string) {
	tb.Helper()
	rec := waitClientRecord(tb, out, "client connected", protocol, client)
	if rec.str("route") != "/news" || rec.str("level") != "DEBUG" {
		tb.Errorf("connect line %v; want route /news at DEBUG", rec)
	}
}

// clientGone waits for the debug line of a client leaving.
func clientGone(tb testing.TB, out *lineLog, protocol, client string) {
	tb.Helper()
	rec := waitClientRecord(tb, out, "client disconnected", protocol, client)
	if rec.str("route") != "/news" || rec.str("level") != "DEBUG" {
		tb.Errorf("disconnect line %v; want route /news at DEBUG", rec)
	}
}

func waitClientRecord(tb testing.TB, out *lineLog, msg, protocol, client string) logRecord {
	tb.Helper()
	var rec logRecord
	out.waitLine(tb, msg+" of "+client, func(line string) bool {
		rec = nil
		return json.Unmarshal([]byte(line), &rec) == nil && rec.str("msg") == msg && rec.str("client") == client && rec.str("protocol") == protocol
	})
	return rec
}

// TestTextLogWithoutTerminal: the default text format has no colour escapes when
// stderr is not a terminal, with or without NO_COLOR.
func TestTextLogWithoutTerminal(t *testing.T) {
	t.Parallel()
	up := newSSEBackend(t, func(w http.ResponseWriter, r *http.Request, n int) { <-r.Context().Done() })
	for _, noColor := range []string{"", "1"} {
		out := newLineLog()
		stop := runApp(t, map[string]string{"SSEWS_ROUTES": routes("/x", up.URL), "NO_COLOR": noColor}, out)
		out.waitLine(t, "the start-up line", func(line string) bool { return strings.Contains(line, "ssews listening") })
		stop()
		for _, line := range out.lines() {
			if strings.Contains(line, "\x1b[") {
				t.Errorf("NO_COLOR=%q: escape sequence in %q", noColor, line)
			}
		}
	}
	// The binary, whose stderr is a pipe here.
	p := startBinary(t, map[string]string{
		"SSEWS_LISTEN": "127.0.0.1:0", "SSEWS_ADMIN_LISTEN": "", "SSEWS_ROUTES": routes("/x", up.URL),
	})
	p.log.waitLine(t, "the start-up line", func(line string) bool { return strings.Contains(line, "ssews listening") })
	p.cmd.Process.Signal(syscall.SIGTERM)
	if code := p.waitExit(t, wait); code != 0 {
		t.Errorf("exit status %d; want 0", code)
	}
	for _, line := range p.stderr() {
		if strings.Contains(line, "\x1b[") {
			t.Errorf("binary: escape sequence in %q", line)
		}
	}
}
