package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// mustLoad loads environ with Load and fails the test on an error.
func mustLoad(tb testing.TB, environ map[string]string) *Config {
	tb.Helper()
	c, err := Load(environ)
	if err != nil {
		tb.Fatalf("Load: %v", err)
	}
	return c
}

// wantError checks err is an *Error about variable wantVar whose message is one line
// starting with the variable and containing every one of want.
func wantError(tb testing.TB, err error, wantVar string, want ...string) {
	tb.Helper()
	if err == nil {
		tb.Fatalf("got no error; want one about %s", wantVar)
	}
	var ce *Error
	if !errors.As(err, &ce) {
		tb.Fatalf("got %T %q; want *config.Error", err, err)
	}
	msg := err.Error()
	if ce.Var != wantVar || !strings.HasPrefix(msg, wantVar+": ") {
		tb.Errorf("got error %q about %s; want one about %s", msg, ce.Var, wantVar)
	}
	if strings.ContainsAny(msg, "\r\n") {
		tb.Errorf("got a message over several lines: %q", msg)
	}
	for _, w := range want {
		if !strings.Contains(msg, w) {
			tb.Errorf("got %q; want it to contain %q", msg, w)
		}
	}
}

// writeFile writes content to a file called name in a fresh temporary directory and
// returns its path.
func writeFile(tb testing.TB, name, content string) string {
	tb.Helper()
	p := filepath.Join(tb.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		tb.Fatal(err)
	}
	return p
}
