package ws_test

import (
	"bytes"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/ssews/ssews/ws"
)

// TestServerFrameReadsBack: gorilla reads ServerFrame's bytes as the message they
// were made of, at every length encoding (7-bit, 16-bit, 64-bit).
func TestServerFrameReadsBack(t *testing.T) {
	t.Parallel()
	server, peer := newPair(t, ws.Options{QueueLen: 8}, pairOptions{})
	sizes := []int{0, 1, 125, 126, 65535, 65536, 200000}
	want := make([][]byte, 0, len(sizes))
	for i, n := range sizes {
		data := bytes.Repeat([]byte{byte('a' + i)}, n)
		binary := i%2 == 1
		want = append(want, data)
		// Big frames go the usual way: the frame bytes are for small messages.
		if server.TryWriteFrames([][]byte{ws.ServerFrame(binary, data)}) != 1 {
			typ := websocket.TextMessage
			if binary {
				typ = websocket.BinaryMessage
			}
			pm, err := websocket.NewPreparedMessage(typ, data)
			if err != nil {
				t.Fatal(err)
			}
			if err := server.SendPrepared(t.Context(), pm, n); err != nil {
				t.Fatal(err)
			}
		}
	}
	for i, w := range want {
		typ, data, err := peerRead(t, peer)
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		wantTyp := websocket.TextMessage
		if i%2 == 1 {
			wantTyp = websocket.BinaryMessage
		}
		if typ != wantTyp || !bytes.Equal(data, w) {
			t.Fatalf("message %d: type %d, %d bytes; want type %d, %d bytes", i, typ, len(data), wantTyp, len(w))
		}
	}
}

// TestFrameInPlace: a payload built after HeaderRoom bytes becomes the same frame
// ServerFrame makes of it, at every length encoding, and the payload is not copied.
func TestFrameInPlace(t *testing.T) {
	t.Parallel()
	for _, n := range []int{0, 1, 125, 126, 65535, 65536} {
		for _, binary := range []bool{false, true} {
			data := bytes.Repeat([]byte{'p'}, n)
			buf := append(make([]byte, ws.HeaderRoom), data...)
			frame := ws.FrameInPlace(buf, binary)
			if !bytes.Equal(frame, ws.ServerFrame(binary, data)) {
				t.Fatalf("FrameInPlace(%d bytes, binary %v) = % x...; want ServerFrame's bytes", n, binary, frame[:min(len(frame), 12)])
			}
			if &frame[len(frame)-1] != &buf[len(buf)-1] {
				t.Fatalf("FrameInPlace(%d bytes) copied the payload", n)
			}
		}
	}
}

// TestTryWriteFramesKeepsOrder: batches of frames written on the spot, the part of
// a batch the socket did not take, and messages queued behind a busy writer or a
// full socket reach the peer whole and in order, and TryWriteFrames declines once
// the peer stops reading.
func TestTryWriteFramesKeepsOrder(t *testing.T) {
	t.Parallel()
	server, peer := newPair(t, ws.Options{QueueLen: 1 << 16, QueueBytes: 64 << 20}, pairOptions{smallBuffers: true})
	payload := bytes.Repeat([]byte("x"), 1000)
	sent, direct, declined, partial := 0, 0, 0, 0
	msg := func(i int) []byte { return append([]byte(fmt.Sprintf("%06d:", i)), payload...) }
	// The peer reads nothing yet: the socket fills, and TryWriteFrames must decline.
	const per = 7
	for declined < 50 {
		msgs := make([][]byte, per)
		frames := make([][]byte, per)
		for i := range per {
			msgs[i] = msg(sent + i)
			frames[i] = ws.ServerFrame(false, msgs[i])
		}
		taken := server.TryWriteFrames(frames)
		direct += taken
		if taken > 0 && taken < per {
			partial++
		}
		for i, m := range msgs[taken:] {
			declined++
			if err := server.TrySend(ws.Message{Data: m}); err != nil {
				t.Fatalf("TrySend %d: %v", sent+taken+i, err)
			}
		}
		sent += per
	}
	if direct == 0 {
		t.Fatal("no frame written on the spot")
	}
	done := make(chan error, 1)
	go func() {
		for i := range sent {
			_ = peer.SetReadDeadline(time.Now().Add(waitLimit))
			_, data, err := peer.ReadMessage()
			if err != nil {
				done <- fmt.Errorf("message %d: %w", i, err)
				return
			}
			if !bytes.Equal(data, msg(i)) {
				done <- fmt.Errorf("message %d: got %.10q", i, data)
				return
			}
		}
		done <- nil
	}()
	if err := recvWithin(t, done, "the peer's reads"); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d messages: %d written on the spot (%d batches in part), %d queued", sent, direct, partial, declined)
}

// TestTryWriteFramesServerOnly: a client's connection declines frame bytes, which
// are unmasked and so only a server may send.
func TestTryWriteFramesServerOnly(t *testing.T) {
	t.Parallel()
	server, client := newConnPair(t, ws.Options{QueueLen: 4})
	if client.TryWriteFrames([][]byte{ws.ServerFrame(false, []byte("x"))}) != 0 {
		t.Error("a client connection wrote a server frame")
	}
	if server.TryWriteFrames([][]byte{ws.ServerFrame(false, []byte("x"))}) != 1 {
		t.Error("an idle server connection declined a frame")
	}
	if m := mustRead(t, client); string(m.Data) != "x" {
		t.Errorf("client read %q", m.Data)
	}
}

// TestSendFrameKeepsOrder: frames queued with SendFrame and TrySendFrame go out in
// order with plain and prepared messages, whole, also while the peer reads nothing
// at first and the writer batches; a full queue refuses TrySendFrame.
func TestSendFrameKeepsOrder(t *testing.T) {
	t.Parallel()
	server, peer := newPair(t, ws.Options{QueueLen: 64, QueueBytes: 1 << 30}, pairOptions{smallBuffers: true})
	msg := func(i int) []byte { return bytes.Repeat([]byte{byte('a' + i%26)}, 1000+i) }
	sent := 0
	for ; sent < 200; sent++ {
		m := msg(sent)
		var err error
		if sent%3 == 2 {
			err = server.TrySend(ws.Message{Data: m})
		} else {
			err = server.TrySendFrame(ws.ServerFrame(false, m), len(m))
		}
		if errors.Is(err, ws.ErrQueueFull) {
			break
		}
		if err != nil {
			t.Fatalf("message %d: %v", sent, err)
		}
	}
	if sent == 200 {
		t.Fatal("the queue never filled while the peer read nothing")
	}
	last := msg(sent)
	queued := make(chan error, 1)
	go func() { queued <- server.SendFrame(t.Context(), ws.ServerFrame(false, last), len(last)) }()
	for i := range sent + 1 {
		_ = peer.SetReadDeadline(time.Now().Add(waitLimit))
		_, data, err := peer.ReadMessage()
		if err != nil || !bytes.Equal(data, msg(i)) {
			t.Fatalf("message %d: %d bytes, %v", i, len(data), err)
		}
	}
	if err := recvWithin(t, queued, "SendFrame"); err != nil {
		t.Fatalf("SendFrame: %v", err)
	}
}

// TestSendFrameServerOnly: a client's connection refuses frame bytes.
func TestSendFrameServerOnly(t *testing.T) {
	t.Parallel()
	_, client := newConnPair(t, ws.Options{QueueLen: 4})
	if err := client.TrySendFrame(ws.ServerFrame(false, []byte("x")), 1); !errors.Is(err, ws.ErrNotServer) {
		t.Errorf("TrySendFrame on a client connection: %v; want ErrNotServer", err)
	}
	if err := client.SendFrame(t.Context(), ws.ServerFrame(false, []byte("x")), 1); !errors.Is(err, ws.ErrNotServer) {
		t.Errorf("SendFrame on a client connection: %v; want ErrNotServer", err)
	}
}
