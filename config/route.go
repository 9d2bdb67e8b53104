package config

import (
	"net/url"
	"time"
)

// Format names how WebSocket clients of an SSE upstream get their frames, and how a
// WebSocket upstream's text frames are read.
type Format string

const (
	// FormatJSON frames each event as {"event","data","id","retry"}.
	FormatJSON Format = "json"
	// FormatRaw frames each event as its data alone.
	FormatRaw Format = "raw"
)

// Route is one path served by ssews, with every per-route option resolved: fields the
// routes file leaves out carry the global setting.
type Route struct {
	Path     string
	Upstream *url.URL

	// Shared routes keep one upstream connection per path+query for all clients.
	Shared bool
	// Replay is how many events a shared stream keeps for Last-Event-ID resume.
	Replay int
	// Linger is how long a shared upstream stays open after its last client leaves.
	Linger time.Duration
	// GapEvent, when set, is the type of the event a resuming shared client gets when
	// its id is no longer in the replay buffer.
	GapEvent string

	Format         Format
	ForwardHeaders []string
	Heartbeat      time.Duration
	Retry          time.Duration
	MaxMessage     int64
	AllowedOrigins []string

	// Publish is where messages of WebSocket clients of an SSE upstream are POSTed;
	// nil drops (and counts) them.
	Publish *url.URL
	// ResumeParam is the query parameter that carries the last event id to a
	// WebSocket upstream; empty sends none.
	ResumeParam string
	// BinaryEvent is the event type of binary WebSocket messages sent as SSE.
	BinaryEvent string
	// AuthURL, when set, is asked before each client's stream starts.
	AuthURL *url.URL
	// TokenParam names the query parameter whose value becomes
	// "Authorization: Bearer <value>" towards the upstream and AuthURL.
	TokenParam string
}

// UpstreamIsSSE reports whether the upstream speaks text/event-stream (http, https)
// rather than WebSocket (ws, wss).
func (r *Route) UpstreamIsSSE() bool {
	return r.Upstream.Scheme == "http" || r.Upstream.Scheme == "https"
}
