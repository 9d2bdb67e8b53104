package ws

import (
	"context"
	"net"

	"github.com/gorilla/websocket"
)

// BatchingDialer returns a copy of d whose connections are wrapped for
// write batching, as Upgrade does on the server side. Everything else about
// d is kept: its dial functions, proxy, TLS configuration and timeouts.
//
// The wrapper sits on the TCP connection, under TLS for wss: gorilla's
// proxy support and TLS handshake stay untouched, and TLS records of a
// batch still leave in one system call. The handshake request is written
// with no batch open, so it is on the wire before gorilla reads the
// response.
func BatchingDialer(d *websocket.Dialer) *websocket.Dialer {
	nd := *d
	nd.NetDialContext = batchingDial(d)
	if d.NetDialTLSContext != nil {
		tlsDial := d.NetDialTLSContext
		nd.NetDialTLSContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
			return wrapDialed(tlsDial(ctx, network, addr))
		}
	}
	return &nd
}

// batchingDial wraps the TCP dial function gorilla would use: NetDialContext,
// else NetDial, else a zero net.Dialer.
func batchingDial(d *websocket.Dialer) func(ctx context.Context, network, addr string) (net.Conn, error) {
	dial := d.NetDialContext
	switch {
	case dial != nil:
	case d.NetDial != nil:
		netDial := d.NetDial
		dial = func(_ context.Context, network, addr string) (net.Conn, error) {
			return netDial(network, addr)
		}
	default:
		var zero net.Dialer
		dial = zero.DialContext
	}
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		return wrapDialed(dial(ctx, network, addr))
	}
}

func wrapDialed(c net.Conn, err error) (net.Conn, error) {
	if err != nil {
		return nil, err
	}
	if _, ok := c.(*batchConn); ok {
		return c, nil // a dialer wrapped twice
	}
	return newBatchConn(c), nil
}
