package config

import (
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/caarlos0/env/v10"
)

// Load reads the configuration of `ssews serve` from environ, the process environment
// as a map (env.ToMap(os.Environ()), say): the SSEWS_ variables, then the routes file
// SSEWS_CONFIG names. Everything is checked before anything listens, and the first
// problem comes back as an *Error. At least one route is required.
func Load(environ map[string]string) (*Config, error) {
	return LoadOptions(environ, true)
}

// LoadOptions is Load for commands that bring their own routes (demo, tail): with
// requireRoutes false, having no routes is not an error, though routes that are
// configured are still checked and resolved. A nil environ is an empty environment,
// never the process's: tests stay hermetic.
func LoadOptions(environ map[string]string, requireRoutes bool) (*Config, error) {
	if environ == nil {
		environ = map[string]string{}
	}
	if err := checkUnknownVars(environ); err != nil {
		return nil, err
	}
	c := new(Config)
	if err := env.ParseWithOptions(c, env.Options{Prefix: envPrefix, Environment: environ}); err != nil {
		return nil, fromEnvError(err, environ)
	}
	c.emptyMeansNone(environ)
	if err := c.check(); err != nil {
		return nil, err
	}
	if err := c.resolve(); err != nil {
		return nil, err
	}
	if requireRoutes && len(c.Resolved) == 0 {
		return nil, &Error{Var: envKey("Routes"), Err: ErrNoRoutes}
	}
	return c, nil
}

// emptyMeansNone undoes, for the lists and the admin address, caarlos0/env's rule
// that an empty variable takes its default: there empty is a setting of its own.
// SSEWS_ADMIN_LISTEN="" disables the admin server (SPEC section 2), and
// SSEWS_FORWARD_HEADERS="" forwards no header. Blank counts as empty.
func (c *Config) emptyMeansNone(environ map[string]string) {
	blank := func(field string) bool {
		v, ok := environ[envKey(field)]
		return ok && strings.TrimSpace(v) == ""
	}
	if blank("AdminListen") {
		c.AdminListen = ""
	}
	if blank("ForwardHeaders") {
		c.ForwardHeaders = nil
	}
	if blank("AllowedOrigins") {
		c.AllowedOrigins = nil
	}
}

// check validates and normalises the global settings, in the order of the fields.
// SSEWS_ROUTES, SSEWS_MAX_MESSAGE and the log settings are checked as they are
// parsed; SSEWS_CONFIG is read by resolve, once the globals its routes inherit are
// known to be good.
func (c *Config) check() error {
	fail := func(field string, err error) error { return &Error{Var: envKey(field), Err: err} }
	if err := checkAddr(c.Listen); err != nil {
		return fail("Listen", err)
	}
	if c.AdminListen != "" {
		if err := checkAddr(c.AdminListen); err != nil {
			return fail("AdminListen", err)
		}
		if _, port, _ := net.SplitHostPort(c.Listen); c.AdminListen == c.Listen && port != "0" {
			return fail("AdminListen", fmt.Errorf("same address as %s (%q)", envKey("Listen"), c.Listen))
		}
	}
	var err error
	if c.AllowedOrigins, err = normalizeOrigins(c.AllowedOrigins); err != nil {
		return fail("AllowedOrigins", err)
	}
	if c.ForwardHeaders, err = normalizeHeaders(c.ForwardHeaders); err != nil {
		return fail("ForwardHeaders", err)
	}
	durations := []struct {
		field string
		d     time.Duration
		check func(time.Duration) error
	}{
		{"Heartbeat", c.Heartbeat, checkPositive},
		{"Retry", c.Retry, checkNotNegative},
		{"WriteTimeout", c.WriteTimeout, checkPositive},
		{"UpstreamTimeout", c.UpstreamTimeout, checkPositive},
		{"ShutdownTimeout", c.ShutdownTimeout, checkPositive},
	}
	for _, d := range durations {
		if err := d.check(d.d); err != nil {
			return fail(d.field, err)
		}
	}
	if c.ClientBuffer < 1 {
		return fail("ClientBuffer", fmt.Errorf("must be at least 1, got %d", c.ClientBuffer))
	}
	if c.MaxConnections < 0 {
		return fail("MaxConnections", fmt.Errorf("must not be negative (0 is unlimited), got %d", c.MaxConnections))
	}
	return c.checkTLS()
}

// checkTLS wants both files or neither, and both readable: a half-configured TLS
// would otherwise fall back to plain HTTP or fail only when the server starts.
func (c *Config) checkTLS() error {
	cert, key := envKey("TLSCert"), envKey("TLSKey")
	switch {
	case c.TLSCert != "" && c.TLSKey == "":
		return &Error{Var: key, Err: fmt.Errorf("required when %s is set", cert)}
	case c.TLSKey != "" && c.TLSCert == "":
		return &Error{Var: cert, Err: fmt.Errorf("required when %s is set", key)}
	case c.TLSCert == "":
		return nil
	}
	if err := checkReadable(c.TLSCert); err != nil {
		return &Error{Var: cert, Err: err}
	}
	if err := checkReadable(c.TLSKey); err != nil {
		return &Error{Var: key, Err: err}
	}
	return nil
}

// resolve fills Resolved: the SSEWS_ROUTES pairs first, then the routes file's, in
// their order. A path may be defined once across both.
func (c *Config) resolve() error {
	routes := make([]Route, 0, len(c.Routes))
	taken := make(map[string]string, len(c.Routes))
	for _, s := range c.Routes {
		u := *s.Upstream
		routes = append(routes, c.NewRoute(s.Path, &u))
		taken[s.Path] = "in " + envKey("Routes")
	}
	if c.ConfigFile != "" {
		fileRoutes, err := c.readRoutesFile(c.ConfigFile, taken)
		if err != nil {
			return &Error{Var: envKey("ConfigFile"), Err: fmt.Errorf("%s: %w", c.ConfigFile, err)}
		}
		routes = append(routes, fileRoutes...)
	}
	c.Resolved = routes
	return nil
}
