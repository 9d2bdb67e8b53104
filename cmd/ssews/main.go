// Command ssews is a reverse proxy that bridges Server-Sent Events and WebSocket.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/ssews/ssews/cmd/ssews/app"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := app.Run(ctx, os.Args[1:], os.Environ(), os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
