//go:build linux

package server

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Sizes of the lean path's buffers.
const (
	leanReadBuf  = 4 << 10  // a connection's own buffer for a request head split across reads, to start with
	leanMaxHead  = 16 << 10 // the loop's read buffer; a longer head goes to net/http (which allows MaxHeaderBytes)
	leanFlushOut = 32 << 10 // answers to pipelined requests are written in batches up to this
	leanLinger   = 500 * time.Millisecond
	// leanIdle is how long a loop waits in epoll_wait before it parks in
	// Go's poller instead.
	leanIdle = 10 * time.Millisecond
)

// loop is one event loop: an epoll instance watching its own duplicate of
// the listener (shared with the other loops through EPOLLEXCLUSIVE, so one
// of them takes each new connection) and the connections it accepted. It
// runs on one goroutine; only killed, the counters and (under wakeMu)
// wakefd are shared.
//
// A busy loop waits as nginx does, in epoll_wait itself, and keeps its P
// while it waits (see takeP). After leanIdle without an event it parks in
// Go's poller, where a goroutine waits for nothing, until ep has events.
type loop struct {
	l      *Lean
	ep     int        // the epoll instance
	park   int        // an epoll instance that holds ep while the loop is parked
	parkf  *os.File   // park in Go's poller, once run starts
	lfd    int        // this loop's duplicate of the listener; -1 once closed
	wakefd int        // an eventfd Shutdown and Close write to
	wakeMu sync.Mutex // held by wake, and by shut to close wakefd
	killed atomic.Bool
	// answered and handed count the requests the loop answered and the
	// connections it gave to net/http.
	answered, handed atomic.Uint64

	conns  []*econn // by file descriptor
	live   int
	events [256]unix.EpollEvent
	x      *exchange
	// rbuf and obuf are the loop's read and write buffers, lent to one
	// connection at a time: a connection keeps bytes of its own only for
	// a request head split across reads, or answers its peer has not
	// taken yet, so an idle connection holds no buffer (as nginx's).
	rbuf, obuf []byte
	now        time.Time
	sweep      time.Time // when to look for expired connections next
	pause      time.Time // accepting resumes then (out of file descriptors)
}

// econn is a connection of a loop.
type econn struct {
	fd      int
	remote  string
	buf     []byte // read, not yet answered: buf[r:w]; the loop's rbuf while lent
	r, w    int
	out     []byte    // answers not yet written; the loop's obuf while lent
	lentIn  bool      // buf is the loop's rbuf
	lentOut bool      // out is the loop's obuf
	expires time.Time // the read (header, idle) or write deadline; zero for none
	wrote   time.Time // when out started waiting for the peer, for the write timeout
	timed   bool      // expires is the current request's header deadline
	served  bool      // a request was answered: the next one waits for 4 bytes
	born    time.Time // accepted then
	closing bool      // close once out is written
	linger  bool      // FIN sent: read and drop until the peer's FIN or expires
}

var errNoLoops = errors.New("lean: no event loops for this listener")

// newLoops returns GOMAXPROCS event loops serving ln, which must be a
// *net.TCPListener.
func newLoops(l *Lean, ln net.Listener) ([]*loop, error) {
	tl, ok := ln.(*net.TCPListener)
	if !ok {
		return nil, errNoLoops
	}
	rc, err := tl.SyscallConn()
	if err != nil {
		return nil, err
	}
	loops := make([]*loop, 0, loopCount())
	for range cap(loops) {
		lp, err := newLoop(l, rc)
		if err != nil {
			for _, lp := range loops {
				lp.shut()
			}
			return nil, err
		}
		loops = append(loops, lp)
	}
	return loops, nil
}

func newLoop(l *Lean, rc syscall.RawConn) (*loop, error) {
	lp := &loop{l: l, ep: -1, park: -1, lfd: -1, wakefd: -1, x: l.h.pool.Get().(*exchange),
		rbuf: make([]byte, leanMaxHead), obuf: make([]byte, 0, leanReadBuf)}
	var derr error
	if err := rc.Control(func(fd uintptr) {
		lp.lfd, derr = unix.FcntlInt(fd, unix.F_DUPFD_CLOEXEC, 0)
	}); err != nil || derr != nil {
		lp.lfd = -1
		return nil, errors.Join(err, derr)
	}
	var err error
	if lp.ep, err = unix.EpollCreate1(unix.EPOLL_CLOEXEC); err != nil {
		lp.shut()
		return nil, fmt.Errorf("epoll_create1: %w", err)
	}
	if lp.park, err = unix.EpollCreate1(unix.EPOLL_CLOEXEC); err != nil {
		lp.shut()
		return nil, fmt.Errorf("epoll_create1: %w", err)
	}
	if lp.wakefd, err = unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC); err != nil {
		lp.shut()
		return nil, fmt.Errorf("eventfd: %w", err)
	}
	if err := lp.watchListener(); err != nil {
		lp.shut()
		return nil, err
	}
	if err := unix.EpollCtl(lp.ep, unix.EPOLL_CTL_ADD, lp.wakefd,
		&unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(lp.wakefd)}); err != nil {
		lp.shut()
		return nil, fmt.Errorf("epoll_ctl: %w", err)
	}
	return lp, nil
}

func (lp *loop) watchListener() error {
	err := unix.EpollCtl(lp.ep, unix.EPOLL_CTL_ADD, lp.lfd,
		&unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLEXCLUSIVE, Fd: int32(lp.lfd)})
	if err != nil {
		return fmt.Errorf("epoll_ctl: %w", err)
	}
	return nil
}

// wake interrupts the loop's wait, to notice closing or killed.
func (lp *loop) wake() {
	lp.wakeMu.Lock()
	defer lp.wakeMu.Unlock()
	if lp.wakefd >= 0 { // not yet closed by shut (the loop may end first)
		var one = [8]byte{1}
		unix.Write(lp.wakefd, one[:])
	}
}

// run serves until the Lean closes and the loop's connections are gone,
// or until killed. It returns an error only when epoll fails.
func (lp *loop) run() error {
	takeP()
	defer giveP()
	defer lp.shut()
	if err := unix.SetNonblock(lp.park, true); err != nil {
		return fmt.Errorf("epoll: %w", err)
	}
	lp.parkf = os.NewFile(uintptr(lp.park), "epoll")
	rc, err := lp.parkf.SyscallConn()
	if err != nil {
		return fmt.Errorf("epoll: %w", err)
	}
	lp.now = time.Now()
	lp.sweep = lp.now.Add(lp.l.sweepEvery())
	idle := false
	for {
		var n int
		if idle {
			n, err = lp.parked(rc)
		} else {
			wait := min(lp.sweep.Sub(lp.now), leanIdle)
			n, err = epollWait(lp.ep, lp.events[:], int((max(wait, 0)+time.Millisecond-1)/time.Millisecond))
			idle = n == 0 && wait == leanIdle
			if err != nil && err != unix.EINTR { // a signal (the runtime's preemption) ends the wait with EINTR
				err = fmt.Errorf("epoll_wait: %w", err)
			}
		}
		if err != nil && err != unix.EINTR {
			return err
		}
		if n > 0 {
			idle = false
		}
		lp.now = time.Now()
		for i := range n {
			ev := &lp.events[i]
			switch fd := int(ev.Fd); fd {
			case lp.lfd:
				lp.accept()
			case lp.wakefd:
				var b [8]byte
				unix.Read(lp.wakefd, b[:])
			default:
				if c := lp.conn(fd); c != nil {
					lp.event(c, ev.Events)
				}
			}
		}
		if lp.killed.Load() {
			return nil
		}
		if lp.l.closing.Load() {
			lp.closeListener()
			lp.closeIdle()
			if lp.live == 0 {
				return nil
			}
		}
		if !lp.pause.IsZero() && !lp.now.Before(lp.pause) && lp.lfd >= 0 {
			lp.pause = time.Time{}
			lp.watchListener()
		}
		if !lp.now.Before(lp.sweep) {
			lp.expire()
			lp.sweep = lp.now.Add(lp.l.sweepEvery())
		}
	}
}

// parked waits in Go's poller until ep has events or the next sweep is
// due, and returns the events. The goroutine gives its P back meanwhile:
// park holds ep, and park itself is in the runtime's poller. ep leaves
// park again before parked returns, so that a busy loop's events do not
// wake the runtime's poller too.
func (lp *loop) parked(rc syscall.RawConn) (int, error) {
	if err := unix.EpollCtl(lp.park, unix.EPOLL_CTL_ADD, lp.ep,
		&unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(lp.ep)}); err != nil {
		return 0, fmt.Errorf("epoll_ctl: %w", err)
	}
	lp.parkf.SetReadDeadline(lp.sweep)
	var n int
	var werr error
	err := rc.Read(func(uintptr) bool {
		n, werr = epollWait(lp.ep, lp.events[:], 0)
		if werr == unix.EINTR {
			n, werr = 0, nil
		}
		return n > 0 || werr != nil
	})
	if derr := unix.EpollCtl(lp.park, unix.EPOLL_CTL_DEL, lp.ep, nil); derr != nil {
		return 0, fmt.Errorf("epoll_ctl: %w", derr)
	}
	switch {
	case werr != nil:
		return 0, fmt.Errorf("epoll_wait: %w", werr)
	case err != nil && !errors.Is(err, os.ErrDeadlineExceeded):
		return 0, fmt.Errorf("epoll: %w", err)
	}
	return n, nil
}

// shut closes everything the loop holds.
func (lp *loop) shut() {
	for _, c := range lp.conns {
		if c != nil {
			lp.close(c)
		}
	}
	lp.closeListener()
	lp.wakeMu.Lock()
	if lp.wakefd >= 0 {
		unix.Close(lp.wakefd)
	}
	lp.wakefd = -1
	lp.wakeMu.Unlock()
	if lp.parkf != nil {
		lp.parkf.Close() // and with it park
	} else if lp.park >= 0 {
		unix.Close(lp.park)
	}
	if lp.ep >= 0 {
		unix.Close(lp.ep)
	}
	lp.ep, lp.park, lp.parkf = -1, -1, nil
	if lp.x != nil {
		lp.l.h.pool.Put(lp.x)
		lp.x = nil
	}
}

func (lp *loop) closeListener() {
	if lp.lfd >= 0 {
		unix.Close(lp.lfd)
		lp.lfd = -1
	}
}

// accept takes the connections waiting on the listener.
func (lp *loop) accept() {
	for lp.lfd >= 0 {
		fd, sa, err := unix.Accept4(lp.lfd, unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC)
		switch {
		case err == nil:
		case errors.Is(err, unix.EAGAIN):
			return
		case errors.Is(err, unix.EINTR), errors.Is(err, unix.ECONNABORTED):
			continue
		default:
			// Out of file descriptors or memory: stop listening a
			// moment, as net/http backs off, rather than spin.
			lp.l.logf("http: Accept error: %v; retrying in 100ms", err)
			unix.EpollCtl(lp.ep, unix.EPOLL_CTL_DEL, lp.lfd, nil)
			lp.pause = lp.now.Add(100 * time.Millisecond)
			return
		}
		// As net.Listen's connections: no Nagle delay, keep-alive probes
		// after 15 s.
		unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1)
		unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_KEEPALIVE, 1)
		unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_KEEPIDLE, 15)
		unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_KEEPINTVL, 15)
		c := &econn{fd: fd, remote: sockaddrString(sa), born: lp.now}
		if h := lp.l.header; h > 0 {
			c.expires, c.timed = lp.now.Add(h), true
		}
		if err := unix.EpollCtl(lp.ep, unix.EPOLL_CTL_ADD, fd, &unix.EpollEvent{
			Events: unix.EPOLLIN | unix.EPOLLOUT | unix.EPOLLRDHUP | unix.EPOLLET, Fd: int32(fd)}); err != nil {
			unix.Close(fd)
			continue
		}
		for fd >= len(lp.conns) {
			lp.conns = append(lp.conns, make([]*econn, len(lp.conns)+64)...)
		}
		lp.conns[fd] = c
		lp.live++
	}
}

func (lp *loop) conn(fd int) *econn {
	if fd < 0 || fd >= len(lp.conns) {
		return nil
	}
	return lp.conns[fd]
}

// close closes c, unless it is gone already.
func (lp *loop) close(c *econn) {
	if lp.conn(c.fd) == c {
		lp.forget(c)
		unix.Close(c.fd)
		c.buf, c.out, c.lentIn, c.lentOut = nil, nil, false, false
	}
}

// keepIn gives c bytes of its own for what it read and has not answered
// (a head split across reads), and no buffer at all when there are none,
// so that the loop's rbuf can go to the next connection.
func (lp *loop) keepIn(c *econn) {
	switch {
	case c.r == c.w:
		c.buf, c.r, c.w = nil, 0, 0
	case c.lentIn:
		own := make([]byte, max(leanReadBuf, 2*(c.w-c.r)))
		c.w = copy(own, c.buf[c.r:c.w])
		c.buf, c.r = own, 0
	}
	c.lentIn = false
}

func (lp *loop) forget(c *econn) {
	if lp.conns[c.fd] == c {
		lp.conns[c.fd] = nil
		lp.live--
	}
}

// event handles what epoll said of c.
func (lp *loop) event(c *econn, ev uint32) {
	defer func() {
		if err := recover(); err != nil {
			buf := make([]byte, 64<<10)
			buf = buf[:runtime.Stack(buf, false)]
			lp.l.logf("http: panic serving %v: %v\n%s", c.remote, err, buf)
			lp.close(c)
		}
	}()
	hup := ev&(unix.EPOLLRDHUP|unix.EPOLLHUP|unix.EPOLLERR) != 0
	if ev&unix.EPOLLOUT != 0 && len(c.out) > 0 {
		if !lp.flush(c) || len(c.out) > 0 {
			return
		}
		// Written: the requests that waited behind the answers go on,
		// and what arrived meanwhile is read (its edge has passed).
		if lp.process(c) {
			lp.readable(c, hup)
		}
		return
	}
	if ev&unix.EPOLLIN != 0 || hup {
		lp.readable(c, hup)
	}
}

// readable reads what c's peer sent and answers it. With edge-triggered
// epoll a read shorter than the space offered has emptied the socket, so
// the loop need not read again to see EAGAIN — unless the peer closed,
// when it reads on to see the end.
func (lp *loop) readable(c *econn, hup bool) {
	if lp.read(c, hup) {
		lp.keepIn(c)
	}
}

// read is readable's loop; false when c is gone.
func (lp *loop) read(c *econn, hup bool) bool {
	if c.buf == nil {
		c.buf, c.lentIn = lp.rbuf, true
	}
	for {
		if len(c.out) > 0 {
			return true // the peer is not reading: wait for EPOLLOUT
		}
		if c.w == len(c.buf) {
			switch {
			case c.r > 0:
				c.w = copy(c.buf, c.buf[c.r:c.w])
				c.r = 0
			case len(c.buf) < leanMaxHead:
				c.buf = append(c.buf, make([]byte, len(c.buf))...)
			default:
				lp.handoff(c) // a head longer than ours: net/http allows more
				return false
			}
		}
		space := len(c.buf) - c.w
		n, err := rawRead(c.fd, c.buf[c.w:])
		switch {
		case n > 0:
			if c.linger {
				c.w = c.r // dropped
				continue
			}
			c.w += n
			if !lp.process(c) {
				return false
			}
			if n < space && !hup {
				return true
			}
		case n == 0 && err == nil:
			lp.close(c) // the peer closed
			return false
		case errors.Is(err, unix.EAGAIN):
			return true
		case errors.Is(err, unix.EINTR):
		default:
			lp.close(c)
			return false
		}
	}
}

// process answers the whole requests in c's buffer and writes the
// answers. It returns false when c is gone (closed or handed to net/http).
func (lp *loop) process(c *econn) bool {
	l := lp.l
	for c.r < c.w && !c.closing {
		if c.served && c.w-c.r < 4 {
			// net/http reads a connection's next request only once 4
			// bytes of it are there (Peek(4)), idling until then: a
			// short line after an answer is not yet a bad request.
			break
		}
		var hd leanHead
		switch parseHead(c.buf[c.r:c.w], &hd) {
		case headMore:
			if !c.timed && l.header > 0 {
				c.expires, c.timed = lp.now.Add(l.header), true
			}
			return lp.flush(c)
		case headHandoff:
			lp.handoff(c)
			return false
		}
		closing := l.closing.Load()
		if c.out == nil {
			c.out, c.lentOut = lp.obuf[:0], true
		}
		var ok bool
		if c.out, ok = l.answer(c.out, lp.x, &hd, c.remote, lp.now, closing); !ok {
			lp.handoff(c)
			return false
		}
		lp.answered.Add(1)
		c.r += hd.n
		c.timed, c.served = false, true
		if closing {
			c.closing = true
			c.r = c.w
		}
		if len(c.out) >= leanFlushOut {
			if !lp.flush(c) {
				return false
			}
			if len(c.out) > 0 {
				return true // the peer is slow: the rest waits for EPOLLOUT
			}
		}
	}
	if c.r == c.w {
		c.r, c.w = 0, 0
	}
	if !lp.flush(c) {
		return false
	}
	if len(c.out) == 0 && c.idle() {
		if c.closing && c.r == c.w {
			lp.lingerClose(c)
			return false
		}
		c.expires = time.Time{}
		if l.idle > 0 {
			c.expires = lp.now.Add(l.idle)
		}
	}
	return true
}

// idle reports whether c waits for its next request: nothing read, or
// fewer than the 4 bytes net/http waits for after an answer.
func (c *econn) idle() bool { return c.r == c.w || c.served && c.w-c.r < 4 }

// flush writes c.out as far as the socket takes it. It returns false when
// c failed and was closed.
func (lp *loop) flush(c *econn) bool {
	if c.lentOut {
		lp.obuf = c.out[:0] // keep what it grew to
	}
	for len(c.out) > 0 {
		n, err := rawWrite(c.fd, c.out)
		switch {
		case n > 0:
			c.out = c.out[n:]
			c.wrote = time.Time{}
		case errors.Is(err, unix.EAGAIN):
			if c.wrote.IsZero() {
				// Waiting for the peer to read is not idling:
				// only the write timeout applies.
				c.wrote, c.expires = lp.now, time.Time{}
			}
			if c.lentOut {
				c.out, c.lentOut = bytes.Clone(c.out), false
			}
			return true
		case errors.Is(err, unix.EINTR):
		default:
			lp.close(c)
			return false
		}
	}
	c.out, c.lentOut = nil, false
	return true
}

// lingerClose sends FIN and gives the peer a moment to read the last
// answer before the socket closes, as net/http does: closing with unread
// input would send RST and could destroy that answer.
func (lp *loop) lingerClose(c *econn) {
	unix.Shutdown(c.fd, unix.SHUT_WR)
	c.linger, c.expires = true, lp.now.Add(leanLinger)
	c.buf, c.r, c.w, c.lentIn = nil, 0, 0, false
}

// handoff gives c to net/http with the bytes read and not answered, after
// the answers already made.
func (lp *loop) handoff(c *econn) {
	lp.handed.Add(1)
	lp.forget(c)
	unix.EpollCtl(lp.ep, unix.EPOLL_CTL_DEL, c.fd, nil)
	f := os.NewFile(uintptr(c.fd), "")
	nc, err := net.FileConn(f) // a duplicate, in Go's poller
	f.Close()
	if err != nil {
		lp.l.logf("http: lean handoff: %v", err)
		return
	}
	out, rest := c.out, c.buf[c.r:c.w]
	if c.lentOut {
		out = bytes.Clone(out)
	}
	if c.lentIn {
		rest = bytes.Clone(rest)
	}
	c.buf, c.out, c.lentIn, c.lentOut = nil, nil, false, false
	go func() {
		if len(out) > 0 {
			if _, err := nc.Write(out); err != nil {
				nc.Close()
				return
			}
		}
		lp.l.give(nc, rest)
	}()
}

// closeIdle closes the connections with nothing to answer or write, as
// Shutdown asks; the others close once their answers are written. As in
// net/http, a connection not 5 s old that has sent nothing yet is given
// the time to send its first request (up to the header timeout).
func (lp *loop) closeIdle() {
	for _, c := range lp.conns {
		switch {
		case c == nil || c.linger:
		case !c.served && c.r == c.w && lp.now.Sub(c.born) < 5*time.Second:
		case c.idle() && len(c.out) == 0:
			lp.close(c)
		case c.idle():
			c.closing = true
		}
	}
}

// expire closes the connections past their deadline: a request head not
// complete in time, an idle connection, an answer the peer would not read,
// a lingering close.
func (lp *loop) expire() {
	w := lp.l.write
	for _, c := range lp.conns {
		switch {
		case c == nil:
		case !c.expires.IsZero() && lp.now.After(c.expires):
			lp.close(c)
		case w > 0 && !c.wrote.IsZero() && lp.now.Sub(c.wrote) > w:
			lp.close(c)
		}
	}
}

// sockaddrString formats a peer address as net.TCPAddr.String does, so
// that the access log and trusted proxies see what net/http's RemoteAddr
// holds.
func sockaddrString(sa unix.Sockaddr) string {
	switch a := sa.(type) {
	case *unix.SockaddrInet4:
		return netip.AddrPortFrom(netip.AddrFrom4(a.Addr), uint16(a.Port)).String()
	case *unix.SockaddrInet6:
		ip := netip.AddrFrom16(a.Addr)
		if ip.Is4In6() {
			ip = ip.Unmap()
		} else if a.ZoneId != 0 {
			zone := strconv.Itoa(int(a.ZoneId))
			if ifi, err := net.InterfaceByIndex(int(a.ZoneId)); err == nil {
				zone = ifi.Name
			}
			ip = ip.WithZone(zone)
		}
		return netip.AddrPortFrom(ip, uint16(a.Port)).String()
	}
	return ""
}

// The loop's system calls on its non-blocking descriptors never block, so
// they go straight to the kernel, without telling the scheduler: a loop
// that told it of every read and write would have the runtime's monitor
// thread (on the same core) waking every 20µs to consider taking its P.

// rawRead is recv(2) on a non-blocking socket (as nginx reads: cheaper
// than read(2), which goes through the VFS layer).
func rawRead(fd int, p []byte) (int, error) {
	r, _, e := unix.RawSyscall6(unix.SYS_RECVFROM, uintptr(fd), uintptr(unsafe.Pointer(unsafe.SliceData(p))), uintptr(len(p)),
		0, 0, 0)
	if e != 0 {
		return 0, e
	}
	return int(r), nil
}

// rawWrite is send(2) on a non-blocking socket, without SIGPIPE.
func rawWrite(fd int, p []byte) (int, error) {
	r, _, e := unix.RawSyscall6(unix.SYS_SENDTO, uintptr(fd), uintptr(unsafe.Pointer(unsafe.SliceData(p))), uintptr(len(p)),
		unix.MSG_NOSIGNAL, 0, 0)
	if e != 0 {
		return 0, e
	}
	return int(r), nil
}

// epollWait is epoll_wait(2) with a timeout in milliseconds. It blocks
// without telling the scheduler, so the loop keeps its P meanwhile: the
// runtime would otherwise take the P away after 20µs and the loop would
// have to win it back after every wait. That P is the loop's own (takeP);
// a stop of the world reaches the loop with a signal, which ends the
// wait with EINTR.
func epollWait(ep int, events []unix.EpollEvent, ms int) (int, error) {
	r, _, e := unix.RawSyscall6(unix.SYS_EPOLL_WAIT, uintptr(ep), uintptr(unsafe.Pointer(unsafe.SliceData(events))),
		uintptr(len(events)), uintptr(ms), 0, 0)
	if e != 0 {
		return 0, e
	}
	return int(r), nil
}

// procs counts the event loops running in the process. Each holds a P
// for itself, even while it waits in epoll_wait, so GOMAXPROCS is raised
// by one for each: the rest of the program (net/http's connections, the
// admin API, timers, the collector) keeps the Ps it had.
var procs struct {
	sync.Mutex
	loops int // running
	base  int // GOMAXPROCS before the first of them started
}

// loopCount is how many event loops a new Lean runs: GOMAXPROCS, not
// counting the Ps the loops already running hold.
func loopCount() int {
	procs.Lock()
	defer procs.Unlock()
	if procs.loops > 0 {
		return procs.base
	}
	return runtime.GOMAXPROCS(0)
}

// takeP raises GOMAXPROCS by one for a loop starting.
func takeP() {
	procs.Lock()
	defer procs.Unlock()
	if procs.loops == 0 {
		procs.base = runtime.GOMAXPROCS(0)
	}
	procs.loops++
	runtime.GOMAXPROCS(procs.base + procs.loops)
}

// giveP lowers it again when the loop ends.
func giveP() {
	procs.Lock()
	defer procs.Unlock()
	procs.loops--
	runtime.GOMAXPROCS(procs.base + procs.loops)
}
