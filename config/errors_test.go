package config

import (
	"errors"
	"testing"

	"github.com/caarlos0/env/v10"
)

func TestOneLine(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"plain", "plain"},
		{"yaml: unmarshal errors:\n  line 1: a\n  line 2: b", "yaml: unmarshal errors: line 1: a line 2: b"},
		{"a\r\nb", "a b"},
		{"a\rb", "a b"},
		{"trailing\n", "trailing"},
		{`quoted "a\nb" stays`, `quoted "a\nb" stays`},
	}
	for _, tt := range tests {
		if got := oneLine(tt.in); got != tt.want {
			t.Errorf("oneLine(%q) = %q; want %q", tt.in, got, tt.want)
		}
	}
}

func TestError(t *testing.T) {
	t.Parallel()
	inner := errors.New("route 1:\n  broken")
	err := error(&Error{Var: "SSEWS_CONFIG", Err: inner})
	if got, want := err.Error(), "SSEWS_CONFIG: route 1: broken"; got != want {
		t.Errorf("Error() = %q; want %q", got, want)
	}
	if !errors.Is(err, inner) {
		t.Error("errors.Is does not reach the wrapped error")
	}
}

// Failures caarlos0/env reports that ssews's tags cannot cause still come out as
// one *Error naming a variable.
func TestFromEnvError(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		err     error
		wantVar string
		want    string
	}{
		{"not an aggregate", errors.New("boom"), "SSEWS_*", "boom"},
		{"empty aggregate", env.AggregateError{}, "SSEWS_*", "env:"},
		{"no parser", env.AggregateError{Errors: []error{env.NoParserError{Name: "Heartbeat"}}}, "SSEWS_HEARTBEAT", "no parser"},
		{"required", env.AggregateError{Errors: []error{env.EnvVarIsNotSetError{Key: "SSEWS_X"}}}, "SSEWS_X", "required"},
		{"not empty", env.AggregateError{Errors: []error{env.EmptyEnvVarError{Key: "SSEWS_X"}}}, "SSEWS_X", "must not be empty"},
		{"file", env.AggregateError{Errors: []error{env.LoadFileContentError{Key: "SSEWS_X", Err: errors.New("gone")}}}, "SSEWS_X", "gone"},
		{"other", env.AggregateError{Errors: []error{env.NotStructPtrError{}}}, "SSEWS_*", "pointer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			wantError(t, fromEnvError(tt.err, nil), tt.wantVar, tt.want)
		})
	}
}

func TestEnvKeyPanicsOnUntaggedField(t *testing.T) {
	t.Parallel()
	defer func() {
		if recover() == nil {
			t.Error("envKey(Resolved) did not panic")
		}
	}()
	envKey("Resolved")
}
