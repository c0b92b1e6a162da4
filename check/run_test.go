package check_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/detourhttp/detour/check"
	"github.com/detourhttp/detour/internal/testutil"
)

func TestRunDemo(t *testing.T) {
	srv := serveDemo(t)
	tests := []struct {
		file string
		want map[string][]string // failed case → its mismatches
	}{
		{"testdata/demo-pass.yaml", map[string][]string{}},
		{"testdata/demo-fail.yaml", map[string][]string{
			"wrong status":                   {"status: expected 301, got 308"},
			"wrong location":                 {`location: expected "/elsewhere", got "/temporary-resource"`},
			"a Location where there is none": {`location: expected "/somewhere", got (none)`},
			"wrong final status and hops":    {"final_status: expected 404, got 200", "hops: expected 2, got 1"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			cases, err := check.Load(tt.file)
			if err != nil {
				t.Fatal(err)
			}
			rep := mustRun(t, &check.Runner{Base: mustURL(t, srv.URL)}, cases)
			if got := failures(rep); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("failures:\n got %q\nwant %q", got, tt.want)
			}
			if rep.Passed+rep.Failed != len(cases) || rep.Failed != len(tt.want) {
				t.Errorf("passed %d, failed %d of %d cases", rep.Passed, rep.Failed, len(cases))
			}
			for i := range rep.Results {
				if r := &rep.Results[i]; r.Case != &cases[i] {
					t.Errorf("result %d is for another case", i)
				}
			}
		})
	}
}

// locationRules answer with an absolute Location (absolute: true) and a
// relative one.
const locationRules = `
rules:
  - host: shop.example.com
    from: /abs
    to: /new
    absolute: true
  - from: /rel
    to: /new
  - from: /gone
    status: 410
`

func TestRunLocation(t *testing.T) {
	srv := serveRules(t, locationRules)
	shop := []check.Header{{Name: "Host", Value: "shop.example.com"}}
	tests := []struct {
		name                string
		url                 string
		headers             []check.Header
		location            string // "" expects none
		resolvedOK, exactOK bool
	}{
		{"absolute got, path expected", "/abs", shop, "/new", true, false},
		{"absolute got, absolute expected", "/abs", shop, "http://shop.example.com/new", true, true},
		{"absolute got, default port written", "/abs", shop, "http://shop.example.com:80/new", true, false},
		{"absolute got, host in capitals", "/abs", shop, "http://SHOP.example.com/new", true, false},
		{"absolute got, relative reference", "/abs", shop, "new", true, false},
		{"absolute got, another host", "/abs", shop, "http://other.example.com/new", false, false},
		{"absolute got, https expected", "/abs", shop, "https://shop.example.com/new", false, false},
		{"path got, path expected", "/rel", nil, "/new", true, true},
		{"path got, absolute expected on the server's origin", "/rel", nil, srv.URL + "/new", true, false},
		{"path got, another path", "/rel", nil, "/old", false, false},
		{"path got, none expected", "/rel", nil, "", false, false},
		{"none got, none expected", "/gone", nil, "", true, true},
		{"none got, one expected", "/gone", nil, "/new", false, false},
	}
	for _, tt := range tests {
		for _, exact := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/exact=%v", tt.name, exact), func(t *testing.T) {
				loc := tt.location
				c := check.Case{Request: check.Request{URL: tt.url, Headers: tt.headers}, Expect: check.Expect{Location: &loc}}
				rep := mustRun(t, &check.Runner{Base: mustURL(t, srv.URL), ExactLocation: exact}, []check.Case{c})
				want := tt.resolvedOK
				if exact {
					want = tt.exactOK
				}
				r := rep.Results[0]
				if r.Passed() != want {
					t.Errorf("passed = %v, want %v (Location got %q, mismatches %v)", r.Passed(), want, r.Location, r.Mismatches)
				}
				if !r.Passed() && len(r.Mismatches) != 1 {
					t.Errorf("mismatches %v, want one for location", r.Mismatches)
				}
			})
		}
	}
}

func TestRunLocationDetail(t *testing.T) {
	srv := serveRules(t, locationRules)
	loc := "/old"
	c := check.Case{Request: check.Request{URL: "/abs", Headers: []check.Header{{Name: "Host", Value: "shop.example.com"}}},
		Expect: check.Expect{Location: &loc}}
	rep := mustRun(t, &check.Runner{Base: mustURL(t, srv.URL)}, []check.Case{c})
	got := rep.Results[0].Mismatches
	want := []check.Mismatch{{Field: "location", Expected: `"/old"`, Got: `"http://shop.example.com/new"`,
		Detail: "resolved against http://shop.example.com/abs: expected http://shop.example.com/old, got http://shop.example.com/new"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("mismatches\n got %+v\nwant %+v", got, want)
	}
}

func TestRunHostAndResolve(t *testing.T) {
	srv := serveRules(t, `
rules:
  - host: shop.example.com
    from: /checkout/*
    to: /maintenance
  - host: "*.example.org"
    from: /x
    to: https://{host}/y
    status: 301
  - from: /checkout/*
    to: /elsewhere
`)
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	loopback := netip.MustParseAddr("127.0.0.1")
	tests := []struct {
		name     string
		url      string
		headers  []check.Header
		resolve  []check.Override
		status   int
		location string
	}{
		{"no host: the host-less rule", "/checkout/a", nil, nil, 307, "/elsewhere"},
		{"Host header: the host's rule", "/checkout/a", []check.Header{{Name: "Host", Value: "shop.example.com"}}, nil, 307, "/maintenance"},
		{"Host header with a port", "/checkout/a", []check.Header{{Name: "Host", Value: "shop.example.com:" + port}}, nil, 307, "/maintenance"},
		{"Host header under a wildcard", "/x", []check.Header{{Name: "Host", Value: "a.b.example.org"}}, nil, 301, "https://a.b.example.org/y"},
		{"--resolve: the URL's host", "http://shop.example.com:" + port + "/checkout/a", nil,
			[]check.Override{{Host: "shop.example.com", Port: port, Addr: loopback}}, 307, "/maintenance"},
		{"--resolve: absolute expected on the URL's origin", "http://shop.example.com:" + port + "/checkout/a", nil,
			[]check.Override{{Host: "shop.example.com", Port: port, Addr: loopback}}, 307, "http://shop.example.com:" + port + "/maintenance"},
		{"--resolve: the host in capitals", "http://SHOP.example.com:" + port + "/checkout/a", nil,
			[]check.Override{{Host: "shop.example.com", Port: port, Addr: loopback}}, 307, "/maintenance"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			loc := tt.location
			c := check.Case{Request: check.Request{URL: tt.url, Headers: tt.headers}, Expect: check.Expect{Status: tt.status, Location: &loc}}
			rep := mustRun(t, &check.Runner{Base: mustURL(t, srv.URL), Resolve: tt.resolve}, []check.Case{c})
			if r := rep.Results[0]; !r.Passed() {
				t.Errorf("failed: status %d, Location %q, error %q, mismatches %v", r.Status, r.Location, r.Error, r.Mismatches)
			}
		})
	}
}

func TestParseOverride(t *testing.T) {
	tests := []struct {
		in   string
		want string // Override.String(), or "error"
	}{
		{"example.com:443:127.0.0.1", "example.com:443:127.0.0.1"},
		{"Example.COM:80:127.0.0.1", "example.com:80:127.0.0.1"},
		{"example.com:8080:::1", "example.com:8080:::1"},
		{"example.com:8080:[::1]", "example.com:8080:::1"},
		{"[::1]:8080:127.0.0.1", "[::1]:8080:127.0.0.1"},
		{"example.com:443", "error"},
		{"example.com:0:127.0.0.1", "error"},
		{"example.com:http:127.0.0.1", "error"},
		{"example.com:80:localhost", "error"},
		{":80:127.0.0.1", "error"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			o, err := check.ParseOverride(tt.in)
			got := "error"
			if err == nil {
				got = o.String()
			}
			if got != tt.want {
				t.Errorf("ParseOverride(%q) = %q (%v), want %q", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestRunFollow(t *testing.T) {
	srv := serveRules(t, `
rules:
  - from: /a
    to: /b
  - from: /b
    to: /c
    status: 302
  - from: /broken
    to: http://127.0.0.1:1/unreachable
`)
	tests := []struct {
		name   string
		req    check.Request
		expect check.Expect
		want   []string // mismatches
	}{
		{"chain of two", check.Request{Method: "POST", URL: "/a", Body: "x=1"},
			check.Expect{Status: 307, FinalStatus: 404, Hops: ptr(2)}, nil},
		{"hops only", check.Request{URL: "/a"}, check.Expect{Hops: ptr(2)}, nil},
		{"no redirect: zero hops", check.Request{URL: "/c"}, check.Expect{FinalStatus: 404, Hops: ptr(0)}, nil},
		{"wrong hops", check.Request{URL: "/b"}, check.Expect{Hops: ptr(2)}, []string{"hops: expected 2, got 1"}},
		{"wrong final status", check.Request{URL: "/a"}, check.Expect{FinalStatus: 200}, []string{"final_status: expected 200, got 404"}},
		{"the chain breaks off", check.Request{URL: "/broken"}, check.Expect{Status: 307, FinalStatus: 200, Hops: ptr(1)},
			[]string{"final_status: expected 200, got no final response", "hops: expected 1, got 1 before the chain broke off"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := check.Case{Request: tt.req, Expect: tt.expect}
			rep := mustRun(t, &check.Runner{Base: mustURL(t, srv.URL), Timeout: 5 * time.Second}, []check.Case{c})
			got := failures(rep)[c.Title()]
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("mismatches\n got %q\nwant %q", got, tt.want)
			}
			if r := rep.Results[0]; !r.Followed {
				t.Error("the chain was not followed")
			}
		})
	}
	t.Run("the chain's error is the detail", func(t *testing.T) {
		c := check.Case{Request: check.Request{URL: "/broken"}, Expect: check.Expect{FinalStatus: 200}}
		rep := mustRun(t, &check.Runner{Base: mustURL(t, srv.URL)}, []check.Case{c})
		r := rep.Results[0]
		if len(r.Mismatches) != 1 || !strings.Contains(r.Mismatches[0].Detail, "127.0.0.1:1") || r.FollowError == "" {
			t.Errorf("mismatches %+v, follow error %q", r.Mismatches, r.FollowError)
		}
	})
}

func TestRunErrors(t *testing.T) {
	closed := closedURL(t)
	t.Run("unreachable base", func(t *testing.T) {
		cases := mustParse(t, "cases:\n  - request: {url: /a}\n    expect: {status: 301}\n  - request: {url: /b}\n    expect: {status: 301}\n")
		rep, err := (&check.Runner{Base: mustURL(t, closed)}).Run(context.Background(), cases)
		if !errors.Is(err, check.ErrUnreachable) {
			t.Fatalf("error %v, want ErrUnreachable", err)
		}
		if rep == nil || len(rep.Results) != 1 || rep.Results[0].Error == "" || rep.Failed != 1 {
			t.Errorf("report %+v: want the one result of the first case", rep)
		}
	})
	t.Run("path without a base", func(t *testing.T) {
		cases := mustParse(t, "cases:\n  - request: {url: /a}\n    expect: {status: 301}\n")
		_, err := (&check.Runner{}).Run(context.Background(), cases)
		if !errors.Is(err, check.ErrNoBase) || !strings.Contains(err.Error(), "check.yaml:2") {
			t.Errorf("error %v, want ErrNoBase naming check.yaml:2", err)
		}
	})
	t.Run("a later case without response fails, the run goes on", func(t *testing.T) {
		srv := serveDemo(t)
		cases := mustParse(t, "cases:\n  - request: {url: /gone}\n    expect: {status: 410}\n"+
			"  - request: {url: "+closed+"/x}\n    expect: {status: 301}\n  - request: {url: /gone}\n    expect: {status: 410}\n")
		rep := mustRun(t, &check.Runner{Base: mustURL(t, srv.URL)}, cases)
		if rep.Passed != 2 || rep.Failed != 1 || rep.Results[1].Error == "" {
			t.Errorf("passed %d failed %d, result %+v", rep.Passed, rep.Failed, rep.Results[1])
		}
	})
	t.Run("timeout", func(t *testing.T) {
		demo := serveDemo(t)
		mux := http.NewServeMux()
		mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
		mux.Handle("/", demo.Config.Handler)
		slow, _ := newCountingServer(t, mux)
		cases := mustParse(t, "cases:\n  - request: {url: /gone}\n    expect: {status: 410}\n  - request: {url: /slow}\n    expect: {status: 301}\n")
		rep := mustRun(t, &check.Runner{Base: mustURL(t, slow.URL), Timeout: 200 * time.Millisecond}, cases)
		if r := rep.Results[1]; !strings.Contains(r.Error, "timed out after 200ms") {
			t.Errorf("error %q, want a timeout", r.Error)
		}
	})
	t.Run("context cancelled", func(t *testing.T) {
		srv := serveDemo(t)
		cases := mustParse(t, "cases:\n  - request: {url: /gone}\n    expect: {status: 410}\n  - request: {url: /gone}\n    expect: {status: 410}\n")
		ctx, cancel := context.WithCancel(context.Background())
		r := &check.Runner{Base: mustURL(t, srv.URL), Concurrency: 1, Progress: func(check.Progress) { cancel() }}
		rep, err := r.Run(ctx, cases)
		if !errors.Is(err, context.Canceled) || rep == nil || rep.Results[1].Error == "" {
			t.Errorf("error %v, report %+v", err, rep)
		}
	})
}

// closedURL returns the URL of a loopback port nothing listens on.
func closedURL(t *testing.T) string {
	t.Helper()
	return fmt.Sprintf("http://127.0.0.1:%d", testutil.FreePorts(t, 1)[0])
}

func TestRunConcurrency(t *testing.T) {
	demo := serveDemo(t)
	var text strings.Builder
	text.WriteString("cases:\n")
	for range 60 {
		text.WriteString("  - request: {method: POST, url: /original-resource, body: x}\n    expect: {status: 307, final_status: 200}\n")
	}
	cases := mustParse(t, text.String())
	for _, n := range []int{1, 3} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			srv, peak := newCountingServer(t, demo.Config.Handler)
			rep := mustRun(t, &check.Runner{Base: mustURL(t, srv.URL), Concurrency: n}, cases)
			if rep.Failed != 0 {
				t.Fatalf("%d failed: %v", rep.Failed, failures(rep))
			}
			if got := peak(); got > n || got < 1 {
				t.Errorf("%d connections open at once, want at most %d", got, n)
			}
		})
	}
}

func TestRunProgress(t *testing.T) {
	srv := serveDemo(t)
	cases, err := check.Load("testdata/demo-fail.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var got []check.Progress
	r := &check.Runner{Base: mustURL(t, srv.URL), Concurrency: 2, Progress: func(p check.Progress) {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, p)
	}}
	mustRun(t, r, cases)
	if len(got) != len(cases) {
		t.Fatalf("Progress called %d times, want %d", len(got), len(cases))
	}
	for i, p := range got {
		if p.Done != i+1 || p.Total != len(cases) {
			t.Errorf("call %d: %+v", i, p)
		}
	}
	if last := got[len(got)-1]; last.Failed != 4 {
		t.Errorf("last progress %+v, want 4 failed", last)
	}
}

func TestRunRequest(t *testing.T) {
	// What the server receives: method, the target exactly as written,
	// headers, Host and body.
	type seen struct {
		method, target, host, ua, accept, body string
	}
	var mu sync.Mutex
	var got []seen
	srv, _ := newCountingServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b := new(strings.Builder)
		_, _ = fmt.Fprint(b, readAll(r))
		mu.Lock()
		got = append(got, seen{r.Method, r.RequestURI, r.Host, r.UserAgent(), r.Header.Get("Accept"), b.String()})
		mu.Unlock()
		w.WriteHeader(204)
	}))
	u, _ := url.Parse(srv.URL)
	cases := mustParse(t, `cases:
  - request:
      method: PATCH
      url: "/a/../b//c/%2e/d%2Fe?q=1&r=%20"
      headers: {Host: Shop.Example.com, Accept: text/plain, User-Agent: mine}
      body: "hello"
    expect: {status: 204}
`)
	mustRun(t, &check.Runner{Base: u}, cases)
	want := []seen{{"PATCH", "/a/../b//c/%2e/d%2Fe?q=1&r=%20", "Shop.Example.com", "mine", "text/plain", "hello"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("server saw\n %+v\nwant\n %+v", got, want)
	}
}

func readAll(r *http.Request) string {
	var b strings.Builder
	buf := make([]byte, 512)
	for {
		n, err := r.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			return b.String()
		}
	}
}

func TestRunBasePath(t *testing.T) {
	var mu sync.Mutex
	var got []string
	srv, _ := newCountingServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = append(got, r.RequestURI)
		mu.Unlock()
		w.WriteHeader(204)
	}))
	for _, base := range []string{srv.URL + "/app", srv.URL + "/app/"} {
		got = nil
		mustRun(t, &check.Runner{Base: mustURL(t, base)}, mustParse(t, "cases:\n  - request: {url: \"/old?x\"}\n    expect: {status: 204}\n"))
		if want := []string{"/app/old?x"}; !reflect.DeepEqual(got, want) {
			t.Errorf("base %s: server saw %q, want %q", base, got, want)
		}
	}
}
