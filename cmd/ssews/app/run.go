package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime/debug"
	"strings"

	"github.com/ssews/ssews/config"
)

// Exit statuses.
const (
	exitOK     = 0
	exitError  = 1
	exitConfig = 2
)

// Run runs the ssews command line and returns the exit status. ctx ends the server
// (SIGTERM or SIGINT in the binary).
func Run(ctx context.Context, args []string, environ []string, stdout, stderr io.Writer) int {
	env := envMap(environ)
	cmd := ""
	if len(args) > 0 {
		cmd = args[0]
	}
	switch cmd {
	case "", "serve":
		return serve(ctx, env, stderr)
	case "demo":
		return RunDemo(ctx, env, stdout, stderr, nil)
	case "tail":
		return tail(ctx, args[1:], env, stdout, stderr)
	case "version":
		fmt.Fprintln(stdout, versionString())
		return exitOK
	case "-h", "--help", "help":
		usage(stdout)
		return exitOK
	default:
		fmt.Fprintf(stderr, "ssews: unknown command %q (see ssews -h)\n", cmd)
		return exitConfig
	}
}

// serve is the proxy itself.
func serve(ctx context.Context, env map[string]string, stderr io.Writer) int {
	cfg, err := config.Load(env)
	if err != nil {
		fmt.Fprintf(stderr, "ssews: %v\n", err)
		return exitConfig
	}
	logger := newLogger(stderr, cfg, env)
	m := NewMain(cfg, logger)
	if err := m.Open(); err != nil {
		var ce *config.Error
		if errors.As(err, &ce) { // found before anything listened
			fmt.Fprintf(stderr, "ssews: %v\n", ce)
			return exitConfig
		}
		logger.Error("cannot start", "err", err)
		return exitError
	}
	select {
	case <-ctx.Done():
	case err := <-m.Err():
		logger.Error("server stopped", "err", err)
		return exitError
	}
	logger.Info("shutting down", "timeout", cfg.ShutdownTimeout.String())
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.ShutdownTimeout)
	defer cancel()
	switch err := m.Shutdown(sctx); {
	case errors.Is(err, context.DeadlineExceeded):
		logger.Warn("drain took longer than SSEWS_SHUTDOWN_TIMEOUT; remaining clients cut off", "timeout", cfg.ShutdownTimeout.String())
	case err != nil:
		logger.Error("shutdown", "err", err)
		return exitError
	}
	logger.Info("stopped")
	return exitOK
}

// usage lists every command and every variable with its default, generated from the
// configuration struct so that it cannot drift from the code.
func usage(w io.Writer) {
	fmt.Fprint(w, `ssews bridges Server-Sent Events and WebSocket.

Usage:
  ssews              serve the routes of SSEWS_ROUTES / SSEWS_CONFIG
  ssews tail URL     print every event of an SSE (http, https) or WebSocket (ws, wss)
                     endpoint, one per line; ssews tail -h for details
  ssews demo         run built-in demo upstreams and a live page at /
  ssews version      print the version
  ssews -h           print this help

Flags of ssews tail:
`)
	printTailFlags(w)
	fmt.Fprint(w, `
Environment:
`)
	for _, v := range config.Vars() {
		def := v.Default
		if def == "" {
			def = "-"
		}
		fmt.Fprintf(w, "  %-24s %-22s %s\n", v.Name, def, v.Description)
	}
}

// versionString is the module version and VCS revision from the build info.
func versionString() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "ssews (unknown version)"
	}
	version := info.Main.Version
	rev, dirty := "", false
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	out := "ssews " + version
	if rev != "" {
		out += " commit " + rev[:min(12, len(rev))]
		if dirty {
			out += "-dirty"
		}
	}
	return out + " " + info.GoVersion
}

// envMap turns os.Environ's KEY=VALUE list into a map.
func envMap(environ []string) map[string]string {
	m := make(map[string]string, len(environ))
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok {
			m[k] = v
		}
	}
	return m
}
