package bridge

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
)

// upstreamError is a failure to open an upstream stream, carrying the status the
// client gets when it happens before the client's own stream has started.
type upstreamError struct {
	// status is the HTTP status for the client: the upstream's own for an answer
	// other than success, 502 or 504 for transport failures.
	status int
	// reason is the metric label.
	reason string
	err    error
}

func (e *upstreamError) Error() string { return e.err.Error() }
func (e *upstreamError) Unwrap() error { return e.err }

// final reports whether reconnecting is pointless: the upstream answered and said no
// (204 means "stop" to EventSource; 4xx other than 408 and 429 will not change).
func (e *upstreamError) final() bool {
	if e.reason != reasonStatus {
		return false
	}
	return e.status == http.StatusNoContent ||
		(e.status >= 400 && e.status < 500 && e.status != http.StatusRequestTimeout && e.status != http.StatusTooManyRequests)
}

// transportError classifies a failure to reach the upstream: 504 for timeouts,
// 502 for everything else, as a gateway answers.
func transportError(op string, err error) *upstreamError {
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
		return &upstreamError{status: http.StatusGatewayTimeout, reason: reasonTimeout, err: fmt.Errorf("%s: %w", op, err)}
	}
	return &upstreamError{status: http.StatusBadGateway, reason: reasonUnreachable, err: fmt.Errorf("%s: %w", op, err)}
}

// statusError is an upstream that answered with a status other than success.
func statusError(op string, status int) *upstreamError {
	return &upstreamError{status: status, reason: reasonStatus, err: fmt.Errorf("%s: upstream answered %d %s", op, status, http.StatusText(status))}
}

// clientStatus is the status to send a client whose stream could not start.
func clientStatus(err error) int {
	var ue *upstreamError
	if errors.As(err, &ue) {
		return ue.status
	}
	return http.StatusBadGateway
}

// failureReason is the metric label for an upstream failure.
func failureReason(err error) string {
	var ue *upstreamError
	if errors.As(err, &ue) {
		return ue.reason
	}
	return reasonDropped
}
