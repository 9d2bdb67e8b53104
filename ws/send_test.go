package ws_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/ssews/ssews/ws"
)

// The peer never reads in these tests, so the writer blocks on a full
// socket; WriteTimeout is long enough not to close the connection first.
const stuckWriteTimeout = 30 * time.Second

func TestSendBlocksWhileQueueFull(t *testing.T) {
	t.Parallel()

	t.Run("until ctx is done", func(t *testing.T) {
		t.Parallel()
		server, _ := newPair(t, ws.Options{WriteTimeout: stuckWriteTimeout}, pairOptions{smallBuffers: true})
		fillUntilStuck(t, server, 32<<10)

		ctx, cancel := context.WithCancel(context.Background())
		res := make(chan error, 1)
		go func() { res <- server.Send(ctx, ws.Message{Data: []byte("blocked")}) }()
		select {
		case err := <-res:
			t.Fatalf("Send returned %v with the queue full; want it to block", err)
		default:
		}
		cancel()
		select {
		case err := <-res:
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("Send: got %v; want context.Canceled", err)
			}
		case <-time.After(waitLimit):
			t.Fatal("Send did not return after cancel")
		}
	})

	t.Run("until the connection closes", func(t *testing.T) {
		t.Parallel()
		server, _ := newPair(t, ws.Options{WriteTimeout: stuckWriteTimeout}, pairOptions{smallBuffers: true})
		fillUntilStuck(t, server, 32<<10)

		res := make(chan error, 1)
		go func() { res <- server.Send(context.Background(), ws.Message{Data: []byte("blocked")}) }()
		_ = server.CloseNow(websocket.CloseTryAgainLater, "slow")
		select {
		case err := <-res:
			if !errors.Is(err, ws.ErrClosed) {
				t.Fatalf("Send: got %v; want ErrClosed", err)
			}
		case <-time.After(waitLimit):
			t.Fatal("Send did not return after CloseNow")
		}
	})
}

func TestTrySendQueueFull(t *testing.T) {
	t.Parallel()
	small := ws.Message{Data: []byte("x")}
	tests := []struct {
		name string
		opts ws.Options
	}{
		// Full by events: two queued messages.
		{"events", ws.Options{QueueLen: 2, WriteTimeout: stuckWriteTimeout}},
		// Full by bytes: one queued 32 KiB message (accepted into an empty
		// queue although it exceeds QueueBytes) leaves no room for a byte.
		{"bytes", ws.Options{QueueLen: 100, QueueBytes: 1 << 10, WriteTimeout: stuckWriteTimeout}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			server, _ := newPair(t, tt.opts, pairOptions{smallBuffers: true})
			fillUntilStuck(t, server, 32<<10)
			if err := server.TrySend(small); !errors.Is(err, ws.ErrQueueFull) {
				t.Errorf("TrySend: got %v; want ErrQueueFull", err)
			}
			pm, err := websocket.NewPreparedMessage(websocket.TextMessage, small.Data)
			if err != nil {
				t.Fatal(err)
			}
			if err := server.TrySendPrepared(pm, len(small.Data)); !errors.Is(err, ws.ErrQueueFull) {
				t.Errorf("TrySendPrepared: got %v; want ErrQueueFull", err)
			}
		})
	}
}

func TestSendPrepared(t *testing.T) {
	t.Parallel()
	pm, err := websocket.NewPreparedMessage(websocket.TextMessage, []byte("to everyone"))
	if err != nil {
		t.Fatal(err)
	}

	// One PreparedMessage, several connections: the fan-out case.
	for i := range 3 {
		server, peer := newPair(t, ws.Options{QueueLen: 2}, pairOptions{})
		ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
		err := server.SendPrepared(ctx, pm, len("to everyone"))
		cancel()
		if err != nil {
			t.Fatalf("conn %d: SendPrepared: %v", i, err)
		}
		if err := server.TrySendPrepared(pm, len("to everyone")); err != nil {
			t.Fatalf("conn %d: TrySendPrepared: %v", i, err)
		}
		for range 2 {
			typ, data, err := peerRead(t, peer)
			if err != nil || typ != websocket.TextMessage || string(data) != "to everyone" {
				t.Fatalf("conn %d: peer got %d %q %v; want text %q", i, typ, data, err, "to everyone")
			}
		}
	}
}

func TestSendAfterClose(t *testing.T) {
	t.Parallel()
	server, _ := newPair(t, ws.Options{}, pairOptions{})
	_ = server.CloseNow(websocket.CloseGoingAway, "")
	if err := server.Send(context.Background(), ws.Message{}); err != ws.ErrClosed {
		t.Errorf("Send: got %v; want ErrClosed", err)
	}
	if err := server.TrySend(ws.Message{}); err != ws.ErrClosed {
		t.Errorf("TrySend: got %v; want ErrClosed", err)
	}
	if _, err := server.Read(context.Background()); err != ws.ErrClosed {
		t.Errorf("Read: got %v; want ErrClosed", err)
	}
	if err := server.Err(); err != nil {
		t.Errorf("Err() = %v; want nil after our own close", err)
	}
}

// A peer that stops reading fills the socket; the write that cannot finish
// within WriteTimeout closes the connection, and blocked senders learn why.
func TestWriteTimeout(t *testing.T) {
	t.Parallel()
	server, _ := newPair(t, ws.Options{WriteTimeout: 200 * time.Millisecond}, pairOptions{smallBuffers: true})
	msg := ws.Message{Binary: true, Data: make([]byte, 32<<10)}

	start := time.Now()
	var err error
	for err == nil && time.Since(start) < waitLimit {
		err = server.Send(context.Background(), msg)
	}
	if !errors.Is(err, ws.ErrClosed) || !isTimeout(err) {
		t.Fatalf("Send: got %v; want ErrClosed wrapping a timeout", err)
	}
	waitDone(t, server)
	if !isTimeout(server.Err()) {
		t.Errorf("Err() = %v; want a timeout", server.Err())
	}
}
