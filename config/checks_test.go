package config

import (
	"slices"
	"strings"
	"testing"
)

func TestNormalizeOrigins(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   []string
		want []string
	}{
		{nil, nil},
		{[]string{"*"}, []string{"*"}},
		{[]string{" https://Example.COM "}, []string{"https://example.com"}},
		{[]string{"https://example.com/"}, []string{"https://example.com"}},
		{[]string{"https://example.com:443", "http://example.com:80"}, []string{"https://example.com", "http://example.com"}},
		{[]string{"https://example.com:8443", "http://localhost:443"}, []string{"https://example.com:8443", "http://localhost:443"}},
		{[]string{"http://[::1]:3000"}, []string{"http://[::1]:3000"}},
		{[]string{"chrome-extension://abcdef"}, []string{"chrome-extension://abcdef"}},
	}
	for _, tt := range tests {
		got, err := normalizeOrigins(tt.in)
		if err != nil || !slices.Equal(got, tt.want) {
			t.Errorf("normalizeOrigins(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	for _, in := range []string{"", "null", "example.com", "https://", "https://x.com?a", "https://x.com#a", "https://x.com/a", "https://*.x.com", "https://u:p@x.com", "*.x.com"} {
		if got, err := normalizeOrigins([]string{in}); err == nil {
			t.Errorf("normalizeOrigins(%q) = %q; want an error", in, got)
		}
	}
}

func TestNormalizeHeaders(t *testing.T) {
	t.Parallel()
	got, err := normalizeHeaders([]string{" authorization", "COOKIE", "x-request-id", "Authorization", "Sec-WebSocket-Protocol", "Last-Event-ID"})
	want := []string{"Authorization", "Cookie", "X-Request-Id", "Sec-Websocket-Protocol", "Last-Event-Id"}
	if err != nil || !slices.Equal(got, want) {
		t.Errorf("normalizeHeaders = %q, %v; want %q", got, err, want)
	}
	for _, in := range []string{"", "a b", "a:b", "é", "te", "TRAILER", "transfer-encoding", "keep-alive", "proxy-authorization", "sec-websocket-version", "x-forwarded-host", "x-forwarded-proto"} {
		if got, err := normalizeHeaders([]string{in}); err == nil {
			t.Errorf("normalizeHeaders(%q) = %q; want an error", in, got)
		}
	}
}

func TestCheckParamName(t *testing.T) {
	t.Parallel()
	for _, ok := range []string{"token", "access_token", "since", "a.b", "Last-ID"} {
		if err := checkParamName(ok); err != nil {
			t.Errorf("checkParamName(%q) = %v; want nil", ok, err)
		}
	}
	for _, bad := range []string{"", "a=b", "a&b", "a b", "a;b", "a+b", "a%20", "a#", "a?", "a\tb"} {
		if err := checkParamName(bad); err == nil {
			t.Errorf("checkParamName(%q) = nil; want an error", bad)
		}
	}
	for _, p := range reservedParams {
		if err := checkTokenParam(p); err == nil {
			t.Errorf("checkTokenParam(%q) = nil; want an error", p)
		}
	}
}

func TestCheckEventType(t *testing.T) {
	t.Parallel()
	for _, ok := range []string{"", "gap", "binary", "with space", "ünïcode"} {
		if err := checkEventType(ok); err != nil {
			t.Errorf("checkEventType(%q) = %v; want nil", ok, err)
		}
	}
	for _, bad := range []string{"a\nb", "a\rb", "a\x00b", "\n"} {
		err := checkEventType(bad)
		if err == nil || !strings.Contains(err.Error(), "CR, LF or NUL") {
			t.Errorf("checkEventType(%q) = %v; want an error", bad, err)
		}
	}
}

func TestSuggest(t *testing.T) {
	t.Parallel()
	names := []string{"shared", "replay", "forward_headers", "format", "path", "token_param"}
	tests := []struct{ in, want string }{
		{"sharde", "shared"},
		{"shard", "shared"},
		{"forwardHeaders", "forward_headers"},
		{"FORWARD-HEADERS", "forward_headers"},
		{"replays", "replay"},
		{"tokenparam", "token_param"},
		{"colour", ""},
		{"pa", ""},
		{"x", ""},
	}
	for _, tt := range tests {
		if got := suggest(tt.in, names); got != tt.want {
			t.Errorf("suggest(%q) = %q; want %q", tt.in, got, tt.want)
		}
	}
}

func TestCheckAddr(t *testing.T) {
	t.Parallel()
	for _, ok := range []string{":8080", "0.0.0.0:80", "localhost:0", "[::1]:9090", ":https"} {
		if err := checkAddr(ok); err != nil {
			t.Errorf("checkAddr(%q) = %v; want nil", ok, err)
		}
	}
	for _, bad := range []string{"", "8080", "localhost", "localhost:", ":65536", "::1:80"} {
		if err := checkAddr(bad); err == nil {
			t.Errorf("checkAddr(%q) = nil; want an error", bad)
		}
	}
}
