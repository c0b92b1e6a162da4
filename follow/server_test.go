package follow_test

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/detourhttp/detour/follow"
)

// received is what a test server got: one request of a chain.
type received struct {
	Method string
	Host   string
	URI    string // the request target as sent, escapes included
	Header http.Header
	Body   string
	Len    int64 // the request's ContentLength
}

// hopServer is a real loopback HTTP server that plays the hops of a chain:
// a path in routes answers with its handler, any other path with 200 and
// "ok". It records every request it gets, body included.
type hopServer struct {
	*httptest.Server
	mu     sync.Mutex
	got    []received
	routes map[string]http.HandlerFunc
}

// newHopServer starts a server on 127.0.0.1 (addr "") or on addr.
func newHopServer(t testing.TB, addr string, routes map[string]http.HandlerFunc) *hopServer {
	t.Helper()
	s := &hopServer{routes: routes}
	ts := httptest.NewUnstartedServer(http.HandlerFunc(s.serve))
	if addr != "" {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			t.Fatalf("listen %s: %v", addr, err)
		}
		ts.Listener.Close()
		ts.Listener = ln
	}
	ts.Start()
	t.Cleanup(ts.Close)
	s.Server = ts
	return s
}

// newTLSHopServer is newHopServer over TLS.
func newTLSHopServer(t testing.TB, routes map[string]http.HandlerFunc) *hopServer {
	t.Helper()
	s := &hopServer{routes: routes}
	ts := httptest.NewTLSServer(http.HandlerFunc(s.serve))
	t.Cleanup(ts.Close)
	s.Server = ts
	return s
}

func (s *hopServer) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	s.got = append(s.got, received{
		Method: r.Method,
		Host:   r.Host,
		URI:    r.RequestURI,
		Header: r.Header.Clone(),
		Body:   string(body),
		Len:    r.ContentLength,
	})
	h := s.routes[r.URL.Path]
	s.mu.Unlock()
	if h != nil {
		h(w, r)
		return
	}
	io.WriteString(w, "ok")
}

// route sets the handler of path.
func (s *hopServer) route(path string, h http.HandlerFunc) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.routes == nil {
		s.routes = make(map[string]http.HandlerFunc)
	}
	s.routes[path] = h
}

// requests returns what the server got so far and forgets it.
func (s *hopServer) requests() []received {
	s.mu.Lock()
	defer s.mu.Unlock()
	got := s.got
	s.got = nil
	return got
}

// redirect answers with status and Location loc, and a small HTML note as
// detour's server sends.
func redirect(status int, loc string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Location", loc)
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(status)
		fmt.Fprintf(w, "<a href=%q>moved</a>\n", loc)
	}
}

// newTransport returns a Transport that waits for "100 Continue" and trusts
// the TLS servers given, closed when the test ends.
func newTransport(t testing.TB, tlsServers ...*httptest.Server) *http.Transport {
	t.Helper()
	tr := &http.Transport{
		ExpectContinueTimeout: 5 * time.Second,
		MaxIdleConnsPerHost:   4,
	}
	for _, s := range tlsServers {
		tr.TLSClientConfig = s.Client().Transport.(*http.Transport).TLSClientConfig.Clone()
	}
	t.Cleanup(tr.CloseIdleConnections)
	return tr
}

// newClient returns a follow.Client on a fresh Transport.
func newClient(t testing.TB) *follow.Client {
	t.Helper()
	return &follow.Client{HTTP: &http.Client{Transport: newTransport(t)}}
}

// mustRequest builds a request or fails the test.
func mustRequest(t testing.TB, method, url string, body io.Reader) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatalf("NewRequest: %v", err)
	}
	return req
}

// mustFollow runs Follow and fails the test on error; the final body is
// read and closed.
func mustFollow(t testing.TB, c *follow.Client, req *http.Request) (*follow.Result, string) {
	t.Helper()
	res, err := c.Follow(req)
	if err != nil {
		t.Fatalf("Follow: %v", err)
	}
	body, err := io.ReadAll(res.Response.Body)
	res.Response.Body.Close()
	if err != nil {
		t.Fatalf("read final body: %v", err)
	}
	return res, string(body)
}

// paths returns the method and request target of each request.
func paths(rs []received) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.Method + " " + r.URI
	}
	return out
}
