// Package config reads ssews's configuration from SSEWS_ environment variables and an
// optional routes file, and validates it before anything listens.
package config

import "time"

// Config is the whole configuration of one ssews process.
//
// The env tags are read by caarlos0/env with the prefix SSEWS_; the desc tags feed
// Vars, so `ssews -h` is generated from this struct and cannot drift from it.
type Config struct {
	Listen          string        `env:"LISTEN" envDefault:":8080" desc:"client-facing address (host:port)"`
	AdminListen     string        `env:"ADMIN_LISTEN" envDefault:":9090" desc:"address of /healthz, /readyz and /metrics; set it empty to disable"`
	Routes          RouteList     `env:"ROUTES" desc:"routes as PATH=UPSTREAM pairs separated by commas, e.g. /news=http://backend:9000/events"`
	ConfigFile      string        `env:"CONFIG" desc:"routes file (YAML or JSON) with per-route options; combines with SSEWS_ROUTES"`
	AllowedOrigins  []string      `env:"ALLOWED_ORIGINS" envSeparator:"," desc:"browser origins allowed, comma separated (scheme://host[:port], or * for any); empty: same origin only"`
	ForwardHeaders  []string      `env:"FORWARD_HEADERS" envSeparator:"," envDefault:"Authorization,Cookie" desc:"client headers passed to per-client upstream connections, comma separated; set it empty to pass none"`
	Heartbeat       time.Duration `env:"HEARTBEAT" envDefault:"15s" desc:"SSE keep-alive comment and WebSocket ping interval"`
	Retry           time.Duration `env:"RETRY" envDefault:"3s" desc:"reconnection delay sent to EventSource clients as retry:"`
	MaxMessage      Size          `env:"MAX_MESSAGE" envDefault:"1MiB" desc:"largest event or WebSocket message, in bytes or with KiB, MiB, GiB"`
	ClientBuffer    int           `env:"CLIENT_BUFFER" envDefault:"256" desc:"events queued per client before it counts as slow (at least 1)"`
	WriteTimeout    time.Duration `env:"WRITE_TIMEOUT" envDefault:"10s" desc:"a client that cannot take a write this long is disconnected"`
	UpstreamTimeout time.Duration `env:"UPSTREAM_TIMEOUT" envDefault:"10s" desc:"upstream dial plus response headers or handshake"`
	MaxConnections  int           `env:"MAX_CONNECTIONS" envDefault:"0" desc:"client connections at once, 0 for unlimited; beyond it 503"`
	ShutdownTimeout time.Duration `env:"SHUTDOWN_TIMEOUT" envDefault:"10s" desc:"drain time after SIGTERM or SIGINT"`
	TLSCert         string        `env:"TLS_CERT" desc:"TLS certificate file (PEM); requires SSEWS_TLS_KEY"`
	TLSKey          string        `env:"TLS_KEY" desc:"TLS private key file (PEM); requires SSEWS_TLS_CERT"`
	LogLevel        LogLevel      `env:"LOG_LEVEL" envDefault:"info" desc:"debug, info, warn or error"`
	LogFormat       LogFormat     `env:"LOG_FORMAT" envDefault:"text" desc:"text (colour on a terminal unless NO_COLOR is set) or json"`

	// Resolved is every route, from SSEWS_ROUTES and SSEWS_CONFIG, with per-route
	// options filled in from the globals above. Load sets it. It has no env tag:
	// caarlos0/env v10 gives "-" no special meaning and would read SSEWS_-.
	Resolved []Route
}
