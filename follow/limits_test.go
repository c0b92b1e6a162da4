package follow_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptrace"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/detourhttp/detour/follow"
)

// linearChain makes /c0 … /c(n-1) redirect (302) each to the next; /cn
// answers 200.
func linearChain(n int) map[string]http.HandlerFunc {
	routes := map[string]http.HandlerFunc{}
	for i := range n {
		routes[fmt.Sprintf("/c%d", i)] = redirect(302, fmt.Sprintf("/c%d", i+1))
	}
	return routes
}

// TestMaxRedirects: at most MaxRedirects redirects are followed; one more is
// an error that carries the chain; NoRedirects returns the first response as
// it is.
func TestMaxRedirects(t *testing.T) {
	tests := []struct {
		name      string
		chain     int // redirects before the final 200
		max       int
		wantErr   bool
		wantHops  int
		wantFinal int
	}{
		{name: "default 20 follows 20", chain: 20, max: 0, wantHops: 21, wantFinal: 200},
		{name: "default 20 refuses 21", chain: 21, max: 0, wantErr: true, wantHops: 21},
		{name: "3 follows 3", chain: 3, max: 3, wantHops: 4, wantFinal: 200},
		{name: "3 refuses 4", chain: 4, max: 3, wantErr: true, wantHops: 4},
		{name: "1 refuses 2", chain: 2, max: 1, wantErr: true, wantHops: 2},
		{name: "NoRedirects returns the redirect itself", chain: 2, max: follow.NoRedirects, wantHops: 1, wantFinal: 302},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newHopServer(t, "", linearChain(tt.chain))
			c := newClient(t)
			c.MaxRedirects = tt.max
			res, err := c.Follow(mustRequest(t, "GET", srv.URL+"/c0", nil))
			if tt.wantErr {
				if !errors.Is(err, follow.ErrTooManyRedirects) {
					t.Fatalf("err = %v, want ErrTooManyRedirects", err)
				}
				var fe *follow.Error
				errors.As(err, &fe)
				if len(fe.Hops) != tt.wantHops {
					t.Errorf("error's hops = %d, want %d", len(fe.Hops), tt.wantHops)
				}
				if fe.Cycle != nil {
					t.Errorf("cycle = %v in a chain without one", fe.Cycle)
				}
				if got := len(srv.requests()); got != tt.wantHops {
					t.Errorf("server got %d requests, want %d", got, tt.wantHops)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer res.Response.Body.Close()
			if res.Response.StatusCode != tt.wantFinal || len(res.Hops) != tt.wantHops {
				t.Errorf("final %d after %d hops, want %d after %d", res.Response.StatusCode, len(res.Hops), tt.wantFinal, tt.wantHops)
			}
			if tt.max == follow.NoRedirects {
				// As it is: the redirect's own body, unread.
				body, _ := io.ReadAll(res.Response.Body)
				if !strings.Contains(string(body), "moved") {
					t.Errorf("first response body = %q", body)
				}
			}
		})
	}
}

// setCookieRedirect redirects to next with a Set-Cookie that changes every
// time, so that no repeat is a loop at once.
func setCookieRedirect(next string) http.HandlerFunc {
	var n atomic.Int64
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Add("Set-Cookie", fmt.Sprintf("n=%d", n.Add(1)))
		redirect(302, next)(w, r)
	}
}

// TestCycles: a chain that goes round is stopped at once when nothing
// changes between rounds (ErrLoop), and at the limit when cookies change
// (ErrTooManyRedirects); both name the cycle.
func TestCycles(t *testing.T) {
	tests := []struct {
		name      string
		routes    func() map[string]http.HandlerFunc
		jar       bool
		wantErr   error
		wantHops  int
		wantCycle []string // paths of the hops in the cycle
	}{
		{name: "self redirect is a loop at once",
			routes:  func() map[string]http.HandlerFunc { return map[string]http.HandlerFunc{"/a": redirect(302, "/a")} },
			wantErr: follow.ErrLoop, wantHops: 1, wantCycle: []string{"/a"}},
		{name: "a to b to a is a loop at once",
			routes: func() map[string]http.HandlerFunc {
				return map[string]http.HandlerFunc{"/a": redirect(307, "/b"), "/b": redirect(307, "/a")}
			},
			wantErr: follow.ErrLoop, wantHops: 2, wantCycle: []string{"/a", "/b"}},
		{name: "a loop entered after a first hop",
			routes: func() map[string]http.HandlerFunc {
				return map[string]http.HandlerFunc{"/s": redirect(301, "/a"), "/a": redirect(302, "/b"), "/b": redirect(302, "/a")}
			},
			wantErr: follow.ErrLoop, wantHops: 3, wantCycle: []string{"/a", "/b"}},
		{name: "Set-Cookie each round: not a loop, but the limit names the cycle",
			routes: func() map[string]http.HandlerFunc {
				return map[string]http.HandlerFunc{"/s": redirect(302, "/a"), "/a": setCookieRedirect("/b"), "/b": setCookieRedirect("/a")}
			},
			wantErr: follow.ErrTooManyRedirects, wantHops: 21, wantCycle: []string{"/a", "/b"}},
		{name: "the same with a jar (the Cookie header changes too)", jar: true,
			routes: func() map[string]http.HandlerFunc {
				return map[string]http.HandlerFunc{"/a": setCookieRedirect("/b"), "/b": setCookieRedirect("/a")}
			},
			wantErr: follow.ErrTooManyRedirects, wantHops: 21, wantCycle: []string{"/a", "/b"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			routes := tt.routes()
			srv := newHopServer(t, "", routes)
			c := newClient(t)
			if tt.jar {
				c.HTTP.Jar, _ = cookiejar.New(nil)
			}
			start := "/a"
			if _, ok := routes["/s"]; ok {
				start = "/s"
			}
			_, err := c.Follow(mustRequest(t, "GET", srv.URL+start, nil))
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			var fe *follow.Error
			errors.As(err, &fe)
			if len(fe.Hops) != tt.wantHops {
				t.Errorf("hops = %d, want %d", len(fe.Hops), tt.wantHops)
			}
			if got := len(srv.requests()); got != tt.wantHops {
				t.Errorf("server got %d requests, want %d (nothing sent after the error)", got, tt.wantHops)
			}
			var cycle []string
			for _, i := range fe.Cycle {
				cycle = append(cycle, strings.TrimPrefix(fe.Hops[i].URL, srv.URL))
			}
			if !slices.Equal(cycle, tt.wantCycle) {
				t.Errorf("cycle = %q, want %q", cycle, tt.wantCycle)
			}
			var want strings.Builder
			want.WriteString("(cycle: ")
			for _, p := range append(tt.wantCycle, tt.wantCycle[0]) {
				fmt.Fprintf(&want, "GET %s%s → ", srv.URL, p)
			}
			wantMsg := strings.TrimSuffix(want.String(), " → ") + ")"
			if !strings.HasSuffix(err.Error(), wantMsg) {
				t.Errorf("error %q does not end with %q", err, wantMsg)
			}
		})
	}
}

// TestCookieChangeBreaksLoop: a server that redirects a URL to itself
// while setting a cookie (a cookie check) is followed until it answers.
func TestCookieChangeBreaksLoop(t *testing.T) {
	tests := []struct {
		name      string
		setCookie bool
		wantErr   error
	}{
		{name: "with Set-Cookie the repeat is followed", setCookie: true},
		{name: "without Set-Cookie the repeat is a loop", setCookie: false, wantErr: follow.ErrLoop},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var visits atomic.Int64
			srv := newHopServer(t, "", map[string]http.HandlerFunc{
				"/check": func(w http.ResponseWriter, r *http.Request) {
					if visits.Add(1) < 3 {
						if tt.setCookie {
							w.Header().Add("Set-Cookie", "seen=1")
						}
						redirect(302, "/check")(w, r)
						return
					}
					io.WriteString(w, "welcome")
				},
			})
			res, err := newClient(t).Follow(mustRequest(t, "GET", srv.URL+"/check", nil))
			if !errors.Is(err, tt.wantErr) && !(tt.wantErr == nil && err == nil) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if err == nil {
				res.Response.Body.Close()
				if len(res.Hops) != 3 || res.Response.StatusCode != 200 {
					t.Errorf("final %d after %d hops, want 200 after 3", res.Response.StatusCode, len(res.Hops))
				}
			}
		})
	}
}

// TestRetryAfter: Retry-After on a redirect is reported, and with
// RetryAfterMax honoured up to the cap, through the injected Sleep.
func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name        string
		header      string
		max         time.Duration
		wantAfter   time.Duration
		wantSlept   []time.Duration
		wantChanges []string
	}{
		{name: "seconds, honoured", header: "2", max: time.Minute, wantAfter: 2 * time.Second,
			wantSlept: []time.Duration{2 * time.Second}, wantChanges: []string{"waited 2s (Retry-After)"}},
		{name: "seconds, capped", header: "120", max: 5 * time.Second, wantAfter: 2 * time.Minute,
			wantSlept: []time.Duration{5 * time.Second}, wantChanges: []string{"waited 5s (Retry-After 2m0s, capped)"}},
		{name: "HTTP date, honoured", header: now.Add(3 * time.Second).Format(http.TimeFormat), max: time.Minute,
			wantAfter: 3 * time.Second, wantSlept: []time.Duration{3 * time.Second}, wantChanges: []string{"waited 3s (Retry-After)"}},
		{name: "HTTP date in the past", header: now.Add(-time.Hour).Format(http.TimeFormat), max: time.Minute},
		{name: "reported, not honoured by default", header: "7", wantAfter: 7 * time.Second,
			wantChanges: []string{"Retry-After 7s not waited for"}},
		{name: "garbage ignored", header: "soon", max: time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newHopServer(t, "", map[string]http.HandlerFunc{
				"/busy": func(w http.ResponseWriter, r *http.Request) {
					w.Header().Set("Retry-After", tt.header)
					redirect(307, "/later")(w, r)
				},
			})
			var slept []time.Duration
			c := newClient(t)
			c.RetryAfterMax = tt.max
			c.Now = func() time.Time { return now }
			c.Sleep = func(ctx context.Context, d time.Duration) error {
				slept = append(slept, d)
				return nil
			}
			res, _ := mustFollow(t, c, mustRequest(t, "GET", srv.URL+"/busy", nil))
			if !slices.Equal(slept, tt.wantSlept) {
				t.Errorf("slept %v, want %v", slept, tt.wantSlept)
			}
			h := res.Hops[0]
			if h.RetryAfter != tt.wantAfter {
				t.Errorf("RetryAfter = %v, want %v", h.RetryAfter, tt.wantAfter)
			}
			if !slices.Equal(h.Changes, tt.wantChanges) {
				t.Errorf("changes = %q, want %q", h.Changes, tt.wantChanges)
			}
			if len(tt.wantSlept) > 0 && h.Waited != tt.wantSlept[0] {
				t.Errorf("Waited = %v, want %v", h.Waited, tt.wantSlept[0])
			}
		})
	}

	t.Run("a cancelled wait is an error", func(t *testing.T) {
		srv := newHopServer(t, "", map[string]http.HandlerFunc{
			"/busy": func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Retry-After", "3600")
				redirect(307, "/later")(w, r)
			},
		})
		ctx, cancel := context.WithCancel(context.Background())
		c := newClient(t)
		c.RetryAfterMax = time.Hour
		c.Sleep = func(ctx context.Context, d time.Duration) error {
			cancel()
			<-ctx.Done()
			return ctx.Err()
		}
		req := mustRequest(t, "GET", srv.URL+"/busy", nil).WithContext(ctx)
		if _, err := c.Follow(req); !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
		if got := srv.requests(); len(got) != 1 {
			t.Errorf("server got %v", paths(got))
		}
	})
}

// TestConnectionReuse: intermediate bodies are drained and closed, so every
// hop after the first reuses the connection.
func TestConnectionReuse(t *testing.T) {
	note := strings.Repeat("moved; ", 500) // a few KiB, like a long HTML note
	srv := newHopServer(t, "", map[string]http.HandlerFunc{
		"/r1": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Location", "/r2")
			w.WriteHeader(302)
			io.WriteString(w, note)
		},
		"/r2": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Location", "/r3")
			w.WriteHeader(307)
			w.(http.Flusher).Flush() // chunked: length unknown
			io.WriteString(w, note)
		},
	})
	var mu sync.Mutex
	var reused []bool
	trace := &httptrace.ClientTrace{GotConn: func(info httptrace.GotConnInfo) {
		mu.Lock()
		reused = append(reused, info.Reused)
		mu.Unlock()
	}}
	ctx := httptrace.WithClientTrace(context.Background(), trace)
	req := mustRequest(t, "POST", srv.URL+"/r1", strings.NewReader("x=1")).WithContext(ctx)
	mustFollow(t, newClient(t), req)
	mu.Lock()
	defer mu.Unlock()
	if want := []bool{false, true, true}; !slices.Equal(reused, want) {
		t.Errorf("connections reused = %v, want %v", reused, want)
	}
}

// TestDurations: each hop's duration is measured with the injected clock.
func TestDurations(t *testing.T) {
	srv := newHopServer(t, "", linearChain(2))
	var ticks atomic.Int64
	c := newClient(t)
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c.Now = func() time.Time {
		// Each call is 5ms after the previous one.
		return start.Add(time.Duration(ticks.Add(1)) * 5 * time.Millisecond)
	}
	res, _ := mustFollow(t, c, mustRequest(t, "GET", srv.URL+"/c0", nil))
	for i, h := range res.Hops {
		if h.Duration != 5*time.Millisecond {
			t.Errorf("hop %d duration = %v, want 5ms", i+1, h.Duration)
		}
	}
}

// TestTimeoutCoversTheChain: the http.Client's Timeout limits the whole
// chain, not each hop.
func TestTimeoutCoversTheChain(t *testing.T) {
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	srv := newHopServer(t, "", map[string]http.HandlerFunc{
		"/t1": redirect(302, "/t2"),
		"/t2": func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
			case <-release:
			}
		},
	})
	c := newClient(t)
	c.HTTP.Timeout = 100 * time.Millisecond
	_, err := c.Follow(mustRequest(t, "GET", srv.URL+"/t1", nil))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want a deadline", err)
	}
	var fe *follow.Error
	if errors.As(err, &fe); len(fe.Hops) != 1 || !strings.Contains(err.Error(), "hop 2: GET "+srv.URL+"/t2") {
		t.Errorf("error %q with %d hops; want it to name hop 2 after 1 hop", err, len(fe.Hops))
	}
}

// TestCheckRedirect: the http.Client's CheckRedirect is called before each
// hop with the next request and those made so far, as http.Client calls it.
func TestCheckRedirect(t *testing.T) {
	srv := newHopServer(t, "", linearChain(3))
	t.Run("ErrUseLastResponse returns the redirect", func(t *testing.T) {
		c := newClient(t)
		var calls []string
		c.HTTP.CheckRedirect = func(req *http.Request, via []*http.Request) error {
			calls = append(calls, fmt.Sprintf("%s via %d", req.URL.Path, len(via)))
			if len(via) == 2 {
				return http.ErrUseLastResponse
			}
			return nil
		}
		res, _ := mustFollow(t, c, mustRequest(t, "GET", srv.URL+"/c0", nil))
		if want := []string{"/c1 via 1", "/c2 via 2"}; !slices.Equal(calls, want) {
			t.Errorf("calls = %q, want %q", calls, want)
		}
		if res.Response.StatusCode != 302 || len(res.Hops) != 2 {
			t.Errorf("final %d after %d hops, want the 302 after 2", res.Response.StatusCode, len(res.Hops))
		}
		srv.requests()
	})
	t.Run("an error stops the chain", func(t *testing.T) {
		c := newClient(t)
		stop := errors.New("not there")
		c.HTTP.CheckRedirect = func(*http.Request, []*http.Request) error { return stop }
		if _, err := c.Follow(mustRequest(t, "GET", srv.URL+"/c0", nil)); !errors.Is(err, stop) {
			t.Fatalf("err = %v, want %v", err, stop)
		}
		if got := srv.requests(); len(got) != 1 {
			t.Errorf("server got %v", paths(got))
		}
	})
}

// TestCallerUntouched: Follow changes neither the caller's request nor its
// http.Client.
func TestCallerUntouched(t *testing.T) {
	srv := newHopServer(t, "", map[string]http.HandlerFunc{"/a": redirect(302, "/b")})
	c := newClient(t)
	hc := *c.HTTP
	req := mustRequest(t, "POST", srv.URL+"/a", strings.NewReader("x=1"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", "Bearer t")
	wantHeader := req.Header.Clone()
	res, _ := mustFollow(t, c, req)
	if req.Method != "POST" || req.URL.Path != "/a" || len(req.Header) != len(wantHeader) || req.Header.Get("Content-Type") == "" {
		t.Errorf("caller's request changed: %s %s %v", req.Method, req.URL, req.Header)
	}
	if c.HTTP.Transport != hc.Transport || c.HTTP.CheckRedirect != nil || c.HTTP.Jar != nil || c.HTTP.Timeout != 0 {
		t.Errorf("caller's http.Client changed: %+v", c.HTTP)
	}
	if res.Response.Request.URL.Path != "/b" || res.Response.Request.Method != "GET" {
		t.Errorf("final response's Request = %s %s", res.Response.Request.Method, res.Response.Request.URL)
	}
}

// TestZeroClient: the zero Client works, on http.DefaultClient.
func TestZeroClient(t *testing.T) {
	srv := newHopServer(t, "", map[string]http.HandlerFunc{"/a": redirect(307, "/b")})
	want := string(randomBody(10 << 10))
	res, _ := mustFollow(t, &follow.Client{}, mustRequest(t, "POST", srv.URL+"/a", pipeBody([]byte(want))))
	got := srv.requests()
	if len(got) != 2 || got[1].Method != "POST" || got[1].Body != want || len(res.Hops) != 2 {
		t.Errorf("server got %v", paths(got))
	}
}
