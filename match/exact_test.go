package match_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/detourhttp/detour"
	"github.com/detourhttp/detour/match"
)

// TestExactEntries covers the shapes an exact-index entry takes: key and
// Location inline in the slot, the key inline and the Location in the
// arena, or both in the arena, the places of "?" and "#"
// found when the request's query is merged, priorities of any size, and
// rules handed to Compile in any order.
func TestExactEntries(t *testing.T) {
	long := "/" + strings.Repeat("l", 60)
	table := func(query detour.QueryMode, rows ...detour.Row) []detour.Table {
		return []detour.Table{{ID: "table:t.csv", File: "t.csv", Status: 301, Query: query, Rows: rows,
			Source: detour.Source{File: "rules.yaml", Line: 50, Seq: 50}}}
	}
	seq := func(s int) func(*detour.Rule) { return func(x *detour.Rule) { x.Source.Seq = s } }
	to := func(s string) func(*detour.Rule) { return func(x *detour.Rule) { x.To = s } }
	query := func(q detour.QueryMode) func(*detour.Rule) { return func(x *detour.Rule) { x.Query = q } }
	tests := []struct {
		name    string
		rules   []detour.Rule
		tables  []detour.Table
		target  string // request path and query
		wantID  string
		wantRow int
		wantLoc string
	}{
		{name: "inline rule", rules: []detour.Rule{rule(1, "/a", "/b")}, target: "/a", wantID: "ra", wantLoc: "/b"},
		{name: "inline rule, query merged", rules: []detour.Rule{rule(1, "/a", "/b?x=1#f")}, target: "/a?y=2",
			wantID: "ra", wantLoc: "/b?x=1&y=2#f"},
		{name: "inline rule, fragment only", rules: []detour.Rule{rule(1, "/a", "/b#f?g")}, target: "/a?y=2",
			wantID: "ra", wantLoc: "/b?y=2#f?g"},
		{name: "inline rule, query replaced", rules: []detour.Rule{rule(1, "/a", "/b?x=1", query(detour.QueryReplace))}, target: "/a",
			wantID: "ra", wantLoc: "/b"},
		{name: "inline rule, query replaced by the request's", rules: []detour.Rule{rule(1, "/a", "/b?x=1", query(detour.QueryReplace))},
			target: "/a?y=2", wantID: "ra", wantLoc: "/b?y=2"},
		{name: "key and Location fill the slot", rules: []detour.Rule{rule(1, "/"+strings.Repeat("k", 23), "/"+strings.Repeat("t", 23))},
			target: "/" + strings.Repeat("k", 23), wantID: "r" + strings.Repeat("k", 23), wantLoc: "/" + strings.Repeat("t", 23)},
		{name: "one byte too long", rules: []detour.Rule{rule(1, "/"+strings.Repeat("k", 23), "/"+strings.Repeat("t", 24))},
			target: "/" + strings.Repeat("k", 23), wantID: "r" + strings.Repeat("k", 23), wantLoc: "/" + strings.Repeat("t", 24)},
		{name: "long key", rules: []detour.Rule{rule(1, long, "/b")}, target: long, wantID: "r" + long[1:], wantLoc: "/b"},
		{name: "long key, other long key", rules: []detour.Rule{rule(1, long, "/b")}, target: long + "x"},
		{name: "long Location, query merged", rules: []detour.Rule{rule(1, "/a", long+"?x=1#f")}, target: "/a?y=2",
			wantID: "ra", wantLoc: long + "?x=1&y=2#f"},
		{name: "long Location, query replaced", rules: []detour.Rule{rule(1, "/a", long+"?x=1", query(detour.QueryReplace))},
			target: "/a?y=2", wantID: "ra", wantLoc: long + "?y=2"},
		{name: "inline row", tables: table("", detour.Row{Line: 2, Path: "/old", To: "/new?x=1"}), target: "/old?y=2",
			wantID: "table:t.csv", wantRow: 2, wantLoc: "/new?x=1&y=2"},
		{name: "long row", tables: table("", detour.Row{Line: 3, Path: long, To: long + "/new#f"}), target: long + "?y=2",
			wantID: "table:t.csv", wantRow: 3, wantLoc: long + "/new?y=2#f"},
		{name: "long row, query replaced", tables: table(detour.QueryReplace, detour.Row{Line: 3, Path: long, To: long + "?x=1"}),
			target: long + "?y=2", wantID: "table:t.csv", wantRow: 3, wantLoc: long + "?y=2"},
		{name: "out row: key in the slot, Location in the arena", tables: table("", detour.Row{Line: 5, Path: "/legacy/products/page-0000000.html", To: "/new/news/0000000"}),
			target: "/legacy/products/page-0000000.html?y=2", wantID: "table:t.csv", wantRow: 5, wantLoc: "/new/news/0000000?y=2"},
		{name: "out row, query merged", tables: table("", detour.Row{Line: 5, Path: "/" + strings.Repeat("k", 41), To: long + "?x=1#f"}),
			target: "/" + strings.Repeat("k", 41) + "?y=2", wantID: "table:t.csv", wantRow: 5, wantLoc: long + "?x=1&y=2#f"},
		{name: "out row, query replaced", tables: table(detour.QueryReplace, detour.Row{Line: 5, Path: "/" + strings.Repeat("k", 41), To: long + "?x=1"}),
			target: "/" + strings.Repeat("k", 41) + "?y=2", wantID: "table:t.csv", wantRow: 5, wantLoc: long + "?y=2"},
		{name: "key one byte too long to stay in the slot", tables: table("", detour.Row{Line: 5, Path: "/" + strings.Repeat("k", 42), To: long}),
			target: "/" + strings.Repeat("k", 42), wantID: "table:t.csv", wantRow: 5, wantLoc: long},
		{name: "out row, other key of the same length", tables: table("", detour.Row{Line: 5, Path: "/" + strings.Repeat("k", 41), To: long}),
			target: "/" + strings.Repeat("k", 40) + "j"},
		{name: "out rule", rules: []detour.Rule{rule(1, "/"+strings.Repeat("k", 23), long+"#f")},
			target: "/" + strings.Repeat("k", 23) + "?y=2", wantID: "r" + strings.Repeat("k", 23), wantLoc: long + "?y=2#f"},
		{name: "410 row", tables: table("", detour.Row{Line: 4, Path: "/gone", Status: 410}), target: "/gone",
			wantID: "table:t.csv", wantRow: 4},
		{name: "huge priority beats a prefix", rules: []detour.Rule{
			rule(1, "/a/*", "/p", prio(1<<40)), rule(2, "/a/b", "/e", prio(1<<41))},
			target: "/a/b", wantID: "ra-b", wantLoc: "/e"},
		{name: "huge negative priority loses to a prefix", rules: []detour.Rule{
			rule(1, "/a/*", "/p"), rule(2, "/a/b", "/e", prio(-1<<40))},
			target: "/a/b", wantID: "ra-*", wantLoc: "/p"},
		{name: "priority beats a prefix", rules: []detour.Rule{
			rule(1, "/a/*", "/p", prio(5)), rule(2, "/a/b", "/e", prio(6))},
			target: "/a/b", wantID: "ra-b", wantLoc: "/e"},
		{name: "rules out of file order", rules: []detour.Rule{
			rule(1, "/z", "/1", seq(9)), rule(2, "/y", "/2", seq(3)), rule(3, "/x", "/3", seq(6))},
			target: "/y", wantID: "ry", wantLoc: "/2"},
		{name: "rule without id", rules: []detour.Rule{rule(1, "/a", "/b", func(x *detour.Rule) { x.ID = "" }), rule(2, "/c", "/d")},
			target: "/a", wantID: detour.DeriveID("", "/a", nil), wantLoc: "/b"},
		{name: "dynamic target", rules: []detour.Rule{rule(1, "/a", "/b", to("https://x.example/p{path}"), host("ex.com"))},
			target: "/a", wantID: "ra", wantLoc: "https://x.example/p/a"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for i := range tt.rules {
				if tt.rules[i].Source.Seq == 0 {
					tt.rules[i].Source.Seq = i
				}
			}
			tb, diags := match.Compile(tt.rules, tt.tables, match.Options{})
			if tb == nil {
				t.Fatalf("compile: %v", diags)
			}
			hostName := ""
			if len(tt.rules) > 0 {
				hostName = tt.rules[0].Host
			}
			req := get(hostName, tt.target)
			var m match.Match
			ok := tb.Lookup(&req, now, &m)
			if tt.wantID == "" {
				if ok {
					t.Fatalf("got %s, want no match", m.Rule.ID)
				}
				return
			}
			if !ok {
				t.Fatalf("got no match, want %s", tt.wantID)
			}
			if m.Rule.ID != tt.wantID || m.Row != tt.wantRow {
				t.Errorf("got %s row %d, want %s row %d", m.Rule.ID, m.Row, tt.wantID, tt.wantRow)
			}
			if got := m.Location(); got != tt.wantLoc {
				t.Errorf("Location: got %q, want %q", got, tt.wantLoc)
			}
			// The rule is one of the caller's, or the copy Rules holds.
			if m.Row == 0 {
				found := false
				for _, p := range tb.Rules() {
					found = found || p == m.Rule
				}
				for i := range tt.rules {
					found = found || &tt.rules[i] == m.Rule
				}
				if !found {
					t.Errorf("Match.Rule %p is neither a rule of Compile nor of Rules()", m.Rule)
				}
			}
			if c := tb.Candidates(&req, now); len(c) == 0 || c[0].Rule != m.Rule || c[0].Row != m.Row {
				t.Errorf("Candidates: got %v, want %s first", c, tt.wantID)
			}
		})
	}
}

// TestExactManyHosts: more hosts than an inline entry's bucket id holds.
func TestExactManyHosts(t *testing.T) {
	const n = 70_000
	rules := make([]detour.Rule, n)
	for i := range rules {
		rules[i] = detour.Rule{ID: fmt.Sprint("h", i), Host: fmt.Sprintf("h%d.example", i), From: "/a", To: fmt.Sprint("/to/", i),
			Status: 308, Source: detour.Source{Seq: i}}
	}
	tb, diags := match.Compile(rules, nil, match.Options{})
	if tb == nil {
		t.Fatalf("compile: %v", diags)
	}
	for _, i := range []int{0, 1, 65534, 65535, 65536, n - 1} {
		req := get(fmt.Sprintf("h%d.example", i), "/a")
		var m match.Match
		if !tb.Lookup(&req, now, &m) {
			t.Fatalf("h%d: no match", i)
		}
		if got, want := m.Rule, &rules[i]; got != want {
			t.Errorf("h%d: got rule %s, want %s", i, got.ID, want.ID)
		}
		if got, want := m.Location(), fmt.Sprint("/to/", i); got != want {
			t.Errorf("h%d: Location %q, want %q", i, got, want)
		}
	}
	req := get("h1.example", "/b")
	var m match.Match
	if tb.Lookup(&req, now, &m) {
		t.Errorf("h1 /b: got %s, want no match", m.Rule.ID)
	}
}

// TestHashCS: Lookup's fast hash of a path equals the hash the exact
// index is built with, at every length around the 8-byte words.
func TestHashCS(t *testing.T) {
	s := "/abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ-_.~"
	for n := 0; n <= len(s); n++ {
		if !match.HashCSAgrees(0x1234, 0x5678, s[:n]) {
			t.Errorf("length %d: hashCS and hashKey differ", n)
		}
	}
}

// TestTableRule: the template rule TableRule returns is the Rule a Match
// points at when a row of that table answers, for each table.
func TestTableRule(t *testing.T) {
	tables := []detour.Table{
		{ID: "table:a.csv", File: "a.csv", Rows: []detour.Row{{Line: 2, Path: "/a", To: "/x"}}},
		{ID: "table:b.csv", File: "b.csv", Status: 301, Rows: []detour.Row{{Line: 2, Path: "/b", To: "/y"}}},
		{ID: "table:empty.csv", File: "empty.csv"},
	}
	tb, ds := match.Compile(nil, tables, match.Options{})
	if ds.HasErrors() {
		t.Fatal(ds)
	}
	for i, path := range []string{"/a", "/b"} {
		var m match.Match
		req := detour.Request{Method: "GET", Scheme: "http", Path: path}
		if !tb.Lookup(&req, time.Time{}, &m) {
			t.Fatalf("%s: no match", path)
		}
		if got := tb.TableRule(i); got != m.Rule || got.ID != tables[i].ID {
			t.Errorf("TableRule(%d) = %p %q, want the Match's rule %p %q", i, got, got.ID, m.Rule, tables[i].ID)
		}
	}
	if got := tb.TableRule(2); got == nil || got.ID != "table:empty.csv" {
		t.Errorf("TableRule(2) of an empty table = %v, want its template", got)
	}
}
