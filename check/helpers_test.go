package check_test

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/detourhttp/detour/check"
	"github.com/detourhttp/detour/internal/server"
	"github.com/detourhttp/detour/ruleset"
)

// serveSet serves a rule set with detour's own redirect handler on a
// loopback port, for the length of the test.
func serveSet(t *testing.T, set *ruleset.Set, echo bool) *httptest.Server {
	t.Helper()
	table, ds := set.CompileAt(time.Now())
	if table == nil {
		t.Fatalf("rules do not compile:\n%v", ds)
	}
	h := server.New(server.Options{})
	h.Store(&server.Rules{Table: table, MergeSlashes: set.MergeSlashes, Echo: echo})
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

// serveRules serves the rules file text.
func serveRules(t *testing.T, rules string) *httptest.Server {
	t.Helper()
	return serveSet(t, mustParseRules(t, rules), false)
}

// serveDemo serves the built-in demo set, echo included, as `detour serve`
// does with no rules.
func serveDemo(t *testing.T) *httptest.Server {
	t.Helper()
	return serveSet(t, ruleset.Demo(), true)
}

func mustParseRules(t *testing.T, rules string) *ruleset.Set {
	t.Helper()
	set, ds := ruleset.Parse(strings.NewReader(rules), "rules.yaml")
	if ds.HasErrors() {
		t.Fatalf("rules do not parse:\n%v", ds)
	}
	return set
}

// mustParse parses an expectations file.
func mustParse(t *testing.T, text string) []check.Case {
	t.Helper()
	cases, err := check.Parse(strings.NewReader(text), "check.yaml")
	if err != nil {
		t.Fatalf("expectations do not parse:\n%v", err)
	}
	return cases
}

func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// mustRun runs cases against srv and fails the test on a Run error.
func mustRun(t *testing.T, r *check.Runner, cases []check.Case) *check.Report {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	rep, err := r.Run(ctx, cases)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	return rep
}

// failures maps the title of each failed case to its mismatches, as text.
func failures(rep *check.Report) map[string][]string {
	out := map[string][]string{}
	for i := range rep.Results {
		r := &rep.Results[i]
		if r.Passed() {
			continue
		}
		var ms []string
		for _, m := range r.Mismatches {
			ms = append(ms, m.Field+": expected "+m.Expected+", got "+m.Got)
		}
		if r.Error != "" {
			ms = append(ms, "error")
		}
		out[r.Case.Title()] = ms
	}
	return out
}

// newCountingServer serves h and returns a func that reports the most
// connections that were open at once.
func newCountingServer(t *testing.T, h http.Handler) (*httptest.Server, func() int) {
	t.Helper()
	srv := httptest.NewUnstartedServer(h)
	state := make(chan int, 1)
	state <- 0
	peak := 0
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		n := <-state
		switch s {
		case http.StateNew:
			n++
			peak = max(peak, n)
		case http.StateClosed, http.StateHijacked:
			n--
		}
		state <- n
	}
	srv.Start()
	t.Cleanup(srv.Close)
	return srv, func() int {
		n := <-state
		defer func() { state <- n }()
		return peak
	}
}
