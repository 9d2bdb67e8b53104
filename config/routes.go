package config

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
)

// RouteSpec is one PATH=UPSTREAM pair of SSEWS_ROUTES, checked but not yet resolved
// against the global settings.
type RouteSpec struct {
	Path     string
	Upstream *url.URL
}

// RouteList is SSEWS_ROUTES: PATH=UPSTREAM pairs separated by commas, e.g.
//
//	/news=http://backend:9000/events,/chat=ws://backend:9001/chat
//
// Space around entries, paths and upstreams is ignored. Each pair splits at its first
// '=', so a path cannot contain '=' while an upstream's query can; a ',' inside an
// upstream URL must be written %2C (or the route put in SSEWS_CONFIG). An empty
// entry (a stray comma) and a path given twice are errors. A value of only spaces
// is no routes at all.
type RouteList []RouteSpec

// UnmarshalText implements encoding.TextUnmarshaler.
func (l *RouteList) UnmarshalText(text []byte) error {
	var list RouteList
	if strings.TrimSpace(string(text)) == "" {
		*l = nil
		return nil
	}
	seen := make(map[string]bool)
	for i, item := range strings.Split(string(text), ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			return fmt.Errorf("entry %d is empty (stray comma?)", i+1)
		}
		spec, err := parseRouteSpec(item)
		if err != nil {
			return fmt.Errorf("%q: %w", item, err)
		}
		if seen[spec.Path] {
			return fmt.Errorf("%q: path %q defined twice", item, spec.Path)
		}
		seen[spec.Path] = true
		list = append(list, spec)
	}
	*l = list
	return nil
}

func parseRouteSpec(item string) (RouteSpec, error) {
	path, upstream, ok := strings.Cut(item, "=")
	if !ok {
		return RouteSpec{}, errors.New("want PATH=UPSTREAM")
	}
	path, upstream = strings.TrimSpace(path), strings.TrimSpace(upstream)
	if err := checkPath(path); err != nil {
		return RouteSpec{}, err
	}
	u, err := parseUpstream(upstream)
	if err != nil {
		return RouteSpec{}, err
	}
	return RouteSpec{Path: path, Upstream: u}, nil
}

// checkPath accepts what can equal a request's URL path: routes match exactly, so a
// path with a query, a fragment or a space could never be requested.
func checkPath(p string) error {
	switch {
	case p == "":
		return errors.New("path is empty")
	case p[0] != '/':
		return fmt.Errorf("path %q must start with /", p)
	case strings.ContainsAny(p, "?#"):
		return fmt.Errorf("path %q must not contain ? or #", p)
	case strings.ContainsFunc(p, isSpaceOrControl):
		return fmt.Errorf("path %q must not contain spaces or control characters", p)
	}
	return nil
}

func isSpaceOrControl(r rune) bool { return r <= ' ' || r == 0x7f }

// upstreamSchemes are what a route's upstream may speak: SSE over http(s), or
// WebSocket over ws(s).
var upstreamSchemes = []string{"http", "https", "ws", "wss"}

// parseUpstream parses a route's upstream: an absolute URL whose scheme says what the
// upstream speaks.
func parseUpstream(raw string) (*url.URL, error) {
	u, err := parseAbsURL("upstream", raw)
	if err != nil {
		return nil, err
	}
	if !slices.Contains(upstreamSchemes, u.Scheme) {
		return nil, fmt.Errorf("upstream scheme %q not one of http, https, ws, wss", u.Scheme)
	}
	return u, nil
}

// parseHTTPURL parses the URL of a field the proxy sends plain HTTP requests to
// (publish, auth_url).
func parseHTTPURL(what, raw string) (*url.URL, error) {
	u, err := parseAbsURL(what, raw)
	if err != nil {
		return nil, err
	}
	if !slices.Contains(upstreamSchemes[:2], u.Scheme) {
		return nil, fmt.Errorf("%s scheme %q not one of http, https", what, u.Scheme)
	}
	return u, nil
}

// parseAbsURL parses an URL ssews connects to: it needs a scheme and a host, and a
// fragment would never be sent, so it is refused rather than silently dropped.
func parseAbsURL(what, raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	switch {
	case raw == "":
		return nil, fmt.Errorf("%s is empty", what)
	case err != nil:
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("%s %q: %v", what, raw, err)
	case u.Scheme == "" || u.Opaque != "":
		return nil, fmt.Errorf("%s %q is not an absolute URL (want e.g. http://backend:9000/events)", what, raw)
	case u.Host == "" || u.Hostname() == "":
		return nil, fmt.Errorf("%s %q has no host", what, raw)
	case u.Fragment != "" || strings.HasSuffix(raw, "#"):
		return nil, fmt.Errorf("%s %q must not have a fragment", what, raw)
	}
	return u, nil
}
