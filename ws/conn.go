package ws

import (
	"context"
	"math"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

// Message is one WebSocket data message.
type Message struct {
	Binary bool // binary frame; text otherwise
	Data   []byte
}

// Options tune a Conn. The zero value is usable: no read limit, no pings, a
// 10s write timeout and a queue of one message (per-client backpressure).
type Options struct {
	// ReadLimit is the largest inbound message in bytes; 0 means no limit.
	// Over it gorilla closes the connection with 1009 and Read returns
	// websocket.ErrReadLimit.
	ReadLimit int64

	// PingInterval is how often the writer pings the peer; 0 disables pings
	// and the read deadline. Otherwise the peer must show life (any frame,
	// or a pong; on a connection from Upgrade or BatchingDialer, any bytes)
	// within 2*PingInterval or Read fails with a timeout (a net.Error whose
	// Timeout method reports true). On a connection from Upgrade or
	// BatchingDialer the deadline moves once per quarter of its span, so a
	// silent peer fails after 1.5 to 2 times PingInterval.
	PingInterval time.Duration

	// WriteTimeout bounds each write (data, ping, close frame); 0 means 10s.
	// A write that misses it closes the connection. On a connection from
	// Upgrade or BatchingDialer a write without a deadline of gorilla's gets
	// 3/4 of WriteTimeout to all of it (see keepDeadline).
	WriteTimeout time.Duration

	// QueueLen is how many outbound messages may wait for the writer; <= 0
	// means 1, so Send blocks until the writer has taken the previous
	// message and TCP carries the backpressure.
	QueueLen int

	// QueueBytes is how many outbound payload bytes may wait; 0 means no
	// byte limit. A single message larger than this still enters an empty
	// queue.
	QueueBytes int

	// OnMessage, when set, is handed every data message in order on the
	// connection's reader goroutine instead of Read: a session that only
	// relays messages then needs no goroutine of its own to take them. It may
	// block, and the peer is not read meanwhile, which is the backpressure.
	// Read must not be used with it.
	OnMessage func(Message)

	// OnWait, when set, is called on the reader goroutine each time the
	// connection is about to read from the network: every message read so far
	// has been handed to OnMessage. A relay hands on what it collected then,
	// so a fast peer's messages travel in batches and a slow peer's at once.
	// On a connection from neither Upgrade nor BatchingDialer it is called
	// after every message.
	OnWait func()

	// WaitReadable, when set, lets an idle reader go. On a connection from
	// Upgrade over plain TCP, once the peer has nothing more to read, the
	// reader goroutine hands the wait to WaitReadable and ends; WaitReadable
	// calls ready, on a goroutine of its own, once the socket is readable or
	// hung up, and that goroutine reads on. stop ends a wait that the
	// connection's close makes moot; ok false means the wait cannot be handed
	// over, and the reader waits itself. While no reader runs, the ping timer
	// checks that the peer showed life within 2*PingInterval. An idle
	// connection then holds no goroutine at all.
	WaitReadable func(conn net.Conn, ready func()) (stop func(), ok bool)

	// OnClose, when set, runs on a goroutine of its own once the connection
	// is closed, for any reason: cleanup that needs neither a goroutine
	// waiting on Done nor a Context (which costs memory while the connection
	// lives) to be called.
	OnClose func()
}

const (
	defaultWriteTimeout = 10 * time.Second

	// inboundLen and inboundBytes bound the messages read ahead of Read,
	// a single larger message excepted: about what one read from a socket
	// returns, so a slow caller of Read still stops the peer quickly.
	inboundLen   = 64
	inboundBytes = 64 << 10

	// closeWait is how long Close waits for the peer's close frame after
	// sending its own, as centrifuge's closeFrameWait does: long enough for
	// a live peer to answer, short enough not to hold shutdown.
	closeWait = time.Second

	// closeNowTimeout caps the close frame of CloseNow. The frame is best
	// effort; a peer that cannot take 125 bytes in this time is not reading.
	closeNowTimeout = time.Second
)

func (o Options) normalize() Options {
	if o.ReadLimit < 0 {
		o.ReadLimit = 0
	}
	if o.PingInterval < 0 {
		o.PingInterval = 0
	}
	if o.WriteTimeout <= 0 {
		o.WriteTimeout = defaultWriteTimeout
	}
	if o.QueueLen <= 0 {
		o.QueueLen = 1
	}
	if o.QueueBytes < 0 {
		o.QueueBytes = 0
	}
	return o
}

// connState only moves forward: open → closing → closed, or open → closed.
type connState int

const (
	stateOpen    connState = iota
	stateClosing           // Close or CloseNow has begun
	stateClosed            // network connection closed, done closed
)

// Conn is a WebSocket connection that is safe for concurrent use: any number
// of goroutines may Send, TrySend, Close and CloseNow; one goroutine at a
// time may Read.
type Conn struct {
	ws   *websocket.Conn
	opts Options
	q    *queue

	// ctx ends with the connection (Context); made on first use, under mu.
	ctx       context.Context
	cancelCtx context.CancelFunc

	// out is the batching wrapper under ws when the connection came from
	// Upgrade or BatchingDialer; nil otherwise, and every message is
	// written on its own.
	out *batchConn

	// in carries messages from the reader goroutine to Read. It is bounded
	// (inboundLen, inboundBytes), so TCP still carries inbound
	// backpressure, and holds a few messages so that a fast stream is
	// handed over without a goroutine switch per message. nil with
	// OnMessage, which takes the messages instead.
	in *queue

	closing chan struct{} // closed when Close begins: drain, then send the close frame
	abort   chan struct{} // closed when CloseNow begins: stop writing at once
	done    chan struct{} // closed once the network connection is closed

	writerDone chan struct{}
	readerDone chan struct{} // closed once no reader runs again (readerExit)

	// rmu guards the reader's life: running, waiting through WaitReadable
	// (stopWait set), or done.
	rmu          sync.Mutex
	rstate       readerState
	stopWait     func()
	waitingSince time.Time

	// local is set when Close or CloseNow begins: Read returns ErrClosed
	// from then on.
	local atomic.Bool

	// interrupt tells the writer to stop taking messages between writes.
	// It mirrors closing/abort/done so the hot path is an atomic load, not
	// a select.
	interrupt atomic.Bool

	// Set by the writer before writerDone closes; read by Close after it.
	writerErr error

	// pinger makes a ping due (pingDue) every PingInterval and wakes the
	// writer for it; nil without pings.
	pinger  *time.Timer
	pingDue atomic.Bool
	// Set by the reader before readerDone closes; read by Read after it.
	readErr error

	mu            sync.Mutex
	state         connState
	aborting      bool      // CloseNow has begun
	err           error     // why the connection closed; nil when we closed it
	closePayload  []byte    // close frame for the writer's graceful close
	closeDeadline time.Time // the writer's budget for draining and the close frame
}

// New takes ownership of c and starts the goroutine that owns its reads;
// its writes are owned by a writer goroutine that runs while there is
// something to write (writeRun). The caller must not use c afterwards;
// everything goes through the returned Conn. Its goroutines exit when the
// Conn closes (Close, CloseNow, a write error or a read error); a Conn that
// is neither closed nor failed keeps its reader, so its owner must close it.
func New(c *websocket.Conn, opts Options) *Conn {
	opts = opts.normalize()
	wc := &Conn{
		ws:         c,
		opts:       opts,
		out:        findBatchConn(c.NetConn()),
		closing:    make(chan struct{}),
		abort:      make(chan struct{}),
		done:       make(chan struct{}),
		writerDone: make(chan struct{}),
		readerDone: make(chan struct{}),
	}
	wc.q = newWriterQueue(opts.QueueLen, opts.QueueBytes, func() { go wc.writeRun() })
	if opts.OnMessage == nil {
		wc.in = newQueue(inboundLen, inboundBytes)
	}
	if opts.ReadLimit > 0 {
		c.SetReadLimit(opts.ReadLimit)
	}
	if wc.out != nil {
		wc.out.onRead = opts.OnWait
		// Each network read and write gets its own deadline: any bytes
		// from the peer show life, and nothing reads the clock per message.
		wc.out.setTimeouts(2*opts.PingInterval, opts.WriteTimeout)
		wc.setCloseHandler()
	} else if opts.PingInterval > 0 {
		wc.setKeepaliveHandlers()
	}
	if opts.PingInterval > 0 {
		// Stored before it is started, so the writer a ping starts sees it.
		wc.pinger = time.AfterFunc(time.Duration(math.MaxInt64), wc.pingDueNow)
		wc.pinger.Reset(opts.PingInterval)
	}
	go wc.readLoop()
	return wc
}

// readerState is where the reader is in its life.
type readerState uint8

const (
	readerRunning readerState = iota
	readerWaiting             // its wait was handed to WaitReadable
	readerDone
)

// setCloseHandler makes gorilla's answer to the peer's close frame, written
// from the reader goroutine, leave at once even while the writer holds a
// batch open: the connection closes right after it.
func (c *Conn) setCloseHandler() {
	answer := c.ws.CloseHandler()
	c.ws.SetCloseHandler(func(code int, text string) error {
		c.out.bypass()
		return answer(code, text)
	})
}

// Done is closed once the connection is closed, for any reason.
func (c *Conn) Done() <-chan struct{} { return c.done }

// Err tells why the connection closed once Done is closed: nil when we
// closed it (Close, CloseNow), otherwise the read or write error that ended
// it, such as the peer's *websocket.CloseError or a timeout. Before Done is
// closed it returns nil.
func (c *Conn) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// Subprotocol returns the subprotocol negotiated in the handshake.
func (c *Conn) Subprotocol() string { return c.ws.Subprotocol() }

// RemoteAddr returns the peer's network address.
func (c *Conn) RemoteAddr() net.Addr { return c.ws.RemoteAddr() }

// fail closes the connection because of err, unless a local close is
// already under way (then the error is a consequence of that close, not a
// reason to report). It reports whether it closed the connection.
func (c *Conn) fail(err error) bool { return c.closeWith(err, false) }

// finish closes the connection with err as its reason, from any state but
// closed. It reports whether it closed the connection.
func (c *Conn) finish(err error) bool { return c.closeWith(err, true) }

// closeWith moves to stateClosed with err as the reason, from stateOpen, or
// from stateClosing too when fromClosing is set, and then releases the
// connection. It reports whether it did.
func (c *Conn) closeWith(err error, fromClosing bool) bool {
	c.mu.Lock()
	if c.state == stateClosed || (c.state == stateClosing && !fromClosing) {
		c.mu.Unlock()
		return false
	}
	c.state = stateClosed
	c.err = err
	c.mu.Unlock()
	c.release()
	return true
}

// release runs exactly once, after the move to stateClosed. Closing the
// network connection is what unblocks a reader in a read and a writer in a
// write; gorilla allows Close from any goroutine.
func (c *Conn) release() {
	c.interrupt.Store(true)
	c.q.close(true)
	c.in.close(false) // frees a blocked reader; Read still gets what arrived
	c.endWaitingReader()
	_ = c.ws.Close()
	close(c.done)
	c.q.kick() // the writer, running or started for it, sees done and ends
	c.mu.Lock()
	cancel := c.cancelCtx
	c.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	if c.opts.OnClose != nil {
		go c.opts.OnClose()
	}
}

// Context is done once the connection is closed, like Done: for
// context.AfterFunc, so that cleanup after a connection needs no goroutine
// waiting for it, and as the context of work done on the connection's behalf.
func (c *Conn) Context() context.Context {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ctx == nil {
		c.ctx, c.cancelCtx = context.WithCancel(context.Background())
		if c.state == stateClosed {
			c.cancelCtx() // release ran already
		}
	}
	return c.ctx
}

// closedErr is what Send returns once the queue no longer takes messages.
func (c *Conn) closedErr() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closedErrLocked()
}

func (c *Conn) closedErrLocked() error {
	if c.state != stateClosed || c.err == nil {
		return ErrClosed
	}
	return &closedError{cause: c.err}
}

// closedError is ErrClosed with the reason the connection closed, so that
// errors.Is(err, ErrClosed) and inspection of the cause (CloseCode, a
// timeout) both work.
type closedError struct{ cause error }

func (e *closedError) Error() string        { return ErrClosed.Error() + ": " + e.cause.Error() }
func (e *closedError) Unwrap() error        { return e.cause }
func (e *closedError) Is(target error) bool { return target == ErrClosed }

// wait returns once the connection is closed and both goroutines have
// exited, so that Close leaves nothing running behind it.
func (c *Conn) wait() {
	<-c.done
	<-c.writerDone
	<-c.readerDone
}
