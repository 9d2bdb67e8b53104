package config

import (
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

func TestLoadDefaults(t *testing.T) {
	t.Parallel()
	c := mustLoad(t, map[string]string{"SSEWS_ROUTES": "/news=http://backend:9000/events"})

	checks := []struct {
		name      string
		got, want any
	}{
		{"Listen", c.Listen, ":8080"},
		{"AdminListen", c.AdminListen, ":9090"},
		{"ConfigFile", c.ConfigFile, ""},
		{"AllowedOrigins", len(c.AllowedOrigins), 0},
		{"Heartbeat", c.Heartbeat, 15 * time.Second},
		{"Retry", c.Retry, 3 * time.Second},
		{"MaxMessage", c.MaxMessage, Size(1 << 20)},
		{"ClientBuffer", c.ClientBuffer, 256},
		{"WriteTimeout", c.WriteTimeout, 10 * time.Second},
		{"UpstreamTimeout", c.UpstreamTimeout, 10 * time.Second},
		{"MaxConnections", c.MaxConnections, 0},
		{"ShutdownTimeout", c.ShutdownTimeout, 10 * time.Second},
		{"TLSCert", c.TLSCert, ""},
		{"TLSKey", c.TLSKey, ""},
		{"LogLevel", c.LogLevel.Level(), slog.LevelInfo},
		{"LogFormat", c.LogFormat, LogFormatText},
	}
	for _, ch := range checks {
		if ch.got != ch.want {
			t.Errorf("%s = %v; want %v", ch.name, ch.got, ch.want)
		}
	}
	if want := []string{"Authorization", "Cookie"}; !slices.Equal(c.ForwardHeaders, want) {
		t.Errorf("ForwardHeaders = %q; want %q", c.ForwardHeaders, want)
	}

	if len(c.Resolved) != 1 {
		t.Fatalf("got %d routes; want 1", len(c.Resolved))
	}
	r := c.Resolved[0]
	if r.Path != "/news" || r.Upstream.String() != "http://backend:9000/events" || !r.UpstreamIsSSE() {
		t.Errorf("route = %s -> %v; want /news -> http://backend:9000/events", r.Path, r.Upstream)
	}
	resolved := []struct {
		name      string
		got, want any
	}{
		{"Shared", r.Shared, false},
		{"Replay", r.Replay, 1024},
		{"Linger", r.Linger, 5 * time.Second},
		{"GapEvent", r.GapEvent, ""},
		{"Format", r.Format, FormatJSON},
		{"Heartbeat", r.Heartbeat, 15 * time.Second},
		{"Retry", r.Retry, 3 * time.Second},
		{"MaxMessage", r.MaxMessage, int64(1 << 20)},
		{"Publish", r.Publish == nil, true},
		{"ResumeParam", r.ResumeParam, ""},
		{"BinaryEvent", r.BinaryEvent, "binary"},
		{"AuthURL", r.AuthURL == nil, true},
		{"TokenParam", r.TokenParam, ""},
		{"len(AllowedOrigins)", len(r.AllowedOrigins), 0},
	}
	for _, ch := range resolved {
		if ch.got != ch.want {
			t.Errorf("route %s = %v; want %v", ch.name, ch.got, ch.want)
		}
	}
	if !slices.Equal(r.ForwardHeaders, c.ForwardHeaders) {
		t.Errorf("route ForwardHeaders = %q; want the global %q", r.ForwardHeaders, c.ForwardHeaders)
	}
}

func TestLoadValues(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cert, key := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	for _, p := range []string{cert, key} {
		if err := os.WriteFile(p, []byte("pem"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	c := mustLoad(t, map[string]string{
		"SSEWS_LISTEN":           "127.0.0.1:8443",
		"SSEWS_ADMIN_LISTEN":     "localhost:9091",
		"SSEWS_ROUTES":           " /news = http://backend:9000/events?a=b , /chat=WS://backend:9001/chat ",
		"SSEWS_ALLOWED_ORIGINS":  "https://App.Example.com:443/, http://localhost:3000 ,*",
		"SSEWS_FORWARD_HEADERS":  " x-api-key , authorization,Authorization",
		"SSEWS_HEARTBEAT":        "1m",
		"SSEWS_RETRY":            "0s",
		"SSEWS_MAX_MESSAGE":      "64KiB",
		"SSEWS_CLIENT_BUFFER":    "1",
		"SSEWS_WRITE_TIMEOUT":    "2s",
		"SSEWS_UPSTREAM_TIMEOUT": "3s",
		"SSEWS_MAX_CONNECTIONS":  "1000",
		"SSEWS_SHUTDOWN_TIMEOUT": "30s",
		"SSEWS_TLS_CERT":         cert,
		"SSEWS_TLS_KEY":          key,
		"SSEWS_LOG_LEVEL":        "DEBUG",
		"SSEWS_LOG_FORMAT":       "Json",
	})
	checks := []struct {
		name      string
		got, want any
	}{
		{"Listen", c.Listen, "127.0.0.1:8443"},
		{"AdminListen", c.AdminListen, "localhost:9091"},
		{"Heartbeat", c.Heartbeat, time.Minute},
		{"Retry", c.Retry, time.Duration(0)},
		{"MaxMessage", c.MaxMessage, Size(64 << 10)},
		{"ClientBuffer", c.ClientBuffer, 1},
		{"WriteTimeout", c.WriteTimeout, 2 * time.Second},
		{"UpstreamTimeout", c.UpstreamTimeout, 3 * time.Second},
		{"MaxConnections", c.MaxConnections, 1000},
		{"ShutdownTimeout", c.ShutdownTimeout, 30 * time.Second},
		{"TLSCert", c.TLSCert, cert},
		{"TLSKey", c.TLSKey, key},
		{"LogLevel", c.LogLevel.Level(), slog.LevelDebug},
		{"LogFormat", c.LogFormat, LogFormatJSON},
	}
	for _, ch := range checks {
		if ch.got != ch.want {
			t.Errorf("%s = %v; want %v", ch.name, ch.got, ch.want)
		}
	}
	if want := []string{"https://app.example.com", "http://localhost:3000", "*"}; !slices.Equal(c.AllowedOrigins, want) {
		t.Errorf("AllowedOrigins = %q; want %q", c.AllowedOrigins, want)
	}
	if want := []string{"X-Api-Key", "Authorization"}; !slices.Equal(c.ForwardHeaders, want) {
		t.Errorf("ForwardHeaders = %q; want %q", c.ForwardHeaders, want)
	}
	if len(c.Resolved) != 2 {
		t.Fatalf("got %d routes; want 2", len(c.Resolved))
	}
	news, chat := c.Resolved[0], c.Resolved[1]
	if news.Path != "/news" || news.Upstream.String() != "http://backend:9000/events?a=b" {
		t.Errorf("route 1 = %s -> %v; want /news -> http://backend:9000/events?a=b", news.Path, news.Upstream)
	}
	if chat.Path != "/chat" || chat.Upstream.Scheme != "ws" || chat.UpstreamIsSSE() {
		t.Errorf("route 2 = %s -> %v; want /chat -> ws://backend:9001/chat", chat.Path, chat.Upstream)
	}
	if chat.Heartbeat != time.Minute || chat.Retry != 0 || chat.MaxMessage != 64<<10 ||
		!slices.Equal(chat.AllowedOrigins, c.AllowedOrigins) || !slices.Equal(chat.ForwardHeaders, c.ForwardHeaders) {
		t.Errorf("route 2 did not inherit the globals: %+v", chat)
	}
	if c.Resolved[0].Upstream == c.Routes[0].Upstream {
		t.Error("Resolved shares its upstream URL with Routes; want a copy")
	}
}

// An empty variable takes its default (caarlos0/env's rule), except where empty is
// a setting of its own.
func TestLoadEmptyVariables(t *testing.T) {
	t.Parallel()
	c := mustLoad(t, map[string]string{
		"SSEWS_ROUTES":          "/a=ws://b",
		"SSEWS_ADMIN_LISTEN":    "",
		"SSEWS_FORWARD_HEADERS": " ",
		"SSEWS_ALLOWED_ORIGINS": " ",
		"SSEWS_HEARTBEAT":       "",
		"SSEWS_LISTEN":          "",
		"SSEWS_CONFIG":          "",
	})
	if c.AdminListen != "" {
		t.Errorf("AdminListen = %q; want empty (disabled)", c.AdminListen)
	}
	if len(c.ForwardHeaders) != 0 || len(c.Resolved[0].ForwardHeaders) != 0 {
		t.Errorf("ForwardHeaders = %q, route's %q; want none", c.ForwardHeaders, c.Resolved[0].ForwardHeaders)
	}
	if len(c.AllowedOrigins) != 0 {
		t.Errorf("AllowedOrigins = %q; want none", c.AllowedOrigins)
	}
	if c.Heartbeat != 15*time.Second || c.Listen != ":8080" {
		t.Errorf("Heartbeat = %v, Listen = %q; want the defaults 15s, :8080", c.Heartbeat, c.Listen)
	}
}

func TestLoadOptionsWithoutRoutes(t *testing.T) {
	t.Parallel()
	for _, environ := range []map[string]string{nil, {}, {"SSEWS_ROUTES": "  "}} {
		c, err := LoadOptions(environ, false)
		if err != nil {
			t.Fatalf("LoadOptions(%v, false): %v", environ, err)
		}
		if len(c.Resolved) != 0 || c.Heartbeat != 15*time.Second {
			t.Errorf("LoadOptions(%v, false) = %d routes, heartbeat %v; want 0 and 15s", environ, len(c.Resolved), c.Heartbeat)
		}
	}
	c, err := LoadOptions(map[string]string{"SSEWS_ROUTES": "/a=ws://b"}, false)
	if err != nil || len(c.Resolved) != 1 {
		t.Errorf("LoadOptions with a route = %v; want it resolved", err)
	}
	_, err = LoadOptions(map[string]string{"SSEWS_HEARTBEAT": "soon"}, false)
	wantError(t, err, "SSEWS_HEARTBEAT", `invalid duration "soon"`)
}

func TestLoadNoRoutes(t *testing.T) {
	t.Parallel()
	for _, environ := range []map[string]string{nil, {"SSEWS_ROUTES": ""}, {"SSEWS_ROUTES": " "}} {
		_, err := Load(environ)
		wantError(t, err, "SSEWS_ROUTES", "no routes configured (set SSEWS_ROUTES or SSEWS_CONFIG)")
		if !errors.Is(err, ErrNoRoutes) {
			t.Errorf("errors.Is(%v, ErrNoRoutes) = false", err)
		}
	}
}

func TestLoadErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	pem := filepath.Join(dir, "cert.pem")
	if err := os.WriteFile(pem, []byte("pem"), 0o600); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing.pem")

	tests := []struct {
		name    string
		environ map[string]string
		wantVar string
		want    []string
	}{
		{"duration without unit", map[string]string{"SSEWS_HEARTBEAT": "15"}, "SSEWS_HEARTBEAT", []string{`SSEWS_HEARTBEAT: invalid duration "15" (want e.g. 15s)`}},
		{"zero heartbeat", map[string]string{"SSEWS_HEARTBEAT": "0s"}, "SSEWS_HEARTBEAT", []string{"must be positive, got 0s"}},
		{"negative heartbeat", map[string]string{"SSEWS_HEARTBEAT": "-1s"}, "SSEWS_HEARTBEAT", []string{"must be positive, got -1s"}},
		{"negative retry", map[string]string{"SSEWS_RETRY": "-3s"}, "SSEWS_RETRY", []string{"must not be negative, got -3s"}},
		{"garbage retry", map[string]string{"SSEWS_RETRY": "soon"}, "SSEWS_RETRY", []string{`invalid duration "soon"`}},
		{"zero write timeout", map[string]string{"SSEWS_WRITE_TIMEOUT": "0"}, "SSEWS_WRITE_TIMEOUT", []string{"must be positive"}},
		{"bad upstream timeout", map[string]string{"SSEWS_UPSTREAM_TIMEOUT": "10 s"}, "SSEWS_UPSTREAM_TIMEOUT", []string{`invalid duration "10 s"`}},
		{"zero shutdown timeout", map[string]string{"SSEWS_SHUTDOWN_TIMEOUT": "0s"}, "SSEWS_SHUTDOWN_TIMEOUT", []string{"must be positive"}},
		{"zero client buffer", map[string]string{"SSEWS_CLIENT_BUFFER": "0"}, "SSEWS_CLIENT_BUFFER", []string{"must be at least 1, got 0"}},
		{"garbage client buffer", map[string]string{"SSEWS_CLIENT_BUFFER": "lots"}, "SSEWS_CLIENT_BUFFER", []string{`invalid integer "lots"`}},
		{"huge client buffer", map[string]string{"SSEWS_CLIENT_BUFFER": "99999999999999999999"}, "SSEWS_CLIENT_BUFFER", []string{`integer "99999999999999999999" out of range`}},
		{"negative max connections", map[string]string{"SSEWS_MAX_CONNECTIONS": "-1"}, "SSEWS_MAX_CONNECTIONS", []string{"must not be negative (0 is unlimited), got -1"}},
		{"fractional max connections", map[string]string{"SSEWS_MAX_CONNECTIONS": "1.5"}, "SSEWS_MAX_CONNECTIONS", []string{`invalid integer "1.5"`}},
		{"SI size", map[string]string{"SSEWS_MAX_MESSAGE": "64KB"}, "SSEWS_MAX_MESSAGE", []string{`invalid size "64KB"`, "KiB, MiB or GiB"}},
		{"zero size", map[string]string{"SSEWS_MAX_MESSAGE": "0"}, "SSEWS_MAX_MESSAGE", []string{`size "0" must be at least 1 byte`}},
		{"negative size", map[string]string{"SSEWS_MAX_MESSAGE": "-1"}, "SSEWS_MAX_MESSAGE", []string{`invalid size "-1"`}},
		{"bad log level", map[string]string{"SSEWS_LOG_LEVEL": "verbose"}, "SSEWS_LOG_LEVEL", []string{`invalid log level "verbose" (want debug, info, warn or error)`}},
		{"bad log format", map[string]string{"SSEWS_LOG_FORMAT": "xml"}, "SSEWS_LOG_FORMAT", []string{`invalid log format "xml" (want text or json)`}},
		{"listen without port", map[string]string{"SSEWS_LISTEN": "8080"}, "SSEWS_LISTEN", []string{`invalid address "8080" (want host:port, e.g. :8080)`}},
		{"listen empty port", map[string]string{"SSEWS_LISTEN": "localhost:"}, "SSEWS_LISTEN", []string{`invalid address "localhost:"`}},
		{"listen port out of range", map[string]string{"SSEWS_LISTEN": ":70000"}, "SSEWS_LISTEN", []string{`port "70000" out of range`}},
		{"admin listen garbage", map[string]string{"SSEWS_ADMIN_LISTEN": "admin"}, "SSEWS_ADMIN_LISTEN", []string{`invalid address "admin"`}},
		{"admin on the client address", map[string]string{"SSEWS_ADMIN_LISTEN": ":8080"}, "SSEWS_ADMIN_LISTEN", []string{`same address as SSEWS_LISTEN (":8080")`}},
		{"route scheme", map[string]string{"SSEWS_ROUTES": "/news=ftp://x"}, "SSEWS_ROUTES", []string{`SSEWS_ROUTES: "/news=ftp://x": upstream scheme "ftp" not one of http, https, ws, wss`}},
		{"route path", map[string]string{"SSEWS_ROUTES": "news=http://x"}, "SSEWS_ROUTES", []string{`path "news" must start with /`}},
		{"route without upstream", map[string]string{"SSEWS_ROUTES": "/news"}, "SSEWS_ROUTES", []string{`"/news": want PATH=UPSTREAM`}},
		{"route empty entry", map[string]string{"SSEWS_ROUTES": "/a=http://x,,/b=http://y"}, "SSEWS_ROUTES", []string{"entry 2 is empty"}},
		{"route trailing comma", map[string]string{"SSEWS_ROUTES": "/a=http://x,"}, "SSEWS_ROUTES", []string{"entry 2 is empty"}},
		{"route twice", map[string]string{"SSEWS_ROUTES": "/a=http://x,/a=ws://y"}, "SSEWS_ROUTES", []string{`path "/a" defined twice`}},
		{"route without host", map[string]string{"SSEWS_ROUTES": "/a=http://"}, "SSEWS_ROUTES", []string{`upstream "http://" has no host`}},
		{"route relative upstream", map[string]string{"SSEWS_ROUTES": "/a=backend:9000/events"}, "SSEWS_ROUTES", []string{`upstream "backend:9000/events" is not an absolute URL`}},
		{"route empty upstream", map[string]string{"SSEWS_ROUTES": "/a="}, "SSEWS_ROUTES", []string{"upstream is empty"}},
		{"route path with query", map[string]string{"SSEWS_ROUTES": "/a?x=http://x"}, "SSEWS_ROUTES", []string{`path "/a?x" must not contain ? or #`}},
		{"route path with space", map[string]string{"SSEWS_ROUTES": "/a b=http://x"}, "SSEWS_ROUTES", []string{`path "/a b" must not contain spaces`}},
		{"route upstream fragment", map[string]string{"SSEWS_ROUTES": "/a=http://x/e#top"}, "SSEWS_ROUTES", []string{"must not have a fragment"}},
		{"route upstream unparsable", map[string]string{"SSEWS_ROUTES": "/a=http://x:port/"}, "SSEWS_ROUTES", []string{`upstream "http://x:port/"`, "invalid port"}},
		{"origin without scheme", map[string]string{"SSEWS_ALLOWED_ORIGINS": "example.com"}, "SSEWS_ALLOWED_ORIGINS", []string{`origin "example.com" must be scheme://host[:port]`}},
		{"origin with path", map[string]string{"SSEWS_ALLOWED_ORIGINS": "https://example.com/app"}, "SSEWS_ALLOWED_ORIGINS", []string{"without a path"}},
		{"origin wildcard", map[string]string{"SSEWS_ALLOWED_ORIGINS": "https://*.example.com"}, "SSEWS_ALLOWED_ORIGINS", []string{"wildcards are not supported"}},
		{"origin empty entry", map[string]string{"SSEWS_ALLOWED_ORIGINS": "https://a.com,,https://b.com"}, "SSEWS_ALLOWED_ORIGINS", []string{"entry 2 is empty"}},
		{"origin user", map[string]string{"SSEWS_ALLOWED_ORIGINS": "https://me@a.com"}, "SSEWS_ALLOWED_ORIGINS", []string{"user information"}},
		{"hop-by-hop header", map[string]string{"SSEWS_FORWARD_HEADERS": "Authorization,connection"}, "SSEWS_FORWARD_HEADERS", []string{`"Connection" is a hop-by-hop header and cannot be forwarded`}},
		{"upgrade header", map[string]string{"SSEWS_FORWARD_HEADERS": "Upgrade"}, "SSEWS_FORWARD_HEADERS", []string{"hop-by-hop"}},
		{"forwarded header", map[string]string{"SSEWS_FORWARD_HEADERS": "x-forwarded-for"}, "SSEWS_FORWARD_HEADERS", []string{`"X-Forwarded-For" is always set by ssews`}},
		{"handshake header", map[string]string{"SSEWS_FORWARD_HEADERS": "Sec-WebSocket-Key"}, "SSEWS_FORWARD_HEADERS", []string{"WebSocket handshake"}},
		{"host header", map[string]string{"SSEWS_FORWARD_HEADERS": "Host"}, "SSEWS_FORWARD_HEADERS", []string{"upstream URL"}},
		{"bad header name", map[string]string{"SSEWS_FORWARD_HEADERS": "X Api Key"}, "SSEWS_FORWARD_HEADERS", []string{`"X Api Key" is not a valid header name`}},
		{"empty header entry", map[string]string{"SSEWS_FORWARD_HEADERS": "Authorization,,Cookie"}, "SSEWS_FORWARD_HEADERS", []string{"entry 2 is empty"}},
		{"cert without key", map[string]string{"SSEWS_TLS_CERT": pem}, "SSEWS_TLS_KEY", []string{"SSEWS_TLS_KEY: required when SSEWS_TLS_CERT is set"}},
		{"key without cert", map[string]string{"SSEWS_TLS_KEY": pem}, "SSEWS_TLS_CERT", []string{"SSEWS_TLS_CERT: required when SSEWS_TLS_KEY is set"}},
		{"missing cert", map[string]string{"SSEWS_TLS_CERT": missing, "SSEWS_TLS_KEY": pem}, "SSEWS_TLS_CERT", []string{"cannot read", "missing.pem", "no such file"}},
		{"key is a directory", map[string]string{"SSEWS_TLS_CERT": pem, "SSEWS_TLS_KEY": dir}, "SSEWS_TLS_KEY", []string{"cannot read", "is a directory"}},
		{"missing routes file", map[string]string{"SSEWS_CONFIG": missing}, "SSEWS_CONFIG", []string{missing + ": cannot read: no such file or directory"}},
		{"misspelt variable", map[string]string{"SSEWS_HEARTBEATS": "1s"}, "SSEWS_HEARTBEATS", []string{"unknown variable (did you mean SSEWS_HEARTBEAT?)"}},
		{"variable without underscore", map[string]string{"SSEWS_LOGLEVEL": "debug"}, "SSEWS_LOGLEVEL", []string{"did you mean SSEWS_LOG_LEVEL?"}},
		{"unknown variable", map[string]string{"SSEWS_COLOUR": "yes"}, "SSEWS_COLOUR", []string{"unknown variable"}},
		{"first problem wins", map[string]string{"SSEWS_LOG_LEVEL": "loud", "SSEWS_HEARTBEAT": "x", "SSEWS_ROUTES": "nope"}, "SSEWS_ROUTES", []string{"want PATH=UPSTREAM"}},
		{"parse before checks", map[string]string{"SSEWS_LISTEN": "8080", "SSEWS_LOG_FORMAT": "xml"}, "SSEWS_LOG_FORMAT", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			environ := map[string]string{"SSEWS_ROUTES": "/ok=http://backend"}
			for k, v := range tt.environ {
				environ[k] = v
			}
			_, err := Load(environ)
			wantError(t, err, tt.wantVar, tt.want...)
		})
	}
}

func TestLoadListenPortZero(t *testing.T) {
	t.Parallel()
	// Tests run ssews with both servers on :0; that is no clash.
	c := mustLoad(t, map[string]string{"SSEWS_ROUTES": "/a=ws://b", "SSEWS_LISTEN": ":0", "SSEWS_ADMIN_LISTEN": ":0"})
	if c.Listen != ":0" || c.AdminListen != ":0" {
		t.Errorf("Listen, AdminListen = %q, %q; want :0, :0", c.Listen, c.AdminListen)
	}
}

func TestLoadRoutesFromBothSources(t *testing.T) {
	t.Parallel()
	file := writeFile(t, "routes.yaml", "- path: /chat\n  upstream: ws://backend:9001/chat\n- path: /live\n  upstream: https://backend/live\n  shared: true\n")
	c := mustLoad(t, map[string]string{"SSEWS_ROUTES": "/news=http://backend:9000/events", "SSEWS_CONFIG": file})
	var paths []string
	for _, r := range c.Resolved {
		paths = append(paths, r.Path)
	}
	if want := []string{"/news", "/chat", "/live"}; !slices.Equal(paths, want) {
		t.Errorf("routes = %q; want %q (SSEWS_ROUTES first)", paths, want)
	}

	c = mustLoad(t, map[string]string{"SSEWS_CONFIG": file})
	if len(c.Resolved) != 2 {
		t.Errorf("routes file alone gave %d routes; want 2", len(c.Resolved))
	}

	_, err := Load(map[string]string{"SSEWS_ROUTES": "/a=ws://b,/live=http://x", "SSEWS_CONFIG": file})
	wantError(t, err, "SSEWS_CONFIG", file+": route 2 (/live): ", `path "/live" defined twice (also in SSEWS_ROUTES)`)
}
