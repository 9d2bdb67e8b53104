package sse

import (
	"strconv"
	"strings"
)

// The encoder writes the event stream format
// (https://html.spec.whatwg.org/multipage/server-sent-events.html#parsing-an-event-stream)
// so that the bytes re-parse to the same event whatever it holds: every field value
// follows ": " (the parser removes that one space, so a value's own leading space
// survives), data and comments are split on every line end the parser knows, and a
// type or id that a line end or NUL would break is left out, never written (field
// injection, CWE-93).

// AppendEvent appends the wire form of ev to dst and returns it: an id line when
// withID, an event line unless the type is "" or "message", a retry line when
// ev.HasRetry, one data line per line of ev.Data (at least one, so that an event
// with empty data is still dispatched), and the blank line that dispatches it.
//
// An empty id is written as "id" alone, which resets the client's last event ID.
// ev should have passed Sanitize; if not, a type or id holding CR, LF or NUL is left
// out, as is a negative retry, which no parser would accept. Data is written as is:
// invalid UTF-8 re-parses with replacement characters.
func AppendEvent(dst []byte, ev *Event, withID bool) []byte {
	if withID && !breaksLine(ev.ID) {
		dst = appendField(dst, "id", ev.ID)
	}
	if ev.Type != "" && ev.Type != DefaultType && !breaksLine(ev.Type) {
		dst = appendField(dst, "event", ev.Type)
	}
	if ev.HasRetry && ev.Retry >= 0 {
		dst = appendRetryField(dst, ev.Retry)
	}
	dst = appendLines(dst, "data", ev.Data)
	return append(dst, '\n')
}

// AppendComment appends text as comment lines, ": line" for each line of text, and
// returns it.
// It writes no blank line, so it can go between events or before one without
// changing it. AppendComment(dst, "") appends ":\n", the usual heartbeat.
func AppendComment(dst []byte, text string) []byte {
	return appendLines(dst, "", text)
}

// AppendRetry appends a block that sets the client's reconnection time to ms and
// dispatches nothing, and returns it. A negative ms cannot be written: dst is
// returned unchanged.
func AppendRetry(dst []byte, ms int64) []byte {
	if ms < 0 {
		return dst
	}
	return append(appendRetryField(dst, ms), '\n')
}

func appendRetryField(dst []byte, ms int64) []byte {
	dst = append(dst, "retry: "...)
	return append(strconv.AppendInt(dst, ms, 10), '\n')
}

// appendField appends "name: value\n", or "name\n" when value is empty. value must
// not break the line.
func appendField(dst []byte, name, value string) []byte {
	dst = append(dst, name...)
	if value == "" {
		return append(dst, '\n')
	}
	dst = append(dst, ": "...)
	dst = append(dst, value...)
	return append(dst, '\n')
}

// appendLines appends one line "name: line" per line of s (split on CRLF, LF and CR),
// "name:" for an empty line. Both re-parse as the value line, and for a comment
// (name "") ":" starts every line.
func appendLines(dst []byte, name, s string) []byte {
	// Absolute positions of the next LF and CR, len(s) when there are none; each
	// is searched again only once passed, so many short lines cost one pass.
	lf, cr := -1, -1
	for pos := 0; ; {
		if lf < pos {
			lf = indexFrom(s, pos, '\n')
		}
		if cr < pos {
			cr = indexFrom(s, pos, '\r')
		}
		end := min(lf, cr)
		dst = append(dst, name...)
		if end > pos {
			dst = append(dst, ": "...)
			dst = append(dst, s[pos:end]...)
		} else {
			dst = append(dst, ':')
		}
		dst = append(dst, '\n')
		if end == len(s) {
			return dst
		}
		pos = end + 1
		if s[end] == '\r' && pos < len(s) && s[pos] == '\n' {
			pos++
		}
	}
}

// indexFrom returns the index of the first c in s at or after from, or len(s).
func indexFrom(s string, from int, c byte) int {
	if i := strings.IndexByte(s[from:], c); i >= 0 {
		return from + i
	}
	return len(s)
}

// breaksLine reports whether s holds a byte that would end the line it is written
// on (CR, LF), or NUL, which makes EventSource ignore an id. It runs on every type
// and id, which are short: one pass over the bytes costs less than
// strings.ContainsAny's set.
func breaksLine(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == '\r' || c == '\n' || c == 0 {
			return true
		}
	}
	return false
}
