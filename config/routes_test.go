package config

import (
	"slices"
	"strings"
	"testing"
)

func TestRouteList(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in string
		want     []string // PATH=UPSTREAM, as parsed
	}{
		{"one", "/news=http://backend:9000/events", []string{"/news=http://backend:9000/events"}},
		{"two", "/news=http://b/e,/chat=ws://b/c", []string{"/news=http://b/e", "/chat=ws://b/c"}},
		{"spaces", "  /a = https://b/e ,\t/c=wss://d ", []string{"/a=https://b/e", "/c=wss://d"}},
		{"= in the query", "/a=http://b/e?x=1&y=2", []string{"/a=http://b/e?x=1&y=2"}},
		{"scheme in upper case", "/a=HTTP://b", []string{"/a=http://b"}},
		{"encoded comma", "/a=http://b/e?topics=x%2Cy", []string{"/a=http://b/e?topics=x%2Cy"}},
		{"root path", "/=ws://b", []string{"/=ws://b"}},
		{"blank", "   ", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var l RouteList
			if err := l.UnmarshalText([]byte(tt.in)); err != nil {
				t.Fatalf("UnmarshalText(%q): %v", tt.in, err)
			}
			var got []string
			for _, s := range l {
				got = append(got, s.Path+"="+s.Upstream.String())
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("UnmarshalText(%q) = %q; want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestRouteListErrors(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"/a=http://x,", "entry 2 is empty"},
		{",/a=http://x", "entry 1 is empty"},
		{"/a", `"/a": want PATH=UPSTREAM`},
		{"=http://x", "path is empty"},
		{"a=http://x", `path "a" must start with /`},
		{"/a#b=http://x", "must not contain ? or #"},
		{"/a\x00=http://x", "control characters"},
		{"/a=ftp://x", `upstream scheme "ftp" not one of http, https, ws, wss`},
		{"/a=http:x", "is not an absolute URL"},
		{"/a=//x/e", "is not an absolute URL"},
		{"/a=http://:80/e", "has no host"},
		{"/a=http://x,/b=ws://y,/a=ws://z", `"/a=ws://z": path "/a" defined twice`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			var l RouteList
			err := l.UnmarshalText([]byte(tt.in))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("UnmarshalText(%q) = %v; want an error containing %q", tt.in, err, tt.want)
			}
		})
	}
}

func TestNewRoute(t *testing.T) {
	t.Parallel()
	c := mustLoad(t, map[string]string{"SSEWS_ROUTES": "/a=ws://b", "SSEWS_ALLOWED_ORIGINS": "*"})
	var l RouteList
	if err := l.UnmarshalText([]byte("/demo=http://127.0.0.1:1/events")); err != nil {
		t.Fatal(err)
	}
	r := c.NewRoute(l[0].Path, l[0].Upstream)
	if r.Path != "/demo" || r.Replay != DefaultReplay || r.Linger != DefaultLinger || r.BinaryEvent != DefaultBinaryEvent ||
		r.Format != DefaultFormat || r.Heartbeat != c.Heartbeat || r.MaxMessage != int64(c.MaxMessage) {
		t.Errorf("NewRoute = %+v; want the defaults and globals", r)
	}
	r.ForwardHeaders[0] = "X-Changed"
	r.AllowedOrigins[0] = "changed"
	if c.ForwardHeaders[0] != "Authorization" || c.AllowedOrigins[0] != "*" {
		t.Error("a route's lists share memory with the globals")
	}
}
