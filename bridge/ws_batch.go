package bridge

import (
	"context"

	"github.com/ssews/ssews/ws"
)

// wsBatch collects a per-client session's messages for its WebSocket client while
// the upstream has more to read, and hands them over when the upstream is about to
// wait (or the batch is full): written on the spot with one system call while the
// client's writer is idle and its socket takes them, so a message costs no hand-over
// to the writer goroutine; what the socket does not take goes through the client's
// queue, waiting for room, which is the backpressure that slows the upstream. It
// belongs to the goroutine that reads the upstream.
type wsBatch struct {
	c      *ws.Conn
	cm     *clientMetrics
	frames [][]byte
	sizes  []int
	bytes  int
}

func newWSBatch(c *ws.Conn, cm *clientMetrics) *wsBatch { return &wsBatch{c: c, cm: cm} }

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
	var err error
	sent, sentBytes := 0, 0
	for i, frame := range b.frames {
		if i >= taken {
			if err = b.c.SendFrame(ctx, frame, b.sizes[i]); err != nil {
				break
			}
		}
		sent++
		sentBytes += b.sizes[i]
	}
	b.cm.events.Add(float64(sent))
	b.cm.bytes.Add(float64(sentBytes))
	clear(b.frames)
	b.frames, b.sizes, b.bytes = b.frames[:0], b.sizes[:0], 0
	return err
}
