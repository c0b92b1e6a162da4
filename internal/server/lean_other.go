//go:build !linux

package server

import (
	"errors"
	"net"
	"sync/atomic"
)

// loop is the Linux event loop; elsewhere there is none and Lean.Serve is
// net/http's.
type loop struct {
	killed           atomic.Bool
	answered, handed atomic.Uint64
}

func (*loop) wake()      {}
func (*loop) run() error { return nil }

func newLoops(*Lean, net.Listener) ([]*loop, error) {
	return nil, errors.New("lean: event loops need Linux")
}
