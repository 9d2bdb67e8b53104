package bridge

import (
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/ssews/ssews/config"
)

// Query parameters that belong to ssews and never reach the upstream.
const (
	paramFormat      = "format"
	paramLastEventID = "lastEventId"
)

// clientRequest is what ssews takes from a client's request to build its upstream
// requests: computed once per client, reused on every reconnect.
type clientRequest struct {
	route *config.Route
	// upstream is the route's upstream URL with the client's query merged in.
	upstream *url.URL
	// header holds the forwarded headers, X-Forwarded-* and the bearer token.
	header http.Header
	// lastEventID is the id the client resumes from ("" for a fresh start).
	lastEventID string
	// format is the framing the WebSocket client asked for.
	format config.Format
	// remoteAddr is the client's address, for logs.
	remoteAddr string
	// lease is the client's admission, which a handler may hand off.
	lease *lease
}

// newClientRequest reads r once for everything the upstream side needs.
func newClientRequest(route *config.Route, r *http.Request) *clientRequest {
	q := r.URL.Query()
	cr := &clientRequest{
		route:       route,
		lastEventID: r.Header.Get("Last-Event-ID"),
		format:      route.Format,
		remoteAddr:  r.RemoteAddr,
	}
	if id, ok := q[paramLastEventID]; ok && len(id) > 0 && cr.lastEventID == "" {
		cr.lastEventID = id[0]
	}
	switch config.Format(q.Get(paramFormat)) {
	case config.FormatRaw:
		cr.format = config.FormatRaw
	case config.FormatJSON:
		cr.format = config.FormatJSON
	}
	token := ""
	if route.TokenParam != "" {
		token = q.Get(route.TokenParam)
		q.Del(route.TokenParam)
	}
	q.Del(paramFormat)
	q.Del(paramLastEventID)
	cr.upstream = mergeQuery(route.Upstream, q)
	cr.header = forwardHeaders(r, route.ForwardHeaders)
	if token != "" {
		cr.header.Set("Authorization", "Bearer "+token)
	}
	return cr
}

// mergeQuery returns u with the client's query parameters added to its own.
func mergeQuery(u *url.URL, client url.Values) *url.URL {
	merged := *u
	if len(client) == 0 {
		return &merged
	}
	q := u.Query()
	for k, vs := range client {
		for _, v := range vs {
			q.Add(k, v)
		}
	}
	merged.RawQuery = q.Encode()
	return &merged
}

// forwardHeaders copies the configured client headers and sets X-Forwarded-For,
// -Proto and -Host, as reverse proxies do (httputil.ReverseProxy appends to an
// existing X-Forwarded-For the same way).
func forwardHeaders(r *http.Request, names []string) http.Header {
	h := make(http.Header, len(names)+3)
	for _, name := range names {
		if vs := r.Header.Values(name); len(vs) > 0 {
			h[http.CanonicalHeaderKey(name)] = append([]string(nil), vs...)
		}
	}
	if ip, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		if prior := r.Header.Values("X-Forwarded-For"); len(prior) > 0 {
			ip = strings.Join(prior, ", ") + ", " + ip
		}
		h.Set("X-Forwarded-For", ip)
	}
	proto := "http"
	if r.TLS != nil {
		proto = "https"
	}
	h.Set("X-Forwarded-Proto", proto)
	h.Set("X-Forwarded-Host", r.Host)
	return h
}

// upstreamURLWithResume returns the upstream URL for a WebSocket upstream with the
// route's resume parameter set to id.
func upstreamURLWithResume(u *url.URL, param, id string) *url.URL {
	if param == "" || id == "" {
		return u
	}
	out := *u
	q := out.Query()
	q.Set(param, id)
	out.RawQuery = q.Encode()
	return &out
}
