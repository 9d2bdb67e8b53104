package bridge

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/ssews/ssews/config"
	"github.com/ssews/ssews/sse"
	"github.com/ssews/ssews/ws"
)

func TestFrameEncoderJSON(t *testing.T) {
	t.Parallel()
	fe := newFrameEncoder(config.FormatJSON)
	cases := []struct {
		ev   sse.Event
		want string
	}{
		{sse.Event{Data: "a"}, `{"event":"message","data":"a"}`},
		{sse.Event{Type: "up", Data: "<&>\n\"", ID: "1", Retry: 500, HasRetry: true}, `{"event":"up","data":"<&>\n\"","id":"1","retry":500}`},
		{sse.Event{Data: "b", ID: "1", Retry: 500, HasRetry: true}, `{"event":"message","data":"b","id":"1"}`}, // unchanged retry
		{sse.Event{Data: "c", Retry: 0, HasRetry: true}, `{"event":"message","data":"c","retry":0}`},
	}
	var kept [][]byte
	var buf []byte // one buffer for all, as a batch builds its frames
	for _, c := range cases {
		var frame []byte
		var size int
		buf, frame, size = fe.appendFrame(buf, &c.ev)
		kept = append(kept, frame)
		if want := ws.ServerFrame(false, []byte(c.want)); string(frame) != string(want) || size != len(c.want) {
			t.Errorf("appendFrame(%+v) = %q (%d bytes of payload); want the frame of %s", c.ev, frame, size, c.want)
		}
	}
	// Each frame stays as it was while later ones are appended.
	for i, frame := range kept {
		if string(frame) != string(ws.ServerFrame(false, []byte(cases[i].want))) {
			t.Errorf("frame %d changed after later appends: %q", i, frame)
		}
	}
	raw := newFrameEncoder(config.FormatRaw)
	if _, frame, size := raw.appendFrame([]byte("before"), &sse.Event{Type: "t", Data: "é\nx", ID: "1"}); string(frame) != string(ws.ServerFrame(false, []byte("é\nx"))) || size != 4 {
		t.Errorf("raw appendFrame = %q, %d; want the frame of the data alone", frame, size)
	}
}

// TestJSONFrameReadsBack: whatever an event's strings hold, its JSON message decodes
// to the same strings, and a shared stream's message of it is the same bytes as a
// per-client one.
func TestJSONFrameReadsBack(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"", "plain", `"quoted" \ back\slash`, "<&>", "\x00\x01\x1f\x7f", "\u2028\u2029", "😀 é €", "a\nb\rc\td", strings.Repeat("x", 300)} {
		ev := sse.Event{Type: s, Data: s, ID: s, Retry: 250, HasRetry: true}
		_, frame, size := newFrameEncoder(config.FormatJSON).appendFrame(nil, &ev)
		payload := frame[len(frame)-size:]
		var got struct {
			Event string  `json:"event"`
			Data  string  `json:"data"`
			ID    *string `json:"id"`
			Retry int64   `json:"retry"`
		}
		if err := json.Unmarshal(payload, &got); err != nil {
			t.Fatalf("message of %q is not JSON: %v: %s", s, err, payload)
		}
		if got.Event != ev.TypeOrDefault() || got.Data != s || (got.ID == nil) != (s == "") || (got.ID != nil && *got.ID != s) || got.Retry != 250 {
			t.Errorf("message of %q read back as %+v: %s", s, got, payload)
		}
		if shared, _ := newEntry(ev, nil).wire(config.FormatJSON); string(shared) != string(frame) {
			t.Errorf("shared frame of %q is %q; per-client %q", s, shared, frame)
		}
	}
}

func TestMessageReader(t *testing.T) {
	t.Parallel()
	mr := NewMessageReader(config.FormatJSON, "bin", "")
	cases := []struct {
		in   ws.Message
		want sse.Event
	}{
		{ws.Message{Data: []byte(`hello`)}, sse.Event{Type: "message", Data: "hello"}},
		{ws.Message{Data: []byte(` {"data":"x","event":"e","id":"5"}`)}, sse.Event{Type: "e", Data: "x", ID: "5"}},
		{ws.Message{Data: []byte(`{"data":null}`)}, sse.Event{Type: "message", Data: "null", ID: "5"}},
		{ws.Message{Data: []byte(`{"data":[1, {"a": 2}],"id":12.5}`)}, sse.Event{Type: "message", Data: `[1,{"a":2}]`, ID: "12.5"}},
		{ws.Message{Data: []byte(`{"data":"r","retry":7}`)}, sse.Event{Type: "message", Data: "r", ID: "12.5", Retry: 7, HasRetry: true}},
		{ws.Message{Data: []byte(`{"data":"r","retry":1.5,"event":""}`)}, sse.Event{Type: "message", Data: "r", ID: "12.5"}},
		{ws.Message{Data: []byte(`{"data":"x"`)}, sse.Event{Type: "message", Data: `{"data":"x"`, ID: "12.5"}},
		{ws.Message{Binary: true, Data: []byte{1, 2, 3}}, sse.Event{Type: "bin", Data: "AQID", ID: "12.5"}},
		{ws.Message{Data: []byte(`{"data":"bad","id":"a\nb"}`)}, sse.Event{Type: "message", Data: "bad", ID: "a\nb"}},
		{ws.Message{Data: []byte(`next`)}, sse.Event{Type: "message", Data: "next", ID: "12.5"}}, // a bad id never becomes the last id
	}
	for _, c := range cases {
		if got := mr.Event(c.in); got != c.want {
			t.Errorf("event(%q) = %+v; want %+v", c.in.Data, got, c.want)
		}
	}
	raw := NewMessageReader(config.FormatRaw, "binary", "")
	if got := raw.Event(ws.Message{Data: []byte(`{"data":"x"}`)}); got.Data != `{"data":"x"}` {
		t.Errorf("format raw read an envelope: %+v", got)
	}
}

func BenchmarkFrameEncodeJSON(b *testing.B) {
	fe := newFrameEncoder(config.FormatJSON)
	ev := sse.Event{Type: "update", Data: `{"price":42,"symbol":"ACME","note":"a \"quoted\" word"}`, ID: "12345"}
	b.ReportAllocs()
	b.SetBytes(int64(len(ev.Data)))
	var buf []byte
	for b.Loop() {
		buf, _, _ = fe.appendFrame(buf[:0], &ev)
	}
}
