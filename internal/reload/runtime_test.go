package reload_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/detourhttp/detour"
	"github.com/detourhttp/detour/internal/reload"
	"github.com/detourhttp/detour/internal/server"
	"github.com/detourhttp/detour/internal/sqlite"
)

// node is one server over a rules file and a store file.
type node struct {
	h   *server.Handler
	r   *reload.Reloader
	url string
	log *syncBuffer
}

func newNode(t *testing.T, rules, db string) *node {
	t.Helper()
	store, err := sqlite.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	n := &node{h: server.New(server.Options{}), log: &syncBuffer{}}
	n.r, err = reload.New(reload.Config{Path: rules, Server: n.h, Store: store, Stats: server.NewStats(),
		Log: slog.New(slog.NewTextHandler(n.log, nil))})
	if err != nil {
		t.Fatal(err)
	}
	if err := n.r.Reload("start"); err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(n.h)
	t.Cleanup(ts.Close)
	n.url = ts.URL
	return n
}

func (n *node) get(t *testing.T, path string) (int, string) {
	t.Helper()
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(n.url + path)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode, resp.Header.Get("Location")
}

func runtimeRule(id, from, to string) detour.Rule {
	return detour.Rule{ID: id, From: from, To: to, Status: 307, Query: detour.QueryPreserve}
}

// TestRuntimePrecedence: runtime rules join the file rules in one set:
// an exact runtime rule beats a file pattern, a file regex beats a later
// runtime regex at the same priority (file order), and priority decides
// first.
func TestRuntimePrecedence(t *testing.T) {
	dir := t.TempDir()
	rules := filepath.Join(dir, "detour.yaml")
	writeFile(t, rules, "rules:\n  - from: /docs/*\n    to: /file-docs\n  - from: ~^/re/(.*)$\n    to: /file-re/$1\n")
	n := newNode(t, rules, filepath.Join(dir, "detour.db"))
	ctx := context.Background()
	for _, r := range []detour.Rule{
		runtimeRule("exact", "/docs/special", "/runtime-exact"),
		runtimeRule("regex", "~^/re/(a.*)$", "/runtime-re/$1"),
		func() detour.Rule {
			r := runtimeRule("prio", "~^/re/(b.*)$", "/runtime-prio/$1")
			r.Priority = 5
			return r
		}(),
	} {
		if _, err := n.r.CreateRule(ctx, r, true); err != nil {
			t.Fatalf("%s: %v", r.ID, err)
		}
	}
	tests := []struct{ path, want string }{
		{"/docs/special", "/runtime-exact"},
		{"/docs/other", "/file-docs"},
		{"/re/abc", "/file-re/abc"},
		{"/re/bcd", "/runtime-prio/bcd"},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			if _, loc := n.get(t, tt.path); loc != tt.want {
				t.Errorf("Location %q, want %q", loc, tt.want)
			}
		})
	}
}

// TestRuntimeFromAnotherWriter: a change another process makes to the
// store reaches this server through RunStore's version check, the path a
// shared PostgreSQL store's notifications will take.
func TestRuntimeFromAnotherWriter(t *testing.T) {
	dir := t.TempDir()
	rules := filepath.Join(dir, "detour.yaml")
	writeFile(t, rules, "rules: []\n")
	db := filepath.Join(dir, "detour.db")
	a := newNode(t, rules, db)
	b := newNode(t, rules, db)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go b.r.RunStore(ctx, 20*time.Millisecond)
	if _, err := a.r.CreateRule(context.Background(), runtimeRule("x", "/x", "/from-a"), true); err != nil {
		t.Fatal(err)
	}
	if st, loc := a.get(t, "/x"); st != 307 || loc != "/from-a" {
		t.Fatalf("writer: %d %q", st, loc)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if st, loc := b.get(t, "/x"); st == 307 && loc == "/from-a" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the other server never saw the rule")
		}
		time.Sleep(10 * time.Millisecond)
	}
	// The log line follows the swap: wait for it too.
	for !strings.Contains(b.log.String(), "runtime rules reloaded from the store") {
		if time.Now().After(deadline) {
			t.Fatalf("log:\n%s", b.log.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestRuntimeShadowedAtStart: a runtime rule that a changed rules file
// ties with by the time the server starts is left out and reported; the
// file rule serves.
func TestRuntimeShadowedAtStart(t *testing.T) {
	dir := t.TempDir()
	rules := filepath.Join(dir, "detour.yaml")
	db := filepath.Join(dir, "detour.db")
	writeFile(t, rules, "rules: []\n")
	first := newNode(t, rules, db)
	if _, err := first.r.CreateRule(context.Background(), runtimeRule("rt", "/p", "/runtime"), true); err != nil {
		t.Fatal(err)
	}
	writeFile(t, rules, "rules:\n  - from: /p\n    to: /file\n")
	n := newNode(t, rules, db)
	if _, loc := n.get(t, "/p"); loc != "/file" {
		t.Errorf("Location %q, want the file rule's", loc)
	}
	if why := n.r.Shadowed("rt"); !strings.Contains(why, rules+":2") {
		t.Errorf("shadowed because %q, want it to name %s:2", why, rules)
	}
	if got := n.r.ShadowedCount(); got != 1 {
		t.Errorf("shadowed count %d", got)
	}
}

// TestRuntimeWriteRefused: a refused write changes neither the store nor
// the live rules.
func TestRuntimeWriteRefused(t *testing.T) {
	dir := t.TempDir()
	rules := filepath.Join(dir, "detour.yaml")
	writeFile(t, rules, "rules:\n  - from: /a\n    to: /b\n")
	n := newNode(t, rules, filepath.Join(dir, "detour.db"))
	ctx := context.Background()
	tests := []struct {
		name string
		rule detour.Rule
		code string
	}{
		{"tie with a file rule", runtimeRule("t", "/a", "/c"), detour.ECONFLICT},
		{"certain loop with a file rule", runtimeRule("loop", "/b", "/a"), detour.EINVALID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := n.r.CreateRule(ctx, tt.rule, true)
			if got := detour.ErrorCode(err); got != tt.code {
				t.Fatalf("error %v: code %q, want %q", err, got, tt.code)
			}
			if _, err := n.r.Store().Rule(ctx, tt.rule.ID); detour.ErrorCode(err) != detour.ENOTFOUND {
				t.Errorf("the refused rule is in the store: %v", err)
			}
			if _, loc := n.get(t, "/a"); loc != "/b" {
				t.Errorf("/a goes to %q", loc)
			}
		})
	}
}
