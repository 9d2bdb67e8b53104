package ws_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package if any test leaves a goroutine behind: every
// goroutine a Conn starts must exit when it closes.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
