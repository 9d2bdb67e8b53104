package test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"syscall"
	"testing"
	"unsafe"

	"github.com/ssews/ssews/cmd/ssews/app"
)

// TestTextLogOnTerminal: on a terminal the text log is coloured, unless NO_COLOR is
// set to a non-empty value (no-color.org: an empty NO_COLOR does not count).
func TestTextLogOnTerminal(t *testing.T) {
	t.Parallel()
	up := newSSEBackend(t, func(w http.ResponseWriter, r *http.Request, n int) { <-r.Context().Done() })
	for _, c := range []struct {
		env    []string
		colour bool
	}{
		{nil, true},
		{[]string{"NO_COLOR=1"}, false},
		{[]string{"NO_COLOR="}, true},
	} {
		t.Run(fmt.Sprint(c.env), func(t *testing.T) {
			master, tty := openPTY(t)
			environ := append([]string{"SSEWS_LISTEN=127.0.0.1:0", "SSEWS_ADMIN_LISTEN=", "SSEWS_ROUTES=" + routes("/x", up.URL)}, c.env...)
			output := make(chan []byte, 1)
			go func() {
				b, _ := io.ReadAll(master) // until the terminal's last writer closes (EIO)
				output <- b
			}()
			ctx, cancel := context.WithCancel(context.Background())
			cancel() // start, log, and stop at once: the log lines are what matters
			code := app.Run(ctx, nil, environ, io.Discard, tty)
			tty.Close()
			out := recv(t, output, "the terminal's output")
			master.Close()
			if code != 0 {
				t.Errorf("exit status %d; want 0\n%s", code, out)
			}
			if !bytes.Contains(out, []byte("ssews listening")) {
				t.Fatalf("no start-up line on the terminal:\n%q", out)
			}
			if got := strings.Contains(string(out), "\x1b["); got != c.colour {
				t.Errorf("colour %v; want %v:\n%q", got, c.colour, out)
			}
		})
	}
}

// openPTY opens a pseudo-terminal and returns its master and its terminal side.
func openPTY(tb testing.TB) (master, tty *os.File) {
	tb.Helper()
	master, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		tb.Skipf("no pseudo-terminal: %v", err)
	}
	var unlock int32
	var n uint32
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, master.Fd(), syscall.TIOCSPTLCK, uintptr(unsafe.Pointer(&unlock))); e != 0 {
		master.Close()
		tb.Skipf("unlocking the pseudo-terminal: %v", e)
	}
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, master.Fd(), syscall.TIOCGPTN, uintptr(unsafe.Pointer(&n))); e != 0 {
		master.Close()
		tb.Skipf("pseudo-terminal number: %v", e)
	}
	tty, err = os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		master.Close()
		tb.Skipf("opening the terminal side: %v", err)
	}
	return master, tty
}
