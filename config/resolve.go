package config

import (
	"net/url"
	"slices"
	"time"
)

// Per-route defaults that have no global variable (SPEC section 3).
const (
	DefaultReplay      = 1024
	DefaultLinger      = 5 * time.Second
	DefaultBinaryEvent = "binary"
	DefaultFormat      = FormatJSON
)

// NewRoute returns the route from path to upstream with every option at its global
// setting or default, as a PATH=UPSTREAM pair of SSEWS_ROUTES gets it. Commands that
// bring their own routes (demo, tail) build them with it. The caller checks path and
// upstream; the slices are copies, so no two routes share one.
func (c *Config) NewRoute(path string, upstream *url.URL) Route {
	return Route{
		Path:           path,
		Upstream:       upstream,
		Replay:         DefaultReplay,
		Linger:         DefaultLinger,
		Format:         DefaultFormat,
		ForwardHeaders: slices.Clone(c.ForwardHeaders),
		Heartbeat:      c.Heartbeat,
		Retry:          c.Retry,
		MaxMessage:     int64(c.MaxMessage),
		AllowedOrigins: slices.Clone(c.AllowedOrigins),
		BinaryEvent:    DefaultBinaryEvent,
	}
}
