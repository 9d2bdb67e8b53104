package ws

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"testing"
	"time"
	"unicode/utf8"
)

func msgItem(size int) item {
	return item{msg: Message{Data: make([]byte, size)}, size: size}
}

func TestQueueLimits(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		maxLen   int
		maxBytes int
		sizes    []int
		want     []error
	}{
		{"events", 2, 0, []int{1, 1, 1}, []error{nil, nil, ErrQueueFull}},
		{"bytes", 10, 100, []int{40, 40, 30, 20}, []error{nil, nil, ErrQueueFull, nil}},
		{"bytes exactly", 10, 100, []int{60, 40, 1}, []error{nil, nil, ErrQueueFull}},
		{"oversize into empty", 10, 100, []int{500, 1}, []error{nil, ErrQueueFull}},
		{"oversize behind another", 10, 100, []int{1, 500}, []error{nil, ErrQueueFull}},
		{"empty messages count as events", 2, 100, []int{0, 0, 0}, []error{nil, nil, ErrQueueFull}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := newQueue(tt.maxLen, tt.maxBytes)
			for i, size := range tt.sizes {
				if err := q.push(context.Background(), msgItem(size), false); err != tt.want[i] {
					t.Errorf("push #%d (%d bytes): got %v; want %v", i, size, err, tt.want[i])
				}
			}
		})
	}
}

// FIFO order survives growth of the ring and wrap-around.
func TestQueueOrder(t *testing.T) {
	t.Parallel()
	q := newQueue(10, 0)
	next, want := 0, 0
	push := func(n int) {
		for range n {
			it := item{msg: Message{Data: fmt.Appendf(nil, "%d", next)}}
			if err := q.push(context.Background(), it, false); err != nil {
				t.Fatalf("push %d: %v", next, err)
			}
			next++
		}
	}
	pop := func(n int) {
		for range n {
			it, _, ok := q.pop()
			if got := string(it.msg.Data); !ok || got != fmt.Sprint(want) {
				t.Fatalf("pop: got %q, %v; want %d", got, ok, want)
			}
			want++
		}
	}
	push(3)
	pop(2)
	push(9) // grows from 4 to 8 to 10 while wrapped
	pop(10)
	push(10)
	pop(10)
	if _, _, ok := q.pop(); ok {
		t.Fatal("pop on empty queue: ok = true")
	}
	if q.bytes != 0 || q.n != 0 {
		t.Fatalf("after draining: n=%d bytes=%d; want 0, 0", q.n, q.bytes)
	}
}

func TestQueueBlockingPush(t *testing.T) {
	t.Parallel()

	t.Run("wakes on pop", func(t *testing.T) {
		q := newQueue(1, 0)
		if err := q.push(context.Background(), msgItem(1), true); err != nil {
			t.Fatal(err)
		}
		res := make(chan error, 1)
		go func() { res <- q.push(context.Background(), msgItem(2), true) }()
		if _, _, ok := q.pop(); !ok {
			t.Fatal("pop: queue empty")
		}
		select {
		case err := <-res:
			if err != nil {
				t.Fatalf("blocked push: %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("blocked push not woken by pop")
		}
		if it, _, ok := q.pop(); !ok || it.size != 2 {
			t.Fatalf("pop: got %d, %v; want the second message", it.size, ok)
		}
	})

	// Two pops can leave a single token for two waiters: the first one in
	// must pass it on, or the second waits although there is room.
	t.Run("wakes every waiter", func(t *testing.T) {
		const waiters = 4
		q := newQueue(waiters, 0)
		for range waiters {
			_ = q.push(context.Background(), msgItem(1), false)
		}
		res := make(chan error, waiters)
		for range waiters {
			go func() { res <- q.push(context.Background(), msgItem(2), true) }()
		}
		for range waiters {
			if _, _, ok := q.pop(); !ok {
				t.Fatal("pop: queue empty")
			}
		}
		for i := range waiters {
			select {
			case err := <-res:
				if err != nil {
					t.Fatalf("blocked push: %v", err)
				}
			case <-time.After(5 * time.Second):
				t.Fatalf("%d of %d blocked pushes still waiting with room in the queue", waiters-i, waiters)
			}
		}
	})

	t.Run("ctx", func(t *testing.T) {
		q := newQueue(1, 0)
		_ = q.push(context.Background(), msgItem(1), true)
		ctx, cancel := context.WithCancel(context.Background())
		res := make(chan error, 1)
		go func() { res <- q.push(ctx, msgItem(1), true) }()
		cancel()
		if err := <-res; !errors.Is(err, context.Canceled) {
			t.Fatalf("push: got %v; want context.Canceled", err)
		}
	})

	t.Run("close keeps or drops", func(t *testing.T) {
		q := newQueue(1, 0)
		_ = q.push(context.Background(), msgItem(1), true)
		res := make(chan error, 1)
		go func() { res <- q.push(context.Background(), msgItem(1), true) }()
		q.close(false)
		if err := <-res; err != errQueueClosed {
			t.Fatalf("blocked push after close: got %v; want errQueueClosed", err)
		}
		if _, _, ok := q.pop(); !ok {
			t.Fatal("close(false) dropped the queued message")
		}
		_ = q.push(context.Background(), msgItem(1), false)
		q.close(true)
		if _, _, ok := q.pop(); ok {
			t.Fatal("close(true) kept a message")
		}
	})
}

func TestClosePayload(t *testing.T) {
	t.Parallel()
	long := ""
	for len(long) < 200 {
		long += "é" // two bytes: 123 falls in the middle of one
	}
	tests := []struct {
		name      string
		code      int
		reason    string
		wantEmpty bool
	}{
		{"normal", 1000, "bye", false},
		{"try again later", 1013, "slow", false},
		{"application", 4999, "", false},
		{"no status", 1005, "x", true},
		{"abnormal", 1006, "x", true},
		{"tls", 1015, "", true},
		{"reserved", 1004, "", true},
		{"too low", 999, "", true},
		{"too high", 5000, "", true},
		{"long reason", 1000, long, false},
		{"invalid utf-8", 1000, "a\xffb", false},
	}
	for _, tt := range tests {
		p := closePayload(tt.code, tt.reason)
		if tt.wantEmpty {
			if len(p) != 0 {
				t.Errorf("%s: payload %q; want empty", tt.name, p)
			}
			continue
		}
		if len(p) > 125 || len(p) < 2 || !utf8.Valid(p[2:]) {
			t.Errorf("%s: payload of %d bytes, valid UTF-8 %v; want 2..125 bytes of valid UTF-8", tt.name, len(p), utf8.Valid(p[2:]))
		}
		if code := int(p[0])<<8 | int(p[1]); code != tt.code {
			t.Errorf("%s: code %d; want %d", tt.name, code, tt.code)
		}
	}
}

// A push wakes the writer only when it found the queue empty; a running
// writer pops the next message without a signal.
func TestQueueSignalsOnlyIdleWriter(t *testing.T) {
	t.Parallel()
	q := newQueue(10, 0)
	tokens := func() int {
		select {
		case <-q.ready:
			return 1
		default:
			return 0
		}
	}
	_ = q.push(context.Background(), msgItem(1), false)
	if got := tokens(); got != 1 {
		t.Fatalf("push to a new queue: %d tokens; want 1", got)
	}
	if _, _, ok := q.pop(); !ok {
		t.Fatal("pop: queue empty")
	}
	_ = q.push(context.Background(), msgItem(1), false) // the writer is running
	if got := tokens(); got != 0 {
		t.Fatalf("push while the writer runs: %d tokens; want 0", got)
	}
	_, _, _ = q.pop()
	if _, _, ok := q.pop(); ok { // empty: the writer goes idle
		t.Fatal("pop: got an item from an empty queue")
	}
	_ = q.push(context.Background(), msgItem(1), false)
	if got := tokens(); got != 1 {
		t.Fatalf("push after the writer went idle: %d tokens; want 1", got)
	}
}

// pop tells the writer what follows: messages queued behind, and senders
// blocked with one more.
func TestQueueBacklog(t *testing.T) {
	t.Parallel()
	q := newQueue(2, 0)
	_ = q.push(context.Background(), msgItem(1), false)
	_ = q.push(context.Background(), msgItem(1), false)
	res := make(chan error, 1)
	go func() { res <- q.push(context.Background(), msgItem(1), true) }()
	deadline := time.Now().Add(5 * time.Second)
	for {
		q.mu.Lock()
		waiting := q.waiting
		q.mu.Unlock()
		if waiting == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the blocked sender never counted as waiting")
		}
		runtime.Gosched()
	}
	if _, bl, _ := q.pop(); bl != (backlog{queued: 1, waiting: 1}) {
		t.Fatalf("backlog %+v; want 1 queued, 1 waiting", bl)
	}
	if err := <-res; err != nil {
		t.Fatal(err)
	}
	_, _, _ = q.pop()
	if _, bl, _ := q.pop(); bl != (backlog{}) {
		t.Fatalf("backlog %+v of the last item; want none", bl)
	}
}
