package config

import (
	"log/slog"
	"strings"
	"testing"
)

func TestLogLevel(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want slog.Level
		name string
	}{
		{"debug", slog.LevelDebug, "debug"},
		{"INFO", slog.LevelInfo, "info"},
		{" Warn ", slog.LevelWarn, "warn"},
		{"error", slog.LevelError, "error"},
	}
	for _, tt := range tests {
		var l LogLevel
		if err := l.UnmarshalText([]byte(tt.in)); err != nil || l.Level() != tt.want || l.String() != tt.name {
			t.Errorf("UnmarshalText(%q) = %v (%s), %v; want %v (%s)", tt.in, l.Level(), l, err, tt.want, tt.name)
		}
	}
	for _, in := range []string{"", "warning", "info+2", "trace", "0"} {
		var l LogLevel
		err := l.UnmarshalText([]byte(in))
		if err == nil || !strings.Contains(err.Error(), "want debug, info, warn or error") {
			t.Errorf("UnmarshalText(%q) = %v; want an error listing the levels", in, err)
		}
	}
	var zero LogLevel
	if zero.Level() != slog.LevelInfo {
		t.Errorf("zero LogLevel = %v; want info", zero.Level())
	}
	h := slog.NewTextHandler(nil, &slog.HandlerOptions{Level: LogLevel(slog.LevelWarn)})
	if h.Enabled(t.Context(), slog.LevelInfo) || !h.Enabled(t.Context(), slog.LevelWarn) {
		t.Error("LogLevel as slog.Leveler: want info off and warn on")
	}
}

func TestLogFormat(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]LogFormat{"text": LogFormatText, "JSON": LogFormatJSON, " json ": LogFormatJSON} {
		var f LogFormat
		if err := f.UnmarshalText([]byte(in)); err != nil || f != want {
			t.Errorf("UnmarshalText(%q) = %q, %v; want %q", in, f, err, want)
		}
	}
	for _, in := range []string{"", "logfmt", "tint"} {
		var f LogFormat
		if err := f.UnmarshalText([]byte(in)); err == nil || !strings.Contains(err.Error(), "want text or json") {
			t.Errorf("UnmarshalText(%q) = %v; want an error", in, err)
		}
	}
}
