// Package sse implements the wire format of server-sent events as the WHATWG HTML
// standard defines it (https://html.spec.whatwg.org/multipage/server-sent-events.html):
// a streaming parser that dispatches events exactly as a browser's EventSource would,
// and an encoder whose output re-parses to the same event whatever the event holds.
//
// The package does no logging and knows nothing of WebSocket: callers decide what a
// parse error or a dropped field means for them.
package sse

import (
	"math"
	"time"
)

// DefaultType is the event type EventSource reports when a block sets none.
const DefaultType = "message"

// Event is one dispatched server-sent event.
type Event struct {
	// Type is the event type. The parser always sets it ("message" when the block
	// named none); the encoder treats "" and "message" alike.
	Type string
	// Data is the data buffer at dispatch, lines joined with LF, without the final LF.
	Data string
	// ID is the last event ID at dispatch, as EventSource reports it in lastEventId.
	// It persists across events until the stream sets another.
	ID string
	// Retry is a reconnection time in milliseconds, valid only when HasRetry is set.
	// The parser sets it on the first event dispatched after a valid retry field.
	Retry    int64
	HasRetry bool
}

// RetryDuration converts a reconnection time in milliseconds (Event.Retry,
// Parser.Retry) to a duration, capped where time.Duration ends: a stream that asks
// for a very long wait gets the longest there is, never a negative one.
func RetryDuration(ms int64) time.Duration {
	if ms > int64(math.MaxInt64/time.Millisecond) {
		return math.MaxInt64
	}
	return time.Duration(ms) * time.Millisecond
}

// TypeOrDefault returns the event type, "message" when none is set.
func (e *Event) TypeOrDefault() string {
	if e.Type == "" {
		return DefaultType
	}
	return e.Type
}
