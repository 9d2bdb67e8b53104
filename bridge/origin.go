package bridge

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// originPolicy decides which browser origins may use a route (SPEC section 6).
type originPolicy struct {
	any     bool
	allowed []string
}

func newOriginPolicy(origins []string) originPolicy {
	p := originPolicy{}
	for _, o := range origins {
		if o == "*" {
			p.any = true
			continue
		}
		p.allowed = append(p.allowed, strings.ToLower(strings.TrimSuffix(o, "/")))
	}
	return p
}

// allows reports whether the request's Origin may use the route. Requests without
// Origin come from non-browser clients and are allowed; same origin always is.
func (p originPolicy) allows(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" || p.any {
		return true
	}
	o := strings.ToLower(origin)
	if slices.Contains(p.allowed, o) {
		return true
	}
	u, err := url.Parse(origin)
	return err == nil && strings.EqualFold(u.Host, r.Host)
}

// setCORS answers an allowed cross-origin request: the origin echoed with
// credentials, or "*" for a wildcard route and a request without credentials. A
// preflight never carries credentials, but the request it clears may (fetch with
// credentials: "include"), and browsers refuse "*" for those: it gets the origin.
func (p originPolicy) setCORS(w http.ResponseWriter, r *http.Request) {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return
	}
	h := w.Header()
	h.Add("Vary", "Origin")
	credentialless := r.Header.Get("Cookie") == "" && r.Header.Get("Authorization") == "" && r.Method != http.MethodOptions
	if p.any && !slices.Contains(p.allowed, strings.ToLower(origin)) && credentialless {
		h.Set("Access-Control-Allow-Origin", "*")
		return
	}
	h.Set("Access-Control-Allow-Origin", origin)
	h.Set("Access-Control-Allow-Credentials", "true")
}
