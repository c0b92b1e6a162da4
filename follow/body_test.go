package follow_test

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/detourhttp/detour/follow"
)

// randomBody returns n reproducible pseudo-random bytes.
func randomBody(n int) []byte {
	r := rand.New(rand.NewPCG(uint64(n), 7))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// pipeBody returns a body that cannot be rewound: an io.Pipe fed with b in
// small writes by another goroutine.
func pipeBody(b []byte) io.ReadCloser {
	pr, pw := io.Pipe()
	go func() {
		for len(b) > 0 {
			n := min(len(b), 3000)
			if _, err := pw.Write(b[:n]); err != nil {
				pw.CloseWithError(err)
				return
			}
			b = b[n:]
		}
		pw.Close()
	}()
	return pr
}

// waitEmpty waits until dir is empty: the last request using a spilled
// body may be closed by the Transport just after Follow returns.
func waitEmpty(t *testing.T, dir string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		if len(entries) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("temp files left in %s: %v", dir, entries)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// TestReplayPipeBody: a body that cannot be rewound is sent again, byte for
// byte, at every hop of 307 and 308 chains, from memory or from a temp file.
func TestReplayPipeBody(t *testing.T) {
	tests := []struct {
		name      string
		chain     []int // the statuses of the redirects, in order
		size      int
		memory    int64 // Client.ReplayMemory
		expect    int64 // Client.ExpectContinueThreshold
		wantSpill bool
	}{
		{name: "307 once, kept in memory", chain: []int{307}, size: 100 << 10},
		{name: "308 once, kept in memory", chain: []int{308}, size: 100 << 10},
		{name: "307 308 307 chain, kept in memory", chain: []int{307, 308, 307}, size: 100 << 10},
		{name: "307 308 chain, spilled to a temp file", chain: []int{307, 308}, size: 300 << 10, memory: 16 << 10, wantSpill: true},
		{name: "308 every byte spilled", chain: []int{308}, size: 10 << 10, memory: -1, wantSpill: true},
		{name: "307 without Expect: 100-continue", chain: []int{307}, size: 50 << 10, expect: -1},
		{name: "307 with an empty stream", chain: []int{307}, size: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tmp := t.TempDir()
			var spilled atomic.Bool
			routes := map[string]http.HandlerFunc{}
			for i, status := range tt.chain {
				next := fmt.Sprintf("/hop%d", i+1)
				h := redirect(status, next)
				routes[fmt.Sprintf("/hop%d", i)] = func(w http.ResponseWriter, r *http.Request) {
					if entries, _ := os.ReadDir(tmp); len(entries) > 0 {
						spilled.Store(true)
					}
					h(w, r)
				}
			}
			srv := newHopServer(t, "", routes)
			c := newClient(t)
			c.ReplayMemory, c.TempDir, c.ExpectContinueThreshold = tt.memory, tmp, tt.expect

			want := randomBody(tt.size)
			req := mustRequest(t, "POST", srv.URL+"/hop0", pipeBody(want))
			req.Header.Set("Content-Type", "application/octet-stream")
			res, _ := mustFollow(t, c, req)

			got := srv.requests()
			if len(got) != len(tt.chain)+1 {
				t.Fatalf("server got %d requests, want %d: %v", len(got), len(tt.chain)+1, paths(got))
			}
			for i, r := range got {
				if r.Method != "POST" {
					t.Errorf("hop %d: method %s, want POST", i+1, r.Method)
				}
				if !bytes.Equal([]byte(r.Body), want) {
					t.Errorf("hop %d: body of %d bytes differs from the %d sent", i+1, len(r.Body), len(want))
				}
				if got := r.Header.Get("Content-Type"); got != "application/octet-stream" {
					t.Errorf("hop %d: Content-Type %q", i+1, got)
				}
				// The first request's length is unknown; a replay's is
				// known, and under the threshold.
				wantExpect := ""
				if i == 0 && tt.expect >= 0 {
					wantExpect = "100-continue"
				}
				if got := r.Header.Get("Expect"); got != wantExpect {
					t.Errorf("hop %d: Expect %q, want %q", i+1, got, wantExpect)
				}
				if i > 0 && len(want) > 0 && r.Len != int64(len(want)) {
					// Once read to its end the length is known, and
					// replays say it.
					t.Errorf("hop %d: Content-Length %d, want %d", i+1, r.Len, len(want))
				}
			}
			for i, h := range res.Hops {
				if got, want := h.BodyReplayed, i > 0; got != want {
					t.Errorf("hop %d: BodyReplayed = %v, want %v", i+1, got, want)
				}
			}
			if got := spilled.Load(); got != tt.wantSpill {
				t.Errorf("spilled to a temp file = %v, want %v", got, tt.wantSpill)
			}
			waitEmpty(t, tmp)
		})
	}
}

// TestRewindableBody: a body with GetBody is rewound through it, never
// kept, and replayed whole.
func TestRewindableBody(t *testing.T) {
	tmp := t.TempDir()
	srv := newHopServer(t, "", map[string]http.HandlerFunc{
		"/a": redirect(307, "/b"),
		"/b": redirect(308, "/c"),
	})
	c := newClient(t)
	c.ReplayMemory, c.TempDir = -1, tmp // would spill every byte it kept
	want := strings.Repeat("data=example&", 1000)
	mustFollow(t, c, mustRequest(t, "PUT", srv.URL+"/a", strings.NewReader(want)))
	for i, r := range srv.requests() {
		if r.Method != "PUT" || r.Body != want {
			t.Errorf("hop %d: %s with %d bytes, want PUT with %d", i+1, r.Method, len(r.Body), len(want))
		}
	}
	if entries, _ := os.ReadDir(tmp); len(entries) != 0 {
		t.Errorf("a rewindable body was kept: %v", entries)
	}
}

// TestBodyTooLarge: a body that cannot be rewound and is over the replay
// limit is a clear error, never an empty request or a silent GET; the first
// request still gets all of it.
func TestBodyTooLarge(t *testing.T) {
	tests := []struct {
		name   string
		method string
		status int
		limit  int64
		memory int64
		tmp    string // Client.TempDir
		msg    string // in the error
	}{
		{name: "POST 307 over the limit", method: "POST", status: 307, limit: 4 << 10},
		{name: "POST 308 over the limit", method: "POST", status: 308, limit: 4 << 10},
		{name: "PUT 302 over the limit (keeps its body)", method: "PUT", status: 302, limit: 4 << 10},
		{name: "POST 307 with replay disabled", method: "POST", status: 307, limit: -1},
		{name: "POST 307 when the temp file cannot be made", method: "POST", status: 307, memory: 1 << 10,
			tmp: "/nonexistent/follow-test", msg: "spill body to temp file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newHopServer(t, "", map[string]http.HandlerFunc{"/a": redirect(tt.status, "/b")})
			c := newClient(t)
			c.ReplayLimit, c.ReplayMemory, c.TempDir = tt.limit, tt.memory, tt.tmp
			want := randomBody(64 << 10)
			res, err := c.Follow(mustRequest(t, tt.method, srv.URL+"/a", pipeBody(want)))
			if !errors.Is(err, follow.ErrBodyTooLarge) {
				t.Fatalf("Follow: res %v, err %v; want ErrBodyTooLarge", res, err)
			}
			var fe *follow.Error
			if !errors.As(err, &fe) || len(fe.Hops) != 1 || fe.Hops[0].Status != tt.status {
				t.Errorf("error's hops = %+v, want the one %d", fe, tt.status)
			}
			if !strings.Contains(err.Error(), "hop 1") || !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("error %q does not name the hop or say %q", err, tt.msg)
			}
			got := srv.requests()
			if len(got) != 1 {
				t.Fatalf("server got %v; want /a only (no empty request, no GET)", paths(got))
			}
			if !bytes.Equal([]byte(got[0].Body), want) {
				t.Errorf("the first request got %d bytes, want %d", len(got[0].Body), len(want))
			}
		})
	}
}

// TestExpectContinue: a large body goes with "Expect: 100-continue", so a
// hop that redirects without asking for it does not receive the upload;
// the next hop gets all of it. The redirecting hop is a raw TCP server that
// counts every byte it receives after the request headers.
func TestExpectContinue(t *testing.T) {
	tests := []struct {
		name       string
		size       int
		known      bool // the body's length is known (a bytes.Reader)
		wantExpect bool
	}{
		{name: "stream of unknown length", size: 256 << 10, wantExpect: true},
		{name: "known length over the threshold", size: 2 << 20, known: true, wantExpect: true},
		{name: "known length under the threshold", size: 1 << 10, known: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			target := newHopServer(t, "", nil)
			raw := newRawRedirector(t, 307, target.URL+"/target")
			c := newClient(t)
			want := randomBody(tt.size)
			var body io.Reader = pipeBody(want)
			if tt.known {
				body = bytes.NewReader(want)
			}
			res, _ := mustFollow(t, c, mustRequest(t, "POST", raw.url, body))

			hdr, n := raw.result(t)
			if got := hdr.Get("Expect") == "100-continue"; got != tt.wantExpect {
				t.Errorf("Expect: 100-continue sent = %v, want %v", got, tt.wantExpect)
			}
			if tt.wantExpect && n != 0 {
				t.Errorf("redirecting hop received %d body bytes, want 0", n)
			}
			got := target.requests()
			if len(got) != 1 || !bytes.Equal([]byte(got[0].Body), want) {
				t.Fatalf("target got %v (%d bytes), want the whole body", paths(got), len(got[0].Body))
			}
			if len(res.Hops) != 2 || res.Hops[1].Status != 200 {
				t.Errorf("hops = %v", res.Hops)
			}
		})
	}
}

// rawRedirector is a TCP server that reads one request's headers, answers
// with a redirect and "Connection: close" without sending "100 Continue",
// and counts the bytes that arrive after the headers until the client
// closes.
type rawRedirector struct {
	url  string
	done chan rawResult
}

type rawResult struct {
	header http.Header
	n      int64
	err    error
}

func newRawRedirector(t *testing.T, status int, location string) *rawRedirector {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	r := &rawRedirector{url: "http://" + ln.Addr().String() + "/upload", done: make(chan rawResult, 1)}
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			r.done <- rawResult{err: err}
			return
		}
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(10 * time.Second))
		br := bufio.NewReader(conn)
		req, err := http.ReadRequest(br)
		if err != nil {
			r.done <- rawResult{err: err}
			return
		}
		fmt.Fprintf(conn, "HTTP/1.1 %d %s\r\nLocation: %s\r\nConnection: close\r\nContent-Length: 0\r\n\r\n",
			status, http.StatusText(status), location)
		// Whatever comes now is the upload; the client closes the
		// connection when it has read the response.
		n, err := io.Copy(io.Discard, br)
		r.done <- rawResult{header: req.Header, n: n, err: err}
	}()
	return r
}

func (r *rawRedirector) result(t *testing.T) (http.Header, int64) {
	t.Helper()
	select {
	case res := <-r.done:
		if res.err != nil {
			t.Fatalf("raw server: %v", res.err)
		}
		return res.header, res.n
	case <-time.After(10 * time.Second):
		t.Fatal("raw server: no result")
	}
	return nil, 0
}

// TestReplayWhileFirstHopStillSends: a server that answers 307 before
// reading the body and keeps the connection, so the Transport goes on
// sending the first hop's body while the second hop sends its replay: two
// readers of one captured stream at once. The replay is still identical.
func TestReplayWhileFirstHopStillSends(t *testing.T) {
	target := newHopServer(t, "", nil)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	firstGot := make(chan int64, 1)
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(10 * time.Second))
		br := bufio.NewReader(conn)
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		fmt.Fprintf(conn, "HTTP/1.1 307 Temporary Redirect\r\nLocation: %s/target\r\nContent-Length: 0\r\n\r\n", target.URL)
		n, _ := io.Copy(io.Discard, req.Body)
		firstGot <- n
		io.Copy(io.Discard, br) // until the client closes
	}()

	c := newClient(t)
	c.ExpectContinueThreshold = -1 // send at once
	want := randomBody(512 << 10)
	res, _ := mustFollow(t, c, mustRequest(t, "POST", "http://"+ln.Addr().String()+"/upload", pipeBody(want)))
	got := target.requests()
	if len(got) != 1 || !bytes.Equal([]byte(got[0].Body), want) {
		t.Fatalf("target got %d requests, body of %d bytes; want the %d bytes sent", len(got), len(got[0].Body), len(want))
	}
	if !res.Hops[1].BodyReplayed {
		t.Errorf("hop 2 not marked replayed")
	}
	// The first hop's own upload may be cut short if the Transport gives
	// up on that connection; it is never longer than the body.
	select {
	case n := <-firstGot:
		if n > int64(len(want)) {
			t.Errorf("first hop got %d bytes of %d", n, len(want))
		}
		t.Logf("first hop received %d of %d bytes", n, len(want))
	case <-time.After(10 * time.Second):
		t.Error("first hop never finished reading")
	}
}
