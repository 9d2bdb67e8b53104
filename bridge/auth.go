package bridge

import (
	"context"
	"fmt"
	"maps"
	"net/http"
)

// authorize asks the route's auth_url whether the client may have its stream (forward
// auth, as nginx's auth_request and Traefik's ForwardAuth do): a GET with the client's
// forwarded headers, X-Forwarded-* and the bearer token of token_param. 2xx admits;
// 401 and 403 are the client's answer; anything else, a redirect included, is 502, no
// answer in time 504.
// This is what makes a shared stream safe for a private feed: each client is asked
// about, although only one upstream connection serves them all.
func (rt *route) authorize(ctx context.Context, cr *clientRequest, r *http.Request) error {
	ctx, cancel := context.WithTimeout(ctx, rt.srv.opts.UpstreamTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rt.cfg.AuthURL.String(), nil)
	if err != nil {
		return &upstreamError{status: http.StatusBadGateway, reason: reasonAuth, err: fmt.Errorf("auth: %w", err)}
	}
	maps.Copy(req.Header, cr.header)
	req.Header.Set("X-Forwarded-Method", r.Method)
	req.Header.Set("X-Forwarded-Uri", clientURI(r, rt.cfg.TokenParam))
	resp, err := rt.calls.Do(req)
	if err != nil {
		ue := transportError("auth", err)
		ue.reason = reasonAuth
		return ue
	}
	drainAndClose(resp.Body)
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		return nil
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		return &upstreamError{status: resp.StatusCode, reason: reasonAuth, err: fmt.Errorf("auth: %s answered %d", rt.cfg.AuthURL.Redacted(), resp.StatusCode)}
	default:
		return &upstreamError{status: http.StatusBadGateway, reason: reasonAuth, err: fmt.Errorf("auth: %s answered %d", rt.cfg.AuthURL.Redacted(), resp.StatusCode)}
	}
}

// clientURI is the path and query the client asked for, without the token.
func clientURI(r *http.Request, tokenParam string) string {
	u := *r.URL
	if tokenParam != "" {
		q := u.Query()
		if q.Has(tokenParam) {
			q.Del(tokenParam)
			u.RawQuery = q.Encode()
		}
	}
	return u.RequestURI()
}
