package app

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/ssews/ssews/bridge"
	"github.com/ssews/ssews/config"
	"github.com/ssews/ssews/sse"
	"github.com/ssews/ssews/ws"
)

// tailBinaryType is the event type of binary messages, as the bridge's default
// binary_event.
const tailBinaryType = "binary"

// tailWSSource connects to a WebSocket endpoint and reads its messages as the bridge
// reads a WebSocket upstream with format=json, so tail shows the events an
// EventSource client of ssews would get (SPEC section 4).
type tailWSSource struct {
	dialer  *websocket.Dialer
	url     string
	headers http.Header
	raw     io.Writer // --raw: each message goes here as received; nil otherwise
}

func newTailWSSource(o *tailOptions, raw io.Writer) *tailWSSource {
	u := *o.url
	headers := o.headers.Clone()
	if u.User != nil { // gorilla refuses credentials in the URL; send them as HTTP would
		if headers.Get("Authorization") == "" {
			pass, _ := u.User.Password()
			headers.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(u.User.Username()+":"+pass)))
		}
		u.User = nil
	}
	d := &websocket.Dialer{Proxy: http.ProxyFromEnvironment, HandshakeTimeout: tailConnectTimeout}
	return &tailWSSource{dialer: d, url: u.String(), headers: headers, raw: raw}
}

// connect dials, sending the last event id as Last-Event-ID: ssews takes it from
// WebSocket clients too, and other servers ignore a header they do not know.
func (s *tailWSSource) connect(ctx context.Context, lastID string) (tailStream, error) {
	h := s.headers.Clone()
	if lastID != "" {
		h.Set("Last-Event-ID", lastID)
	}
	conn, resp, err := s.dialer.DialContext(ctx, s.url, h)
	if err != nil {
		if resp != nil {
			resp.Body.Close()
			return nil, tailHandshakeEnd(s.url, resp)
		}
		return nil, endLost(fmt.Errorf("connect to %s: %w", s.url, err))
	}
	conn.SetReadLimit(tailMaxEvent)
	st := &tailWSStream{conn: conn, raw: s.raw, reader: bridge.NewMessageReader(config.FormatJSON, tailBinaryType, lastID)}
	st.stopAfter = context.AfterFunc(ctx, st.shut)
	return st, nil
}

func (s *tailWSSource) close() {} // every connection is closed by its stream

// tailHandshakeEnd reads a refused handshake as EventSource would read the same status:
// 204 means stop, any other answer is an error that reconnecting will not fix.
func tailHandshakeEnd(url string, resp *http.Response) *tailEnd {
	switch {
	case resp.StatusCode == http.StatusNoContent:
		return endFinished(fmt.Errorf("%s answered %s", url, resp.Status))
	case resp.StatusCode == http.StatusSwitchingProtocols || (resp.StatusCode >= 200 && resp.StatusCode <= 299):
		return endFatal(fmt.Errorf("%s answered %s without a valid WebSocket handshake", url, resp.Status))
	default:
		return endFatal(fmt.Errorf("%s refused the WebSocket handshake: %s", url, resp.Status))
	}
}

// tailWSStream is one WebSocket connection. Only next reads; shut may run from the
// context's goroutine, and gorilla allows Close and WriteControl concurrently.
type tailWSStream struct {
	conn      *websocket.Conn
	raw       io.Writer
	reader    *bridge.MessageReader
	stopAfter func() bool
	shutOnce  sync.Once
}

func (s *tailWSStream) next() (sse.Event, error) {
	typ, data, err := s.conn.ReadMessage()
	if err != nil {
		return sse.Event{}, tailWSEnd(err)
	}
	if s.raw != nil {
		if _, err := s.raw.Write(append(data, '\n')); err != nil {
			return sse.Event{}, endFatal(fmt.Errorf("write output: %w", err))
		}
	}
	return s.reader.Event(ws.Message{Binary: typ == websocket.BinaryMessage, Data: data}), nil
}

func (s *tailWSStream) lastEventID() string { return s.reader.LastID() }

func (s *tailWSStream) retry() (time.Duration, bool) { return s.reader.Retry() }

func (s *tailWSStream) close() {
	s.stopAfter()
	s.shut()
}

// shut says goodbye with close 1000, as a browser leaving the page says 1001 and a
// tool that is done says 1000, then drops the connection, which ends a blocked read.
func (s *tailWSStream) shut() {
	s.shutOnce.Do(func() {
		msg := websocket.FormatCloseMessage(websocket.CloseNormalClosure, "")
		_ = s.conn.WriteControl(websocket.CloseMessage, msg, time.Now().Add(time.Second))
		s.conn.Close()
	})
}

// tailWSEnd reads the end of a WebSocket connection. Close 1000 is the server saying it is
// done (ssews sends it where an EventSource client would get 204); going away and
// server errors are worth a reconnect; a protocol or policy complaint would come back.
func tailWSEnd(err error) *tailEnd {
	if ce, ok := errors.AsType[*websocket.CloseError](err); ok {
		e := fmt.Errorf("server closed the connection: %w", ce)
		switch ce.Code {
		case websocket.CloseNormalClosure:
			return endFinished(e)
		case websocket.CloseGoingAway, websocket.CloseNoStatusReceived:
			return endEnded(e)
		case websocket.CloseProtocolError, websocket.CloseUnsupportedData, websocket.CloseInvalidFramePayloadData,
			websocket.ClosePolicyViolation, websocket.CloseMessageTooBig, websocket.CloseMandatoryExtension:
			return endFatal(e)
		default:
			return endLost(e)
		}
	}
	if errors.Is(err, websocket.ErrReadLimit) {
		return endFatal(fmt.Errorf("message over %d bytes", tailMaxEvent))
	}
	return endLost(fmt.Errorf("connection lost: %w", err))
}
