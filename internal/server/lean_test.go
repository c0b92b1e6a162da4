package server_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"reflect"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/detourhttp/detour"
	"github.com/detourhttp/detour/internal/server"
	"github.com/detourhttp/detour/match"
)

// leanServer is a Handler served through the lean path on a loopback port.
type leanServer struct {
	*server.Lean
	URL  string // "http://127.0.0.1:port"
	Addr string // "127.0.0.1:port"

	done     chan struct{} // closed when Serve has returned
	serveErr error
}

// startLean serves h through the lean path on a loopback port until the
// test ends. edit, when not nil, changes the http.Server before NewLean
// reads it.
func startLean(tb testing.TB, h *server.Handler, edit func(*http.Server)) *leanServer {
	tb.Helper()
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 30 * time.Second, MaxHeaderBytes: 64 << 10}
	if edit != nil {
		edit(srv)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	ls := &leanServer{Lean: server.NewLean(h, srv), Addr: ln.Addr().String(), URL: "http://" + ln.Addr().String(),
		done: make(chan struct{})}
	go func() {
		ls.serveErr = ls.Serve(ln)
		close(ls.done)
	}()
	tb.Cleanup(func() {
		ls.Close()
		if err := ls.served(tb); !errors.Is(err, http.ErrServerClosed) {
			tb.Errorf("Serve = %v, want http.ErrServerClosed", err)
		}
	})
	return ls
}

// served waits for Serve to return and returns its error.
func (ls *leanServer) served(tb testing.TB) error {
	tb.Helper()
	select {
	case <-ls.done:
		return ls.serveErr
	case <-time.After(10 * time.Second):
		tb.Fatal("Serve has not returned 10s after Shutdown or Close")
		return nil
	}
}

// newLean serves a new Handler with opts and rs through the lean path.
func newLean(tb testing.TB, opts server.Options, rs *server.Rules, edit func(*http.Server)) (*leanServer, *server.Handler) {
	tb.Helper()
	if opts.Now == nil {
		opts.Now = func() time.Time { return clock }
	}
	h := server.New(opts)
	h.Store(rs)
	return startLean(tb, h, edit), h
}

// wantCounts checks what the lean path answered and handed to net/http.
// Without event loops (not Linux) net/http serves everything and there is
// nothing to count.
func wantCounts(tb testing.TB, ls *leanServer, answered, handedOff uint64) {
	tb.Helper()
	if runtime.GOOS != "linux" {
		return
	}
	if a, h := ls.Counts(); a != answered || h != handedOff {
		tb.Errorf("Counts() = %d answered, %d handed off; want %d, %d", a, h, answered, handedOff)
	}
}

// request returns a bodiless request for target, Host x, as written.
func request(method, target string) string {
	return method + " " + target + " HTTP/1.1\r\nHost: x\r\n\r\n"
}

// post returns a POST of body to target with a Content-Length.
func post(target, body string) string {
	return fmt.Sprintf("POST %s HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s", target, len(body), body)
}

// client is one client connection, read through a bufio.Reader.
type client struct {
	net.Conn
	br *bufio.Reader
}

// dial connects to addr; the connection closes when the test ends and
// gives up on reads and writes after 10 s.
func dial(tb testing.TB, addr string) *client {
	tb.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(10 * time.Second))
	return &client{Conn: c, br: bufio.NewReaderSize(c, 64<<10)}
}

func (c *client) send(tb testing.TB, s string) {
	tb.Helper()
	if _, err := io.WriteString(c, s); err != nil {
		tb.Fatalf("write: %v", err)
	}
}

// answer is a response read from a client connection.
type answer struct {
	response
	close bool // "Connection: close" (which http.ReadResponse takes out of the header)
}

// next reads one response to a request with method, body included.
func (c *client) next(method string) (answer, error) {
	resp, err := http.ReadResponse(c.br, &http.Request{Method: method})
	if err != nil {
		return answer{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return answer{}, err
	}
	return answer{response{resp.StatusCode, resp.Header, string(b)}, resp.Close}, nil
}

// get writes a GET of target and reads its answer; for goroutines,
// which may not stop the test.
func (c *client) get(target string) (answer, error) {
	if _, err := io.WriteString(c, request("GET", target)); err != nil {
		return answer{}, fmt.Errorf("write: %w", err)
	}
	return c.next("GET")
}

func (c *client) read(tb testing.TB, method string) answer {
	tb.Helper()
	r, err := c.next(method)
	if err != nil {
		tb.Fatalf("read response to %s: %v", method, err)
	}
	return r
}

// waitClosed waits up to 5 s for the server to close c, expecting no more
// bytes, and returns how long after since that was.
func (c *client) waitClosed(tb testing.TB, since time.Time) time.Duration {
	tb.Helper()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	b, err := io.ReadAll(c.br)
	d := time.Since(since)
	if len(b) > 0 {
		tb.Errorf("read %q before the close, want nothing", b)
	}
	if errors.Is(err, os.ErrDeadlineExceeded) {
		tb.Fatalf("connection still open after %v", d)
	}
	if err != nil && !errors.Is(err, syscall.ECONNRESET) {
		tb.Fatalf("read: %v, want EOF or a reset", err)
	}
	return d
}

// TestLeanKeepAlive sends many requests one after another on one
// connection: the lean path answers every one itself, keeps the
// connection open, and never hands it to net/http.
func TestLeanKeepAlive(t *testing.T) {
	ls, _ := newLean(t, server.Options{}, testRules(t), nil)
	c := dial(t, ls.Addr)
	const n = 50
	for i := range n {
		method := "GET"
		if i%3 == 2 {
			method = "HEAD"
		}
		c.send(t, request(method, fmt.Sprintf("/s/%d", i)))
		got := c.read(t, method)
		if want := fmt.Sprintf("/t/%d", i); got.status != 307 || got.header.Get("Location") != want {
			t.Fatalf("request %d: got %d %q, want 307 %q", i, got.status, got.header.Get("Location"), want)
		}
		if got.close {
			t.Fatalf("request %d: Connection: close, want the connection kept", i)
		}
	}
	wantCounts(t, ls, n, 0)
}

// call is one request of a pipelined batch and what its answer must be.
type call struct {
	method, raw string // the request as written
	status      int
	location    string // "" when none
	echoed      string // the body the echo must show, "" when not the echo
}

func callTo(method, target string, status int, location string) call {
	return call{method: method, raw: request(method, target), status: status, location: location}
}

// check compares an answer to c.
func (c call) check(tb testing.TB, i int, got answer) {
	tb.Helper()
	if got.status != c.status || got.header.Get("Location") != c.location {
		tb.Errorf("answer %d: got %d %q, want %d %q", i, got.status, got.header.Get("Location"), c.status, c.location)
	}
	if c.echoed != "" {
		if _, body, _ := strings.Cut(got.body, "\n\n"); body != c.echoed {
			tb.Errorf("answer %d: echoed body %q, want %q", i, body, c.echoed)
		}
	}
}

// TestLeanPipelining writes a batch of requests at once: every request
// gets its answer, in order — also when a request with a body in the
// middle hands the connection to net/http, which must then read the body
// (even one that looks like a request) and the requests after it.
func TestLeanPipelining(t *testing.T) {
	var getHead []call
	for i := range 40 {
		if i%2 == 0 {
			getHead = append(getHead, callTo("GET", fmt.Sprintf("/s/%d", i), 307, fmt.Sprintf("/t/%d", i)))
		} else {
			getHead = append(getHead, callTo("HEAD", "/moved", 308, "/new-home"))
		}
	}
	inner := request("GET", "/gone")
	tests := []struct {
		name             string
		calls            []call
		answered, handed uint64
	}{
		{"GET and HEAD", getHead, 40, 0},
		{"GET, POST to the echo, GET", []call{
			callTo("GET", "/original-resource", 307, "/temporary-resource"),
			{method: "POST", raw: post("/temporary-resource", "data=example"), status: 200, echoed: "data=example"},
			callTo("GET", "/moved", 308, "/new-home"),
		}, 1, 1},
		{"a body that looks like a request", []call{
			callTo("HEAD", "/old", 301, "/new"),
			{method: "POST", raw: post("/temporary-resource", inner), status: 200, echoed: inner},
			callTo("GET", "/nothing-here", 404, ""),
		}, 1, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ls, _ := newLean(t, server.Options{}, testRules(t), nil)
			c := dial(t, ls.Addr)
			var batch strings.Builder
			for _, r := range tt.calls {
				batch.WriteString(r.raw)
			}
			c.send(t, batch.String())
			for i, r := range tt.calls {
				r.check(t, i, c.read(t, r.method))
			}
			wantCounts(t, ls, tt.answered, tt.handed)
		})
	}
}

// bodyBytes is a request body of every byte value, CRLFs and something
// like a request head included, over several read buffers long.
func bodyBytes() string {
	var b strings.Builder
	for i := range 100 << 10 {
		b.WriteByte(byte(i * 7))
		if i%5000 == 0 {
			b.WriteString("\r\n\r\nGET /gone HTTP/1.1\r\nHost: x\r\n\r\n")
		}
	}
	return b.String()
}

// chunked encodes body in chunks of 4000 bytes.
func chunked(body string) string {
	var b strings.Builder
	for len(body) > 0 {
		n := min(len(body), 4000)
		fmt.Fprintf(&b, "%x\r\n%s\r\n", n, body[:n])
		body = body[n:]
	}
	b.WriteString("0\r\n\r\n")
	return b.String()
}

// TestLeanPostBody writes a POST with a body on a lean connection: to a
// redirect (307, then the connection goes on) and to the echo, which
// shows the body byte for byte (TestFollow307 has Go's client follow the
// 307 with it).
func TestLeanPostBody(t *testing.T) {
	body := bodyBytes()
	tests := []struct {
		name  string
		calls []call
	}{
		{"raw to the 307, then a GET", []call{
			{method: "POST", raw: post("/original-resource", body), status: 307, location: "/temporary-resource"},
			callTo("GET", "/moved", 308, "/new-home"),
		}},
		{"raw to the echo", []call{
			{method: "POST", raw: post("/temporary-resource", body), status: 200, echoed: body},
		}},
		{"raw chunked to the echo", []call{
			{method: "POST", raw: "POST /temporary-resource HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked(body),
				status: 200, echoed: body},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ls, _ := newLean(t, server.Options{}, testRules(t), nil)
			c := dial(t, ls.Addr)
			for i, r := range tt.calls {
				c.send(t, r.raw)
				r.check(t, i, c.read(t, r.method))
			}
			wantCounts(t, ls, 0, 1)
		})
	}
}

// TestLeanHead sends HEAD and GET of one target back to back: HEAD gets
// the same header fields as GET and no body (a body would spoil the GET's
// answer after it).
func TestLeanHead(t *testing.T) {
	ls, _ := newLean(t, server.Options{}, testRules(t), nil)
	for _, target := range []string{"/original-resource", "/moved", "/old", "/gone", "/search", "/nothing-here"} {
		t.Run(target, func(t *testing.T) {
			c := dial(t, ls.Addr)
			c.send(t, request("HEAD", target)+request("GET", target))
			head, get := c.read(t, "HEAD"), c.read(t, "GET")
			head.header.Del("Date")
			get.header.Del("Date")
			if !reflect.DeepEqual(head.header, get.header) {
				t.Errorf("HEAD header %v, want GET's %v", head.header, get.header)
			}
			if head.status != get.status {
				t.Errorf("HEAD status %d, want GET's %d", head.status, get.status)
			}
			if got, want := get.header.Get("Content-Length"), strconv.Itoa(len(get.body)); got != want || get.body == "" {
				t.Errorf("GET Content-Length %q, body %d bytes", got, len(get.body))
			}
		})
	}
}

// TestLeanLongHead sends heads longer than the lean path reads: net/http
// answers one over 16 KiB, and refuses one over MaxHeaderBytes with 431.
func TestLeanLongHead(t *testing.T) {
	tests := []struct {
		name   string
		pad    int
		status int
	}{
		{"over 16 KiB", 20 << 10, 307},
		{"over 64 KiB", 100 << 10, 431},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ls, _ := newLean(t, server.Options{}, testRules(t), nil)
			c := dial(t, ls.Addr)
			head := "GET /original-resource HTTP/1.1\r\nHost: x\r\nX-Pad: " + strings.Repeat("p", tt.pad) + "\r\n\r\n"
			// The server may answer 431 before reading it all.
			go io.WriteString(c, head)
			if got := c.read(t, "GET"); got.status != tt.status {
				t.Errorf("status = %d, want %d", got.status, tt.status)
			}
			wantCounts(t, ls, 0, 1)
		})
	}
}

// TestLeanTimeouts holds connections open without finishing requests: the
// lean path closes a head not complete within ReadHeaderTimeout (however
// slowly it trickles in) and a connection idle longer than IdleTimeout,
// but not one that keeps sending requests.
func TestLeanTimeouts(t *testing.T) {
	const header, idle = 200 * time.Millisecond, 300 * time.Millisecond
	ls, _ := newLean(t, server.Options{}, testRules(t), func(s *http.Server) {
		s.ReadHeaderTimeout, s.IdleTimeout = header, idle
	})
	tests := []struct {
		name string
		// stall sends what it sends and returns when the timeout
		// began (at the latest) and which timeout it is.
		stall func(t *testing.T, c *client) (time.Time, time.Duration)
	}{
		{"partial head", func(t *testing.T, c *client) (time.Time, time.Duration) {
			start := time.Now()
			c.send(t, "GET /original-resource HTTP/1.1\r\nHost: x\r\n")
			return start, header
		}},
		{"head trickled byte by byte", func(t *testing.T, c *client) (time.Time, time.Duration) {
			start := time.Now()
			go func() {
				for _, b := range []byte(request("GET", "/original-resource")) {
					if _, err := c.Write([]byte{b}); err != nil {
						return
					}
					time.Sleep(20 * time.Millisecond)
				}
			}()
			return start, header
		}},
		{"nothing sent", func(t *testing.T, c *client) (time.Time, time.Duration) {
			return time.Now(), header
		}},
		{"idle after a request", func(t *testing.T, c *client) (time.Time, time.Duration) {
			start := time.Now()
			c.send(t, request("GET", "/original-resource"))
			if got := c.read(t, "GET"); got.status != 307 {
				t.Fatalf("status = %d, want 307", got.status)
			}
			return start, idle
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			// The clock starts before the dial: the server's starts
			// after it.
			start0 := time.Now()
			c := dial(t, ls.Addr)
			start, timeout := tt.stall(t, c)
			if start0.Before(start) {
				start = start0
			}
			if d := c.waitClosed(t, start); d < timeout {
				t.Errorf("closed %v after it began, before the %v timeout", d, timeout)
			}
		})
	}
	t.Run("kept busy", func(t *testing.T) {
		t.Parallel()
		c := dial(t, ls.Addr)
		for i := range 8 { // 800ms in all, longer than either timeout
			c.send(t, request("GET", "/original-resource"))
			if got := c.read(t, "GET"); got.status != 307 {
				t.Fatalf("request %d: status = %d, want 307", i, got.status)
			}
			time.Sleep(idle / 3)
		}
	})
}

// TestLeanSlowReader pipelines thousands of requests in one write and
// reads no answer until all are written, so that the answers fill the
// socket buffers and the server must wait for the client: every request
// is still answered, in order, none twice.
func TestLeanSlowReader(t *testing.T) {
	// Each answer holds its 4000-byte Location three times: megabytes
	// in all, more than the socket buffers hold.
	const n = 1000
	long := "/" + strings.Repeat("x", 4000) + "/"
	ls, _ := newLean(t, server.Options{}, &server.Rules{Table: mustTable(t, rule("/s/*", long+":splat"))}, nil)
	// A small receive buffer, set before connecting so the window
	// stays small, makes the server's writes stall early.
	d := net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
		var err error
		rc.Control(func(fd uintptr) { err = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
		return err
	}}
	nc, err := d.Dial("tcp", ls.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(10 * time.Second))
	c := &client{Conn: nc, br: bufio.NewReader(nc)}
	var batch strings.Builder
	for i := range n {
		batch.WriteString(request("GET", fmt.Sprintf("/s/%d", i)))
	}
	c.send(t, batch.String())

	// The server answers what fits in the buffers, then waits.
	var stalled uint64
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); {
		a, _ := ls.Counts()
		time.Sleep(20 * time.Millisecond)
		if b, _ := ls.Counts(); a == b {
			stalled = a
			break
		}
	}
	t.Logf("answered %d of %d before the client read", stalled, n)
	if runtime.GOOS == "linux" && stalled >= n {
		t.Errorf("all %d answered before the client read: the buffers never filled; raise n", n)
	}
	for i := range n {
		got := c.read(t, "GET")
		if want := long + strconv.Itoa(i); got.status != 307 || got.header.Get("Location") != want {
			t.Fatalf("answer %d: got %d %.20q, want 307 %.20q", i, got.status, got.header.Get("Location"), want)
		}
	}
	wantCounts(t, ls, n, 0)
}

// TestLeanHalfClose sends requests and then shuts its side for writing:
// every request is answered, then the server closes.
func TestLeanHalfClose(t *testing.T) {
	tests := []struct {
		name     string
		calls    []call
		answered uint64
		handed   uint64
	}{
		{"one GET", []call{callTo("GET", "/original-resource", 307, "/temporary-resource")}, 1, 0},
		{"three pipelined", []call{
			callTo("GET", "/original-resource", 307, "/temporary-resource"),
			callTo("HEAD", "/gone", 410, ""),
			callTo("GET", "/nothing-here", 404, ""),
		}, 3, 0},
		{"POST to the echo", []call{
			{method: "POST", raw: post("/temporary-resource", "data=example"), status: 200, echoed: "data=example"},
		}, 0, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ls, _ := newLean(t, server.Options{}, testRules(t), nil)
			c := dial(t, ls.Addr)
			for _, r := range tt.calls {
				c.send(t, r.raw)
			}
			if err := c.Conn.(*net.TCPConn).CloseWrite(); err != nil {
				t.Fatal(err)
			}
			for i, r := range tt.calls {
				r.check(t, i, c.read(t, r.method))
			}
			c.waitClosed(t, time.Now())
			wantCounts(t, ls, tt.answered, tt.handed)
		})
	}
}

// TestLeanConnectionClose sends "Connection: close" on a connection the
// lean path has been answering: net/http answers it with "Connection:
// close" and closes.
func TestLeanConnectionClose(t *testing.T) {
	ls, _ := newLean(t, server.Options{}, testRules(t), nil)
	c := dial(t, ls.Addr)
	c.send(t, request("GET", "/moved"))
	if got := c.read(t, "GET"); got.status != 308 || got.close {
		t.Fatalf("got %d, close %v; want 308, kept open", got.status, got.close)
	}
	c.send(t, "GET /original-resource HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
	got := c.read(t, "GET")
	if got.status != 307 || !got.close {
		t.Errorf("got %d, close %v; want 307 with Connection: close", got.status, got.close)
	}
	c.waitClosed(t, time.Now())
	wantCounts(t, ls, 1, 1)
}

// waitRefused waits until a connection to addr is refused: the listener
// is closed (the loops have seen Shutdown).
func waitRefused(tb testing.TB, addr string) {
	tb.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			return
		}
		c.Close()
	}
	tb.Fatalf("%s still accepts connections 5s after Shutdown began", addr)
}

// partialHead opens a connection whose second request the server has
// read in part: the first, written with it, is answered.
func partialHead(tb testing.TB, addr string) *client {
	tb.Helper()
	c := dial(tb, addr)
	c.send(tb, request("GET", "/moved")+"GET /original-resource HTTP/1.1\r\nHo")
	if got := c.read(tb, "GET"); got.status != 308 {
		tb.Fatalf("status = %d, want 308", got.status)
	}
	return c
}

// TestLeanShutdown shuts the server down gracefully: idle connections
// close at once, a request partly read finishes and is answered with
// "Connection: close", Shutdown returns nil and Serve
// http.ErrServerClosed; with a context already ended, Shutdown closes
// every connection and returns the context's error.
func TestLeanShutdown(t *testing.T) {
	t.Run("idle connection", func(t *testing.T) {
		ls, _ := newLean(t, server.Options{}, testRules(t), nil)
		c := dial(t, ls.Addr)
		c.send(t, request("GET", "/original-resource"))
		c.read(t, "GET")
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := ls.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown = %v, want nil", err)
		}
		c.waitClosed(t, time.Now())
		if err := ls.served(t); !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("Serve = %v, want http.ErrServerClosed", err)
		}
		if c, err := net.Dial("tcp", ls.Addr); err == nil {
			c.Close()
			t.Error("a connection was accepted after Shutdown")
		}
	})
	t.Run("request finished after Shutdown began", func(t *testing.T) {
		ls, _ := newLean(t, server.Options{}, testRules(t), nil)
		c := partialHead(t, ls.Addr)
		shut := make(chan error, 1)
		go func() { shut <- ls.Shutdown(context.Background()) }()
		waitRefused(t, ls.Addr)
		select {
		case err := <-shut:
			t.Fatalf("Shutdown = %v before the request was finished", err)
		default:
		}
		c.send(t, "st: x\r\n\r\n")
		got := c.read(t, "GET")
		if got.status != 307 || !got.close {
			t.Errorf("got %d, close %v; want 307 with Connection: close", got.status, got.close)
		}
		c.waitClosed(t, time.Now())
		c.Close()
		select {
		case err := <-shut:
			if err != nil {
				t.Errorf("Shutdown = %v, want nil", err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("Shutdown has not returned 5s after the last connection closed")
		}
		if err := ls.served(t); !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("Serve = %v, want http.ErrServerClosed", err)
		}
		wantCounts(t, ls, 2, 0)
	})
	t.Run("context already ended", func(t *testing.T) {
		ls, _ := newLean(t, server.Options{}, testRules(t), nil)
		partial := partialHead(t, ls.Addr)
		idle := dial(t, ls.Addr)
		idle.send(t, request("GET", "/gone"))
		idle.read(t, "GET")
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if err := ls.Shutdown(ctx); !errors.Is(err, context.Canceled) {
			t.Errorf("Shutdown = %v, want context.Canceled", err)
		}
		partial.waitClosed(t, time.Now())
		idle.waitClosed(t, time.Now())
		if err := ls.served(t); !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("Serve = %v, want http.ErrServerClosed", err)
		}
	})
}

// TestLeanSwap stores a new rule set while four keep-alive connections
// send requests to the lean path as fast as it answers: every answer is
// the old rule's or the new one's, none fails, a connection that has seen
// the new rule never sees the old one again, and a request after Store
// returns sees the new rule.
func TestLeanSwap(t *testing.T) {
	const oldTo, newTo = "/temporary-resource", "/elsewhere"
	ls, h := newLean(t, server.Options{}, testRules(t), nil)
	next := &server.Rules{Table: mustTable(t, rule("/original-resource", newTo))}
	var (
		stop atomic.Bool
		done [4]atomic.Int64 // requests answered, per connection
		wg   sync.WaitGroup
	)
	for g := range done {
		c := dial(t, ls.Addr)
		wg.Go(func() {
			seenNew := false
			for !stop.Load() {
				got, err := c.get("/original-resource")
				if err != nil {
					t.Errorf("connection %d: %v", g, err)
					return
				}
				switch loc := got.header.Get("Location"); {
				case got.status != 307 || loc != oldTo && loc != newTo:
					t.Errorf("connection %d: got %d %q, want 307 %q or %q", g, got.status, loc, oldTo, newTo)
					return
				case loc == oldTo && seenNew:
					t.Errorf("connection %d: the old rule answered after the new one", g)
					return
				case loc == newTo:
					seenNew = true
				}
				done[g].Add(1)
			}
		})
	}
	// waitEach waits until every connection has had n answers.
	waitEach := func(n int64) {
		for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
			least := done[0].Load()
			for i := range done {
				least = min(least, done[i].Load())
			}
			if least >= n {
				return
			}
		}
		t.Errorf("some connection had fewer than %d answers after 5s", n)
	}
	waitEach(50)
	h.Store(next)
	c := dial(t, ls.Addr)
	c.send(t, request("GET", "/original-resource"))
	if got := c.read(t, "GET"); got.header.Get("Location") != newTo {
		t.Errorf("after Store: Location = %q, want %q", got.header.Get("Location"), newTo)
	}
	waitEach(100)
	stop.Store(true)
	wg.Wait()
	var total uint64
	for i := range done {
		total += uint64(done[i].Load())
	}
	wantCounts(t, ls, total+1, 0)
}

// rowRules is a rule set with a redirect, a 410, a rule with extra
// header fields and a table of two rows (301).
func rowRules(tb testing.TB) *server.Rules {
	tb.Helper()
	rules := []detour.Rule{
		rule("/original-resource", "/temporary-resource"),
		rule("/gone", "", func(r *detour.Rule) { r.Status = 410 }),
		rule("/fields", "/f", func(r *detour.Rule) {
			r.Headers = []detour.Header{{Name: "X-Zeta", Value: "z"}, {Name: "link", Value: "</a>; rel=next"}, {Name: "X-Alpha", Value: "a"}}
			r.RetryAfter = "120"
		}),
		rule("/abs", "/dest", func(r *detour.Rule) { r.Host = "example.com"; r.Absolute = true }),
	}
	for i := range rules {
		rules[i].Source = detour.Source{File: "test.yaml", Line: i + 1, Seq: i}
	}
	table, diags := match.Compile(rules, []detour.Table{{
		ID:     "table:legacy.csv",
		File:   "legacy.csv",
		Source: detour.Source{File: "test.yaml", Line: 9, Seq: len(rules)},
		Status: 301,
		Rows:   []detour.Row{{Line: 2, Path: "/t1", To: "/x1"}, {Line: 3, Path: "/t2", To: "/x2"}},
	}}, match.Options{})
	if diags.HasErrors() || table == nil {
		tb.Fatalf("compile: %v", diags)
	}
	return &server.Rules{Table: table}
}

// TestLeanAccessLog sends the same request to net/http and to the lean
// path, both serving one Handler: the two access-log records are the same,
// field for field and in order (the duration apart), and each names the
// client's own address as remote.
func TestLeanAccessLog(t *testing.T) {
	var buf syncBuffer
	logger := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
		switch a.Key {
		case slog.TimeKey:
			return slog.Attr{}
		case "duration":
			return slog.String(a.Key, "D")
		}
		return a
	}}))
	h := server.New(server.Options{Now: func() time.Time { return clock }, Log: logger})
	h.Store(rowRules(t))
	plain := httptest.NewServer(h)
	t.Cleanup(plain.Close)
	ls := startLean(t, h, nil)
	tests := []struct {
		name   string
		method string
		target string
		has    string // a piece of the record
	}{
		{"redirect", "GET", "/original-resource", `"status":307,"rule":"` + detour.DeriveID("", "/original-resource", nil) + `"`},
		{"HEAD of a 410", "HEAD", "/gone", `"method":"HEAD"`},
		{"no match", "GET", "/nothing-here", `"status":404,"rule":""`},
		{"table row", "GET", "/t2", `"rule":"table:legacy.csv","duration":"D","remote":"R","row":3}`},
		{"host normalised", "GET", "/abs", `"host":"example.com"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var records [2]string
			for i, addr := range []string{plain.Listener.Addr().String(), ls.Addr} {
				c := dial(t, addr)
				before := len(buf.String())
				c.send(t, tt.method+" "+tt.target+" HTTP/1.1\r\nHost: Example.COM:80\r\n\r\n")
				c.read(t, tt.method)
				var rec string
				for deadline := time.Now().Add(5 * time.Second); rec == "" && time.Now().Before(deadline); time.Sleep(time.Millisecond) {
					rec = buf.String()[before:]
				}
				records[i] = strings.ReplaceAll(strings.TrimSpace(rec), c.LocalAddr().String(), "R")
			}
			if records[1] != records[0] {
				t.Errorf("lean path logged\n%s\nwant net/http's\n%s", records[1], records[0])
			}
			if !strings.Contains(records[1], `"remote":"R"`) || !strings.Contains(records[1], tt.has) {
				t.Errorf("record %s does not hold the client's address as remote and %s", records[1], tt.has)
			}
		})
	}
	wantCounts(t, ls, uint64(len(tests)), 0)
}

// TestLeanManyConnections opens 300 keep-alive connections at once, each
// sending a few requests: every one is answered right, by the lean path.
func TestLeanManyConnections(t *testing.T) {
	const conns, each = 300, 3
	ls, _ := newLean(t, server.Options{}, testRules(t), nil)
	var wg sync.WaitGroup
	for g := range conns {
		wg.Go(func() {
			nc, err := net.Dial("tcp", ls.Addr)
			if err != nil {
				t.Errorf("connection %d: %v", g, err)
				return
			}
			defer nc.Close()
			nc.SetDeadline(time.Now().Add(10 * time.Second))
			c := &client{Conn: nc, br: bufio.NewReader(nc)}
			for i := range each {
				target := fmt.Sprintf("/s/%d/%d", g, i)
				got, err := c.get(target)
				if err != nil {
					t.Errorf("connection %d: %v", g, err)
					return
				}
				if want := fmt.Sprintf("/t/%d/%d", g, i); got.status != 307 || got.header.Get("Location") != want {
					t.Errorf("connection %d: got %d %q, want 307 %q", g, got.status, got.header.Get("Location"), want)
				}
			}
		})
	}
	wg.Wait()
	wantCounts(t, ls, conns*each, 0)
}

// rawAnswer sends request on a new connection and returns the answer's
// head, line by line, without the Date line, and its body.
func rawAnswer(t *testing.T, addr, request string) (head []string, body string) {
	t.Helper()
	c := dial(t, addr)
	c.send(t, request)
	length := 0
	for {
		line, err := c.br.ReadString('\n')
		if err != nil {
			t.Fatalf("read head: %v (so far %q)", err, head)
		}
		if line == "\r\n" {
			break
		}
		if name, value, _ := strings.Cut(line, ": "); name == "Content-Length" {
			length, _ = strconv.Atoi(strings.TrimSpace(value))
		}
		if !strings.HasPrefix(line, "Date: ") {
			head = append(head, line)
		}
	}
	if strings.HasPrefix(request, "HEAD ") {
		length = 0
	}
	b := make([]byte, length)
	if _, err := io.ReadFull(c.br, b); err != nil {
		t.Fatalf("read body: %v", err)
	}
	return head, string(b)
}

// TestLeanSameAnswers compares the lean path's answers with net/http's
// for one Handler, byte for byte but for Date: status line, the header
// fields in order, and body.
func TestLeanSameAnswers(t *testing.T) {
	h := server.New(server.Options{Now: func() time.Time { return clock }})
	h.Store(rowRules(t))
	plain := httptest.NewServer(h)
	t.Cleanup(plain.Close)
	ls := startLean(t, h, nil)
	tests := []struct{ name, method, target string }{
		{"307", "GET", "/original-resource?q=1"},
		{"307 HEAD", "HEAD", "/original-resource"},
		{"410", "GET", "/gone"},
		{"404", "GET", "/nothing-here"},
		{"404 HEAD", "HEAD", "/nothing-here"},
		{"table row", "GET", "/t1"},
		{"rule with header fields", "GET", "/fields"},
		{"absolute Location", "GET", "/abs"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := tt.method + " " + tt.target + " HTTP/1.1\r\nHost: example.com\r\n\r\n"
			wantHead, wantBody := rawAnswer(t, plain.Listener.Addr().String(), req)
			gotHead, gotBody := rawAnswer(t, ls.Addr, req)
			if !reflect.DeepEqual(gotHead, wantHead) {
				t.Errorf("head\n%q\nwant net/http's\n%q", gotHead, wantHead)
			}
			if gotBody != wantBody {
				t.Errorf("body %q, want net/http's %q", gotBody, wantBody)
			}
		})
	}
	wantCounts(t, ls, uint64(len(tests)), 0)
}

// TestLeanIdleConnectionsHoldNoBuffers: a keep-alive connection that has
// been answered and waits for its next request keeps no read or write
// buffer of its own (the loop lends its buffers to one connection at a
// time), so a thousand idle connections cost the server little memory —
// as nginx frees its buffers on idle keep-alive connections. The clients
// run in a child process, so that only the server's memory is measured.
func TestLeanIdleConnectionsHoldNoBuffers(t *testing.T) {
	if addr := os.Getenv("DETOUR_TEST_IDLE_CLIENT"); addr != "" {
		idleClients(addr) // the child: never returns
	}
	if runtime.GOOS != "linux" {
		t.Skip("the lean event loops run on Linux only")
	}
	const conns = 1000
	ls, _ := newLean(t, server.Options{}, testRules(t), nil)
	heap := func() uint64 {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapInuse
	}
	before := heap()
	cmd := exec.Command(os.Args[0], "-test.run=^TestLeanIdleConnectionsHoldNoBuffers$")
	cmd.Env = append(os.Environ(), "DETOUR_TEST_IDLE_CLIENT="+ls.Addr, "DETOUR_TEST_IDLE_CONNS="+strconv.Itoa(conns))
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || strings.TrimSpace(line) != "ready" {
		t.Fatalf("client: %q, %v", line, err)
	}
	wantCounts(t, ls, conns, 0)
	after := heap()
	per := float64(max(after, before)-before) / conns
	t.Logf("%.0f bytes of server heap per idle connection", per)
	// A connection's own 4 KiB buffers would be 8 KiB or more; what is
	// left is its record (and the loop's table of them).
	if per > 1024 {
		t.Errorf("%.0f bytes of heap per idle connection, want under 1 KiB", per)
	}
}

// idleClients opens $DETOUR_TEST_IDLE_CONNS keep-alive connections to
// addr, has one request answered on each, says "ready" and holds them.
func idleClients(addr string) {
	n, _ := strconv.Atoi(os.Getenv("DETOUR_TEST_IDLE_CONNS"))
	idleHeld = make([]net.Conn, 0, n)
	for range n {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			fmt.Println("dial:", err)
			os.Exit(1)
		}
		io.WriteString(c, "GET /original-resource HTTP/1.1\r\nHost: detour.test\r\n\r\n")
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil || resp.StatusCode != 307 {
			fmt.Println("answer:", resp, err)
			os.Exit(1)
		}
		io.Copy(io.Discard, resp.Body)
		idleHeld = append(idleHeld, c)
	}
	fmt.Println("ready")
	select {}
}

// idleHeld keeps idleClients' connections reachable: a net.Conn the
// collector finds unreachable is closed by its finalizer.
var idleHeld []net.Conn

// TestLeanLoopsKeepTheirOwnP checks that GOMAXPROCS rises by one for each
// event loop while it runs (a loop keeps its P while it waits in
// epoll_wait, and the rest of the program keeps the Ps it had) and comes
// back down when the loops end, also with two servers at once.
func TestLeanLoopsKeepTheirOwnP(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the lean event loops run on Linux only")
	}
	base := runtime.GOMAXPROCS(0)
	wantProcs := func(want int) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for runtime.GOMAXPROCS(0) != want && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
		if got := runtime.GOMAXPROCS(0); got != want {
			t.Fatalf("GOMAXPROCS = %d, want %d (base %d)", got, want, base)
		}
	}
	first, _ := newLean(t, server.Options{}, testRules(t), nil)
	wantProcs(2 * base) // base loops, each with a P of its own
	second, _ := newLean(t, server.Options{}, testRules(t), nil)
	wantProcs(3 * base) // base loops more, not 2*base: loops do not count their own Ps
	for _, ls := range []*leanServer{first, second} {
		c := dial(t, ls.Addr)
		c.send(t, request("GET", "/s/1"))
		if got := c.read(t, "GET"); got.status != 307 {
			t.Fatalf("got %d, want 307", got.status)
		}
	}
	second.Close()
	second.served(t)
	wantProcs(2 * base)
	first.Close()
	first.served(t)
	wantProcs(base)
}

// TestLeanIdleLoopParks checks that a loop with nothing to do stops
// waiting in epoll_wait (where it holds its P and its thread) and parks
// in Go's poller, and that a request wakes it from there.
func TestLeanIdleLoopParks(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the lean event loops run on Linux only")
	}
	ls, _ := newLean(t, server.Options{}, testRules(t), nil)
	c := dial(t, ls.Addr)
	for i := range 3 {
		// A goroutine parked in the poller shows in a dump as waiting
		// for I/O; one in epoll_wait is running, with no stack shown.
		parked := 0
		deadline := time.Now().Add(5 * time.Second)
		for parked < runtime.GOMAXPROCS(0)/2 && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
			buf := make([]byte, 1<<20)
			dump := string(buf[:runtime.Stack(buf, true)])
			parked = 0
			for _, g := range strings.Split(dump, "\n\n") {
				if strings.Contains(g, "[IO wait") && strings.Contains(g, "(*loop).parked") {
					parked++
				}
			}
		}
		if want := runtime.GOMAXPROCS(0) / 2; parked != want {
			t.Fatalf("round %d: %d loops parked in the poller, want all %d", i, parked, want)
		}
		c.send(t, request("GET", fmt.Sprintf("/s/%d", i)))
		if got := c.read(t, "GET"); got.status != 307 || got.header.Get("Location") != fmt.Sprintf("/t/%d", i) {
			t.Fatalf("round %d: got %d %q, want 307 /t/%d", i, got.status, got.header.Get("Location"), i)
		}
	}
	wantCounts(t, ls, 3, 0)
}
