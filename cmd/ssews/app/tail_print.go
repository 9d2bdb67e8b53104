package app

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"io"
	"os"
	"strconv"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/mattn/go-isatty"

	"github.com/ssews/ssews/sse"
)

// tailMode is how tail shows events.
type tailMode int

const (
	tailModeText tailMode = iota // one escaped line per event, for people
	tailModeJSON                 // one JSON object per event, for jq and scripts
	tailModeRaw                  // nothing per event: the sources copy what they receive
)

// ANSI SGR sequences.
const (
	tailSGRReset = "\x1b[0m"
	tailSGRDim   = "\x1b[2m"
)

// tailTypeColours are the foreground colours of event types: the first for message,
// one picked by a hash for any other type, so that a type keeps its colour across
// lines and runs.
var tailTypeColours = []string{"\x1b[36m", "\x1b[32m", "\x1b[35m", "\x1b[34m", "\x1b[33m", "\x1b[96m", "\x1b[92m", "\x1b[95m"}

// tailTypeWidth pads the type column so that data lines up for the usual types.
const tailTypeWidth = len(sse.DefaultType)

// tailPrinter writes events to tail's output, one line each. It is used by one
// goroutine at a time: the reconnect loop.
type tailPrinter struct {
	w      io.Writer
	mode   tailMode
	colour bool
	now    func() time.Time
	buf    []byte
}

func newTailPrinter(w io.Writer, mode tailMode, colour bool) *tailPrinter {
	return &tailPrinter{w: w, mode: mode, colour: colour, now: time.Now}
}

// tailUseColour reports whether w is a terminal that wants colour: never when NO_COLOR is
// set to anything non-empty (https://no-color.org) or TERM is dumb.
func tailUseColour(w io.Writer, env map[string]string) bool {
	if env["NO_COLOR"] != "" || env["TERM"] == "dumb" {
		return false
	}
	f, ok := w.(*os.File)
	return ok && (isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd()))
}

// event prints one event in the printer's mode.
func (p *tailPrinter) event(ev *sse.Event) error {
	switch p.mode {
	case tailModeRaw:
		return nil
	case tailModeJSON:
		p.buf = appendTailJSON(p.buf[:0], ev)
	default:
		p.buf = p.appendEventText(p.buf[:0], ev)
	}
	p.buf = append(p.buf, '\n')
	_, err := p.w.Write(p.buf)
	return err
}

// tailEventJSON has the keys of a format=json WebSocket frame (SPEC section 4), so that
// tail's output and ssews's frames can be processed by the same scripts.
type tailEventJSON struct {
	Event string `json:"event"`
	Data  string `json:"data"`
	ID    string `json:"id,omitempty"`
	Retry *int64 `json:"retry,omitempty"`
}

func appendTailJSON(dst []byte, ev *sse.Event) []byte {
	j := tailEventJSON{Event: ev.TypeOrDefault(), Data: ev.Data, ID: ev.ID}
	if ev.HasRetry {
		j.Retry = &ev.Retry
	}
	b, err := json.Marshal(&j)
	if err != nil { // strings always marshal; keep the line well formed regardless
		return append(dst, `{"event":"message","data":""}`...)
	}
	return append(dst, b...)
}

// appendEventText formats "15:04:05.000 type id=ID retry=MS data", the fields escaped
// so that whatever an event holds it takes exactly one line.
func (p *tailPrinter) appendEventText(dst []byte, ev *sse.Event) []byte {
	dst = p.styled(dst, tailSGRDim, func(b []byte) []byte { return p.now().AppendFormat(b, "15:04:05.000") })
	dst = append(dst, ' ')
	typ := ev.TypeOrDefault()
	dst = p.styled(dst, tailTypeColour(typ), func(b []byte) []byte { return appendTailEscaped(b, typ) })
	dst = appendTailSpaces(dst, tailTypeWidth-utf8.RuneCountInString(typ)) // cosmetic: escapes may widen it
	if ev.ID != "" {
		dst = append(dst, ' ')
		dst = p.styled(dst, tailSGRDim, func(b []byte) []byte { return appendTailEscaped(append(b, "id="...), ev.ID) })
	}
	if ev.HasRetry {
		dst = append(dst, ' ')
		dst = p.styled(dst, tailSGRDim, func(b []byte) []byte { return strconv.AppendInt(append(b, "retry="...), ev.Retry, 10) })
	}
	if ev.Data != "" {
		dst = append(dst, ' ')
		dst = appendTailEscaped(dst, ev.Data)
	}
	return dst
}

// styled appends what add appends, wrapped in sgr when colour is on.
func (p *tailPrinter) styled(dst []byte, sgr string, add func([]byte) []byte) []byte {
	if !p.colour {
		return add(dst)
	}
	return append(add(append(dst, sgr...)), tailSGRReset...)
}

func tailTypeColour(typ string) string {
	if typ == sse.DefaultType {
		return tailTypeColours[0] // the common case keeps one colour of its own
	}
	h := fnv.New32a()
	h.Write([]byte(typ))
	return tailTypeColours[1+h.Sum32()%uint32(len(tailTypeColours)-1)]
}

func appendTailSpaces(dst []byte, n int) []byte {
	for ; n > 0; n-- {
		dst = append(dst, ' ')
	}
	return dst
}

// appendTailEscaped appends s with backslash, line ends, tabs and every other
// non-printable character escaped as Go writes them (\n, \x1b, \u2028), so that an
// event can neither break the line nor send control sequences to the terminal.
// Printable text, non-ASCII included, stays as it is, and no quotes are added: JSON
// data reads as JSON.
func appendTailEscaped(dst []byte, s string) []byte {
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			dst = fmt.Appendf(dst, `\x%02x`, s[i])
		case r == '\\':
			dst = append(dst, `\\`...)
		case r == '\n':
			dst = append(dst, `\n`...)
		case r == '\r':
			dst = append(dst, `\r`...)
		case r == '\t':
			dst = append(dst, `\t`...)
		case r == ' ' || unicode.IsPrint(r):
			dst = append(dst, s[i:i+size]...)
		case r < utf8.RuneSelf:
			dst = fmt.Appendf(dst, `\x%02x`, r)
		case r <= 0xFFFF:
			dst = fmt.Appendf(dst, `\u%04x`, r)
		default:
			dst = fmt.Appendf(dst, `\U%08x`, r)
		}
		i += size
	}
	return dst
}
