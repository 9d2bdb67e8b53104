package bridge

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/ssews/ssews/config"
	"github.com/ssews/ssews/sse"
	"github.com/ssews/ssews/ws"
)

// frameEncoder turns events into WebSocket messages for one client; it remembers
// the retry last sent so that retry appears only when it changes.
type frameEncoder struct {
	format    config.Format
	lastRetry int64
}

func newFrameEncoder(format config.Format) *frameEncoder {
	return &frameEncoder{format: format, lastRetry: -1}
}

// appendFrame appends ev's text frame to dst, and returns dst, the frame (in dst)
// and the size of its payload: for a caller that builds frames in a buffer of its
// own and copies out only those the connection keeps (wsBatch.encode).
func (fe *frameEncoder) appendFrame(dst []byte, ev *sse.Event) (_, frame []byte, size int) {
	if fe.format == config.FormatRaw {
		dst, frame = appendRawFrame(dst, ev)
		return dst, frame, len(ev.Data)
	}
	withRetry := ev.HasRetry && ev.Retry != fe.lastRetry
	if withRetry {
		fe.lastRetry = ev.Retry
	}
	dst, frame, size = appendJSONTextFrame(dst, ev, withRetry)
	return dst, frame, size
}

// rawFrame is the format=raw text frame of ev (its data alone) and the size of its
// payload, in one allocation.
func rawFrame(ev *sse.Event) (frame []byte, size int) {
	_, frame = appendRawFrame(make([]byte, 0, ws.HeaderRoom+len(ev.Data)), ev)
	return frame, len(ev.Data)
}

// appendRawFrame appends the format=raw text frame of ev to dst.
func appendRawFrame(dst []byte, ev *sse.Event) (_, frame []byte) {
	start := len(dst)
	dst = append(ws.AppendFrameHeader(dst, false, len(ev.Data)), ev.Data...)
	return dst, dst[start:]
}

// jsonFrame is the format=json text frame of ev (appendJSONFrame) and the size of
// its payload, built in one allocation with the header written in front.
func jsonFrame(ev *sse.Event, withRetry bool) (frame []byte, size int) {
	_, frame, size = appendJSONTextFrame(make([]byte, 0, ws.HeaderRoom+jsonFrameSize(ev)), ev, withRetry)
	return frame, size
}

// appendJSONTextFrame appends the format=json text frame of ev to dst: the message
// after ws.HeaderRoom bytes of room, where its header then goes (ws.FrameInPlace).
func appendJSONTextFrame(dst []byte, ev *sse.Event, withRetry bool) (_, frame []byte, size int) {
	start := len(dst)
	dst = appendJSONFrame(append(dst, make([]byte, ws.HeaderRoom)...), ev, withRetry)
	return dst, ws.FrameInPlace(dst[start:], false), len(dst) - start - ws.HeaderRoom
}

// appendJSONFrame appends the format=json message of ev (SPEC section 4) to dst:
// {"event":…,"data":…} with "id" when it is not empty and "retry" when withRetry.
// The object's shape is fixed, so only its strings need an encoder: jsontext quotes
// them (minimal escapes, invalid UTF-8 as U+FFFD, as encoding/json does), at a third
// of the cost of encoding/json's reflection over a struct, which showed in every
// event of a WebSocket client of an SSE upstream.
func appendJSONFrame(dst []byte, ev *sse.Event, withRetry bool) []byte {
	// AppendQuote's only error is invalid UTF-8, which it has already replaced.
	dst = append(dst, `{"event":`...)
	dst, _ = jsontext.AppendQuote(dst, ev.TypeOrDefault())
	dst = append(dst, `,"data":`...)
	dst, _ = jsontext.AppendQuote(dst, ev.Data)
	if ev.ID != "" {
		dst = append(dst, `,"id":`...)
		dst, _ = jsontext.AppendQuote(dst, ev.ID)
	}
	if withRetry {
		dst = append(dst, `,"retry":`...)
		dst = strconv.AppendInt(dst, ev.Retry, 10)
	}
	return append(dst, '}')
}

// jsonFrameSize is room enough for ev's JSON message when no string needs escapes.
func jsonFrameSize(ev *sse.Event) int {
	const keys = len(`{"event":"","data":"","id":"","retry":}`) + 20 // 20: the digits of an int64
	return keys + len(ev.TypeOrDefault()) + len(ev.Data) + len(ev.ID)
}

// MessageReader turns WebSocket messages into events exactly as ssews reads a
// WebSocket upstream (SPEC section 4), keeping the last event id across messages as
// EventSource keeps lastEventId. ssews tail reads WebSocket endpoints with it too, so
// the two can never disagree.
type MessageReader struct {
	format      config.Format
	binaryEvent string
	lastID      string
	retry       time.Duration
	hasRetry    bool
}

// envelope is a JSON text frame with a data key. Fields stay raw so that each is
// taken only when it has the type SPEC section 4 asks for.
type envelope struct {
	Data  json.RawMessage `json:"data"`
	Event json.RawMessage `json:"event"`
	ID    json.RawMessage `json:"id"`
	Retry json.RawMessage `json:"retry"`
}

// NewMessageReader reads messages in format (json reads envelopes, raw does not),
// typing binary messages binaryEvent, resuming after lastID.
func NewMessageReader(format config.Format, binaryEvent, lastID string) *MessageReader {
	return &MessageReader{format: format, binaryEvent: binaryEvent, lastID: lastID}
}

// LastID is the last event id read, the one to resume after.
func (mr *MessageReader) LastID() string { return mr.lastID }

// Retry is the reconnection time the messages last set.
func (mr *MessageReader) Retry() (time.Duration, bool) { return mr.retry, mr.hasRetry }

// Event is the event that m carries.
func (mr *MessageReader) Event(m ws.Message) sse.Event {
	ev := sse.Event{Type: sse.DefaultType, ID: mr.lastID}
	switch {
	case m.Binary:
		ev.Type = mr.binaryEvent
		ev.Data = base64.StdEncoding.EncodeToString(m.Data)
	case mr.format == config.FormatJSON && isJSONObject(m.Data):
		if !mr.fromEnvelope(m.Data, &ev) {
			ev.Data = string(m.Data)
		}
	default:
		ev.Data = string(m.Data)
	}
	if !strings.ContainsAny(ev.ID, "\r\n\x00") {
		mr.lastID = ev.ID // an id sse.Sanitize would drop must not become the resume id
	}
	return ev
}

// fromEnvelope fills ev from a JSON envelope; false when data is not an envelope.
func (mr *MessageReader) fromEnvelope(data []byte, ev *sse.Event) bool {
	var env envelope
	if err := json.Unmarshal(data, &env); err != nil || env.Data == nil {
		return false
	}
	var s string
	if env.Data[0] == '"' && json.Unmarshal(env.Data, &s) == nil {
		ev.Data = s
	} else {
		var compact bytes.Buffer
		if json.Compact(&compact, env.Data) == nil {
			ev.Data = compact.String()
		} else {
			ev.Data = string(env.Data)
		}
	}
	if len(env.Event) > 0 && env.Event[0] == '"' && json.Unmarshal(env.Event, &s) == nil && s != "" {
		ev.Type = s
	}
	if len(env.ID) > 0 {
		switch {
		case env.ID[0] == '"':
			if json.Unmarshal(env.ID, &s) == nil {
				ev.ID = s
			}
		case env.ID[0] == '-' || (env.ID[0] >= '0' && env.ID[0] <= '9'):
			ev.ID = string(env.ID)
		}
	}
	if len(env.Retry) > 0 {
		if ms, err := strconv.ParseInt(string(env.Retry), 10, 64); err == nil && ms >= 0 {
			ev.Retry, ev.HasRetry = ms, true
			mr.retry, mr.hasRetry = sse.RetryDuration(ms), true
		}
	}
	return true
}

func isJSONObject(b []byte) bool {
	b = bytes.TrimLeft(b, " \t\r\n")
	return len(b) > 0 && b[0] == '{'
}
