package test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestForwardAuthAndTokenParam(t *testing.T) {
	t.Parallel()
	seen := make(chan *http.Request, 32)
	auth := newBackend(t, func(w http.ResponseWriter, r *http.Request, n int) {
		if r.URL.Path == "/login" { // a login page: must never be taken for the answer
			return
		}
		seen <- r.Clone(r.Context())
		switch r.Header.Get("Authorization") {
		case "Bearer good":
		case "Bearer redirect":
			http.Redirect(w, r, "/login", http.StatusFound)
		case "Bearer forbidden":
			w.WriteHeader(http.StatusForbidden)
		case "Bearer broken":
			w.WriteHeader(http.StatusInternalServerError)
		case "Bearer slow":
			select {
			case <-r.Context().Done():
			case <-time.After(wait):
			}
		default:
			w.WriteHeader(http.StatusUnauthorized)
		}
	})
	up := newSSEBackend(t, func(w http.ResponseWriter, r *http.Request, n int) {
		write(w, "data: private\n\n")
		<-r.Context().Done()
	})
	cfg := writeFile(t, "routes.yaml", fmt.Sprintf(`
- path: /private
  upstream: %[1]s
  auth_url: %[2]s/check
  token_param: token
- path: /shared
  upstream: %[1]s
  shared: true
  auth_url: %[2]s/check
  token_param: token
`, up.URL, auth.URL))
	p := startProxy(t, map[string]string{"SSEWS_CONFIG": cfg, "SSEWS_UPSTREAM_TIMEOUT": "1s"})

	for _, path := range []string{"/private", "/shared"} {
		t.Run(path, func(t *testing.T) {
			cases := []struct {
				token string
				want  int
			}{{"good", 200}, {"forbidden", 403}, {"", 401}, {"broken", 502}, {"redirect", 502}, {"slow", 504}}
			for _, c := range cases {
				url := p.url + path + "?topic=x"
				if c.token != "" {
					url += "&token=" + c.token
				}
				if s, got := tryOpenSSE(t, url, nil); got != c.want {
					t.Errorf("token %q: EventSource status %d; want %d", c.token, got, c.want)
				} else if s != nil {
					if ev := s.nextData(t); ev.Data != "private" {
						t.Errorf("admitted client got %+v", ev)
					}
					s.close()
				}
				if c.want != 200 {
					if got := dialWSStatus(t, strings.Replace(url, "http", "ws", 1)); got != c.want {
						t.Errorf("token %q: WebSocket status %d; want %d", c.token, got, c.want)
					}
				}
			}
		})
	}
	// The auth service sees the client's request without the token in the URI.
	for range 3 {
		r := recv(t, seen, "auth request")
		if uri := r.Header.Get("X-Forwarded-Uri"); strings.Contains(uri, "token") || !strings.Contains(uri, "topic=x") {
			t.Errorf("X-Forwarded-Uri %q", uri)
		}
	}
	// Per-client: the upstream gets the bearer token as a header, never in the query.
	req := recv(t, up.requests, "upstream request")
	if req.Header.Get("Authorization") != "Bearer good" || strings.Contains(req.URL.RawQuery, "token") {
		t.Errorf("upstream request: Authorization %q, query %q", req.Header.Get("Authorization"), req.URL.RawQuery)
	}
	waitMetric(t, p, `ssews_rejected_requests_total{reason="auth",route="/private"}`, 10)
	if logs := p.logs.String(); strings.Contains(logs, "forbidden") || strings.Contains(logs, "good") {
		t.Errorf("a token appears in the logs:\n%s", logs)
	}
}
