//go:build !linux

package bridge

import "github.com/gorilla/websocket"

// wsTunnel needs the relay loop: elsewhere sessions are proxied through ws.Conn.
type wsTunnel struct{}

func (rt *route) newTunnel(*websocket.Conn, *websocket.Conn) (*wsTunnel, bool) { return nil, false }
func (t *wsTunnel) start(func(error))                                          {}
func (t *wsTunnel) drain()                                                     {}
