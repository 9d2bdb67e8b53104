package config

import (
	"fmt"
	"log/slog"
	"strings"
)

// LogLevel is SSEWS_LOG_LEVEL: debug, info, warn or error, in any case. It implements
// slog.Leveler, so it can go straight into slog.HandlerOptions.Level. The zero value
// is info.
type LogLevel slog.Level

var _ slog.Leveler = LogLevel(0)

var logLevels = map[string]slog.Level{
	"debug": slog.LevelDebug,
	"info":  slog.LevelInfo,
	"warn":  slog.LevelWarn,
	"error": slog.LevelError,
}

// UnmarshalText implements encoding.TextUnmarshaler. It accepts only the four names:
// slog's own parser also takes offsets such as "info+2", which ssews never logs at.
func (l *LogLevel) UnmarshalText(text []byte) error {
	lv, ok := logLevels[strings.ToLower(strings.TrimSpace(string(text)))]
	if !ok {
		return fmt.Errorf("invalid log level %q (want debug, info, warn or error)", text)
	}
	*l = LogLevel(lv)
	return nil
}

// Level implements slog.Leveler.
func (l LogLevel) Level() slog.Level { return slog.Level(l) }

// String gives the level as SSEWS_LOG_LEVEL spells it, e.g. "warn".
func (l LogLevel) String() string { return strings.ToLower(slog.Level(l).String()) }

// MarshalText implements encoding.TextMarshaler.
func (l LogLevel) MarshalText() ([]byte, error) { return []byte(l.String()), nil }

// LogFormat is SSEWS_LOG_FORMAT: how log records are written.
type LogFormat string

const (
	// LogFormatText is human-readable text (tint), coloured only on a terminal.
	LogFormatText LogFormat = "text"
	// LogFormatJSON is one JSON object per record, for log collectors.
	LogFormatJSON LogFormat = "json"
)

// UnmarshalText implements encoding.TextUnmarshaler; case does not matter.
func (f *LogFormat) UnmarshalText(text []byte) error {
	switch v := LogFormat(strings.ToLower(strings.TrimSpace(string(text)))); v {
	case LogFormatText, LogFormatJSON:
		*f = v
		return nil
	}
	return fmt.Errorf("invalid log format %q (want text or json)", text)
}
