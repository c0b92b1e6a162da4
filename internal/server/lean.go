package server

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Lean serves plain HTTP/1.1 on the redirect listener with a lean path in
// front of net/http. It answers the requests that cannot have a body — GET
// and HEAD with no Content-Length, Transfer-Encoding, Upgrade or Expect
// (see parseHead) — with the Handler's redirects and 404s, from event
// loops that read and write each connection directly: one read and one
// write per batch of requests, no allocation, no goroutine per
// connection. A connection that sends anything else is handed to net/http
// with the bytes already read, before a byte of its body is read; net/http
// serves it from then on (the demo echo, bodies, HTTP/1.0, malformed
// requests).
//
// The http.Server's ReadHeaderTimeout, IdleTimeout (ReadTimeout when
// zero) and WriteTimeout apply to the lean path's connections too, checked
// every quarter of the shortest of them (at most every second). The event
// loops run on Linux with a TCP listener; anywhere else
// Serve is net/http's. TLS is not served here: give net/http the TLS
// listener directly.
type Lean struct {
	h      *Handler
	http   *http.Server
	idle   time.Duration // between requests
	header time.Duration // from a request's first byte to its last header
	write  time.Duration // to write one batch of answers

	closing atomic.Bool
	date    atomic.Pointer[httpDate]

	mu    sync.Mutex
	ln    net.Listener
	hand  *handoff
	loops []*loop
	ended chan struct{} // closed when Serve's loops have all ended
}

// NewLean returns a Lean that answers with h and hands connections to srv,
// whose Handler should answer as h does (h itself, or a mux around it).
func NewLean(h *Handler, srv *http.Server) *Lean {
	l := &Lean{h: h, http: srv, idle: srv.IdleTimeout, header: srv.ReadHeaderTimeout, write: srv.WriteTimeout,
		ended: make(chan struct{})}
	if l.idle <= 0 {
		l.idle = srv.ReadTimeout
	}
	if l.header <= 0 {
		l.header = srv.ReadTimeout
	}
	return l
}

// Serve serves connections on ln until Shutdown or Close, when it returns
// http.ErrServerClosed. It closes ln when it returns. Serve may be called
// once.
func (l *Lean) Serve(ln net.Listener) error {
	l.mu.Lock()
	if l.closing.Load() {
		l.mu.Unlock()
		ln.Close()
		return http.ErrServerClosed
	}
	loops, err := newLoops(l, ln)
	if err != nil {
		// No event loops here (another OS, another kind of listener):
		// net/http serves it all.
		l.mu.Unlock()
		close(l.ended)
		return l.http.Serve(ln)
	}
	l.ln, l.loops = ln, loops
	l.hand = &handoff{addr: ln.Addr(), ch: make(chan net.Conn), done: make(chan struct{})}
	l.mu.Unlock()
	defer ln.Close()
	go l.http.Serve(l.hand) // returns when Shutdown or Close closes hand

	var wg sync.WaitGroup
	errs := make([]error, len(loops))
	for i, lp := range loops {
		wg.Go(func() { errs[i] = lp.run() })
	}
	wg.Wait()
	close(l.ended)
	if err := errors.Join(errs...); err != nil && !l.closing.Load() {
		return err
	}
	return http.ErrServerClosed
}

// Shutdown stops accepting, closes idle connections, lets answers being
// written finish and partly read requests arrive (up to the header
// timeout), then shuts net/http down the same way. If ctx ends first it
// closes what is left and returns ctx's error.
func (l *Lean) Shutdown(ctx context.Context) error {
	loops := l.stop()
	var err error
	if loops != nil {
		for _, lp := range loops {
			lp.wake()
		}
		select {
		case <-l.ended:
		case <-ctx.Done():
			l.kill()
			<-l.ended
			err = ctx.Err()
		}
	}
	return errors.Join(err, l.http.Shutdown(ctx))
}

// Close closes the listener and every connection at once, net/http's too.
func (l *Lean) Close() error {
	if l.stop() != nil {
		l.kill()
		<-l.ended
	}
	return l.http.Close()
}

// stop marks l closing and closes its listener; it returns the loops to
// wait for, nil when Serve has not started them.
func (l *Lean) stop() []*loop {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.closing.Store(true)
	if l.ln != nil {
		l.ln.Close()
	}
	return l.loops
}

// Counts returns how many requests the lean path answered itself and how
// many connections it handed to net/http, since Serve started.
func (l *Lean) Counts() (answered, handedOff uint64) {
	l.mu.Lock()
	loops := l.loops
	l.mu.Unlock()
	for _, lp := range loops {
		answered += lp.answered.Load()
		handedOff += lp.handed.Load()
	}
	return answered, handedOff
}

// sweepEvery is how often a loop looks for connections past a deadline:
// a quarter of the shortest timeout, between 10ms and a second.
func (l *Lean) sweepEvery() time.Duration {
	d := time.Second
	for _, t := range []time.Duration{l.idle, l.header, l.write} {
		if t > 0 {
			d = min(d, t/4)
		}
	}
	return max(d, 10*time.Millisecond)
}

// kill makes every loop close all its connections and end.
func (l *Lean) kill() {
	for _, lp := range l.loops {
		lp.killed.Store(true)
		lp.wake()
	}
}

func (l *Lean) logf(format string, args ...any) {
	if l.http.ErrorLog != nil {
		l.http.ErrorLog.Printf(format, args...)
	}
}

// give hands c to net/http, with rest — bytes read but not answered — to
// be read first; it closes c when net/http has stopped.
func (l *Lean) give(c net.Conn, rest []byte) {
	if !l.hand.give(&prefixConn{Conn: c, buf: rest}) {
		c.Close()
	}
}

// answer appends the answer to hd to out: a redirect, 410 or 404, with
// "Connection: close" when closing. It returns false, having counted
// nothing, when net/http should answer hd instead (the demo echo, a 400,
// no rules yet).
func (l *Lean) answer(out []byte, x *exchange, hd *leanHead, remote string, now time.Time, closing bool) ([]byte, bool) {
	h := l.h
	method := http.MethodGet
	if hd.head {
		method = http.MethodHead
	}
	path, query, _ := strings.Cut(hd.target, "?")
	in := inbound{method: method, remote: remote, host: hd.host, path: path, query: query, now: now}
	if len(h.trusted) > 0 {
		in.forwarded, in.xfp = hd.forwarded, hd.xfp
	}
	v, o := h.decide(x, &in, false)
	switch v {
	case answerRedirect:
		out = l.appendHead(out, o.status, x.hdr, now, closing)
		if !hd.head {
			out = append(out, x.body...)
		}
	case answerNotFound:
		out = l.appendHead(out, http.StatusNotFound, notFoundFields[:], now, closing)
		if !hd.head {
			out = append(out, notFoundText...)
		}
	default:
		x.reset()
		return out, false
	}
	if h.log != nil {
		// The strings point into the read buffer; a log handler may
		// keep them.
		o.host, o.path = strings.Clone(o.host), strings.Clone(o.path)
		h.logAccess(method, remote, o, now)
	}
	x.reset()
	return out, true
}

// notFoundFields are the header fields of writeText's 404, sorted.
var notFoundFields = [...]field{
	{"Content-Length", strconv.Itoa(len(notFoundText))},
	{"Content-Type", "text/plain; charset=utf-8"},
	{"X-Content-Type-Options", "nosniff"},
}

// appendHead appends a response head as net/http writes it: the status
// line, the fields (sorted), Date unless a field is one, and Connection:
// close when the connection closes after this answer.
func (l *Lean) appendHead(dst []byte, status int, fields []field, now time.Time, closing bool) []byte {
	dst = append(dst, "HTTP/1.1 "...)
	dst = strconv.AppendInt(dst, int64(status), 10)
	dst = append(dst, ' ')
	dst = append(dst, http.StatusText(status)...)
	dst = append(dst, "\r\n"...)
	date := true
	for _, f := range fields {
		dst = append(dst, f.name...)
		dst = append(dst, ": "...)
		dst = append(dst, f.value...)
		dst = append(dst, "\r\n"...)
		if f.name == "Date" {
			date = false
		}
	}
	if date {
		dst = append(dst, "Date: "...)
		dst = append(dst, l.dateOf(now)...)
		dst = append(dst, "\r\n"...)
	}
	if closing {
		dst = append(dst, "Connection: close\r\n"...)
	}
	return append(dst, "\r\n"...)
}

// httpDate is the Date header value of one second.
type httpDate struct {
	sec int64
	b   []byte
}

// dateOf returns the Date header value of now, formatted once a second.
func (l *Lean) dateOf(now time.Time) []byte {
	sec := now.Unix()
	if d := l.date.Load(); d != nil && d.sec == sec {
		return d.b
	}
	d := &httpDate{sec: sec, b: now.UTC().AppendFormat(make([]byte, 0, len(http.TimeFormat)), http.TimeFormat)}
	l.date.Store(d)
	return d.b
}

// handoff is the listener net/http serves handed-over connections from.
type handoff struct {
	addr net.Addr
	ch   chan net.Conn
	done chan struct{}
	once sync.Once
}

// give hands c to net/http; false when net/http has stopped.
func (h *handoff) give(c net.Conn) bool {
	select {
	case h.ch <- c:
		return true
	case <-h.done:
		return false
	}
}

func (h *handoff) Accept() (net.Conn, error) {
	select {
	case c := <-h.ch:
		return c, nil
	case <-h.done:
		return nil, fmt.Errorf("lean handoff: %w", net.ErrClosed)
	}
}

func (h *handoff) Close() error {
	h.once.Do(func() { close(h.done) })
	return nil
}

func (h *handoff) Addr() net.Addr { return h.addr }

// prefixConn is a connection whose first bytes were already read: Read
// returns them before reading more.
type prefixConn struct {
	net.Conn
	buf []byte
}

func (c *prefixConn) Read(p []byte) (int, error) {
	if len(c.buf) > 0 {
		n := copy(p, c.buf)
		c.buf = c.buf[n:]
		return n, nil
	}
	return c.Conn.Read(p)
}

// CloseWrite lets net/http send FIN before closing, as on a *net.TCPConn.
func (c *prefixConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}
