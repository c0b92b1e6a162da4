package main_test

import (
	"context"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	main "github.com/detourhttp/detour/cmd/detour"

	"github.com/detourhttp/detour/internal/testutil"
)

// runTrace runs "detour trace args..." in-process with stdin and returns
// its exit code and output.
func runTrace(t *testing.T, stdin io.Reader, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb syncBuffer
	m := &main.Main{Stdin: stdin, Stdout: &out, Stderr: &errb}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	code = m.Run(ctx, append([]string{"trace"}, args...))
	return code, out.String(), errb.String()
}

// traceOutput is "detour trace --json" decoded.
type traceOutput struct {
	Hops []struct {
		Method       string   `json:"method"`
		URL          string   `json:"url"`
		Status       int      `json:"status"`
		Location     string   `json:"location"`
		DurationMS   float64  `json:"duration_ms"`
		Changes      []string `json:"changes"`
		BodyReplayed bool     `json:"body_replayed"`
	} `json:"hops"`
	Final *struct {
		Method string `json:"method"`
		URL    string `json:"url"`
		Status int    `json:"status"`
	} `json:"final"`
	Error *string `json:"error"`
}

// mustTraceJSON decodes stdout, which must hold exactly one JSON object.
func mustTraceJSON(t *testing.T, stdout string) traceOutput {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(stdout))
	dec.DisallowUnknownFields()
	var out traceOutput
	if err := dec.Decode(&out); err != nil {
		t.Fatalf("stdout is not a trace object: %v\n%s", err, stdout)
	}
	if rest, _ := io.ReadAll(dec.Buffered()); strings.TrimSpace(string(rest)) != "" || dec.More() {
		t.Fatalf("stdout holds more than one JSON object:\n%s", stdout)
	}
	return out
}

// hops returns "status method url" for each hop.
func (o traceOutput) hops() []string {
	out := make([]string, len(o.Hops))
	for i, h := range o.Hops {
		out[i] = fmt.Sprintf("%d %s %s", h.Status, h.Method, h.URL)
	}
	return out
}

// TestTraceDemo traces the seed's exchange against an in-process "detour
// serve" with the demo set: the 307 hop, then the 200 of the same POST,
// its body sent again.
func TestTraceDemo(t *testing.T) {
	s := startServe(t, nil, args()...)
	start := s.base() + "/original-resource"
	end := s.base() + "/temporary-resource"

	t.Run("human", func(t *testing.T) {
		code, stdout, stderr := runTrace(t, nil, "-X", "POST", "-d", "data=example", start)
		if code != 0 {
			t.Fatalf("exit %d, want 0; stderr:\n%s", code, stderr)
		}
		lines := strings.Split(strings.TrimSuffix(stdout, "\n"), "\n")
		want := [][]string{
			{"1", "307", "POST", start, "*ms", "→", "/temporary-resource"},
			{"2", "200", "POST", end, "*ms", "body", "replayed"},
			{"final:", "200", "POST", end, "(1", "redirect)"},
		}
		if len(lines) != len(want) {
			t.Fatalf("got %d lines, want %d:\n%s", len(lines), len(want), stdout)
		}
		for i, w := range want {
			if got := strings.Fields(lines[i]); !fieldsMatch(got, w) {
				t.Errorf("line %d = %q, want fields %q", i+1, lines[i], w)
			}
		}
		if stderr != "" {
			t.Errorf("stderr %q, want none", stderr)
		}
	})

	t.Run("json shape", func(t *testing.T) {
		code, stdout, stderr := runTrace(t, nil, "--json", "-X", "POST", "-d", "data=example", start)
		if code != 0 {
			t.Fatalf("exit %d, want 0; stderr:\n%s", code, stderr)
		}
		// Keys and types exactly as SPEC §8 gives them.
		var raw map[string]any
		if err := json.Unmarshal([]byte(stdout), &raw); err != nil {
			t.Fatalf("stdout is not JSON: %v\n%s", err, stdout)
		}
		if got, want := keysOf(raw), []string{"error", "final", "hops"}; !slices.Equal(got, want) {
			t.Fatalf("top-level keys %q, want %q", got, want)
		}
		if raw["error"] != nil {
			t.Errorf("error = %v, want null", raw["error"])
		}
		hops, ok := raw["hops"].([]any)
		if !ok || len(hops) != 2 {
			t.Fatalf("hops = %#v, want an array of 2", raw["hops"])
		}
		hopTypes := map[string]string{
			"method": "string", "url": "string", "status": "number", "location": "string",
			"duration_ms": "number", "changes": "array", "body_replayed": "bool",
		}
		for i, h := range hops {
			obj, ok := h.(map[string]any)
			if !ok {
				t.Fatalf("hops[%d] = %#v, want an object", i, h)
			}
			checkTypes(t, fmt.Sprintf("hops[%d]", i), obj, hopTypes)
		}
		final, ok := raw["final"].(map[string]any)
		if !ok {
			t.Fatalf("final = %#v, want an object", raw["final"])
		}
		checkTypes(t, "final", final, map[string]string{"method": "string", "url": "string", "status": "number"})

		// And the values.
		out := mustTraceJSON(t, stdout)
		if got, want := out.hops(), []string{"307 POST " + start, "200 POST " + end}; !slices.Equal(got, want) {
			t.Errorf("hops %q, want %q", got, want)
		}
		h0, h1 := out.Hops[0], out.Hops[1]
		if h0.Location != "/temporary-resource" || h0.BodyReplayed || len(h0.Changes) != 0 {
			t.Errorf("hop 1: location %q, body_replayed %v, changes %q; want /temporary-resource, false, []", h0.Location, h0.BodyReplayed, h0.Changes)
		}
		if h1.Location != "" || !h1.BodyReplayed || len(h1.Changes) != 0 {
			t.Errorf("hop 2: location %q, body_replayed %v, changes %q; want \"\", true, []", h1.Location, h1.BodyReplayed, h1.Changes)
		}
		if out.Final == nil || out.Final.Status != 200 || out.Final.Method != "POST" || out.Final.URL != end {
			t.Errorf("final = %+v, want 200 POST %s", out.Final, end)
		}
	})
}

// fieldsMatch compares the fields of a line; a wanted "*ms" matches any
// duration.
func fieldsMatch(got, want []string) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		if want[i] == "*ms" {
			if _, err := strconv.ParseFloat(strings.TrimSuffix(got[i], "ms"), 64); err != nil || !strings.HasSuffix(got[i], "ms") {
				return false
			}
			continue
		}
		if got[i] != want[i] {
			return false
		}
	}
	return true
}

func keysOf(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// checkTypes checks that obj has exactly the keys of types, each holding a
// JSON value of that type.
func checkTypes(t *testing.T, name string, obj map[string]any, types map[string]string) {
	t.Helper()
	want := make([]string, 0, len(types))
	for k := range types {
		want = append(want, k)
	}
	sort.Strings(want)
	if got := keysOf(obj); !slices.Equal(got, want) {
		t.Errorf("%s keys %q, want %q", name, got, want)
	}
	for k, typ := range types {
		var ok bool
		switch typ {
		case "string":
			_, ok = obj[k].(string)
		case "number":
			_, ok = obj[k].(float64)
		case "bool":
			_, ok = obj[k].(bool)
		case "array":
			_, ok = obj[k].([]any)
		}
		if !ok {
			t.Errorf("%s.%s = %#v, want a JSON %s", name, k, obj[k], typ)
		}
	}
}

// received is one request that a chain server got.
type received struct {
	Server string // "A", "B" or "C"
	Method string
	Host   string
	URI    string
	Header http.Header
	Len    int64 // ContentLength: -1 when unknown (chunked)
	Body   string
}

func (r received) String() string { return r.Server + " " + r.Method + " " + r.URI + " " + r.Body }

// chain is a set of loopback servers that play redirect chains and record
// every request they get, in order across servers.
type chain struct {
	mu     sync.Mutex
	got    []received
	routes map[string]route // "A/path" → handler
	// arrived gets the path of a request as soon as its headers are in,
	// before its body is read, when nothing is waiting in it yet.
	arrived chan string
	urls    map[string]string // "A" → "http://a.test:PORT"
	addrs   map[string]string // "A" → "a.test:PORT:127.0.0.1" for --resolve
	certs   string            // PEM of C's certificate
}

// newChain starts A and B (http) and C (https), reached as a.test, b.test
// and c.test through --resolve, so that each hop between them changes
// host and port.
func newChain(t *testing.T) *chain {
	t.Helper()
	c := &chain{
		routes:  map[string]route{},
		arrived: make(chan string, 1),
		urls:    map[string]string{},
		addrs:   map[string]string{},
	}
	for _, name := range []string{"A", "B", "C"} {
		ts := httptest.NewUnstartedServer(c.handler(name))
		ts.Config.ErrorLog = log.New(io.Discard, "", 0) // refused handshakes are tested
		scheme := "http"
		if name == "C" {
			ts.StartTLS()
			scheme = "https"
			c.certs = string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ts.Certificate().Raw}))
		} else {
			ts.Start()
		}
		t.Cleanup(ts.Close)
		_, port, _ := net.SplitHostPort(ts.Listener.Addr().String())
		host := strings.ToLower(name) + ".test"
		c.urls[name] = scheme + "://" + host + ":" + port
		c.addrs[name] = host + ":" + port + ":127.0.0.1"
	}
	return c
}

// route is a path's handler; unless early, it runs once the request's
// body has been read.
type route struct {
	h     http.HandlerFunc
	early bool
}

func (c *chain) handler(name string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		select {
		case c.arrived <- r.URL.Path:
		default:
		}
		c.mu.Lock()
		rt := c.routes[name+r.URL.Path]
		c.mu.Unlock()
		var body []byte
		if rt.early {
			rt.h(w, r) // and the body is never read
		} else {
			body, _ = io.ReadAll(r.Body)
		}
		c.mu.Lock()
		c.got = append(c.got, received{
			Server: name, Method: r.Method, Host: r.Host, URI: r.RequestURI,
			Header: r.Header.Clone(), Len: r.ContentLength, Body: string(body),
		})
		c.mu.Unlock()
		switch {
		case rt.early:
		case rt.h != nil:
			rt.h(w, r)
		default:
			io.WriteString(w, "ok\n")
		}
	}
}

// route sets the handler of path on server name.
func (c *chain) route(name, path string, h http.HandlerFunc) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.routes[name+path] = route{h: h}
}

// routeEarly sets a handler that answers before the request's body is
// read: with "Expect: 100-continue", the body is then never sent to it.
func (c *chain) routeEarly(name, path string, h http.HandlerFunc) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.routes[name+path] = route{h: h, early: true}
}

// requests returns what the servers got so far and forgets it.
func (c *chain) requests() []received {
	c.mu.Lock()
	defer c.mu.Unlock()
	got := c.got
	c.got = nil
	return got
}

// expand replaces {A}, {B} and {C} with the servers' URLs.
func (c *chain) expand(s string) string {
	return strings.NewReplacer("{A}", c.urls["A"], "{B}", c.urls["B"], "{C}", c.urls["C"]).Replace(s)
}

// resolveArgs are the --resolve flags that reach the servers by name.
func (c *chain) resolveArgs() []string {
	return []string{"--resolve", c.addrs["A"], "--resolve", c.addrs["B"], "--resolve", c.addrs["C"]}
}

// redirectTo answers status with Location loc.
func redirectTo(status int, loc string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if loc != "" {
			w.Header().Set("Location", loc)
		}
		w.WriteHeader(status)
	}
}

// newTraceChain plays every redirect kind:
//
//	A/301 /302 /303 /307 /308 → A/end (relative)
//	A/rel/a/b -301 "c"→ A/rel/a/c -302 "../d"→ A/rel/d -307 "?q=1"→ A/rel/d?q=1 -308 "//b.test:PORT/end"→ B/end
//	A/loop/a → A/loop/b → A/loop/a
//	A/many/N → A/many/N+1, forever
//	A/cross -307→ B/back -307→ A/end
//	C/down -302→ A/end (https to http)
//	A/bad: unparsable Location; A/ftp: ftp Location; A/noloc: 302 without one;
//	A/300: a 300 with one; A/dead: 307 to a port that refuses
func newTraceChain(t *testing.T) *chain {
	t.Helper()
	c := newChain(t)
	for _, s := range []int{301, 302, 303, 307, 308} {
		c.route("A", "/"+strconv.Itoa(s), redirectTo(s, "end"))
	}
	c.route("A", "/rel/a/b", redirectTo(301, "c"))
	c.route("A", "/rel/a/c", redirectTo(302, "../d"))
	c.route("A", "/rel/d", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.RawQuery == "" {
			redirectTo(307, "?q=1")(w, r)
			return
		}
		redirectTo(308, "//"+strings.TrimPrefix(c.urls["B"], "http://")+"/end")(w, r)
	})
	c.route("A", "/loop/a", redirectTo(302, "/loop/b"))
	c.route("A", "/loop/b", redirectTo(302, "/loop/a"))
	for i := range 40 {
		c.route("A", "/many/"+strconv.Itoa(i), redirectTo(302, "/many/"+strconv.Itoa(i+1)))
	}
	c.route("A", "/cross", redirectTo(307, c.urls["B"]+"/back"))
	c.route("B", "/back", redirectTo(307, c.urls["A"]+"/end"))
	c.route("C", "/down", redirectTo(302, c.urls["A"]+"/end"))
	c.route("A", "/bad", redirectTo(302, "http://[::1"))
	c.route("A", "/ftp", redirectTo(302, "ftp://a.test/x"))
	c.route("A", "/noloc", redirectTo(302, ""))
	c.route("A", "/300", redirectTo(300, "/end"))
	c.route("A", "/dead", redirectTo(307, "http://"+closedAddr(t)+"/x"))
	return c
}

// TestTraceRedirects runs trace against servers that play every redirect
// kind, each case twice: with --json (hops, changes, what the servers got)
// and without (what a person reads). URLs are written with {A}, {B} and {C}.
func TestTraceRedirects(t *testing.T) {
	c := newTraceChain(t)
	tests := []struct {
		name    string
		args    []string
		code    int
		hops    []string   // "status method url"
		changes [][]string // per hop; nil: none anywhere
		final   string     // "status method url"; "" when null
		errText string     // in the JSON error and on stderr; "" for none
		got     []string   // what the servers got: "server method target body"
		human   []string   // in the human output, in order
	}{
		{
			name:    "301 turns POST into GET",
			args:    []string{"-d", "data=x", "{A}/301"},
			hops:    []string{"301 POST {A}/301", "200 GET {A}/end"},
			final:   "200 GET {A}/end",
			changes: [][]string{{"method POST→GET", "body dropped", "Content-Type dropped"}, nil},
			got:     []string{"A POST /301 data=x", "A GET /end "},
			human:   []string{"→ end  then: method POST→GET, body dropped, Content-Type dropped"},
		},
		{
			name:  "302 with --post302 keeps POST",
			args:  []string{"--post302", "-d", "data=x", "{A}/302"},
			hops:  []string{"302 POST {A}/302", "200 POST {A}/end"},
			final: "200 POST {A}/end",
			got:   []string{"A POST /302 data=x", "A POST /end data=x"},
			human: []string{"→ end", "body replayed"},
		},
		{
			name:    "303 turns PUT into GET: -X is the first request's only",
			args:    []string{"-X", "PUT", "-d", "data=x", "{A}/303"},
			hops:    []string{"303 PUT {A}/303", "200 GET {A}/end"},
			final:   "200 GET {A}/end",
			changes: [][]string{{"method PUT→GET", "body dropped", "Content-Type dropped"}, nil},
			got:     []string{"A PUT /303 data=x", "A GET /end "},
			human:   []string{"then: method PUT→GET, body dropped"},
		},
		{
			name:  "307 keeps POST and its body",
			args:  []string{"-d", "data=x", "{A}/307"},
			hops:  []string{"307 POST {A}/307", "200 POST {A}/end"},
			final: "200 POST {A}/end",
			got:   []string{"A POST /307 data=x", "A POST /end data=x"},
			human: []string{"1  307  POST  {A}/307", "→ end", "2  200  POST  {A}/end", "body replayed", "final: 200 POST {A}/end (1 redirect)"},
		},
		{
			name:  "308 keeps DELETE",
			args:  []string{"-X", "DELETE", "{A}/308"},
			hops:  []string{"308 DELETE {A}/308", "200 DELETE {A}/end"},
			final: "200 DELETE {A}/end",
			got:   []string{"A DELETE /308 ", "A DELETE /end "},
		},
		{
			name:  "-I sends HEAD all the way",
			args:  []string{"-I", "{A}/303"},
			hops:  []string{"303 HEAD {A}/303", "200 HEAD {A}/end"},
			final: "200 HEAD {A}/end",
			got:   []string{"A HEAD /303 ", "A HEAD /end "},
		},
		{
			name:  "relative Locations, then another origin",
			args:  []string{"{A}/rel/a/b"},
			hops:  []string{"301 GET {A}/rel/a/b", "302 GET {A}/rel/a/c", "307 GET {A}/rel/d", "308 GET {A}/rel/d?q=1", "200 GET {B}/end"},
			final: "200 GET {B}/end",
			got:   []string{"A GET /rel/a/b ", "A GET /rel/a/c ", "A GET /rel/d ", "A GET /rel/d?q=1 ", "B GET /end "},
			human: []string{"→ c", "→ ../d", "→ ?q=1", "→ //b.test:", "final: 200 GET {B}/end (4 redirects)"},
		},
		{
			name:    "credentials dropped cross-origin, never sent back (A→B→A)",
			args:    []string{"-u", "me:secret", "-b", "session=s1", "{A}/cross"},
			hops:    []string{"307 GET {A}/cross", "307 GET {B}/back", "200 GET {A}/end"},
			final:   "200 GET {A}/end",
			changes: [][]string{{"Authorization dropped (cross-origin)", "Cookie dropped (cross-origin)"}, nil, nil},
			got:     []string{"A GET /cross ", "B GET /back ", "A GET /end "},
			human:   []string{"then: Authorization dropped (cross-origin), Cookie dropped (cross-origin)"},
		},
		{
			name:  "--keep-auth keeps credentials for a named host",
			args:  []string{"-u", "me:secret", "--keep-auth", "b.test", "{A}/cross"},
			hops:  []string{"307 GET {A}/cross", "307 GET {B}/back", "200 GET {A}/end"},
			final: "200 GET {A}/end",
			got:   []string{"A GET /cross ", "B GET /back ", "A GET /end "},
		},
		{
			name:    "loop named with its cycle",
			args:    []string{"{A}/loop/a"},
			code:    1,
			hops:    []string{"302 GET {A}/loop/a", "302 GET {A}/loop/b"},
			errText: "redirect loop: the next request would repeat hop 1 (cycle: GET {A}/loop/a → GET {A}/loop/b → GET {A}/loop/a)",
			got:     []string{"A GET /loop/a ", "A GET /loop/b "},
			human:   []string{"1  302  GET  {A}/loop/a", "2  302  GET  {A}/loop/b"},
		},
		{
			name:    "too many hops",
			args:    []string{"--max-hops", "3", "{A}/many/0"},
			code:    1,
			hops:    []string{"302 GET {A}/many/0", "302 GET {A}/many/1", "302 GET {A}/many/2", "302 GET {A}/many/3"},
			errText: "too many redirects: stopped after 3",
			got:     []string{"A GET /many/0 ", "A GET /many/1 ", "A GET /many/2 ", "A GET /many/3 "},
		},
		{
			name:  "--max-hops 0 shows the first response",
			args:  []string{"--max-hops", "0", "-d", "data=x", "{A}/307"},
			hops:  []string{"307 POST {A}/307"},
			final: "307 POST {A}/307",
			got:   []string{"A POST /307 data=x"},
			human: []string{"final: 307 POST {A}/307 (not followed: --max-hops 0)"},
		},
		{
			name:    "https to http refused",
			args:    []string{"-k", "{C}/down"},
			code:    1,
			hops:    []string{"302 GET {C}/down"},
			errText: "https to http downgrade refused",
			got:     []string{"C GET /down "},
		},
		{
			name:  "https to http with --allow-downgrade",
			args:  []string{"-k", "--allow-downgrade", "{C}/down"},
			hops:  []string{"302 GET {C}/down", "200 GET {A}/end"},
			final: "200 GET {A}/end",
			got:   []string{"C GET /down ", "A GET /end "},
		},
		{
			name:    "unparsable Location",
			args:    []string{"{A}/bad"},
			code:    1,
			hops:    []string{"302 GET {A}/bad"},
			errText: "bad Location",
			got:     []string{"A GET /bad "},
		},
		{
			name:    "unsupported scheme",
			args:    []string{"{A}/ftp"},
			code:    1,
			hops:    []string{"302 GET {A}/ftp"},
			errText: `unsupported scheme "ftp"`,
			got:     []string{"A GET /ftp "},
		},
		{
			name:  "a 3xx without Location is final",
			args:  []string{"{A}/noloc"},
			hops:  []string{"302 GET {A}/noloc"},
			final: "302 GET {A}/noloc",
			got:   []string{"A GET /noloc "},
		},
		{
			name:  "a 300 is final",
			args:  []string{"{A}/300"},
			hops:  []string{"300 GET {A}/300"},
			final: "300 GET {A}/300",
			got:   []string{"A GET /300 "},
		},
		{
			name:    "a later hop that gets no response",
			args:    []string{"{A}/dead"},
			code:    1,
			hops:    []string{"307 GET {A}/dead"},
			errText: "hop 2: GET http://127.0.0.1:",
			got:     []string{"A GET /dead "},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := make([]string, len(tt.args))
			for i, a := range tt.args {
				args[i] = c.expand(a)
			}
			args = append(args, c.resolveArgs()...)

			code, stdout, stderr := runTrace(t, nil, append([]string{"--json"}, args...)...)
			if code != tt.code {
				t.Errorf("--json: exit %d, want %d; stderr:\n%s", code, tt.code, stderr)
			}
			out := mustTraceJSON(t, stdout)
			if got, want := out.hops(), expandAll(c, tt.hops); !slices.Equal(got, want) {
				t.Errorf("hops:\n  %q\nwant\n  %q", got, want)
			}
			for i, h := range out.Hops {
				var want []string
				if i < len(tt.changes) {
					want = tt.changes[i]
				}
				if h.Changes == nil || !slices.Equal(h.Changes, want) && (len(h.Changes) != 0 || len(want) != 0) {
					t.Errorf("hop %d changes %q, want %q", i+1, h.Changes, want)
				}
			}
			switch {
			case tt.final == "" && out.Final != nil:
				t.Errorf("final = %+v, want null", *out.Final)
			case tt.final != "" && out.Final == nil:
				t.Errorf("final = null, want %s", c.expand(tt.final))
			case tt.final != "":
				if got := fmt.Sprintf("%d %s %s", out.Final.Status, out.Final.Method, out.Final.URL); got != c.expand(tt.final) {
					t.Errorf("final %q, want %q", got, c.expand(tt.final))
				}
			}
			switch {
			case tt.errText == "" && out.Error != nil:
				t.Errorf("error = %q, want null", *out.Error)
			case tt.errText != "" && (out.Error == nil || !strings.Contains(*out.Error, c.expand(tt.errText))):
				t.Errorf("error = %v, want one holding %q", out.Error, c.expand(tt.errText))
			}
			got := c.requests()
			gotLines := make([]string, len(got))
			for i, r := range got {
				gotLines[i] = r.String()
			}
			if !slices.Equal(gotLines, tt.got) {
				t.Errorf("servers got:\n  %q\nwant\n  %q", gotLines, tt.got)
			}
			checkCredentials(t, tt.args, got)

			code, stdout, stderr = runTrace(t, nil, args...)
			c.requests()
			if code != tt.code {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, tt.code, stderr)
			}
			checkAligned(t, stdout)
			rest := stdout
			for _, w := range tt.human {
				w = c.expand(w)
				i := strings.Index(rest, w)
				if i < 0 {
					t.Errorf("output lacks %q (in order):\n%s", w, stdout)
					break
				}
				rest = rest[i+len(w):]
			}
			if tt.errText != "" && !strings.Contains(stderr, c.expand(tt.errText)) {
				t.Errorf("stderr %q lacks %q", stderr, c.expand(tt.errText))
			}
			if hasFinal := strings.Contains(stdout, "\nfinal: ") || strings.HasPrefix(stdout, "final: "); hasFinal != (tt.final != "") {
				t.Errorf("final line shown %v, want %v:\n%s", hasFinal, tt.final != "", stdout)
			}
		})
	}
}

func expandAll(c *chain, ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = c.expand(s)
	}
	return out
}

// checkCredentials checks, when args give -u or -b, which requests carried
// them: those to the first origin before any hop left it, and those to a
// --keep-auth host.
func checkCredentials(t *testing.T, args []string, got []received) {
	t.Helper()
	if !slices.Contains(args, "-u") && !slices.Contains(args, "-b") {
		return
	}
	keep := slices.Contains(args, "--keep-auth")
	left := false
	for _, r := range got {
		if r.Server != got[0].Server {
			left = true
		}
		want := !left || keep
		if has := r.Header.Get("Authorization") != "" || r.Header.Get("Cookie") != ""; has != want {
			t.Errorf("%s: credentials sent %v, want %v (Authorization %q, Cookie %q)", r, has, want, r.Header.Get("Authorization"), r.Header.Get("Cookie"))
		}
	}
}

// checkAligned checks that the hop lines' columns line up — the URL starts
// at the same offset on every line — and that no line ends in a space.
func checkAligned(t *testing.T, out string) {
	t.Helper()
	at := -1
	for _, line := range strings.Split(out, "\n") {
		if strings.HasSuffix(line, " ") {
			t.Errorf("line %q ends in a space", line)
		}
		if line == "" || strings.HasPrefix(line, "final: ") {
			continue
		}
		i := strings.Index(line, "://")
		if i < 0 {
			t.Errorf("hop line %q has no URL", line)
			continue
		}
		i = strings.LastIndex(line[:i], " ") + 1
		if at >= 0 && i != at {
			t.Errorf("URL column at %d, want %d as above:\n%s", i, at, out)
			return
		}
		at = i
	}
}

// TestTraceRequest checks what the first request carries — method, body,
// headers — as curl's flags mean them, and that the 307 sends it again.
func TestTraceRequest(t *testing.T) {
	c := newChain(t)
	c.route("A", "/go", redirectTo(307, "/end"))
	dir := t.TempDir()
	form := filepath.Join(dir, "form.txt")
	if err := os.WriteFile(form, []byte("a=1\r\n&b=2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	base := strings.TrimPrefix(c.urls["A"], "http://")
	const urlencoded = "application/x-www-form-urlencoded"

	tests := []struct {
		name   string
		args   []string
		method string
		body   string
		len    int64
		header map[string]string // values joined with ","; "-" means absent
		host   string            // "" means a.test:PORT
	}{
		{name: "-d", args: []string{"-d", "data=example"}, method: "POST", body: "data=example", len: 12,
			header: map[string]string{"Content-Type": urlencoded}},
		{name: "-d several, joined with &", args: []string{"-d", "a=1", "-d", "b=2", "--data-binary", "c=3"},
			method: "POST", body: "a=1&b=2&c=3", len: 11, header: map[string]string{"Content-Type": urlencoded}},
		{name: "-d @FILE strips CR and LF", args: []string{"-d", "@" + form}, method: "POST", body: "a=1&b=2", len: 7},
		{name: "--data-binary @FILE keeps them", args: []string{"--data-binary", "@" + form},
			method: "POST", body: "a=1\r\n&b=2\n", len: 10, header: map[string]string{"Content-Type": urlencoded}},
		{name: "-d DATA keeps its newlines", args: []string{"-d", "x\ny"}, method: "POST", body: "x\ny", len: 3},
		{name: "-d '' is an empty POST", args: []string{"-d", ""}, method: "POST", body: "", len: 0,
			header: map[string]string{"Content-Type": urlencoded}},
		{name: "-H sets Content-Type", args: []string{"-d", "{}", "-H", "content-type: application/json"},
			method: "POST", body: "{}", len: 2, header: map[string]string{"Content-Type": "application/json"}},
		{name: "-H 'Name:' removes", args: []string{"-d", "x", "-H", "Content-Type:"}, method: "POST", body: "x", len: 1,
			header: map[string]string{"Content-Type": "-"}},
		{name: "-H 'Name;' sends it empty", args: []string{"-H", "X-Empty;"}, method: "GET",
			header: map[string]string{"X-Empty": ""}},
		{name: "-H repeated", args: []string{"-H", "X-A: 1", "-H", "X-A: 2", "-H", "x-b: 3"}, method: "GET",
			header: map[string]string{"X-A": "1,2", "X-B": "3"}},
		{name: "-H Host", args: []string{"-H", "Host: example.org"}, method: "GET", host: "example.org"},
		{name: "-X with -d", args: []string{"-X", "PATCH", "-d", "p"}, method: "PATCH", body: "p", len: 1},
		{name: "-u", args: []string{"-u", "me:pa:ss"}, method: "GET",
			header: map[string]string{"Authorization": "Basic bWU6cGE6c3M="}},
		{name: "-b", args: []string{"-b", "k=v; k2=v2", "-b", "k3=v3"}, method: "GET",
			header: map[string]string{"Cookie": "k=v; k2=v2; k3=v3"}},
		{name: "no data: GET without Content-Type", method: "GET", header: map[string]string{"Content-Type": "-"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Without a scheme, as curl takes it: http.
			args := append(append([]string{base + "/go"}, tt.args...), c.resolveArgs()...)
			code, stdout, stderr := runTrace(t, nil, append(args, "--json")...)
			if code != 0 {
				t.Fatalf("exit %d; stderr:\n%s", code, stderr)
			}
			out := mustTraceJSON(t, stdout)
			if got, want := out.hops(), []string{"307 " + tt.method + " " + c.urls["A"] + "/go", "200 " + tt.method + " " + c.urls["A"] + "/end"}; !slices.Equal(got, want) {
				t.Errorf("hops %q, want %q", got, want)
			}
			got := c.requests()
			if len(got) != 2 {
				t.Fatalf("servers got %q, want 2 requests", got)
			}
			wantHost := tt.host
			if wantHost == "" {
				wantHost = strings.TrimPrefix(c.urls["A"], "http://")
			}
			for i, r := range got {
				if r.Method != tt.method || r.Body != tt.body || r.Len != tt.len || r.Host != wantHost {
					t.Errorf("request %d: %s Host %s, %d bytes %q; want %s Host %s, %d bytes %q",
						i+1, r.Method, r.Host, r.Len, r.Body, tt.method, wantHost, tt.len, tt.body)
				}
				for k, want := range tt.header {
					vs := r.Header.Values(k)
					got := strings.Join(vs, ",")
					if vs == nil {
						got = "-"
					}
					if got != want {
						t.Errorf("request %d: %s %q, want %q", i+1, k, got, want)
					}
				}
			}
		})
	}
}

// TestTraceStdin: "-d @-" reads stdin as a stream — the first request is
// on its way before stdin ends — and the 307 sends the same bytes again,
// whether or not the redirecting server read them.
func TestTraceStdin(t *testing.T) {
	c := newChain(t)
	c.route("A", "/read", redirectTo(307, "/end"))
	c.routeEarly("A", "/early", redirectTo(307, "/end"))
	tests := []struct {
		name string
		args []string
		want string // the body /end gets
	}{
		{"-d @-, the 307 reads the body", []string{"-d", "@-", "{A}/read"}, "data=stream&more"},
		{"-d @-, the 307 answers before the body", []string{"-d", "@-", "{A}/early"}, "data=stream&more"},
		{"--data-binary @-", []string{"--data-binary", "@-", "{A}/read"}, "data=str\neam&more\r\n"},
		{"-d before and after @-", []string{"-d", "x=1", "-d", "@-", "--data-binary", "y=2", "{A}/early"}, "x=1&data=stream&more&y=2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c.requests()
			select {
			case <-c.arrived:
			default:
			}
			pr, pw := io.Pipe()
			defer pr.Close()
			go func() {
				// Half the body, then the rest only once the first request
				// has reached the server: a trace that read stdin to its
				// end before sending would never get there.
				pw.Write([]byte("data=str\neam"))
				select {
				case <-c.arrived:
				case <-time.After(10 * time.Second):
					pw.CloseWithError(errors.New("no request reached the server before stdin ended: stdin was not streamed"))
					return
				}
				pw.Write([]byte("&more\r\n"))
				pw.Close()
			}()
			args := append(expandAll(c, tt.args), c.resolveArgs()...)
			code, stdout, stderr := runTrace(t, pr, append(args, "--json")...)
			if code != 0 {
				t.Fatalf("exit %d; stderr:\n%s\nstdout:\n%s", code, stderr, stdout)
			}
			out := mustTraceJSON(t, stdout)
			if len(out.Hops) != 2 || out.Hops[1].Method != "POST" || !out.Hops[1].BodyReplayed {
				t.Fatalf("hops %+v, want 307 then POST with the body replayed", out.Hops)
			}
			got := c.requests()
			if len(got) != 2 {
				t.Fatalf("servers got %q, want 2 requests", got)
			}
			// A stream of unknown length; the replay knows it once the
			// stream has been read to its end.
			if got[0].Len != -1 || got[1].Len != -1 && got[1].Len != int64(len(tt.want)) {
				t.Errorf("Content-Length %d, %d; want -1, then -1 or %d", got[0].Len, got[1].Len, len(tt.want))
			}
			if got[1].Method != "POST" || got[1].Body != tt.want {
				t.Errorf("/end got %s %q, want POST %q", got[1].Method, got[1].Body, tt.want)
			}
			if strings.HasSuffix(got[0].URI, "/read") && got[0].Body != tt.want {
				t.Errorf("%s got %q, want %q", got[0].URI, got[0].Body, tt.want)
			}
		})
	}
}

// TestTraceTLS: -k skips verification, --cacert trusts a CA, neither is a
// network failure before any response.
func TestTraceTLS(t *testing.T) {
	c := newChain(t)
	dir := t.TempDir()
	ca := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(ca, []byte(c.certs), 0o644); err != nil {
		t.Fatal(err)
	}
	notPEM := filepath.Join(dir, "not.pem")
	if err := os.WriteFile(notPEM, []byte("hello"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, port, _ := strings.Cut(strings.TrimPrefix(c.urls["C"], "https://"), ":")
	// httptest's certificate names example.com and 127.0.0.1.
	named := []string{"https://example.com:" + port + "/ok", "--resolve", "example.com:" + port + ":127.0.0.1"}
	tests := []struct {
		name   string
		args   []string
		code   int
		stderr string
	}{
		{"-k", append([]string{"-k"}, named...), 0, ""},
		{"--cacert", append([]string{"--cacert", ca}, named...), 0, ""},
		{"--cacert, the wrong name", []string{"--cacert", ca, "{C}/ok"}, 2, "certificate is valid for"},
		{"neither", named, 2, "certificate signed by unknown authority"},
		{"--cacert unreadable", append([]string{"--cacert", filepath.Join(dir, "missing.pem")}, named...), 2, "missing.pem"},
		{"--cacert not PEM", append([]string{"--cacert", notPEM}, named...), 2, "no PEM certificate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append(expandAll(c, tt.args), c.resolveArgs()...)
			code, stdout, stderr := runTrace(t, nil, args...)
			if code != tt.code {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, tt.code, stderr)
			}
			if !strings.Contains(stderr, tt.stderr) {
				t.Errorf("stderr %q lacks %q", stderr, tt.stderr)
			}
			if tt.code == 0 && !strings.Contains(stdout, "final: 200 GET https://example.com:"+port+"/ok") {
				t.Errorf("stdout lacks the final 200:\n%s", stdout)
			}
		})
	}
}

// TestTraceTimeout: --timeout bounds the whole trace; it is a failure to
// run before the first response, and a failed chain after it.
func TestTraceTimeout(t *testing.T) {
	c := newChain(t)
	stop := make(chan struct{})
	t.Cleanup(func() { close(stop) }) // before the servers close
	hang := func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-stop:
		}
	}
	c.route("A", "/hang", hang)
	c.route("A", "/then-hang", redirectTo(307, "/hang"))
	tests := []struct {
		name    string
		timeout string
		path    string
		code    int
		hops    int
	}{
		{"before any response", "200ms", "/hang", 2, 0},
		{"after a redirect", "200ms", "/then-hang", 1, 1},
		{"in seconds, as curl's --max-time", "0.2", "/hang", 2, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"--json", "--timeout", tt.timeout, c.urls["A"] + tt.path}, c.resolveArgs()...)
			code, stdout, stderr := runTrace(t, nil, args...)
			if code != tt.code {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, tt.code, stderr)
			}
			out := mustTraceJSON(t, stdout)
			if len(out.Hops) != tt.hops || out.Final != nil || out.Error == nil || !strings.Contains(*out.Error, "deadline exceeded") {
				t.Errorf("got %d hops, final %v, error %v; want %d hops, no final, a deadline error", len(out.Hops), out.Final, out.Error, tt.hops)
			}
		})
	}
}

// TestTraceUsage: what cannot run exits 2 with the reason.
func TestTraceUsage(t *testing.T) {
	dir := t.TempDir()
	refused := "http://" + closedAddr(t) + "/x"
	tests := []struct {
		name   string
		args   []string
		code   int
		stderr string
		stdout string
	}{
		{"help", []string{"-h"}, 0, "", "-data-binary DATA"},
		{"no URL", nil, 2, "trace takes a URL", ""},
		{"two URLs", []string{"a.test", "b.test"}, 2, "trace takes one URL", ""},
		{"unknown flag", []string{"a.test", "--bogus"}, 2, "flag provided but not defined: -bogus", ""},
		{"flag without value", []string{"a.test", "-X"}, 2, "flag needs an argument: -X", ""},
		{"not http", []string{"ftp://a.test/x"}, 2, "only http and https", ""},
		{"no host", []string{"http:///x"}, 2, "has no host", ""},
		{"-I with -d", []string{"-I", "-d", "x", "a.test"}, 2, "-I (HEAD) sends no body", ""},
		{"bad method", []string{"-X", "GET ME", "a.test"}, 2, `-X "GET ME" is not a method`, ""},
		{"header without colon", []string{"-H", "X-A 1", "a.test"}, 2, "want 'Name: value'", ""},
		{"bad header name", []string{"-H", "X A: 1", "a.test"}, 2, "is not a header name", ""},
		{"-u without password", []string{"-u", "me", "a.test"}, 2, "want USER:PASS", ""},
		{"-b with a file", []string{"-b", "cookies.txt", "a.test"}, 2, "cookie files are not read", ""},
		{"negative --max-hops", []string{"--max-hops", "-1", "a.test"}, 2, "want 0 or more", ""},
		{"--resolve without ADDR", []string{"--resolve", "a.test:80", "a.test"}, 2, "want HOST:PORT:ADDR", ""},
		{"--resolve bad port", []string{"--resolve", "a.test:http:127.0.0.1", "a.test"}, 2, "not a port number", ""},
		{"--resolve bad ADDR", []string{"--resolve", "a.test:80:localhost", "a.test"}, 2, "not an IP address", ""},
		{"-k with --cacert", []string{"-k", "--cacert", "ca.pem", "a.test"}, 2, "exclude each other", ""},
		{"bad --timeout", []string{"--timeout", "soon", "a.test"}, 2, "want a duration", ""},
		{"negative --timeout", []string{"--timeout", "-1s", "a.test"}, 2, "want a positive duration", ""},
		{"stdin twice", []string{"-d", "@-", "--data-binary", "@-", "a.test"}, 2, "only one @-", ""},
		{"@ without a name", []string{"-d", "@", "a.test"}, 2, "@ needs a file name", ""},
		{"unreadable @FILE", []string{"-d", "@" + filepath.Join(dir, "missing.txt"), "a.test"}, 2, "missing.txt: no such file", ""},
		{"refused", []string{refused}, 2, "connection refused", ""},
		{"refused, --json", []string{"--json", refused}, 2, "", `{"hops":[],"final":null,"error":"follow: hop 1: GET ` + refused},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runTrace(t, nil, tt.args...)
			if code != tt.code {
				t.Errorf("exit %d, want %d (stderr %q)", code, tt.code, stderr)
			}
			if !strings.Contains(stderr, tt.stderr) {
				t.Errorf("stderr %q lacks %q", stderr, tt.stderr)
			}
			if !strings.Contains(stdout, tt.stdout) {
				t.Errorf("stdout %q lacks %q", stdout, tt.stdout)
			}
		})
	}
}

// TestTraceAgreesWithCurl runs real curl -L and trace on the same chains
// and compares what the servers got and where each ended, method included.
func TestTraceAgreesWithCurl(t *testing.T) {
	curl := testutil.Bin(t, "curl")
	c := newTraceChain(t)
	c.route("A", "/c/a", redirectTo(301, "/c/b"))
	c.route("A", "/c/b", redirectTo(302, "/c/c"))
	c.route("A", "/c/c", redirectTo(303, "/c/d"))
	c.route("A", "/c/d", redirectTo(307, "/c/e"))
	c.route("A", "/c/e", redirectTo(308, c.urls["B"]+"/c/f"))
	tests := []struct {
		name  string
		flags []string // the same for curl and trace
		start string
	}{
		{"POST through 301 302 303 307 308", []string{"-d", "data=example"}, "{A}/c/a"},
		{"--post301 --post302", []string{"--post301", "--post302", "-d", "data=example"}, "{A}/c/a"},
		{"--post303", []string{"--post303", "-d", "data=example"}, "{A}/c/c"},
		{"POST through 307 and 308", []string{"-d", "data=example"}, "{A}/c/d"},
		{"--data-binary", []string{"--data-binary", "a=1&b=2"}, "{A}/c/d"},
		{"HEAD", []string{"-I"}, "{A}/c/a"},
		{"relative Locations", nil, "{A}/rel/a/b"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c.requests()
			start := c.expand(tt.start)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			curlArgs := append([]string{"-sS", "-L", "-o", "/dev/null", "-w", "%{url_effective} %{method}"}, tt.flags...)
			curlArgs = append(append(curlArgs, c.resolveArgs()...), start)
			out, err := exec.CommandContext(ctx, curl, curlArgs...).Output()
			if err != nil {
				t.Fatalf("curl %q: %v", curlArgs, err)
			}
			curlEnd := string(out)
			curlGot := c.requests()

			args := append(append([]string{"--json", start}, tt.flags...), c.resolveArgs()...)
			code, stdout, stderr := runTrace(t, nil, args...)
			if code != 0 {
				t.Fatalf("trace: exit %d; stderr:\n%s", code, stderr)
			}
			tr := mustTraceJSON(t, stdout)
			traceGot := c.requests()
			if tr.Final == nil {
				t.Fatalf("trace: no final response: %s", stdout)
			}
			traceEnd := tr.Final.URL + " " + tr.Final.Method

			if traceEnd != curlEnd {
				t.Errorf("trace ended at %q, curl at %q", traceEnd, curlEnd)
			}
			if g, w := receivedLines(traceGot), receivedLines(curlGot); !slices.Equal(g, w) {
				t.Errorf("servers got from trace:\n  %q\nfrom curl:\n  %q", g, w)
			}
		})
	}
}

func receivedLines(rs []received) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.String()
	}
	return out
}
