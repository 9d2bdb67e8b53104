package config

import (
	"fmt"
	"net/textproto"
	"strings"
)

// refusedHeaders are header names forwarding cannot mean anything sensible for, with
// the reason the error gives.
var refusedHeaders = map[string]string{
	// Hop-by-hop (RFC 9110 section 7.6.1, and httputil.ReverseProxy's list): they
	// describe the client's connection to ssews, not a request to the upstream.
	"Connection":          "is a hop-by-hop header",
	"Keep-Alive":          "is a hop-by-hop header",
	"Proxy-Connection":    "is a hop-by-hop header",
	"Proxy-Authenticate":  "is a hop-by-hop header",
	"Proxy-Authorization": "is a hop-by-hop header",
	"Te":                  "is a hop-by-hop header",
	"Trailer":             "is a hop-by-hop header",
	"Transfer-Encoding":   "is a hop-by-hop header",
	"Upgrade":             "is a hop-by-hop header",
	// The WebSocket handshake belongs to ssews's own upstream dial; gorilla's Dialer
	// refuses these in its request header.
	"Sec-Websocket-Key":        "belongs to the WebSocket handshake",
	"Sec-Websocket-Version":    "belongs to the WebSocket handshake",
	"Sec-Websocket-Extensions": "belongs to the WebSocket handshake",
	"Host":                     "comes from the upstream URL",
	// Always set by the proxy (SPEC section 2).
	"X-Forwarded-For":   "is always set by ssews",
	"X-Forwarded-Proto": "is always set by ssews",
	"X-Forwarded-Host":  "is always set by ssews",
}

// normalizeHeaders checks SSEWS_FORWARD_HEADERS or a route's forward_headers: header
// names, trimmed and put in canonical form (the form http.Header keys take), without
// repeats. Names that could not be forwarded are refused here, once, rather than
// dropped on every request.
func normalizeHeaders(list []string) ([]string, error) {
	out := make([]string, 0, len(list))
	seen := make(map[string]bool, len(list))
	for i, h := range list {
		h = strings.TrimSpace(h)
		if h == "" {
			return nil, fmt.Errorf("entry %d is empty (stray comma?)", i+1)
		}
		if !isToken(h) {
			return nil, fmt.Errorf("%q is not a valid header name", h)
		}
		h = textproto.CanonicalMIMEHeaderKey(h)
		if why, ok := refusedHeaders[h]; ok {
			return nil, fmt.Errorf("%q %s and cannot be forwarded", h, why)
		}
		if !seen[h] {
			seen[h] = true
			out = append(out, h)
		}
	}
	return out, nil
}

// isToken reports whether s is an RFC 9110 token, the syntax of a header name.
func isToken(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return s != ""
}
