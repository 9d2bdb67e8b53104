package config

import (
	"reflect"
	"slices"
	"testing"
	"time"
)

const fullYAML = `# every field
- path: /news
  upstream: http://backend:9000/events
  shared: true
  replay: 10
  format: RAW
  forward_headers: &hdrs [x-api-key, Authorization]
  heartbeat: 30s
  retry: 1500ms
  linger: 0s
  max_message: 64KiB
  allowed_origins: ["https://App.example.com/"]
  publish: http://backend:9000/publish
  auth_url: https://auth/check
  gap_event: gap
  token_param: access_token
- path: /chat
  upstream: wss://backend:9001/chat
  forward_headers: *hdrs
  resume_param: since
  binary_event: blob
  max_message: 65536
  allowed_origins: []
  heartbeat: ~
`

const fullJSON = `[
  {
    "path": "/news",
    "upstream": "http://backend:9000/events",
    "shared": true,
    "replay": 10,
    "format": "RAW",
    "forward_headers": ["x-api-key", "Authorization"],
    "heartbeat": "30s",
    "retry": "1500ms",
    "linger": "0s",
    "max_message": "64KiB",
    "allowed_origins": ["https://App.example.com/"],
    "publish": "http://backend:9000/publish",
    "auth_url": "https://auth/check",
    "gap_event": "gap",
    "token_param": "access_token"
  },
  {
    "path": "/chat",
    "upstream": "wss://backend:9001/chat",
    "forward_headers": ["x-api-key", "Authorization"],
    "resume_param": "since",
    "binary_event": "blob",
    "max_message": 65536,
    "allowed_origins": [],
    "heartbeat": null
  }
]`

func TestRoutesFile(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, file, content string }{
		{"yaml", "routes.yaml", fullYAML},
		{"yml", "routes.yml", fullYAML},
		{"no extension is yaml", "routes", fullYAML},
		{"json", "routes.json", fullJSON},
		{"json in upper case", "ROUTES.JSON", fullJSON},
		{"json with a BOM", "routes.json", "\xef\xbb\xbf" + fullJSON},
		{"json read as yaml", "routes.conf", fullJSON},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := mustLoad(t, map[string]string{
				"SSEWS_CONFIG":          writeFile(t, tt.file, tt.content),
				"SSEWS_HEARTBEAT":       "5s",
				"SSEWS_ALLOWED_ORIGINS": "https://global.example.com",
			})
			if len(c.Resolved) != 2 {
				t.Fatalf("got %d routes; want 2", len(c.Resolved))
			}
			news, chat := c.Resolved[0], c.Resolved[1]
			checks := []struct {
				name      string
				got, want any
			}{
				{"news Path", news.Path, "/news"},
				{"news Upstream", news.Upstream.String(), "http://backend:9000/events"},
				{"news Shared", news.Shared, true},
				{"news Replay", news.Replay, 10},
				{"news Format", news.Format, FormatRaw},
				{"news Heartbeat", news.Heartbeat, 30 * time.Second},
				{"news Retry", news.Retry, 1500 * time.Millisecond},
				{"news Linger", news.Linger, time.Duration(0)},
				{"news MaxMessage", news.MaxMessage, int64(64 << 10)},
				{"news Publish", news.Publish.String(), "http://backend:9000/publish"},
				{"news AuthURL", news.AuthURL.String(), "https://auth/check"},
				{"news GapEvent", news.GapEvent, "gap"},
				{"news TokenParam", news.TokenParam, "access_token"},
				{"news BinaryEvent", news.BinaryEvent, "binary"},
				{"chat Path", chat.Path, "/chat"},
				{"chat Upstream", chat.Upstream.String(), "wss://backend:9001/chat"},
				{"chat Shared", chat.Shared, false},
				{"chat Replay", chat.Replay, 1024},
				{"chat Linger", chat.Linger, 5 * time.Second},
				{"chat Format", chat.Format, FormatJSON},
				{"chat Heartbeat (null is the global)", chat.Heartbeat, 5 * time.Second},
				{"chat Retry", chat.Retry, 3 * time.Second},
				{"chat MaxMessage", chat.MaxMessage, int64(65536)},
				{"chat ResumeParam", chat.ResumeParam, "since"},
				{"chat BinaryEvent", chat.BinaryEvent, "blob"},
				{"chat Publish", chat.Publish == nil, true},
				{"chat AllowedOrigins", len(chat.AllowedOrigins), 0},
			}
			for _, ch := range checks {
				if ch.got != ch.want {
					t.Errorf("%s = %v; want %v", ch.name, ch.got, ch.want)
				}
			}
			wantHeaders := []string{"X-Api-Key", "Authorization"}
			if !slices.Equal(news.ForwardHeaders, wantHeaders) || !slices.Equal(chat.ForwardHeaders, wantHeaders) {
				t.Errorf("ForwardHeaders = %q, %q; want %q", news.ForwardHeaders, chat.ForwardHeaders, wantHeaders)
			}
			if want := []string{"https://app.example.com"}; !slices.Equal(news.AllowedOrigins, want) {
				t.Errorf("news AllowedOrigins = %q; want %q", news.AllowedOrigins, want)
			}
		})
	}
}

// A route of only path and upstream gets what a SSEWS_ROUTES pair gets.
func TestRoutesFileMinimal(t *testing.T) {
	t.Parallel()
	environ := map[string]string{"SSEWS_FORWARD_HEADERS": "X-Token", "SSEWS_MAX_MESSAGE": "2MiB"}
	environ["SSEWS_CONFIG"] = writeFile(t, "r.yaml", "- {path: /a, upstream: 'ws://b/c'}\n")
	fromFile := mustLoad(t, environ).Resolved[0]
	delete(environ, "SSEWS_CONFIG")
	environ["SSEWS_ROUTES"] = "/a=ws://b/c"
	fromEnv := mustLoad(t, environ).Resolved[0]
	if fromFile.Upstream.String() != fromEnv.Upstream.String() {
		t.Fatalf("upstreams differ: %v, %v", fromFile.Upstream, fromEnv.Upstream)
	}
	fromFile.Upstream, fromEnv.Upstream = nil, nil
	if !slices.Equal(fromFile.ForwardHeaders, []string{"X-Token"}) || fromFile.MaxMessage != 2<<20 {
		t.Errorf("route from file = %+v; want the globals", fromFile)
	}
	fromFile.ForwardHeaders, fromEnv.ForwardHeaders = nil, nil
	fromFile.AllowedOrigins, fromEnv.AllowedOrigins = nil, nil
	if !reflect.DeepEqual(fromFile, fromEnv) {
		t.Errorf("route from file = %+v; from SSEWS_ROUTES = %+v; want the same", fromFile, fromEnv)
	}
}

func TestRoutesFileErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, file, content string
		want                []string
	}{
		{"unknown field", "routes.yaml", "- path: /news\n  upstream: http://x\n- path: /chat\n  upstream: ws://x\n  sharde: true\n",
			[]string{`routes.yaml: route 2 (/chat): unknown field "sharde" (did you mean "shared"?)`}},
		{"unknown field in json", "routes.json", `[{"path": "/chat", "upstream": "ws://x", "sharde": true}]`,
			[]string{`routes.json: route 1 (/chat): unknown field "sharde" (did you mean "shared"?)`}},
		{"camel case field", "routes.yaml", "- path: /a\n  upstream: ws://x\n  resumeParam: since\n", []string{`unknown field "resumeParam" (did you mean "resume_param"?)`}},
		{"unknown field far from all", "routes.yaml", "- path: /a\n  upstream: ws://x\n  colour: blue\n", []string{`route 1 (/a): unknown field "colour"`}},
		{"empty file", "routes.yaml", "", []string{"routes.yaml: file is empty (want a list of routes)"}},
		{"blank file", "routes.json", " \n\t\n", []string{"file is empty"}},
		{"only comments", "routes.yaml", "# nothing yet\n", []string{"routes.yaml: lists no routes"}},
		{"empty list", "routes.yaml", "[]\n", []string{"lists no routes"}},
		{"empty json list", "routes.json", "[]", []string{"lists no routes"}},
		{"null document", "routes.yaml", "~\n", []string{"lists no routes"}},
		{"malformed yaml", "routes.yaml", "- path: /a\n  upstream: [ws://x\n", []string{"routes.yaml: line", "did not find expected"}},
		{"yaml with a tab", "routes.yaml", "- path: /a\n\tupstream: ws://x\n", []string{"routes.yaml: line 2"}},
		{"malformed json", "routes.json", "[\n  {\"path\": \"/a\",}\n]", []string{"routes.json: line 2, column", "invalid character '}'"}},
		{"truncated json", "routes.json", `[{"path": "/a"`, []string{"unexpected end of file"}},
		{"json after the list", "routes.json", `[{"path": "/a", "upstream": "ws://x"}] []`, []string{"unexpected data after the list of routes"}},
		{"two yaml documents", "routes.yaml", "- {path: /a, upstream: ws://x}\n---\n- {path: /b, upstream: ws://x}\n", []string{"more than one YAML document"}},
		{"top-level mapping", "routes.yaml", "routes:\n  - path: /a\n", []string{"line 1: want a list of routes at the top level, got an object"}},
		{"top-level json object", "routes.json", `{"routes": []}`, []string{"want a list of routes at the top level, got an object"}},
		{"route not an object", "routes.yaml", "- /a=ws://x\n", []string{"route 1: want an object, got a string"}},
		{"json route not an object", "routes.json", `[{"path": "/a", "upstream": "ws://x"}, 5]`, []string{"route 2: want an object, got a number"}},
		{"missing path", "routes.yaml", "- upstream: ws://x\n", []string{`route 1: missing field "path"`}},
		{"missing upstream", "routes.yaml", "- path: /a\n", []string{`route 1 (/a): missing field "upstream"`}},
		{"null path", "routes.yaml", "- path:\n  upstream: ws://x\n", []string{`missing field "path"`}},
		{"field twice", "routes.yaml", "- path: /a\n  upstream: ws://x\n  path: /b\n", []string{`route 1 (/a): field "path" given twice`}},
		{"field twice in json", "routes.json", `[{"path": "/a", "upstream": "ws://x", "upstream": "ws://y"}]`, []string{`field "upstream" given twice`}},
		{"path twice", "routes.yaml", "- {path: /a, upstream: ws://x}\n- {path: /b, upstream: ws://x}\n- {path: /a, upstream: http://y}\n",
			[]string{`route 3 (/a): path "/a" defined twice (also route 1)`}},
		{"bad path", "routes.yaml", "- {path: a, upstream: ws://x}\n", []string{`route 1 (a): path "a" must start with /`}},
		{"path not a string", "routes.yaml", "- {path: [a], upstream: ws://x}\n", []string{"route 1: path: want a string, got a list"}},
		{"json path not a string", "routes.json", `[{"path": 5, "upstream": "ws://x"}]`, []string{"route 1: path: want a string, got a number"}},
		{"bad upstream", "routes.yaml", "- {path: /a, upstream: 'ftp://x'}\n", []string{`route 1 (/a): upstream scheme "ftp" not one of http, https, ws, wss`}},
		{"shared not a boolean", "routes.yaml", "- {path: /a, upstream: ws://x, shared: yes}\n", []string{`shared: want true or false, got "yes"`}},
		{"json shared as a string", "routes.json", `[{"path": "/a", "upstream": "ws://x", "shared": "true"}]`, []string{"shared: want true or false, got a string"}},
		{"zero replay", "routes.yaml", "- {path: /a, upstream: ws://x, shared: true, replay: 0}\n", []string{"replay: must be at least 1, got 0"}},
		{"replay not a number", "routes.yaml", "- {path: /a, upstream: ws://x, shared: true, replay: many}\n", []string{`replay: want a whole number, got "many"`}},
		{"fractional json replay", "routes.json", `[{"path": "/a", "upstream": "ws://x", "shared": true, "replay": 1.5}]`, []string{"replay: want a whole number, got 1.5"}},
		{"replay without shared", "routes.yaml", "- {path: /a, upstream: ws://x, replay: 10}\n", []string{"replay: only for shared routes (add shared: true)"}},
		{"linger without shared", "routes.yaml", "- {path: /a, upstream: ws://x, shared: false, linger: 1s}\n", []string{"linger: only for shared routes"}},
		{"gap event without shared", "routes.yaml", "- {path: /a, upstream: ws://x, gap_event: gap}\n", []string{"gap_event: only for shared routes"}},
		{"gap event with a newline", "routes.yaml", "- {path: /a, upstream: ws://x, shared: true, gap_event: \"gap\\ndata: x\"}\n",
			[]string{`gap_event: event type "gap\ndata: x" must not contain CR, LF or NUL`}},
		{"bad format", "routes.yaml", "- {path: /a, upstream: ws://x, format: xml}\n", []string{`format: "xml" not one of json, raw`}},
		{"duration without unit", "routes.yaml", "- {path: /a, upstream: ws://x, heartbeat: 15}\n", []string{`route 1 (/a): heartbeat: invalid duration "15" (want e.g. 15s)`}},
		{"json duration as a number", "routes.json", `[{"path": "/a", "upstream": "ws://x", "heartbeat": 15}]`, []string{`heartbeat: invalid duration "15" (want e.g. 15s)`}},
		{"zero heartbeat", "routes.yaml", "- {path: /a, upstream: ws://x, heartbeat: 0s}\n", []string{"heartbeat: must be positive, got 0s"}},
		{"negative retry", "routes.yaml", "- {path: /a, upstream: ws://x, retry: -1s}\n", []string{"retry: must not be negative, got -1s"}},
		{"negative linger", "routes.yaml", "- {path: /a, upstream: ws://x, shared: true, linger: -1s}\n", []string{"linger: must not be negative"}},
		{"SI max message", "routes.yaml", "- {path: /a, upstream: ws://x, max_message: 64KB}\n", []string{`max_message: invalid size "64KB"`}},
		{"zero max message", "routes.json", `[{"path": "/a", "upstream": "ws://x", "max_message": 0}]`, []string{`max_message: size "0" must be at least 1 byte`}},
		{"hop-by-hop header", "routes.yaml", "- {path: /a, upstream: ws://x, forward_headers: [Connection]}\n", []string{`forward_headers: "Connection" is a hop-by-hop header`}},
		{"headers not a list", "routes.yaml", "- {path: /a, upstream: ws://x, forward_headers: Authorization}\n", []string{`forward_headers: want a list of strings, got "Authorization"`}},
		{"header not a string", "routes.json", `[{"path": "/a", "upstream": "ws://x", "forward_headers": ["A", 1]}]`, []string{"forward_headers: item 2: want a string, got a number"}},
		{"origin with path", "routes.yaml", "- {path: /a, upstream: ws://x, allowed_origins: ['https://x.com/app']}\n", []string{`allowed_origins: origin "https://x.com/app"`, "without a path"}},
		{"publish on a websocket upstream", "routes.yaml", "- {path: /a, upstream: ws://x, publish: 'http://x/p'}\n", []string{"publish: only for SSE upstreams"}},
		{"publish not http", "routes.yaml", "- {path: /a, upstream: http://x, publish: 'ws://x/p'}\n", []string{`publish scheme "ws" not one of http, https`}},
		{"publish relative", "routes.yaml", "- {path: /a, upstream: http://x, publish: /p}\n", []string{`publish "/p" is not an absolute URL`}},
		{"auth url not http", "routes.yaml", "- {path: /a, upstream: http://x, auth_url: 'ftp://auth'}\n", []string{`auth_url scheme "ftp" not one of http, https`}},
		{"resume param on an SSE upstream", "routes.yaml", "- {path: /a, upstream: http://x, resume_param: since}\n", []string{"resume_param: only for WebSocket upstreams"}},
		{"bad resume param", "routes.yaml", "- {path: /a, upstream: ws://x, resume_param: 'a=b'}\n", []string{`resume_param: query parameter name "a=b" must not contain`}},
		{"binary event on an SSE upstream", "routes.yaml", "- {path: /a, upstream: http://x, binary_event: blob}\n", []string{"binary_event: only for WebSocket upstreams"}},
		{"binary event with CR", "routes.json", `[{"path": "/a", "upstream": "ws://x", "binary_event": "a\rb"}]`, []string{"binary_event: event type", "must not contain CR, LF or NUL"}},
		{"reserved token param", "routes.yaml", "- {path: /a, upstream: ws://x, token_param: format}\n", []string{`token_param: "format" is a query parameter of ssews itself`}},
		{"bad token param", "routes.yaml", "- {path: /a, upstream: ws://x, token_param: 'my token'}\n", []string{`token_param: query parameter name "my token"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := Load(map[string]string{"SSEWS_CONFIG": writeFile(t, tt.file, tt.content)})
			wantError(t, err, "SSEWS_CONFIG", tt.want...)
		})
	}
}

func TestRoutesFileUnreadable(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	_, err := Load(map[string]string{"SSEWS_CONFIG": dir})
	wantError(t, err, "SSEWS_CONFIG", dir+": cannot read: is a directory")
}

// Fields that are off when empty may be given empty; binary_event "" is a setting.
func TestRoutesFileEmptyValues(t *testing.T) {
	t.Parallel()
	file := writeFile(t, "r.yaml", `- path: /a
  upstream: ws://x
  resume_param: ""
  token_param: ""
  auth_url: ""
  binary_event: ""
  gap_event: ""
  forward_headers: []
- path: /b
  upstream: http://x
  publish: ""
  resume_param: ""
`)
	c := mustLoad(t, map[string]string{"SSEWS_CONFIG": file})
	a, b := c.Resolved[0], c.Resolved[1]
	if a.ResumeParam != "" || a.TokenParam != "" || a.AuthURL != nil || a.BinaryEvent != "" || len(a.ForwardHeaders) != 0 || b.Publish != nil {
		t.Errorf("routes = %+v, %+v; want the empty fields off", a, b)
	}
}
