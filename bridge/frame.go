package bridge

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/ssews/ssews/config"
	"github.com/ssews/ssews/sse"
	"github.com/ssews/ssews/ws"
)

// jsonFrame is the WebSocket frame of one event in format=json (SPEC section 4).
// Retry is set on the event on which the upstream changed it (0 included).
type jsonFrame struct {
	Event string `json:"event"`
	Data  string `json:"data"`
	ID    string `json:"id,omitempty"`
	Retry *int64 `json:"retry,omitempty"`
}

// frameEncoder turns events into WebSocket messages for one client, reusing its
// buffer; it remembers the retry last sent so retry appears only when it changes.
type frameEncoder struct {
	format    config.Format
	buf       bytes.Buffer
	enc       *json.Encoder
	lastRetry int64
	// frame is reused, and its Retry points at lastRetry, so encoding one costs no
	// allocation of its own.
	frame jsonFrame
}

func newFrameEncoder(format config.Format) *frameEncoder {
	fe := &frameEncoder{format: format, lastRetry: -1}
	fe.enc = json.NewEncoder(&fe.buf)
	fe.enc.SetEscapeHTML(false)
	return fe
}

// encode returns ev as a text frame (ws.ServerFrame) and the size of its payload.
// The frame owns its bytes, its only allocation: the connection's writer may still
// be sending it when the next event is encoded.
func (fe *frameEncoder) encode(ev *sse.Event) (frame []byte, size int) {
	if fe.format == config.FormatRaw {
		return append(ws.AppendFrameHeader(make([]byte, 0, 10+len(ev.Data)), false, len(ev.Data)), ev.Data...), len(ev.Data)
	}
	fe.buf.Reset()
	fe.frame = jsonFrame{Event: ev.TypeOrDefault(), Data: ev.Data, ID: ev.ID}
	if ev.HasRetry && ev.Retry != fe.lastRetry {
		fe.lastRetry = ev.Retry
		fe.frame.Retry = &fe.lastRetry
	}
	_ = fe.enc.Encode(&fe.frame) // strings and an int64 always encode
	b := bytes.TrimSuffix(fe.buf.Bytes(), []byte("\n"))
	return ws.ServerFrame(false, b), len(b)
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
