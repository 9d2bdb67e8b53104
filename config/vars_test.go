package config

import (
	"reflect"
	"strings"
	"testing"
)

// Every field read from the environment is listed, in struct order, with its
// default and a description.
func TestVars(t *testing.T) {
	t.Parallel()
	vars := Vars()
	typ := reflect.TypeFor[Config]()
	var want []Var
	for i := range typ.NumField() {
		f := typ.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("env"), ",")
		if name == "" {
			continue
		}
		want = append(want, Var{Name: "SSEWS_" + name, Default: f.Tag.Get("envDefault"), Description: f.Tag.Get("desc")})
		if envKey(f.Name) != "SSEWS_"+name {
			t.Errorf("envKey(%s) = %s; want SSEWS_%s", f.Name, envKey(f.Name), name)
		}
	}
	if !reflect.DeepEqual(vars, want) {
		t.Fatalf("Vars() =\n%+v\nwant\n%+v", vars, want)
	}
	for _, v := range vars {
		if v.Description == "" || strings.ContainsAny(v.Description, "\r\n") {
			t.Errorf("%s: description %q; want one non-empty line", v.Name, v.Description)
		}
	}
}

// The defaults are the ones SPEC section 2 promises.
func TestVarsMatchSpec(t *testing.T) {
	t.Parallel()
	spec := map[string]string{
		"SSEWS_LISTEN":           ":8080",
		"SSEWS_ADMIN_LISTEN":     ":9090",
		"SSEWS_ROUTES":           "",
		"SSEWS_CONFIG":           "",
		"SSEWS_ALLOWED_ORIGINS":  "",
		"SSEWS_FORWARD_HEADERS":  "Authorization,Cookie",
		"SSEWS_HEARTBEAT":        "15s",
		"SSEWS_RETRY":            "3s",
		"SSEWS_MAX_MESSAGE":      "1MiB",
		"SSEWS_CLIENT_BUFFER":    "256",
		"SSEWS_WRITE_TIMEOUT":    "10s",
		"SSEWS_UPSTREAM_TIMEOUT": "10s",
		"SSEWS_MAX_CONNECTIONS":  "0",
		"SSEWS_SHUTDOWN_TIMEOUT": "10s",
		"SSEWS_TLS_CERT":         "",
		"SSEWS_TLS_KEY":          "",
		"SSEWS_LOG_LEVEL":        "info",
		"SSEWS_LOG_FORMAT":       "text",
	}
	vars := Vars()
	if len(vars) != len(spec) {
		t.Errorf("Vars() has %d variables; SPEC lists %d", len(vars), len(spec))
	}
	for _, v := range vars {
		if d, ok := spec[v.Name]; !ok || d != v.Default {
			t.Errorf("%s default %q; SPEC says %q (listed: %v)", v.Name, v.Default, d, ok)
		}
	}
}

// Every default parses: Load with nothing set but a route succeeds.
func TestVarsDefaultsLoad(t *testing.T) {
	t.Parallel()
	environ := map[string]string{"SSEWS_ROUTES": "/a=ws://b"}
	for _, v := range Vars() {
		if v.Default != "" {
			environ[v.Name] = v.Default
		}
	}
	mustLoad(t, environ)
}
