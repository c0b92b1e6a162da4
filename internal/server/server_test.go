package server_test

import (
	"bufio"
	"encoding/json"
	"html"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/detourhttp/detour"
	"github.com/detourhttp/detour/internal/server"
	"github.com/detourhttp/detour/internal/testutil"
	"github.com/detourhttp/detour/match"
)

// clock is the fixed time every test handler runs at.
var clock = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// rule returns a rule with the defaults a rules file would give it.
func rule(from, to string, edit ...func(*detour.Rule)) detour.Rule {
	r := detour.Rule{From: from, To: to, Status: detour.DefaultStatus, Query: detour.QueryPreserve}
	for _, e := range edit {
		e(&r)
	}
	if r.ID == "" {
		r.ID = detour.DeriveID(r.Host, r.From, r.Methods)
	}
	return r
}

func mustTable(tb testing.TB, rules ...detour.Rule) *match.Table {
	tb.Helper()
	for i := range rules {
		rules[i].Source = detour.Source{File: "test.yaml", Line: i + 1, Seq: i}
	}
	t, diags := match.Compile(rules, nil, match.Options{})
	if diags.HasErrors() || t == nil {
		tb.Fatalf("compile: %v", diags)
	}
	return t
}

// testRules is the rule set most tests serve.
func testRules(tb testing.TB) *server.Rules {
	tb.Helper()
	return &server.Rules{
		Echo: true,
		Table: mustTable(tb,
			rule("/original-resource", "/temporary-resource"),
			rule("/moved", "/new-home", func(r *detour.Rule) { r.Status = 308 }),
			rule("/old", "/new", func(r *detour.Rule) { r.Status = 301; r.MaxAge = 60 }),
			rule("/gone", "", func(r *detour.Rule) { r.Status = 410 }),
			rule("/search", "/find?a=1&b='q'", func(r *detour.Rule) { r.Query = detour.QueryDrop }),
			rule("/s/*", "/t/:splat"),
			rule("/abs", "/dest", func(r *detour.Rule) { r.Host = "example.com"; r.Absolute = true }),
			rule("/plain-only", "/was-plain", func(r *detour.Rule) { r.Scheme = "http" }),
		),
	}
}

// serving is one way of putting a Handler on the wire.
type serving struct {
	name string
	lean bool // the lean HTTP/1.1 path in front of net/http, else net/http alone
}

// servers are the ways the tests that do HTTP serve the Handler: every
// such test runs once under each, as a subtest named for it.
var servers = []serving{{"net/http", false}, {"lean", true}}

// eachServer runs test once per entry of servers.
func eachServer(t *testing.T, test func(t *testing.T, sv serving)) {
	t.Helper()
	for _, sv := range servers {
		t.Run(sv.name, func(t *testing.T) { test(t, sv) })
	}
}

// testServer is a Handler served on a loopback port.
type testServer struct {
	URL  string // "http://127.0.0.1:port"
	Addr string // "127.0.0.1:port"
}

// startServer serves h as sv says on a loopback port for the test's
// duration.
func startServer(tb testing.TB, sv serving, opts server.Options, rs *server.Rules) (testServer, *server.Handler) {
	tb.Helper()
	if opts.Now == nil {
		opts.Now = func() time.Time { return clock }
	}
	h := server.New(opts)
	if rs != nil {
		h.Store(rs)
	}
	if sv.lean {
		ls := startLean(tb, h, nil)
		return testServer{URL: ls.URL, Addr: ls.Addr}, h
	}
	ts := httptest.NewServer(h)
	tb.Cleanup(ts.Close)
	return testServer{URL: ts.URL, Addr: ts.Listener.Addr().String()}, h
}

// noFollow is a client that returns redirects instead of following them.
func noFollow() *http.Client {
	return &http.Client{
		Timeout:       10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

type response struct {
	status int
	header http.Header
	body   string
}

func do(t *testing.T, c *http.Client, req *http.Request) response {
	t.Helper()
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	return response{resp.StatusCode, resp.Header, string(b)}
}

// raw sends a request exactly as written over a new TCP connection and
// reads one response.
func raw(t *testing.T, addr, request string) response {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(conn, request); err != nil {
		t.Fatal(err)
	}
	method, _, _ := strings.Cut(request, " ")
	resp, err := http.ReadResponse(bufio.NewReader(conn), &http.Request{Method: method})
	if err != nil {
		t.Fatalf("read response: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return response{resp.StatusCode, resp.Header, string(b)}
}

func TestResponses(t *testing.T) { eachServer(t, testResponses) }

func testResponses(t *testing.T, sv serving) {
	ts, _ := startServer(t, sv, server.Options{}, testRules(t))
	type want struct {
		status       int
		location     string // "-" means none
		cacheControl string
		bodyHas      string
		noBody       bool
	}
	tests := []struct {
		name   string
		method string
		target string
		host   string
		want   want
	}{
		{"307 by default", "GET", "/original-resource", "", want{307, "/temporary-resource", "no-store", `<a href="/temporary-resource">`, false}},
		{"307 keeps POST", "POST", "/original-resource", "", want{307, "/temporary-resource", "no-store", "Temporary Redirect", false}},
		{"308 with default max-age", "GET", "/moved", "", want{308, "/new-home", "max-age=3600", "Permanent Redirect", false}},
		{"301 with the rule's max-age", "GET", "/old", "", want{301, "/new", "max-age=60", "Moved Permanently", false}},
		{"410 without Location", "GET", "/gone", "", want{410, "-", "", "Gone", false}},
		{"HEAD has no body", "HEAD", "/original-resource", "", want{307, "/temporary-resource", "no-store", "", true}},
		{"query preserved", "GET", "/original-resource?x=1", "", want{307, "/temporary-resource?x=1", "no-store", "", false}},
		{"splat", "GET", "/s/a/b", "", want{307, "/t/a/b", "no-store", "", false}},
		{"escaped path decoded once", "GET", "/original%2Dresource", "", want{307, "/temporary-resource", "no-store", "", false}},
		{"absolute from the rule's host", "GET", "/abs", "Example.COM:80", want{307, "http://example.com/dest", "no-store", "", false}},
		{"no match", "GET", "/nothing-here", "", want{404, "-", "", "no rule matches", false}},
		{"OPTIONS is not redirected", "OPTIONS", "/original-resource", "", want{404, "-", "", "", false}},
		{"NUL in path", "GET", "/a%00b", "", want{400, "-", "", "bad request path", false}},
		{"bad escape (net/http refuses it first)", "GET", "/a%zzb", "", want{400, "-", "", "400 Bad Request", false}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(tt.method, ts.URL, nil)
			if err != nil {
				t.Fatal(err)
			}
			req.URL.Opaque = tt.target // sent exactly as written
			if tt.host != "" {
				req.Host = tt.host
			}
			got := do(t, noFollow(), req)
			if got.status != tt.want.status {
				t.Fatalf("status = %d, want %d (body %q)", got.status, tt.want.status, got.body)
			}
			loc, hasLoc := got.header["Location"]
			switch {
			case tt.want.location == "-" && hasLoc:
				t.Errorf("Location = %q, want none", loc)
			case tt.want.location != "-" && got.header.Get("Location") != tt.want.location:
				t.Errorf("Location = %q, want %q", got.header.Get("Location"), tt.want.location)
			}
			if got := got.header.Get("Cache-Control"); got != tt.want.cacheControl {
				t.Errorf("Cache-Control = %q, want %q", got, tt.want.cacheControl)
			}
			if !strings.Contains(got.body, tt.want.bodyHas) {
				t.Errorf("body %q does not hold %q", got.body, tt.want.bodyHas)
			}
			if tt.want.noBody && got.body != "" {
				t.Errorf("body = %q, want none", got.body)
			}
			if tt.want.status >= 300 && tt.want.status < 400 || tt.want.status == 410 {
				if got := got.header.Get("Content-Type"); got != "text/html; charset=utf-8" {
					t.Errorf("Content-Type = %q", got)
				}
			}
		})
	}
}

func TestContentLength(t *testing.T) { eachServer(t, testContentLength) }

func testContentLength(t *testing.T, sv serving) {
	ts, _ := startServer(t, sv, server.Options{}, testRules(t))
	for _, target := range []string{"/original-resource", "/gone", "/nothing-here"} {
		t.Run(target, func(t *testing.T) {
			get := do(t, noFollow(), mustRequest(t, "GET", ts.URL+target, nil))
			head := do(t, noFollow(), mustRequest(t, "HEAD", ts.URL+target, nil))
			want := strconv.Itoa(len(get.body))
			if got := get.header.Get("Content-Length"); got != want {
				t.Errorf("GET Content-Length = %q, want %q", got, want)
			}
			if got := head.header.Get("Content-Length"); got != want {
				t.Errorf("HEAD Content-Length = %q, want %q (as GET)", got, want)
			}
		})
	}
}

func TestNoteEscaped(t *testing.T) { eachServer(t, testNoteEscaped) }

func testNoteEscaped(t *testing.T, sv serving) {
	ts, _ := startServer(t, sv, server.Options{}, testRules(t))
	got := do(t, noFollow(), mustRequest(t, "GET", ts.URL+"/search", nil))
	loc := got.header.Get("Location")
	if !strings.Contains(loc, "&") {
		t.Fatalf("Location %q holds no '&'; the test needs one", loc)
	}
	esc := html.EscapeString(loc)
	if want := `<a href="` + esc + `">` + esc + `</a>`; !strings.Contains(got.body, want) {
		t.Errorf("body %q does not hold %q", got.body, want)
	}
	if strings.Contains(got.body, loc) {
		t.Errorf("body holds the unescaped Location %q", loc)
	}
}

func TestNoRulesYet(t *testing.T) { eachServer(t, testNoRulesYet) }

func testNoRulesYet(t *testing.T, sv serving) {
	ts, _ := startServer(t, sv, server.Options{}, nil)
	got := do(t, noFollow(), mustRequest(t, "GET", ts.URL+"/original-resource", nil))
	if got.status != http.StatusServiceUnavailable {
		t.Errorf("status = %d, want 503", got.status)
	}
}

func TestTrustedProxy(t *testing.T) { eachServer(t, testTrustedProxy) }

func testTrustedProxy(t *testing.T, sv serving) {
	loopback := []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	elsewhere := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	tests := []struct {
		name     string
		trusted  []netip.Prefix
		header   [2]string
		target   string
		status   int
		location string
	}{
		{"X-Forwarded-Proto from a trusted peer", loopback, [2]string{"X-Forwarded-Proto", "https"}, "/abs", 307, "https://example.com/dest"},
		{"Forwarded from a trusted peer", loopback, [2]string{"Forwarded", `for=192.0.2.1;proto="https"`}, "/abs", 307, "https://example.com/dest"},
		{"last element wins", loopback, [2]string{"X-Forwarded-Proto", "http, https"}, "/abs", 307, "https://example.com/dest"},
		{"unknown proto ignored", loopback, [2]string{"X-Forwarded-Proto", "gopher"}, "/abs", 307, "http://example.com/dest"},
		{"X-Forwarded-Proto from an untrusted peer", elsewhere, [2]string{"X-Forwarded-Proto", "https"}, "/abs", 307, "http://example.com/dest"},
		{"Forwarded from an untrusted peer", elsewhere, [2]string{"Forwarded", "proto=https"}, "/abs", 307, "http://example.com/dest"},
		{"scheme matcher sees the forwarded scheme", loopback, [2]string{"X-Forwarded-Proto", "https"}, "/plain-only", 404, ""},
		{"scheme matcher ignores an untrusted claim", elsewhere, [2]string{"X-Forwarded-Proto", "https"}, "/plain-only", 307, "/was-plain"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts, _ := startServer(t, sv, server.Options{TrustedProxies: tt.trusted}, testRules(t))
			req := mustRequest(t, "GET", ts.URL+tt.target, nil)
			req.Host = "example.com"
			req.Header.Set(tt.header[0], tt.header[1])
			got := do(t, noFollow(), req)
			if got.status != tt.status || got.header.Get("Location") != tt.location {
				t.Errorf("got %d %q, want %d %q", got.status, got.header.Get("Location"), tt.status, tt.location)
			}
		})
	}
}

func TestRawTargets(t *testing.T) { eachServer(t, testRawTargets) }

func testRawTargets(t *testing.T, sv serving) {
	ts, _ := startServer(t, sv, server.Options{}, testRules(t))
	addr := ts.Addr
	tests := []struct {
		name     string
		request  string
		status   int
		location string
		body     string
	}{
		{
			// The body is never sent: the redirect must come without a 100.
			name:     "Expect 100-continue gets the redirect",
			request:  "POST /original-resource HTTP/1.1\r\nHost: x\r\nContent-Length: 12\r\nExpect: 100-continue\r\n\r\n",
			status:   307,
			location: "/temporary-resource",
		},
		{
			name:     "dot segments removed",
			request:  "GET /a/../b/./../original-resource HTTP/1.1\r\nHost: x\r\n\r\n",
			status:   307,
			location: "/temporary-resource",
		},
		{
			name:     "absolute-form target names the host",
			request:  "GET http://example.com/abs HTTP/1.1\r\nHost: other.example\r\n\r\n",
			status:   307,
			location: "http://example.com/dest",
		},
		{
			name:    "absolute-form with another host does not match a host rule",
			request: "GET http://other.example/abs HTTP/1.1\r\nHost: example.com\r\n\r\n",
			status:  404,
		},
		{
			name:    "NUL in path",
			request: "GET /x%00 HTTP/1.1\r\nHost: x\r\n\r\n",
			status:  400,
			body:    "bad request path",
		},
		{
			name:    "bad host",
			request: "GET /original-resource HTTP/1.1\r\nHost: [::1\r\n\r\n",
			status:  400,
			body:    "bad request host",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := raw(t, addr, tt.request)
			if got.status != tt.status || got.header.Get("Location") != tt.location {
				t.Errorf("got %d %q, want %d %q", got.status, got.header.Get("Location"), tt.status, tt.location)
			}
			if !strings.Contains(got.body, tt.body) {
				t.Errorf("body %q does not hold %q", got.body, tt.body)
			}
		})
	}
}

func TestMergeSlashes(t *testing.T) { eachServer(t, testMergeSlashes) }

func testMergeSlashes(t *testing.T, sv serving) {
	tests := []struct {
		name   string
		merge  bool
		status int
	}{
		{"kept by default", false, 404},
		{"merged when the set says so", true, 307},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rs := testRules(t)
			rs.MergeSlashes = tt.merge
			ts, _ := startServer(t, sv, server.Options{}, rs)
			got := raw(t, ts.Addr, "GET //original-resource HTTP/1.1\r\nHost: x\r\n\r\n")
			if got.status != tt.status {
				t.Errorf("status = %d, want %d", got.status, tt.status)
			}
		})
	}
}

func TestEcho(t *testing.T) { eachServer(t, testEcho) }

func testEcho(t *testing.T, sv serving) {
	tests := []struct {
		name   string
		method string
		body   string
		echo   bool
		status int
		want   []string
	}{
		{"POST and its body", "POST", "data=example", true, 200, []string{"POST /temporary-resource HTTP/1.1\n", "Content-Type: application/x-www-form-urlencoded\n", "\n\ndata=example"}},
		{"GET", "GET", "", true, 200, []string{"GET /temporary-resource HTTP/1.1\n"}},
		{"off unless the demo set is live", "POST", "data=example", false, 404, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rs := testRules(t)
			rs.Echo = tt.echo
			ts, _ := startServer(t, sv, server.Options{}, rs)
			req := mustRequest(t, tt.method, ts.URL+"/temporary-resource", strings.NewReader(tt.body))
			if tt.body != "" {
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			}
			got := do(t, noFollow(), req)
			if got.status != tt.status {
				t.Fatalf("status = %d, want %d", got.status, tt.status)
			}
			for _, w := range tt.want {
				if !strings.Contains(got.body, w) {
					t.Errorf("echo %q does not hold %q", got.body, w)
				}
			}
		})
	}
}

// TestFollow307 follows the 307 with Go's own client: the POST and its
// body arrive at the echo unchanged — a form, and 100 KiB of every byte
// value with request heads inside it.
func TestFollow307(t *testing.T) { eachServer(t, testFollow307) }

func testFollow307(t *testing.T, sv serving) {
	ts, _ := startServer(t, sv, server.Options{}, testRules(t))
	for _, body := range []string{"data=example", bodyBytes()} {
		req := mustRequest(t, "POST", ts.URL+"/original-resource", strings.NewReader(body))
		if req.GetBody == nil {
			t.Fatal("GetBody not set: the client could not resend the body")
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		echo, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || resp.Request.URL.Path != "/temporary-resource" {
			t.Fatalf("final %d at %s, want 200 at /temporary-resource", resp.StatusCode, resp.Request.URL.Path)
		}
		head, got, _ := strings.Cut(string(echo), "\n\n")
		if !strings.HasPrefix(head, "POST /temporary-resource HTTP/1.1\n") || got != body {
			t.Errorf("echo of a %d-byte body: head %.60q, body %d bytes and equal %v", len(body), head, len(got), got == body)
		}
	}
}

// syncBuffer is testutil.SyncBuffer: a bytes.Buffer safe for the server's goroutines.
type syncBuffer = testutil.SyncBuffer

func TestAccessLog(t *testing.T) { eachServer(t, testAccessLog) }

func testAccessLog(t *testing.T, sv serving) {
	var buf syncBuffer
	rules := []detour.Rule{rule("/original-resource", "/temporary-resource")}
	for i := range rules {
		rules[i].Source = detour.Source{File: "test.yaml", Line: i + 1, Seq: i}
	}
	table, diags := match.Compile(rules, []detour.Table{{
		ID:     "table:legacy.csv",
		File:   "legacy.csv",
		Source: detour.Source{File: "test.yaml", Line: 9, Seq: 1},
		Status: 301,
		Rows:   []detour.Row{{Line: 2, Path: "/t1", To: "/x1"}, {Line: 3, Path: "/t2", To: "/x2"}},
	}}, match.Options{})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	ts, _ := startServer(t, sv, server.Options{Log: slog.New(slog.NewJSONHandler(&buf, nil))}, &server.Rules{Table: table})
	do(t, noFollow(), mustRequest(t, "POST", ts.URL+"/original-resource", nil))
	do(t, noFollow(), mustRequest(t, "GET", ts.URL+"/nothing-here", nil))
	do(t, noFollow(), mustRequest(t, "GET", ts.URL+"/t2", nil))

	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 3 {
		t.Fatalf("got %d log lines, want 3:\n%s", len(lines), buf.String())
	}
	wantRule := detour.DeriveID("", "/original-resource", nil)
	tests := []struct {
		name string
		line string
		want map[string]any
	}{
		{"redirect", lines[0], map[string]any{"msg": "request", "method": "POST", "path": "/original-resource", "status": 307.0, "rule": wantRule}},
		{"no match", lines[1], map[string]any{"method": "GET", "path": "/nothing-here", "status": 404.0, "rule": ""}},
		{"table row", lines[2], map[string]any{"path": "/t2", "status": 301.0, "rule": "table:legacy.csv", "row": 3.0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var rec map[string]any
			if err := json.Unmarshal([]byte(tt.line), &rec); err != nil {
				t.Fatal(err)
			}
			for k, want := range tt.want {
				if rec[k] != want {
					t.Errorf("%s = %v, want %v", k, rec[k], want)
				}
			}
			for _, k := range []string{"host", "duration", "remote"} {
				if _, ok := rec[k]; !ok {
					t.Errorf("no %q in %s", k, tt.line)
				}
			}
			if _, ok := rec["row"]; ok != (tt.want["row"] != nil) {
				t.Errorf("row present = %v in %s", ok, tt.line)
			}
		})
	}
}

// TestSwap stores a new rule set while requests run: each answer is from
// the old set or the new one.
func TestSwap(t *testing.T) { eachServer(t, testSwap) }

func testSwap(t *testing.T, sv serving) {
	ts, h := startServer(t, sv, server.Options{}, testRules(t))
	next := &server.Rules{Table: mustTable(t, rule("/original-resource", "/elsewhere"))}
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			c := noFollow()
			for range 25 {
				resp, err := c.Get(ts.URL + "/original-resource")
				if err != nil {
					t.Error(err)
					return
				}
				resp.Body.Close()
				if loc := resp.Header.Get("Location"); loc != "/temporary-resource" && loc != "/elsewhere" {
					t.Errorf("Location = %q", loc)
				}
			}
		})
	}
	h.Store(next)
	wg.Wait()
	if got := do(t, noFollow(), mustRequest(t, "GET", ts.URL+"/original-resource", nil)); got.header.Get("Location") != "/elsewhere" {
		t.Errorf("after Store: Location = %q, want /elsewhere", got.header.Get("Location"))
	}
}

func mustRequest(tb testing.TB, method, url string, body io.Reader) *http.Request {
	tb.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		tb.Fatal(err)
	}
	return req
}
