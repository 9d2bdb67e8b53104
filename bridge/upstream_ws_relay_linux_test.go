//go:build linux

package bridge

import (
	"fmt"
	"slices"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/ssews/ssews/config"
	"github.com/ssews/ssews/sse"
	"github.com/ssews/ssews/ws"
)

// frame is an unmasked frame from a server: fin, opcode, payload.
func frame(fin bool, op byte, payload string) []byte {
	b0 := op
	if fin {
		b0 |= 0x80
	}
	return append([]byte{b0, byte(len(payload))}, payload...)
}

// TestWSRelayReaderMessages: the relayed ws:// reader gives the same events whatever
// the reads its bytes come in: whole messages (read where they are), fragmented
// ones with a ping between the fragments (answered), binary and empty ones, cut at
// every offset and fed one byte at a time.
func TestWSRelayReaderMessages(t *testing.T) {
	t.Parallel()
	var stream []byte
	stream = append(stream, frame(true, 1, "whole")...)
	stream = append(stream, frame(false, 1, "frag-")...)
	stream = append(stream, frame(true, 9, "ping?")...)
	stream = append(stream, frame(false, 0, "ment-")...)
	stream = append(stream, frame(true, 0, "ed")...)
	stream = append(stream, frame(true, 2, "\x01\x02")...)
	stream = append(stream, frame(true, 1, "")...)
	stream = append(stream, frame(true, 1, "last")...)
	want := []string{"message:whole", "message:frag-ment-ed", "binary:AQI=", "message:", "message:last"}

	feeds := map[string][][]byte{"whole": {stream}}
	for i := 1; i < len(stream); i++ {
		feeds[fmt.Sprintf("cut at %d", i)] = [][]byte{stream[:i], stream[i:]}
	}
	var bytewise [][]byte
	for i := range stream {
		bytewise = append(bytewise, stream[i:i+1])
	}
	feeds["one byte at a time"] = bytewise

	for how, reads := range feeds {
		fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_NONBLOCK, 0)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		u := &wsUpstream{reader: *NewMessageReader(config.FormatJSON, "binary", "")}
		rr := &wsRelayReader{u: u, sc: *ws.NewFrameScanner(false, 1<<20), fd: fds[0],
			to: receiveFunc(func(ev sse.Event) bool { got = append(got, ev.Type+":"+ev.Data); return true })}
		for _, b := range reads {
			// The loop's read buffer is reused: the reader must not keep b.
			if !rr.handle(slices.Clone(b)) {
				t.Fatalf("%s: the stream ended: %v", how, rr.err)
			}
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s: events %q; want %q", how, got, want)
		}
		// The pong, masked as a client's frames are: FIN pong, mask bit and 5, key.
		pong := make([]byte, 16)
		n, _ := unix.Read(fds[1], pong)
		if n != 11 || pong[0] != 0x8a || pong[1] != 0x80|5 {
			t.Fatalf("%s: answered the ping with % x", how, pong[:n])
		}
		for i := range 5 {
			pong[6+i] ^= pong[2+i%4]
		}
		if string(pong[6:11]) != "ping?" {
			t.Errorf("%s: pong payload %q; want the ping's", how, pong[6:11])
		}
		unix.Close(fds[0])
		unix.Close(fds[1])
	}
}

// receiveFunc makes a function an eventReceiver.
type receiveFunc func(sse.Event) bool

func (f receiveFunc) receive(ev sse.Event) bool { return f(ev) }
