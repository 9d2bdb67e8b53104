package bridge

import (
	"bytes"
	"context"
	"errors"
	"sync"

	"github.com/ssews/ssews/sse"
	"github.com/ssews/ssews/ws"
)

// wsBatch collects a per-client session's messages for its WebSocket client while
// the upstream has more to read, and hands them over when the upstream is about to
// wait (or the batch is full): written on the spot with one system call while the
// client's writer is idle and its socket takes them, so a message costs no hand-over
// to the writer goroutine; what the socket does not take goes through the client's
// queue, waiting for room, which is the backpressure that slows the upstream. It
// belongs to the goroutine that reads the upstream.
//
// On the relay loop (startRelay) it never waits: what neither the socket nor the
// queue takes stays in the batch (behind), and the stream leaves the loop to wait.
type wsBatch struct {
	c  *ws.Conn
	cm *clientMetrics
	// lent, while the batch holds frames built by encode, is the buffer they are
	// built in (frameBuffers): what the connection takes at once is written from
	// it, so a message costs no allocation while the client keeps up.
	lent   *[]byte
	frames [][]byte
	sizes  []int
	bytes  int
	// relaying: on the relay loop.
	relaying bool
	// sent and sentBytes count the messages handed over since the last commit.
	sent, sentBytes int
}

func newWSBatch(c *ws.Conn, cm *clientMetrics) *wsBatch { return &wsBatch{c: c, cm: cm} }

// frameBuffers lend batches the buffer their frames are built in; one that a batch
// grew past this is not kept.
var frameBuffers = sync.Pool{New: func() any { b := make([]byte, 0, frameBufferSize); return &b }}

const frameBufferSize = 64 << 10

// encode collects ev's frame, built by fe in the lent buffer, and hands the batch
// over once it reaches its bounds.
func (b *wsBatch) encode(ctx context.Context, fe *frameEncoder, ev *sse.Event) error {
	if b.lent == nil {
		b.lent = frameBuffers.Get().(*[]byte)
	}
	var frame []byte
	var size int
	*b.lent, frame, size = fe.appendFrame(*b.lent, ev)
	return b.add(ctx, frame, size)
}

// add collects a frame of ws.ServerFrame with size payload bytes, and hands the
// batch over once it reaches its bounds.
func (b *wsBatch) add(ctx context.Context, frame []byte, size int) error {
	b.frames = append(b.frames, frame)
	b.sizes = append(b.sizes, size)
	b.bytes += size
	if len(b.frames) >= maxBatchEvents || b.bytes >= maxBatchBytes {
		return b.flush(ctx)
	}
	return nil
}

// flush hands over what was collected; the error is the client's.
func (b *wsBatch) flush(ctx context.Context) error {
	if len(b.frames) == 0 {
		return nil
	}
	taken := b.c.TryWriteFrames(b.frames)
	if b.lent != nil {
		// The connection keeps what it did not take (its queue, or the batch
		// while behind): copies of its own, since the lent buffer goes back.
		for i := taken; i < len(b.frames); i++ {
			b.frames[i] = bytes.Clone(b.frames[i])
		}
		if cap(*b.lent) <= frameBufferSize {
			*b.lent = (*b.lent)[:0]
			frameBuffers.Put(b.lent)
		}
		b.lent = nil
	}
	var err error
	n := 0
	for i, frame := range b.frames {
		if i >= taken {
			if b.relaying {
				err = b.c.TrySendFrame(frame, b.sizes[i])
				if errors.Is(err, ws.ErrQueueFull) {
					err = nil
					break // behind: the rest waits in the batch
				}
			} else {
				err = b.c.SendFrame(ctx, frame, b.sizes[i])
			}
			if err != nil {
				break
			}
		}
		n++
		b.sent++
		b.sentBytes += b.sizes[i]
	}
	if err != nil {
		n = len(b.frames) // the client failed: nothing more goes to it
	}
	clear(b.frames[:n])
	rest := copy(b.frames, b.frames[n:])
	copy(b.sizes, b.sizes[n:])
	b.frames, b.sizes = b.frames[:rest], b.sizes[:rest]
	b.bytes = 0
	for _, size := range b.sizes {
		b.bytes += size
	}
	if !b.relaying {
		b.commit(addNow{})
	}
	return err
}

// commit adds the messages handed over since the last commit to the metrics.
func (b *wsBatch) commit(add countAdder) {
	if b.sent > 0 {
		add.count(&b.cm.events, float64(b.sent))
		add.count(&b.cm.bytes, float64(b.sentBytes))
		b.sent, b.sentBytes = 0, 0
	}
}

// startRelay, behind and stopRelay make a wsBatch a relayOut: frames that the
// socket and the queue do not take stay behind, for the stream to leave the relay
// loop and send them waiting.
func (b *wsBatch) startRelay(func(), *relayLoop) bool { b.relaying = true; return true }
func (b *wsBatch) behind() bool                       { return len(b.frames) > 0 }
func (b *wsBatch) stopRelay()                         { b.relaying = false }
func (b *wsBatch) socket() int                        { return -1 }
