package bridge

import "github.com/ssews/ssews/config"

// batch is the events a shared stream read from its upstream since it last waited
// on the network, on their way to every client together: a client that keeps up
// takes a whole batch with one write, and the batch's wire forms are gathered once
// for every client of that form, not once per client. It is only used under its
// hub's lock.
type batch struct {
	entries []*Entry
	// sseWire and frameWires, gathered on first use.
	sseWire    [][]byte
	sseBytes   int
	frameWires map[config.Format][][]byte
}

func newBatch(entries []*Entry) *batch { return &batch{entries: entries} }

// sse is the batch's bytes for EventSource clients, one slice per event, and their
// total size.
func (b *batch) sse() ([][]byte, int) {
	if b.sseWire == nil {
		b.sseWire = make([][]byte, len(b.entries))
		size := 0
		for _, e := range b.entries {
			size += e.sseSize()
		}
		buf := make([]byte, 0, size)
		for i, e := range b.entries {
			b.sseWire[i] = e.sseInto(&buf)
			b.sseBytes += len(b.sseWire[i])
		}
	}
	return b.sseWire, b.sseBytes
}

// frames is the batch's WebSocket frame bytes for clients of format, one frame per
// event.
func (b *batch) frames(format config.Format) [][]byte {
	if w, ok := b.frameWires[format]; ok {
		return w
	}
	w := make([][]byte, len(b.entries))
	for i, e := range b.entries {
		w[i], _ = e.wire(format)
	}
	if b.frameWires == nil {
		b.frameWires = make(map[config.Format][][]byte, 1)
	}
	b.frameWires[format] = w
	return w
}

// maxBatchEvents and maxBatchBytes bound a batch: a firehose upstream that never
// makes the stream wait is still delivered in bounded steps, and no batch fills a
// client's queue by itself.
const (
	maxBatchEvents = 64
	maxBatchBytes  = 256 << 10
)

// batchLimit is how many events a stream batches for clients that queue
// clientBuffer events: a quarter of that, so a batch a client's socket does not
// take at once leaves it room.
func batchLimit(clientBuffer int) int {
	return max(1, min(maxBatchEvents, clientBuffer/4))
}
