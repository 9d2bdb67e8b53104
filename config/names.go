package config

import (
	"fmt"
	"strings"
)

// checkEventType accepts an SSE event type ssews itself emits (gap_event,
// binary_event). A CR or LF would end the event: line written and start a field of
// the attacker's choosing (CWE-93, SSE field injection); a NUL is refused by
// EventSource parsers in ids and is no use in a type.
func checkEventType(s string) error {
	if strings.ContainsAny(s, "\r\n\x00") {
		return fmt.Errorf("event type %q must not contain CR, LF or NUL", s)
	}
	return nil
}

// reservedParams are the query parameters the bridge takes for itself (SPEC section 1).
var reservedParams = []string{"format", "lastEventId"}

// checkParamName accepts a query parameter name that url.Values round-trips as is:
// '=', '&', ';', '+', '%', '#', '?' or spaces would be escaped or split, so the name
// would never match what a client or upstream actually sends.
func checkParamName(s string) error {
	if s == "" {
		return fmt.Errorf("query parameter name is empty")
	}
	if strings.ContainsAny(s, "=&;+%#?") || strings.ContainsFunc(s, isSpaceOrControl) {
		return fmt.Errorf("query parameter name %q must not contain = & ; + %% # ? spaces or control characters", s)
	}
	return nil
}
