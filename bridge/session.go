package bridge

import (
	"context"
	"sync"

	"golang.org/x/sync/errgroup"
)

// session runs the goroutines of one WebSocket client's session. The first to end
// cancels the others, and its error is the session's: it is recorded before the
// cancel, so it is never an error the cancel itself caused in another goroutine (a
// close code from one side must reach the other as it came).
type session struct {
	rt     *route
	g      errgroup.Group
	cancel context.CancelFunc
	once   sync.Once
	err    error
}

func (rt *route) newSession(cancel context.CancelFunc) *session {
	return &session{rt: rt, cancel: cancel}
}

// end records err if it is the first, and cancels the session.
func (s *session) end(err error) {
	s.once.Do(func() { s.err = err })
	s.cancel()
}

// goFunc runs fn in a goroutine of the session.
func (s *session) goFunc(fn func() error) {
	s.g.Go(func() error {
		s.end(fn())
		return nil
	})
}

// wait runs main (if any) on the caller's goroutine, one goroutine less per client,
// then waits for the others and returns why the session ended: errDraining once
// shutdown has started (the client context ends sessions then), the first error
// otherwise.
func (s *session) wait(main func() error) error {
	if main != nil {
		s.end(main())
	}
	_ = s.g.Wait()
	if s.rt.srv.Draining() {
		return errDraining
	}
	return s.err
}
