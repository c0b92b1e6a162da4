package server_test

import (
	"net/http"
	"net/http/httptest"
	"reflect"
	"sort"
	"testing"
	"time"

	"github.com/detourhttp/detour"
	"github.com/detourhttp/detour/internal/server"
	"github.com/detourhttp/detour/match"
)

type observed struct{ n int }

func (o *observed) Observe(float64) { o.n++ }

// TestCounting: each answer counts on its rule (table rows on their
// table), misses count as not found, lookups are observed, and counters
// carry over to the next rule set by id.
func TestCounting(t *testing.T) {
	rules := []detour.Rule{
		rule("/a", "/b", func(r *detour.Rule) { r.ID = "a" }),
		rule("/gone", "", func(r *detour.Rule) { r.ID = "gone"; r.Status = 410 }),
	}
	for i := range rules {
		rules[i].Source = detour.Source{File: "t.yaml", Line: i + 1, Seq: i}
	}
	tables := []detour.Table{{ID: "table:t.csv", File: "t.csv", Status: 301, Query: detour.QueryPreserve,
		Source: detour.Source{File: "t.yaml", Line: 9, Seq: 2},
		Rows:   []detour.Row{{Line: 1, Path: "/r1", To: "/n1"}, {Line: 2, Path: "/r2", To: "/n2", Status: 308}}}}
	tbl, diags := match.Compile(rules, tables, match.Options{})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	stats := server.NewStats()
	lat := &observed{}
	h := server.New(server.Options{Now: func() time.Time { return clock }, LookupLatency: lat})
	h.Store(&server.Rules{Table: tbl, Stats: stats.Index(tbl)})
	srv, _ := startServerHandler(t, h)
	for _, p := range []string{"/a", "/a", "/gone", "/r1", "/r2", "/r2", "/nothing"} {
		resp, err := noFollow().Get(srv.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	type count struct {
		id     string
		status int
		n      uint64
	}
	var got []count
	for _, rs := range stats.All() {
		rs.StatusCounts(func(status int, n uint64) { got = append(got, count{rs.ID, status, n}) })
	}
	sort.Slice(got, func(i, j int) bool {
		return got[i].id < got[j].id || got[i].id == got[j].id && got[i].status < got[j].status
	})
	want := []count{{"a", 307, 2}, {"gone", 410, 1}, {"table:t.csv", 301, 1}, {"table:t.csv", 308, 2}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("counts\n got %v\nwant %v", got, want)
	}
	if n := h.NotFound(); n != 1 {
		t.Errorf("not found %d, want 1", n)
	}
	if lat.n != 7 {
		t.Errorf("lookups observed %d, want 7", lat.n)
	}
	if last := stats.Get("a").LastHit(); !last.Equal(clock) {
		t.Errorf("last hit %v, want %v", last, clock)
	}

	// The next set keeps counting on "a"; "gone" and the table retire.
	tbl2, _ := match.Compile(rules[:1], nil, match.Options{})
	h.Store(&server.Rules{Table: tbl2, Stats: stats.Index(tbl2)})
	resp, err := noFollow().Get(srv.URL + "/a")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if n := stats.Get("a").Hits(); n != 3 {
		t.Errorf("a after the swap: %d hits, want 3", n)
	}
	hits := stats.TakeHits()
	sort.Slice(hits, func(i, j int) bool { return hits[i].ID < hits[j].ID })
	var ids []string
	var total uint64
	for _, h := range hits {
		ids = append(ids, h.ID)
		total += h.Count
	}
	if want := []string{"a", "gone", "table:t.csv"}; !reflect.DeepEqual(ids, want) || total != 7 {
		t.Errorf("taken %v (%d), want %v (7)", hits, total, want)
	}
	if again := stats.TakeHits(); len(again) != 0 {
		t.Errorf("taken twice: %v", again)
	}
	stats.PutBack(hits[:1])
	if n, _ := stats.Unflushed("a"); n != 3 {
		t.Errorf("unflushed after put back: %d, want 3", n)
	}
}

func startServerHandler(t *testing.T, h *server.Handler) (*httptest.Server, *server.Handler) {
	t.Helper()
	ts := httptest.NewServer(h)
	t.Cleanup(ts.Close)
	return ts, h
}

// TestCountingAllocs: counting adds no allocation to an exact redirect.
func TestCountingAllocs(t *testing.T) {
	tbl := mustTable(t, rule("/a", "/b"))
	h := server.New(server.Options{Now: func() time.Time { return clock }, LookupLatency: &observed{}})
	h.Store(&server.Rules{Table: tbl, Stats: server.NewStats().Index(tbl)})
	plain := server.New(server.Options{Now: func() time.Time { return clock }})
	plain.Store(&server.Rules{Table: tbl})
	req := mustRequest(t, "GET", "http://example.com/a", nil)
	w := &discardWriter{h: make(http.Header)}
	allocs := func(h *server.Handler) float64 {
		return testing.AllocsPerRun(200, func() { clear(w.h); h.ServeHTTP(w, req) })
	}
	if with, without := allocs(h), allocs(plain); with != without {
		t.Errorf("%v allocs with counting, %v without", with, without)
	}
}
