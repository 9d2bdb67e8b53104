package config

import (
	"fmt"
	"net/url"
	"strings"
)

// normalizeOrigins checks SSEWS_ALLOWED_ORIGINS or a route's allowed_origins. Each
// entry is "*" (any origin) or a browser origin, scheme://host[:port]. Browsers send
// Origin in lower case, without a path and without the scheme's default port, so the
// entries are brought to that form: an entry that could never equal a real Origin
// header would silently lock every browser out.
func normalizeOrigins(list []string) ([]string, error) {
	out := make([]string, 0, len(list))
	for i, o := range list {
		o = strings.TrimSpace(o)
		if o == "" {
			return nil, fmt.Errorf("entry %d is empty (stray comma?)", i+1)
		}
		if o != "*" {
			var err error
			if o, err = normalizeOrigin(o); err != nil {
				return nil, err
			}
		}
		out = append(out, o)
	}
	return out, nil
}

func normalizeOrigin(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" || u.Opaque != "" || u.Host == "" || u.Hostname() == "" {
		return "", fmt.Errorf("origin %q must be scheme://host[:port], e.g. https://example.com", raw)
	}
	switch {
	case u.User != nil:
		return "", fmt.Errorf("origin %q must not have user information", raw)
	case u.Path != "" && u.Path != "/", u.RawQuery != "", u.ForceQuery, u.Fragment != "":
		return "", fmt.Errorf("origin %q must be scheme://host[:port], without a path", raw)
	case strings.Contains(u.Host, "*"):
		return "", fmt.Errorf("origin %q: wildcards are not supported, only a lone * for any origin", raw)
	}
	host := strings.TrimSuffix(strings.ToLower(u.Host), ":")
	if port := u.Port(); (u.Scheme == "http" && port == "80") || (u.Scheme == "https" && port == "443") {
		host = strings.TrimSuffix(host, ":"+port)
	}
	return u.Scheme + "://" + host, nil
}
