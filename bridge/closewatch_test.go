package bridge

import (
	"net"
	"sync"
	"testing"
	"time"
)

// watchPair returns a watcher and both ends of a loopback TCP connection: server is
// the end that gets watched, client the peer that hangs up.
func watchPair(t *testing.T) (w *closeWatcher, wg *sync.WaitGroup, server, client net.Conn) {
	t.Helper()
	wg = &sync.WaitGroup{}
	w, err := newCloseWatcher(func(fn func()) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			fn()
		}()
	})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	server, err = ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		client.Close()
		server.Close()
		w.close()
		wg.Wait()
	})
	return w, wg, server, client
}

func signal(ch chan struct{}) func() { return func() { close(ch) } }

func TestCloseWatcherHearsHangUp(t *testing.T) {
	w, _, server, client := watchPair(t)
	gone := make(chan struct{})
	w.watch(server, signal(gone))
	client.Close()
	select {
	case <-gone:
	case <-time.After(5 * time.Second):
		t.Fatal("hang-up not reported")
	}
}

// TestCloseWatcherIgnoresBytes: a peer that sends bytes is still there; they are
// read and dropped, and its hang-up afterwards is still heard.
func TestCloseWatcherIgnoresBytes(t *testing.T) {
	w, _, server, client := watchPair(t)
	gone := make(chan struct{})
	w.watch(server, signal(gone))
	for range 3 {
		if _, err := client.Write([]byte("GET / HTTP/1.1\r\n\r\n")); err != nil {
			t.Fatal(err)
		}
	}
	// The watcher has read everything once the peer's bytes stop being readable
	// here: a deadline-bound read on the watched end must find nothing.
	deadline := time.Now().Add(5 * time.Second)
	for {
		_ = server.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
		var b [1]byte
		n, _ := server.Read(b[:])
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("bytes still unread")
		}
	}
	select {
	case <-gone:
		t.Fatal("bytes taken for a hang-up")
	default:
	}
	client.Close()
	select {
	case <-gone:
	case <-time.After(5 * time.Second):
		t.Fatal("hang-up after bytes not reported")
	}
}

// TestCloseWatcherStop: once stopped, a connection's hang-up is not reported, and
// the other connections are still watched.
func TestCloseWatcherStop(t *testing.T) {
	w, _, server, client := watchPair(t)
	stopped := make(chan struct{})
	stop := w.watch(server, signal(stopped))
	stop()
	stop() // twice is harmless

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	other, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	otherServer, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer otherServer.Close()
	gone := make(chan struct{})
	w.watch(otherServer, signal(gone))

	client.Close()
	other.Close()
	select {
	case <-gone:
	case <-time.After(5 * time.Second):
		t.Fatal("hang-up of the other connection not reported")
	}
	select {
	case <-stopped:
		t.Fatal("hang-up reported after stop")
	default:
	}
}

// TestCloseWatcherAfterClose: a connection watched after close gets a reading
// goroutine, which still hears its hang-up.
func TestCloseWatcherAfterClose(t *testing.T) {
	w, _, server, client := watchPair(t)
	w.close()
	gone := make(chan struct{})
	w.watch(server, signal(gone))
	client.Close()
	select {
	case <-gone:
	case <-time.After(5 * time.Second):
		t.Fatal("hang-up not reported after close")
	}
}

// TestCloseWatcherWaitReadable: a reader's wait ends at the peer's first bytes,
// which are left for the reader, and at its hang-up; a stopped wait reports
// nothing; after close no wait is taken over.
func TestCloseWatcherWaitReadable(t *testing.T) {
	w, _, server, client := watchPair(t)
	ready := make(chan struct{})
	if _, ok := w.waitReadable(server, signal(ready)); !ok {
		t.Fatal("wait not taken over")
	}
	if _, err := client.Write([]byte("x")); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ready:
	case <-time.After(5 * time.Second):
		t.Fatal("readable socket not reported")
	}
	_ = server.SetReadDeadline(time.Now().Add(5 * time.Second))
	var b [1]byte
	if n, err := server.Read(b[:]); n != 1 || b[0] != 'x' {
		t.Fatalf("reader found %d bytes (%v); want the peer's byte, left unread", n, err)
	}

	stopped := make(chan struct{})
	stop, ok := w.waitReadable(server, signal(stopped))
	if !ok {
		t.Fatal("second wait not taken over")
	}
	stop()
	again := make(chan struct{})
	if _, ok := w.waitReadable(server, signal(again)); !ok {
		t.Fatal("third wait not taken over")
	}
	client.Close()
	select {
	case <-again:
	case <-time.After(5 * time.Second):
		t.Fatal("hang-up not reported to a waiting reader")
	}
	select {
	case <-stopped:
		t.Fatal("stopped wait reported")
	default:
	}
	w.close()
	if _, ok := w.waitReadable(server, func() {}); ok {
		t.Error("wait taken over after close")
	}
}
