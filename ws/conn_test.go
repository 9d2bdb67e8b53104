package ws_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/ssews/ssews/ws"
)

func TestRoundTrip(t *testing.T) {
	t.Parallel()
	server, client := newConnPair(t, ws.Options{QueueLen: 4})

	if got := server.Subprotocol(); got != subprotocol {
		t.Errorf("Subprotocol() = %q; want %q", got, subprotocol)
	}
	if server.RemoteAddr() == nil {
		t.Error("RemoteAddr() = nil")
	}

	tests := []struct {
		name string
		msg  ws.Message
	}{
		{"text", ws.Message{Data: []byte("hello")}},
		{"binary", ws.Message{Binary: true, Data: []byte{0, 1, 2, 0xff}}},
		{"empty text", ws.Message{Data: []byte{}}},
		{"large binary", ws.Message{Binary: true, Data: bytes.Repeat([]byte("x"), 100_000)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Server to client uses gorilla's unmasked fast path, client to
			// server the masked NextWriter path: test both directions.
			for _, dir := range []struct {
				name     string
				from, to *ws.Conn
			}{{"server to client", server, client}, {"client to server", client, server}} {
				mustSend(t, dir.from, tt.msg)
				got := mustRead(t, dir.to)
				if got.Binary != tt.msg.Binary || !bytes.Equal(got.Data, tt.msg.Data) {
					t.Errorf("%s: got binary=%v len=%d; want binary=%v len=%d",
						dir.name, got.Binary, len(got.Data), tt.msg.Binary, len(tt.msg.Data))
				}
			}
		})
	}
}

func TestConcurrentSend(t *testing.T) {
	t.Parallel()
	const senders, each = 8, 100
	server, peer := newPair(t, ws.Options{QueueLen: 4, QueueBytes: 64}, pairOptions{})

	var wg sync.WaitGroup
	errs := make(chan error, senders)
	for g := range senders {
		wg.Go(func() {
			for i := range each {
				if err := server.Send(context.Background(), ws.Message{Data: fmt.Appendf(nil, "%d:%d", g, i)}); err != nil {
					errs <- err
					return
				}
			}
		})
	}

	next := make([]int, senders) // each sender's messages arrive in its order
	for range senders * each {
		_, data, err := peerRead(t, peer)
		if err != nil {
			t.Fatalf("peer read: %v", err)
		}
		var g, i int
		if _, err := fmt.Sscanf(string(data), "%d:%d", &g, &i); err != nil {
			t.Fatalf("bad message %q: %v", data, err)
		}
		if i != next[g] {
			t.Fatalf("sender %d: got message %d; want %d", g, i, next[g])
		}
		next[g]++
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("Send: %v", err)
	}
}

func TestReadContext(t *testing.T) {
	t.Parallel()
	server, client := newConnPair(t, ws.Options{})

	t.Run("already done", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if _, err := server.Read(ctx); !errors.Is(err, context.Canceled) {
			t.Fatalf("Read: got %v; want context.Canceled", err)
		}
	})

	t.Run("cancelled while waiting", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		res := make(chan error, 1)
		go func() {
			_, err := server.Read(ctx)
			res <- err
		}()
		cancel()
		select {
		case err := <-res:
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("Read: got %v; want context.Canceled", err)
			}
		case <-time.After(waitLimit):
			t.Fatal("Read did not return after cancel")
		}
	})

	t.Run("connection still usable", func(t *testing.T) {
		mustSend(t, client, ws.Message{Data: []byte("after")})
		if got := mustRead(t, server); string(got.Data) != "after" {
			t.Fatalf("Read: got %q; want %q", got.Data, "after")
		}
		mustSend(t, server, ws.Message{Data: []byte("back")})
		if got := mustRead(t, client); string(got.Data) != "back" {
			t.Fatalf("Read: got %q; want %q", got.Data, "back")
		}
	})
}

func TestPeerClose(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		code   int
		text   string
		normal bool
	}{
		{"normal", websocket.CloseNormalClosure, "bye", true},
		{"going away", websocket.CloseGoingAway, "", true},
		{"application", 4000, "custom", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			server, peer := newPair(t, ws.Options{}, pairOptions{})
			msg := websocket.FormatCloseMessage(tt.code, tt.text)
			if err := peer.WriteControl(websocket.CloseMessage, msg, time.Now().Add(waitLimit)); err != nil {
				t.Fatal(err)
			}

			err := readErr(t, server)
			code, text, ok := ws.CloseCode(err)
			if !ok || code != tt.code || text != tt.text {
				t.Fatalf("CloseCode(%v) = %d, %q, %v; want %d, %q, true", err, code, text, ok, tt.code, tt.text)
			}
			if got := ws.IsNormalClose(err); got != tt.normal {
				t.Errorf("IsNormalClose(%v) = %v; want %v", err, got, tt.normal)
			}

			waitDone(t, server)
			if code, _, _ := ws.CloseCode(server.Err()); code != tt.code {
				t.Errorf("Err() = %v; want close code %d", server.Err(), tt.code)
			}
			err = server.Send(context.Background(), ws.Message{Data: []byte("late")})
			if !errors.Is(err, ws.ErrClosed) {
				t.Errorf("Send after peer close: got %v; want ErrClosed", err)
			}
			if code, _, _ := ws.CloseCode(err); code != tt.code {
				t.Errorf("Send after peer close: got %v; want it to carry close code %d", err, tt.code)
			}

			// gorilla's close handler answered with the same code.
			_, _, err = peerRead(t, peer)
			if code, _, _ := ws.CloseCode(err); code != tt.code {
				t.Errorf("peer: got %v; want the close echoed with %d", err, tt.code)
			}
		})
	}
}

func TestIsNormalClose(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"closed by us", ws.ErrClosed, true},
		{"1000", &websocket.CloseError{Code: websocket.CloseNormalClosure}, true},
		{"1001", &websocket.CloseError{Code: websocket.CloseGoingAway}, true},
		{"1005", &websocket.CloseError{Code: websocket.CloseNoStatusReceived}, true},
		{"1006", &websocket.CloseError{Code: websocket.CloseAbnormalClosure}, false},
		{"1011", &websocket.CloseError{Code: websocket.CloseInternalServerErr}, false},
		{"wrapped 1000", fmt.Errorf("upstream: %w", &websocket.CloseError{Code: 1000}), true},
		{"other", errors.New("boom"), false},
	}
	for _, tt := range tests {
		if got := ws.IsNormalClose(tt.err); got != tt.want {
			t.Errorf("%s: IsNormalClose(%v) = %v; want %v", tt.name, tt.err, got, tt.want)
		}
	}
	if _, _, ok := ws.CloseCode(errors.New("boom")); ok {
		t.Error("CloseCode(non-close error): ok = true; want false")
	}
}
