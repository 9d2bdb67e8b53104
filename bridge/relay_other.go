//go:build !linux

package bridge

import (
	"errors"
	"time"
)

// relayLoop needs epoll: elsewhere every stream is read on a goroutine of its own.
type relayLoop struct{}

type relayed struct {
	fd     int
	onData func([]byte) bool
	left   func(error)
	onTick func(time.Time)
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

func (b *streamBody) takeSocket() (int, bool) { return -1, false }
func (b *streamBody) returnSocket(error)      {}

func closeFD(int) error { return nil }

func writeNow(int, []byte) (int, error) { return 0, errors.ErrUnsupported }
