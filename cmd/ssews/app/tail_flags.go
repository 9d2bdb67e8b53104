package app

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/textproto"
	"net/url"
	"strings"
)

// tailOptions is one `ssews tail` invocation, checked: the URL has a scheme tail
// speaks and every header is well formed.
type tailOptions struct {
	url         *url.URL
	json        bool
	raw         bool
	noReconnect bool
	lastEventID string
	headers     http.Header
}

// webSocket reports whether the endpoint speaks WebSocket rather than SSE.
func (o *tailOptions) webSocket() bool { return o.url.Scheme == "ws" || o.url.Scheme == "wss" }

// errTailHelp is the outcome of -h: print the usage, succeed.
var errTailHelp = errors.New("help requested")

// tailHeaderFlag collects repeated -H 'Name: value' flags, as curl takes them.
type tailHeaderFlag struct{ h http.Header }

func (f *tailHeaderFlag) String() string { return "" }

func (f *tailHeaderFlag) Set(s string) error {
	name, value, ok := strings.Cut(s, ":")
	name = strings.TrimSpace(name)
	if !ok || !validTailHeaderName(name) {
		return fmt.Errorf("header %q is not 'Name: value'", s)
	}
	if strings.ContainsAny(value, "\r\n\x00") {
		return fmt.Errorf("header %q holds a line break or NUL", name)
	}
	f.h.Add(textproto.CanonicalMIMEHeaderKey(name), strings.TrimSpace(value))
	return nil
}

// validTailHeaderName reports whether s is an HTTP token (RFC 9110 section 5.6.2), so a
// typo fails here rather than as an obscure error from the HTTP client.
func validTailHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range []byte(s) {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// newTailFlags defines tail's flags on a fresh FlagSet filling o. The same set
// prints the help, so the flags and their description cannot drift apart.
func newTailFlags(o *tailOptions) *flag.FlagSet {
	fs := flag.NewFlagSet("ssews tail", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are reported by parseTailArgs, on one line
	fs.Usage = func() {}
	o.headers = make(http.Header)
	fs.Var(&tailHeaderFlag{o.headers}, "H", "send the request header `'Name: value'` (repeatable)")
	fs.BoolVar(&o.json, "json", false, "print one JSON object per event: event, data, id, retry")
	fs.BoolVar(&o.raw, "raw", false, "print what arrives as is: the SSE bytes, or each WebSocket message and a newline")
	fs.BoolVar(&o.noReconnect, "no-reconnect", false, "stop at the end of the stream instead of reconnecting")
	fs.StringVar(&o.lastEventID, "last-event-id", "", "resume after event `ID` (sent as Last-Event-ID)")
	return fs
}

// printTailFlags writes one line per flag: long flags with two dashes, as people
// type them, and the placeholder the usage string names.
func printTailFlags(w io.Writer) {
	fs := newTailFlags(&tailOptions{})
	fs.VisitAll(func(f *flag.Flag) {
		arg, help := flag.UnquoteUsage(f)
		name := "-" + f.Name
		if len(f.Name) > 1 {
			name = "-" + name
		}
		if arg != "" {
			name += " " + arg
		}
		fmt.Fprintf(w, "  %-22s %s\n", name, help)
	})
}

// tailUsage is `ssews tail -h`.
func tailUsage(w io.Writer) {
	fmt.Fprint(w, `Usage: ssews tail [flags] URL

Prints every event of a Server-Sent Events (http://, https://) or WebSocket (ws://,
wss://) endpoint as it arrives, one line each: time, type, id, data, escaped so that
one line is one event. SSE is parsed as a browser's EventSource parses it. From a
WebSocket, a JSON text message with a "data" key is an event with its event, id and
retry; any other text is of type message, and binary is of type binary, in base64.

Reconnects as EventSource does: after the stream's retry (3s until it sets one),
sending the last id as Last-Event-ID. A 204, a WebSocket close 1000 or an error
status stops it. Exit status: 0 at a clean end or on interrupt, 1 on a connection
error, 2 on bad arguments.

Flags:
`)
	printTailFlags(w)
}

// tailHint follows an argument error, pointing to the help.
const tailHint = "usage: ssews tail [flags] URL (ssews tail -h lists the flags)"

// parseTailArgs parses tail's arguments. Flags may come before or after the URL, as
// users of curl expect; "--" ends the flags.
func parseTailArgs(args []string) (*tailOptions, error) {
	o := &tailOptions{}
	fs := newTailFlags(o)
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, errTailHelp
			}
			return nil, flagError(err)
		}
		rest := fs.Args()
		if consumed := len(args) - len(rest); consumed > 0 && args[consumed-1] == "--" {
			positional = append(positional, rest...)
			break
		}
		if len(rest) == 0 {
			break
		}
		positional = append(positional, rest[0])
		args = rest[1:]
	}
	switch {
	case len(positional) == 0:
		return nil, errors.New("missing URL")
	case len(positional) > 1:
		return nil, fmt.Errorf("one URL expected, got %d: %s", len(positional), strings.Join(positional, " "))
	case o.json && o.raw:
		return nil, errors.New("--json and --raw exclude each other")
	}
	u, err := parseTailURL(positional[0])
	if err != nil {
		return nil, err
	}
	o.url = u
	return o, nil
}

// flagError names an unknown flag as it was most likely typed: --json, not -json.
func flagError(err error) error {
	const prefix = "flag provided but not defined: -"
	name, ok := strings.CutPrefix(err.Error(), prefix)
	if !ok {
		return err
	}
	if len(name) > 1 {
		name = "-" + name
	}
	return fmt.Errorf("unknown flag -%s", name)
}

// parseTailURL accepts the four schemes tail speaks, with a host.
func parseTailURL(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("invalid URL: %w", err)
	}
	u.Scheme = strings.ToLower(u.Scheme)
	switch u.Scheme {
	case "http", "https", "ws", "wss":
	default:
		// "localhost:8080/events" parses as scheme "localhost": say what is missing.
		if u.Scheme == "" || !strings.Contains(s, "://") {
			return nil, fmt.Errorf("URL %q has no scheme: use http://, https://, ws:// or wss://", s)
		}
		return nil, fmt.Errorf("unsupported scheme %q in %q: use http://, https://, ws:// or wss://", u.Scheme+":", s)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("URL %q has no host", s)
	}
	return u, nil
}
