package config

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"strconv"
	"strings"
	"time"
)

// parseDuration reads a routes file duration and applies check to it.
func parseDuration(s string, check func(time.Duration) error) (time.Duration, error) {
	d, err := time.ParseDuration(strings.TrimSpace(s))
	if err != nil {
		return 0, durationError(s)
	}
	return d, check(d)
}

// checkPositive is for intervals and timeouts, where zero would mean "at once, in a
// loop" or "never", not a setting anyone wants.
func checkPositive(d time.Duration) error {
	if d <= 0 {
		return fmt.Errorf("must be positive, got %v", d)
	}
	return nil
}

// checkNotNegative is for delays where zero is meaningful (retry: reconnect at once;
// linger: close with the last client).
func checkNotNegative(d time.Duration) error {
	if d < 0 {
		return fmt.Errorf("must not be negative, got %v", d)
	}
	return nil
}

// checkAddr accepts a listen address as net.Listen takes it, host:port, with the
// port given: "8080" alone, a common slip, would fail only once the server starts.
func checkAddr(addr string) error {
	_, port, err := net.SplitHostPort(addr)
	if err != nil || port == "" {
		return fmt.Errorf("invalid address %q (want host:port, e.g. :8080)", addr)
	}
	if strings.Trim(port, "0123456789") != "" {
		return nil // a service name, such as "https", which net.Listen looks up
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return fmt.Errorf("port %q out of range in %q", port, addr)
	}
	return nil
}

// checkReadable opens a file ssews reads later (TLS certificate and key), so that a
// missing file or a permission problem is reported now, naming the variable.
func checkReadable(name string) error {
	f, err := os.Open(name)
	if err == nil {
		var fi fs.FileInfo
		if fi, err = f.Stat(); err == nil && fi.IsDir() {
			err = errors.New("is a directory")
		}
		f.Close()
	}
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return fmt.Errorf("cannot read %q: %w", name, err)
	}
	return nil
}
