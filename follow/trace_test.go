package follow_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/detourhttp/detour/follow"
)

// TestTraceJSON: a Trace encodes in the shape `detour trace --json` prints
// (SPEC §8), for a chain that succeeds and for one that fails.
func TestTraceJSON(t *testing.T) {
	srv := newHopServer(t, "", map[string]http.HandlerFunc{
		"/a": redirect(302, "/b?x=1&y=2"),
		"/b": redirect(307, "/c"),
		"/l": redirect(307, "/l"),
	})
	clock := func() func() time.Time {
		var ticks atomic.Int64
		start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		return func() time.Time { return start.Add(time.Duration(ticks.Add(1)) * 2500 * time.Microsecond) }
	}
	tests := []struct {
		name   string
		method string
		path   string
		body   string
		want   string // with U for the server's URL
	}{
		{name: "success", method: "POST", path: "/a", body: "data=example", want: `{"hops":[` +
			`{"method":"POST","url":"U/a","status":302,"location":"/b?x=1&y=2","duration_ms":2.5,"changes":["method POST→GET","body dropped","Content-Type dropped"],"body_replayed":false},` +
			`{"method":"GET","url":"U/b?x=1&y=2","status":307,"location":"/c","duration_ms":2.5,"changes":[],"body_replayed":false},` +
			`{"method":"GET","url":"U/c","status":200,"location":"","duration_ms":2.5,"changes":[],"body_replayed":false}],` +
			`"final":{"method":"GET","url":"U/c","status":200},"error":null}`},
		{name: "loop", method: "PUT", path: "/l", body: "v", want: `{"hops":[` +
			`{"method":"PUT","url":"U/l","status":307,"location":"/l","duration_ms":2.5,"changes":[],"body_replayed":false}],` +
			`"final":null,"error":"follow: hop 1 (307 PUT U/l): redirect loop: the next request would repeat hop 1 (cycle: PUT U/l → PUT U/l)"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newClient(t)
			c.Now = clock()
			req := mustRequest(t, tt.method, srv.URL+tt.path, strings.NewReader(tt.body))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			res, err := c.Follow(req)
			if res != nil {
				res.Response.Body.Close()
			}
			var b bytes.Buffer
			enc := json.NewEncoder(&b)
			enc.SetEscapeHTML(false)
			if err := enc.Encode(follow.NewTrace(res, err)); err != nil {
				t.Fatal(err)
			}
			got := strings.TrimSpace(b.String())
			want := strings.ReplaceAll(tt.want, "U/", srv.URL+"/")
			if got != want {
				t.Errorf("JSON:\n got %s\nwant %s", got, want)
			}
		})
	}
}

// TestTraceNoResponse: when the first request gets no response, the trace
// has no hops, no final, and the error.
func TestTraceNoResponse(t *testing.T) {
	srv := newHopServer(t, "", nil)
	url := srv.URL
	srv.Close()
	_, err := newClient(t).Follow(mustRequest(t, "GET", url+"/gone", nil))
	var fe *follow.Error
	if !errors.As(err, &fe) || len(fe.Hops) != 0 {
		t.Fatalf("err = %v, want an *Error with no hops", err)
	}
	b, _ := json.Marshal(follow.NewTrace(nil, err))
	var got struct {
		Hops  []any   `json:"hops"`
		Final any     `json:"final"`
		Error *string `json:"error"`
	}
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if got.Hops == nil || len(got.Hops) != 0 || got.Final != nil || got.Error == nil || !strings.Contains(*got.Error, "hop 1: GET "+url+"/gone") {
		t.Errorf("trace = %s", b)
	}
}

// TestHopString: one hop a line, as `detour trace` prints it.
func TestHopString(t *testing.T) {
	tests := []struct {
		name string
		hop  follow.Hop
		want string
	}{
		{name: "redirect with changes",
			hop:  follow.Hop{Method: "POST", URL: "http://example.com/a", Status: 302, Location: "/b", Duration: 12345 * time.Microsecond, Changes: []string{"method POST→GET", "body dropped"}},
			want: "302 POST http://example.com/a 12.3ms → /b; method POST→GET, body dropped"},
		{name: "final",
			hop:  follow.Hop{Method: "GET", URL: "http://example.com/b", Status: 200, Duration: 1500 * time.Millisecond},
			want: "200 GET http://example.com/b 1.5s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.hop.String(); got != tt.want {
				t.Errorf("String() = %q, want %q", got, tt.want)
			}
		})
	}
}
