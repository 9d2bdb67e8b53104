//go:build !linux

package bridge

import (
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// relayLoop needs epoll: elsewhere every stream is read on a goroutine of its own.
type relayLoop struct{}

type relayed struct {
	fd    int
	h     relayHandler
	ticks bool
}

var (
	errLeaveAsked  = errors.New("relay: leave asked")
	errRelayClosed = errors.New("relay loop closed")
)

func newRelayLoop(time.Duration) (*relayLoop, error) { return nil, nil }

func (l *relayLoop) add(*relayed) bool { return false }
func (l *relayLoop) leave(*relayed)    {}
func (l *relayLoop) close()            {}
func (l *relayLoop) clock() time.Time  { return time.Now() }

func (l *relayLoop) count(c *prometheus.Counter, n float64) { (*c).Add(n) }

func (b *streamBody) takeSocket() (int, bool) { return -1, false }
func (b *streamBody) returnSocket(error)      {}

func closeFD(int) error { return nil }

func writeNow(int, []byte) (int, error) { return 0, errors.ErrUnsupported }
