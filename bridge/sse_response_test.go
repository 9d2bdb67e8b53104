package bridge

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/ssews/ssews/sse"
)

// TestConnSinkEncodesInPlace: a taken-over connection's events are encoded straight
// into its sink's buffer (sse.Writer over AvailableBuffer), and what reaches the
// client is exactly the stream, across flushes of a full buffer, events larger than
// the buffer, and the counts of bytes written.
func TestConnSinkEncodesInPlace(t *testing.T) {
	t.Parallel()
	server, client := net.Pipe()
	defer client.Close()
	got := make(chan string, 1)
	go func() {
		b, _ := io.ReadAll(client)
		got <- string(b)
	}()
	s := newConnSSEResponse(server, 5*time.Second)
	var want bytes.Buffer
	plain := sse.NewWriter(&want)
	var total int64
	for i := range 400 {
		ev := sse.Event{Type: sse.DefaultType, ID: fmt.Sprint(i), Data: strings.Repeat("x", i*7%300)}
		if i%97 == 0 {
			ev.Data = strings.Repeat("y", connBufSize+100) // larger than the buffer
		}
		n, err := s.event(&ev)
		if err != nil {
			t.Fatal(err)
		}
		total += n
		if err := plain.WriteEvent(&ev); err != nil {
			t.Fatal(err)
		}
		if s.enc.LastID() != ev.ID {
			t.Fatalf("event %d: writer's last id %q", i, s.enc.LastID())
		}
	}
	if err := s.flush(); err != nil {
		t.Fatal(err)
	}
	server.Close()
	if g := <-got; g != want.String() {
		t.Fatalf("client read %d bytes, not the stream (%d bytes)", len(g), want.Len())
	}
	if total != int64(want.Len()) {
		t.Errorf("counted %d bytes; want %d", total, want.Len())
	}
}
