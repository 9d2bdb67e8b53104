package sse

import (
	"strconv"
	"strings"
	"testing"
)

// benchParse parses one event per iteration from a stream repeating events.
func benchParse(b *testing.B, events []string) { benchParser(b, events, false) }

func benchParser(b *testing.B, events []string, reuseData bool) {
	stream := strings.Join(events, "")
	p := NewParser(&loopReader{data: stream}, 0)
	if reuseData {
		p.ReuseData()
	}
	b.SetBytes(int64(len(stream) / len(events)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.Next(); err != nil {
			b.Fatal(err)
		}
	}
}

// A typical stream: every event has a new id, a type and 100 bytes of JSON.
func BenchmarkParseTypical(b *testing.B) { benchParser(b, typicalEvents(), false) }

// The typical stream with ReuseData, as a client's own relayed stream is parsed.
func BenchmarkParseTypicalReuseData(b *testing.B) { benchParser(b, typicalEvents(), true) }

func typicalEvents() []string {
	data := `{"user":"alice","action":"update","path":"/items/42","value":12345,"ts":"2025-01-01T00:00:00Z"}`
	var events []string
	for i := range 64 {
		events = append(events, "id: "+strconv.Itoa(1000+i)+"\nevent: update\ndata: "+data+"\n\n")
	}
	return events
}

// One large event: 64 KiB of data in 80-byte lines.
func BenchmarkParseLargeData(b *testing.B) {
	line := "data: " + strings.Repeat("x", 80) + "\n"
	benchParse(b, []string{"id: 1\n" + strings.Repeat(line, 64<<10/80) + "\n"})
}

// One large event on a single 256 KiB data line, ending in CRLF.
func BenchmarkParseLongLine(b *testing.B) {
	benchParse(b, []string{"data: " + strings.Repeat("x", 256<<10) + "\r\n\r\n"})
}

func BenchmarkAppendEvent(b *testing.B) {
	ev := Event{Type: "update", ID: "12345", Data: strings.Repeat("x", 100)}
	buf := AppendEvent(nil, &ev, true)
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendEvent(buf[:0], &ev, true)
	}
}

func BenchmarkAppendEventMultiline(b *testing.B) {
	ev := Event{Data: strings.Repeat(strings.Repeat("x", 80)+"\n", 64<<10/81)}
	buf := AppendEvent(nil, &ev, false)
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendEvent(buf[:0], &ev, false)
	}
}

func BenchmarkDecodeUTF8Invalid(b *testing.B) {
	s := strings.Repeat("abc\xE2\x82 \xFF€", 100)
	b.SetBytes(int64(len(s)))
	b.ReportAllocs()
	for b.Loop() {
		_ = DecodeUTF8(s)
	}
}
