package config

import (
	"encoding"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/caarlos0/env/v10"
)

// envPrefix starts the name of every variable ssews reads.
const envPrefix = "SSEWS_"

// Error is a configuration problem. ssews prints it as is and exits with status 2, so
// its message is one line that names the variable (for the routes file, also the
// file and the route) and the problem, e.g.
//
//	SSEWS_HEARTBEAT: invalid duration "15" (want e.g. 15s)
//	SSEWS_CONFIG: routes.yaml: route 2 (/chat): unknown field "sharde"
type Error struct {
	// Var is the variable's full name, e.g. "SSEWS_HEARTBEAT".
	Var string
	// Err is the problem, without the variable's name.
	Err error
}

func (e *Error) Error() string {
	if e.Err == nil {
		return e.Var + ": invalid"
	}
	return oneLine(e.Var + ": " + e.Err.Error())
}

func (e *Error) Unwrap() error { return e.Err }

// ErrNoRoutes is the problem of a serve configuration without any route.
var ErrNoRoutes = errors.New("no routes configured (set SSEWS_ROUTES or SSEWS_CONFIG)")

// oneLine squashes line breaks, and the indentation after them, into one space:
// library messages (a YAML parser's, a file name) may span lines, ours must not.
func oneLine(s string) string {
	if !strings.ContainsAny(s, "\r\n") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '\r' && s[i] != '\n' {
			b.WriteByte(s[i])
			continue
		}
		for i+1 < len(s) && strings.IndexByte("\r\n \t", s[i+1]) >= 0 {
			i++
		}
		b.WriteByte(' ')
	}
	return strings.TrimRight(b.String(), " ")
}

// envKey returns the variable read into the Config field named field. It panics on a
// field without an env tag: that is a bug in this package, which the tests catch.
func envKey(field string) string {
	f, ok := reflect.TypeFor[Config]().FieldByName(field)
	name, _, _ := strings.Cut(f.Tag.Get("env"), ",")
	if !ok || name == "" {
		panic("config: field " + field + " has no env tag")
	}
	return envPrefix + name
}

// fromEnvError turns what caarlos0/env returns into one *Error about its first
// failure. v10 reports an AggregateError of ParseError and friends that name the Go
// field, not the variable (and errors.As into a ParseError does not see through the
// aggregate), so walk it and map the field back to its tag.
func fromEnvError(err error, environ map[string]string) error {
	var agg env.AggregateError
	if !errors.As(err, &agg) || len(agg.Errors) == 0 {
		return &Error{Var: envPrefix + "*", Err: err}
	}
	switch e := agg.Errors[0].(type) {
	case env.ParseError:
		key := envKey(e.Name)
		return &Error{Var: key, Err: describeParseError(e, environ[key])}
	case env.NoParserError:
		return &Error{Var: envKey(e.Name), Err: fmt.Errorf("no parser for type %s (a bug in ssews)", e.Type)}
	case env.EnvVarIsNotSetError:
		return &Error{Var: e.Key, Err: errors.New("required")}
	case env.EmptyEnvVarError:
		return &Error{Var: e.Key, Err: errors.New("must not be empty")}
	case env.LoadFileContentError:
		return &Error{Var: e.Key, Err: e.Err}
	default:
		return &Error{Var: envPrefix + "*", Err: e}
	}
}

// describeParseError words a value caarlos0/env could not convert. Our own types
// (RouteList, Size, LogLevel, LogFormat) already say what is wrong; the built-in
// duration and integer parsers speak of strconv and time, so say it for them.
func describeParseError(e env.ParseError, raw string) error {
	switch {
	case reflect.PointerTo(e.Type).Implements(reflect.TypeFor[encoding.TextUnmarshaler]()):
		return e.Err
	case e.Type == reflect.TypeFor[time.Duration]():
		return durationError(raw)
	case e.Type.Kind() >= reflect.Int && e.Type.Kind() <= reflect.Int64:
		if errors.Is(e.Err, strconv.ErrRange) {
			return fmt.Errorf("integer %q out of range", raw)
		}
		return fmt.Errorf("invalid integer %q", raw)
	default:
		return e.Err
	}
}

// durationError is the one wording of a malformed duration, from a variable or file.
func durationError(raw string) error {
	return fmt.Errorf("invalid duration %q (want e.g. 15s)", raw)
}
