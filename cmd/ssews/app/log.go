package app

import (
	"io"
	"log/slog"
	"os"

	"github.com/lmittmann/tint"
	"github.com/mattn/go-isatty"

	"github.com/ssews/ssews/config"
)

// newLogger builds the process logger: JSON for machines, tint text for people, with
// colour only on a terminal and never when NO_COLOR is set to anything but the empty
// string (no-color.org; tint does not look at it).
func newLogger(w io.Writer, cfg *config.Config, environ map[string]string) *slog.Logger {
	level := cfg.LogLevel.Level()
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level}))
	}
	noColor := environ["NO_COLOR"] != ""
	if f, ok := w.(*os.File); !ok || !isatty.IsTerminal(f.Fd()) {
		noColor = true
	}
	return slog.New(tint.NewTextHandler(w, &tint.Options{Level: level, NoColor: noColor, TimeFormat: "15:04:05.000"}))
}
