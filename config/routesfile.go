package config

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// A routes file (SSEWS_CONFIG) is read in two steps. A front end per format
// (routesfile_json.go, routesfile_yaml.go) turns the file into entries of named,
// untyped values; buildRoute then checks every entry against the one table of fields
// below. With one table both formats accept the same fields with the same errors,
// each naming the route and the field, which neither decoder's strict mode
// (DisallowUnknownFields, KnownFields) can do: they name a Go type or a line.

// entry is one element of the file's top-level list.
type entry struct {
	fields []field
	// err says why the element is not an object of fields.
	err error
}

type field struct {
	name string
	val  value
}

// value is one field's value, whatever the file's format. Each method fails with
// "want …, got …" when the value has another shape.
type value interface {
	isNull() bool
	str() (string, error)
	boolean() (bool, error)
	integer() (int, error)
	strList() ([]string, error)
	// scalarText is a string or a number as written: a size is either, and a
	// duration written as a bare number earns a better message than "want a string".
	scalarText() (string, error)
}

// readRoutesFile reads the routes file name and resolves its routes against c. taken
// holds the paths already defined, each with where ("in SSEWS_ROUTES"). Errors do
// not name the file: the caller adds it.
func (c *Config) readRoutesFile(name string, taken map[string]string) ([]Route, error) {
	data, err := os.ReadFile(name)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, fmt.Errorf("cannot read: %w", err)
	}
	return c.parseRoutesFile(name, data, taken)
}

// parseRoutesFile is readRoutesFile after the read. A name ending in .json is JSON,
// anything else YAML (which also reads most JSON, but with YAML's error messages).
func (c *Config) parseRoutesFile(name string, data []byte, taken map[string]string) ([]Route, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, errors.New("file is empty (want a list of routes)")
	}
	parse := parseYAMLRoutes
	if strings.EqualFold(filepath.Ext(name), ".json") {
		parse = parseJSONRoutes
	}
	entries, err := parse(data)
	if err != nil {
		return nil, err
	}
	if len(entries) == 0 {
		return nil, errors.New("lists no routes")
	}
	routes := make([]Route, 0, len(entries))
	for i, e := range entries {
		label := routeLabel(i, e)
		r, err := c.buildRoute(e)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", label, err)
		}
		if where, ok := taken[r.Path]; ok {
			return nil, fmt.Errorf("%s: path %q defined twice (also %s)", label, r.Path, where)
		}
		taken[r.Path] = fmt.Sprintf("route %d", i+1)
		routes = append(routes, r)
	}
	return routes, nil
}

// routeLabel names a route in errors by its place and, when it has one, its path.
func routeLabel(i int, e entry) string {
	for _, f := range e.fields {
		if f.name != "path" {
			continue
		}
		if p, err := f.val.str(); err == nil && p != "" {
			return fmt.Sprintf("route %d (%s)", i+1, p)
		}
	}
	return fmt.Sprintf("route %d", i+1)
}

// buildRoute turns an entry into a route: the global settings and defaults, then the
// entry's fields in file order, then the checks that involve more than one field.
// A null field counts as left out.
func (c *Config) buildRoute(e entry) (Route, error) {
	if e.err != nil {
		return Route{}, e.err
	}
	r := c.NewRoute("", nil)
	seen := make(map[string]bool, len(e.fields))
	given := make(map[string]bool, len(e.fields))
	for _, f := range e.fields {
		set, ok := routeFields[f.name]
		if !ok {
			return Route{}, unknownField(f.name)
		}
		if seen[f.name] {
			return Route{}, fmt.Errorf("field %q given twice", f.name)
		}
		seen[f.name] = true
		if f.val.isNull() {
			continue
		}
		given[f.name] = true
		if err := set(&r, f.val); err != nil {
			return Route{}, err
		}
	}
	if err := checkRoute(&r, given); err != nil {
		return Route{}, err
	}
	return r, nil
}

// checkRoute refuses options that would be silently ignored: they are mistakes, such
// as a publish URL on a route whose clients could never publish. An option that is
// off when empty (publish, resume_param, gap_event) may be given empty anywhere.
func checkRoute(r *Route, given map[string]bool) error {
	switch {
	case r.Path == "":
		return errors.New(`missing field "path"`)
	case r.Upstream == nil:
		return errors.New(`missing field "upstream"`)
	}
	sharedOnly := []struct {
		name string
		set  bool
	}{
		{"replay", given["replay"]},
		{"linger", given["linger"]},
		{"gap_event", r.GapEvent != ""},
	}
	for _, o := range sharedOnly {
		if o.set && !r.Shared {
			return fmt.Errorf("%s: only for shared routes (add shared: true)", o.name)
		}
	}
	sse := r.UpstreamIsSSE()
	switch {
	case r.Publish != nil && !sse:
		return errors.New("publish: only for SSE upstreams (http, https); a WebSocket upstream gets client messages directly")
	case r.ResumeParam != "" && sse:
		return errors.New("resume_param: only for WebSocket upstreams (ws, wss); SSE upstreams get Last-Event-ID")
	case given["binary_event"] && sse:
		return errors.New("binary_event: only for WebSocket upstreams (ws, wss)")
	}
	return nil
}

// setter checks one field's value and stores it in the route. Its errors start with
// the field's name.
type setter func(r *Route, v value) error

// routeFields are the fields of a route in a routes file (SPEC section 3).
var routeFields = map[string]setter{
	"path": func(r *Route, v value) error {
		s, err := v.str()
		if err != nil {
			return fmt.Errorf("path: %w", err)
		}
		r.Path = s
		return checkPath(s)
	},
	"upstream": func(r *Route, v value) error {
		s, err := v.str()
		if err != nil {
			return fmt.Errorf("upstream: %w", err)
		}
		r.Upstream, err = parseUpstream(s)
		return err
	},
	"shared": func(r *Route, v value) error {
		var err error
		if r.Shared, err = v.boolean(); err != nil {
			return fmt.Errorf("shared: %w", err)
		}
		return nil
	},
	"replay": func(r *Route, v value) error {
		var err error
		if r.Replay, err = v.integer(); err != nil {
			return fmt.Errorf("replay: %w", err)
		}
		if r.Replay < 1 {
			return fmt.Errorf("replay: must be at least 1, got %d", r.Replay)
		}
		return nil
	},
	"format": func(r *Route, v value) error {
		s, err := v.str()
		if err != nil {
			return fmt.Errorf("format: %w", err)
		}
		switch f := Format(strings.ToLower(strings.TrimSpace(s))); f {
		case FormatJSON, FormatRaw:
			r.Format = f
			return nil
		}
		return fmt.Errorf("format: %q not one of json, raw", s)
	},
	"forward_headers": listField("forward_headers", normalizeHeaders, func(r *Route) *[]string { return &r.ForwardHeaders }),
	"allowed_origins": listField("allowed_origins", normalizeOrigins, func(r *Route) *[]string { return &r.AllowedOrigins }),
	"heartbeat":       durationField("heartbeat", checkPositive, func(r *Route) *time.Duration { return &r.Heartbeat }),
	"retry":           durationField("retry", checkNotNegative, func(r *Route) *time.Duration { return &r.Retry }),
	"linger":          durationField("linger", checkNotNegative, func(r *Route) *time.Duration { return &r.Linger }),
	"max_message": func(r *Route, v value) error {
		s, err := v.scalarText()
		if err == nil {
			var n Size
			n, err = parseSize(s)
			r.MaxMessage = int64(n)
		}
		if err != nil {
			return fmt.Errorf("max_message: %w", err)
		}
		return nil
	},
	"publish":      urlField("publish", func(r *Route) **url.URL { return &r.Publish }),
	"auth_url":     urlField("auth_url", func(r *Route) **url.URL { return &r.AuthURL }),
	"resume_param": stringField("resume_param", checkOptionalParam, func(r *Route) *string { return &r.ResumeParam }),
	"token_param":  stringField("token_param", checkTokenParam, func(r *Route) *string { return &r.TokenParam }),
	"binary_event": stringField("binary_event", checkEventType, func(r *Route) *string { return &r.BinaryEvent }),
	"gap_event":    stringField("gap_event", checkEventType, func(r *Route) *string { return &r.GapEvent }),
}

func listField(name string, normalize func([]string) ([]string, error), dst func(*Route) *[]string) setter {
	return func(r *Route, v value) error {
		list, err := v.strList()
		if err == nil {
			*dst(r), err = normalize(list)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		return nil
	}
}

func durationField(name string, check func(time.Duration) error, dst func(*Route) *time.Duration) setter {
	return func(r *Route, v value) error {
		s, err := v.scalarText()
		if err == nil {
			*dst(r), err = parseDuration(s, check)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		return nil
	}
}

// urlField sets an optional URL the proxy sends HTTP requests to; empty leaves it off.
func urlField(name string, dst func(*Route) **url.URL) setter {
	return func(r *Route, v value) error {
		s, err := v.str()
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		if s == "" {
			*dst(r) = nil
			return nil
		}
		*dst(r), err = parseHTTPURL(name, s)
		return err
	}
}

func stringField(name string, check func(string) error, dst func(*Route) *string) setter {
	return func(r *Route, v value) error {
		s, err := v.str()
		if err == nil {
			err = check(s)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		*dst(r) = s
		return nil
	}
}

// checkOptionalParam accepts a query parameter name, or empty for none.
func checkOptionalParam(s string) error {
	if s == "" {
		return nil
	}
	return checkParamName(s)
}

// checkTokenParam also refuses the bridge's own parameters: the token would be
// taken from the same parameter the bridge reads for itself.
func checkTokenParam(s string) error {
	if slices.Contains(reservedParams, s) {
		return fmt.Errorf("%q is a query parameter of ssews itself", s)
	}
	return checkOptionalParam(s)
}

// unknownField words a field that is not in routeFields, with the nearest known
// name when one is close: a typo otherwise looks like an option that does nothing.
func unknownField(name string) error {
	names := make([]string, 0, len(routeFields))
	for n := range routeFields {
		names = append(names, n)
	}
	if s := suggest(name, names); s != "" {
		return fmt.Errorf("unknown field %q (did you mean %q?)", name, s)
	}
	return fmt.Errorf("unknown field %q", name)
}
