package bridge

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"net/http"

	"github.com/ssews/ssews/ws"
)

// publish POSTs a WebSocket client's message to the route's publish URL, with the
// client's forwarded headers, so an SSE backend can take messages the way it takes
// any HTTP request.
func (rt *route) publish(ctx context.Context, cr *clientRequest, m ws.Message) error {
	ctx, cancel := context.WithTimeout(ctx, rt.srv.opts.UpstreamTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, rt.cfg.Publish.String(), bytes.NewReader(m.Data))
	if err != nil {
		return fmt.Errorf("publish: %w", err)
	}
	maps.Copy(req.Header, cr.header)
	if m.Binary {
		req.Header.Set("Content-Type", "application/octet-stream")
	} else {
		req.Header.Set("Content-Type", "text/plain; charset=utf-8")
	}
	resp, err := rt.calls.Do(req)
	if err != nil {
		return fmt.Errorf("publish: %w", err)
	}
	drainAndClose(resp.Body)
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("publish: %s answered %d", rt.cfg.Publish.Redacted(), resp.StatusCode)
	}
	return nil
}
