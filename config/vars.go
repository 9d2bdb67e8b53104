package config

import (
	"fmt"
	"reflect"
	"slices"
	"strings"

	"github.com/caarlos0/env/v10"
)

// Var is one environment variable ssews reads, as `ssews -h` lists it.
type Var struct {
	// Name is the full name, e.g. "SSEWS_HEARTBEAT".
	Name string
	// Default is the value an unset variable takes; "" when there is none.
	Default string
	// Description is one line on what the variable does.
	Description string
}

// Vars lists every variable in the order of Config's fields. Names and defaults come
// from caarlos0/env's own reading of the struct tags, descriptions from the desc
// tags, so the help text is the code.
func Vars() []Var {
	params, err := env.GetFieldParamsWithOptions(&Config{}, env.Options{Prefix: envPrefix, Environment: map[string]string{}})
	if err != nil {
		panic("config: malformed env tags: " + err.Error()) // caught by the tests
	}
	desc := make(map[string]string)
	t := reflect.TypeFor[Config]()
	for i := range t.NumField() {
		f := t.Field(i)
		if name, _, _ := strings.Cut(f.Tag.Get("env"), ","); name != "" {
			desc[envPrefix+name] = f.Tag.Get("desc")
		}
	}
	vars := make([]Var, len(params))
	for i, p := range params {
		vars[i] = Var{Name: p.Key, Default: p.DefaultValue, Description: desc[p.Key]}
	}
	return vars
}

// checkUnknownVars refuses SSEWS_ variables ssews does not read. A misspelt name
// would otherwise be ignored in silence, and the setting it was meant to change
// would keep its default.
func checkUnknownVars(environ map[string]string) error {
	var known []string
	for _, v := range Vars() {
		known = append(known, v.Name)
	}
	var unknown []string
	for k := range environ {
		if strings.HasPrefix(k, envPrefix) && !slices.Contains(known, k) {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) == 0 {
		return nil
	}
	name := slices.Min(unknown)
	if s := suggest(name, known); s != "" {
		return &Error{Var: name, Err: fmt.Errorf("unknown variable (did you mean %s?)", s)}
	}
	return &Error{Var: name, Err: fmt.Errorf("unknown variable; see ssews -h for the list")}
}
