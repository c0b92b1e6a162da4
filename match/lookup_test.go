package match_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/detourhttp/detour"
	"github.com/detourhttp/detour/match"
)

// r builds a rule with id, from and target "/" + id, at file order seq.
func r(id, from string, edit ...func(*detour.Rule)) detour.Rule {
	x := detour.Rule{ID: id, From: from, To: "/" + id, Status: 307}
	for _, e := range edit {
		e(&x)
	}
	return x
}

func host(h string) func(*detour.Rule)       { return func(x *detour.Rule) { x.Host = h } }
func prio(p int) func(*detour.Rule)          { return func(x *detour.Rule) { x.Priority = p } }
func methods(m ...string) func(*detour.Rule) { return func(x *detour.Rule) { x.Methods = m } }
func scheme(s string) func(*detour.Rule)     { return func(x *detour.Rule) { x.Scheme = s } }
func ci(x *detour.Rule)                      { x.CaseInsensitive = true }
func either(x *detour.Rule)                  { x.TrailingSlashEither = true }
func window(start, end time.Time) func(*detour.Rule) {
	return func(x *detour.Rule) { x.Window = detour.Window{Start: start, End: end} }
}

var now = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

// get is a GET request for target ("path?query") on host.
func get(hostName, target string) detour.Request {
	req := detour.Request{Method: "GET", Scheme: "https", Host: hostName}
	req.Path, req.Query, _ = cut(target, "?")
	return req
}

func cut(s, sep string) (string, string, bool) {
	for i := 0; i+len(sep) <= len(s); i++ {
		if s[i:i+len(sep)] == sep {
			return s[:i], s[i+len(sep):], true
		}
	}
	return s, "", false
}

// TestPrecedence holds one named case for every rule of SPEC §1.2 and of
// what a rule matches (§1.1).
func TestPrecedence(t *testing.T) {
	anyHost := ""
	tests := []struct {
		name  string
		order detour.Order
		rules []detour.Rule
		req   detour.Request
		at    time.Time
		want  string // id of the rule that answers; "" for none
	}{
		// What a pattern matches.
		{name: "exact path", rules: []detour.Rule{r("a", "/a")}, req: get(anyHost, "/a"), want: "a"},
		{name: "exact path is whole", rules: []detour.Rule{r("a", "/a")}, req: get(anyHost, "/a/b"), want: ""},
		{name: "trailing slash significant", rules: []detour.Rule{r("a", "/a")}, req: get(anyHost, "/a/"), want: ""},
		{name: "trailing slash either", rules: []detour.Rule{r("a", "/a", either)}, req: get(anyHost, "/a/"), want: "a"},
		{name: "trailing slash either, written with slash", rules: []detour.Rule{r("a", "/a/", either)}, req: get(anyHost, "/a"), want: "a"},
		{name: "case sensitive", rules: []detour.Rule{r("a", "/About")}, req: get(anyHost, "/about"), want: ""},
		{name: "case insensitive", rules: []detour.Rule{r("a", "/About", ci)}, req: get(anyHost, "/aBOUT"), want: "a"},
		{name: "case insensitive prefix", rules: []detour.Rule{r("a", "/Docs/*", ci)}, req: get(anyHost, "/DOCS/x"), want: "a"},
		{name: "case insensitive named", rules: []detour.Rule{r("a", "/Blog/:y", ci)}, req: get(anyHost, "/BLOG/2024"), want: "a"},
		{name: "segment prefix bare", rules: []detour.Rule{r("a", "/docs/*")}, req: get(anyHost, "/docs"), want: "a"},
		{name: "segment prefix slash", rules: []detour.Rule{r("a", "/docs/*")}, req: get(anyHost, "/docs/"), want: "a"},
		{name: "segment prefix below", rules: []detour.Rule{r("a", "/docs/*")}, req: get(anyHost, "/docs/a/b"), want: "a"},
		{name: "segment prefix is not a string prefix", rules: []detour.Rule{r("a", "/docs/*")}, req: get(anyHost, "/docsx"), want: ""},
		{name: "root segment prefix", rules: []detour.Rule{r("a", "/*")}, req: get(anyHost, "/anything/at/all"), want: "a"},
		{name: "string prefix itself", rules: []detour.Rule{r("a", "/promo*")}, req: get(anyHost, "/promo"), want: "a"},
		{name: "string prefix longer word", rules: []detour.Rule{r("a", "/promo*")}, req: get(anyHost, "/promotion"), want: "a"},
		{name: "string prefix below", rules: []detour.Rule{r("a", "/promo*")}, req: get(anyHost, "/promo/x"), want: "a"},
		{name: "named segments", rules: []detour.Rule{r("a", "/blog/:year/:slug")}, req: get(anyHost, "/blog/2024/hello"), want: "a"},
		{name: "named segment is not empty", rules: []detour.Rule{r("a", "/blog/:year/:slug")}, req: get(anyHost, "/blog//hello"), want: ""},
		{name: "named segment is one segment", rules: []detour.Rule{r("a", "/blog/:year/:slug")}, req: get(anyHost, "/blog/2024/a/b"), want: ""},
		{name: "named segments and splat", rules: []detour.Rule{r("a", "/u/:id/*")}, req: get(anyHost, "/u/7/a/b"), want: "a"},
		{name: "named segments and bare splat", rules: []detour.Rule{r("a", "/u/:id/*")}, req: get(anyHost, "/u/7"), want: "a"},
		{name: "regex", rules: []detour.Rule{r("a", "~^/item/([0-9]+)$")}, req: get(anyHost, "/item/42"), want: "a"},
		{name: "regex no match", rules: []detour.Rule{r("a", "~^/item/([0-9]+)$")}, req: get(anyHost, "/item/x"), want: ""},
		{name: "regex case-insensitive", rules: []detour.Rule{r("a", "~*^/item/[0-9]+$")}, req: get(anyHost, "/ITEM/1"), want: "a"},

		// Conditions.
		{name: "query present", rules: []detour.Rule{r("a", "/p?id")}, req: get(anyHost, "/p?x=1&id"), want: "a"},
		{name: "query missing", rules: []detour.Rule{r("a", "/p?id")}, req: get(anyHost, "/p?x=1"), want: ""},
		{name: "query equal", rules: []detour.Rule{r("a", "/p?id=5")}, req: get(anyHost, "/p?id=4&id=5"), want: "a"},
		{name: "query not equal", rules: []detour.Rule{r("a", "/p?id=5")}, req: get(anyHost, "/p?id=4"), want: ""},
		{name: "query equal decoded", rules: []detour.Rule{r("a", "/p?q=a b")}, req: get(anyHost, "/p?q=a+b"), want: "a"},
		{name: "query capture", rules: []detour.Rule{r("a", "/p?id=:id")}, req: get(anyHost, "/p?id=7"), want: "a"},
		{name: "query conditions all", rules: []detour.Rule{r("a", "/p?a&b=2")}, req: get(anyHost, "/p?a=1"), want: ""},
		{name: "GET answers HEAD", rules: []detour.Rule{r("a", "/a", methods("GET"))}, req: detour.Request{Method: "HEAD", Path: "/a"}, want: "a"},
		{name: "listed methods only", rules: []detour.Rule{r("a", "/a", methods("GET"))}, req: detour.Request{Method: "POST", Path: "/a"}, want: ""},
		{name: "no methods: all but OPTIONS", rules: []detour.Rule{r("a", "/a")}, req: detour.Request{Method: "OPTIONS", Path: "/a"}, want: ""},
		{name: "no methods: POST", rules: []detour.Rule{r("a", "/a")}, req: detour.Request{Method: "POST", Path: "/a"}, want: "a"},
		{name: "OPTIONS when listed", rules: []detour.Rule{r("a", "/a", methods("OPTIONS"))}, req: detour.Request{Method: "OPTIONS", Path: "/a"}, want: "a"},
		{name: "scheme", rules: []detour.Rule{r("a", "/a", scheme("http"))}, req: detour.Request{Method: "GET", Scheme: "https", Path: "/a"}, want: ""},
		{name: "window active", rules: []detour.Rule{r("a", "/a", window(now.Add(-time.Hour), now.Add(time.Hour)))}, req: get(anyHost, "/a"), at: now, want: "a"},
		{name: "window starts at start", rules: []detour.Rule{r("a", "/a", window(now, time.Time{}))}, req: get(anyHost, "/a"), at: now, want: "a"},
		{name: "window ends before end", rules: []detour.Rule{r("a", "/a", window(time.Time{}, now))}, req: get(anyHost, "/a"), at: now, want: ""},
		{name: "zero now ignores windows", rules: []detour.Rule{r("a", "/a", window(time.Time{}, now))}, req: get(anyHost, "/a"), want: "a"},

		// Host tiers.
		{name: "exact host beats priority", rules: []detour.Rule{r("any", "/a", prio(100)), r("host", "/a", host("example.com"))}, req: get("example.com", "/a"), want: "host"},
		{name: "exact host tier beats an exact path", rules: []detour.Rule{r("any", "/a"), r("host", "/*", host("example.com"))}, req: get("example.com", "/a"), want: "host"},
		{name: "wildcard beats host-less", rules: []detour.Rule{r("any", "/a"), r("wild", "/*", host("*.example.com"))}, req: get("x.example.com", "/a"), want: "wild"},
		{name: "exact host beats wildcard", rules: []detour.Rule{r("wild", "/a", host("*.example.com")), r("host", "/*", host("x.example.com"))}, req: get("x.example.com", "/a"), want: "host"},
		{name: "longest wildcard suffix", rules: []detour.Rule{r("short", "/a", host("*.example.com")), r("long", "/*", host("*.b.example.com"))}, req: get("x.b.example.com", "/a"), want: "long"},
		{name: "wildcard is not the apex", rules: []detour.Rule{r("wild", "/a", host("*.example.com"))}, req: get("example.com", "/a"), want: ""},
		{name: "wildcard several labels", rules: []detour.Rule{r("wild", "/a", host("*.example.com"))}, req: get("a.b.example.com", "/a"), want: "wild"},
		{name: "tier without candidate falls through", rules: []detour.Rule{r("any", "/a"), r("host", "/b", host("example.com"))}, req: get("example.com", "/a"), want: "any"},
		{name: "other host", rules: []detour.Rule{r("host", "/a", host("example.com"))}, req: get("example.org", "/a"), want: ""},

		// Priority, then specificity.
		{name: "priority beats specificity", rules: []detour.Rule{r("exact", "/a/b"), r("prefix", "/a/*", prio(1))}, req: get(anyHost, "/a/b"), want: "prefix"},
		{name: "negative priority loses", rules: []detour.Rule{r("exact", "/a/b", prio(-1)), r("prefix", "/*")}, req: get(anyHost, "/a/b"), want: "prefix"},
		{name: "exact beats pattern", rules: []detour.Rule{r("prefix", "/a/*"), r("exact", "/a/b")}, req: get(anyHost, "/a/b"), want: "exact"},
		{name: "exact beats regex", rules: []detour.Rule{r("re", "~^/a/b$"), r("exact", "/a/b")}, req: get(anyHost, "/a/b"), want: "exact"},
		{name: "longer literal prefix", rules: []detour.Rule{r("short", "/a/*"), r("long", "/a/b/*")}, req: get(anyHost, "/a/b/c"), want: "long"},
		{name: "longer string prefix", rules: []detour.Rule{r("short", "/a*"), r("long", "/a/bc*")}, req: get(anyHost, "/a/bcd"), want: "long"},
		{name: "segment literal counts its slash", rules: []detour.Rule{r("str", "/docs*"), r("seg", "/docs/*")}, req: get(anyHost, "/docs"), want: "seg"},
		{name: "named beats segment prefix", rules: []detour.Rule{r("seg", "/a/*"), r("named", "/a/:x")}, req: get(anyHost, "/a/b"), want: "named"},
		{name: "longer literal beats named", rules: []detour.Rule{r("named", "/a/:x/c"), r("seg", "/a/b/*")}, req: get(anyHost, "/a/b/c"), want: "seg"},
		{name: "string prefix longer than named literal", rules: []detour.Rule{r("named", "/a/:x"), r("str", "/a/b*")}, req: get(anyHost, "/a/bc"), want: "str"},
		{name: "literal segment beats named segment", rules: []detour.Rule{r("param", "/a/:x/:y"), r("lit", "/a/:x/b")}, req: get(anyHost, "/a/1/b"), want: "lit"},
		{name: "named end beats named splat", rules: []detour.Rule{r("splat", "/a/:x/*"), r("end", "/a/:x")}, req: get(anyHost, "/a/1"), want: "end"},
		{name: "more named segments beat splat", rules: []detour.Rule{r("splat", "/a/:x/*"), r("two", "/a/:x/:y")}, req: get(anyHost, "/a/1/2"), want: "two"},
		{name: "pattern beats regex", rules: []detour.Rule{r("re", "~^/a"), r("seg", "/*")}, req: get(anyHost, "/a/b"), want: "seg"},
		{name: "regexes in file order", rules: []detour.Rule{r("first", "~^/a"), r("second", "~^/a/b")}, req: get(anyHost, "/a/b"), want: "first"},
		{name: "query condition first", rules: []detour.Rule{r("plain", "/p"), r("cond", "/p?id")}, req: get(anyHost, "/p?id=1"), want: "cond"},
		{name: "query condition not met", rules: []detour.Rule{r("plain", "/p"), r("cond", "/p?id")}, req: get(anyHost, "/p"), want: "plain"},
		{name: "same pattern by method", rules: []detour.Rule{r("post", "/a/*", methods("POST")), r("get", "/a/*", methods("GET"))}, req: get(anyHost, "/a/x"), want: "get"},
		{name: "same pattern in file order", rules: []detour.Rule{r("early", "/a/*", window(time.Time{}, now)), r("late", "/a/*", window(now, time.Time{}))}, req: get(anyHost, "/a/x"), want: "early"},
		{name: "inactive higher priority", rules: []detour.Rule{r("low", "/a"), r("high", "/a", prio(5), window(time.Time{}, now))}, req: get(anyHost, "/a"), at: now, want: "low"},

		// First match.
		{name: "first-match file order", order: detour.OrderFirstMatch, rules: []detour.Rule{r("prefix", "/*"), r("exact", "/a")}, req: get(anyHost, "/a"), want: "prefix"},
		{name: "first-match regex first", order: detour.OrderFirstMatch, rules: []detour.Rule{r("re", "~^/a"), r("exact", "/a")}, req: get(anyHost, "/a"), want: "re"},
		{name: "first-match priority still first", order: detour.OrderFirstMatch, rules: []detour.Rule{r("prefix", "/*"), r("exact", "/a", prio(1))}, req: get(anyHost, "/a"), want: "exact"},
		{name: "first-match host tier still first", order: detour.OrderFirstMatch, rules: []detour.Rule{r("any", "/*"), r("host", "/a", host("example.com"))}, req: get("example.com", "/a"), want: "host"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for i := range tt.rules {
				tt.rules[i].Source = detour.Source{File: "rules.yaml", Line: i + 1, Seq: i}
			}
			tb, diags := match.Compile(tt.rules, nil, match.Options{Order: tt.order})
			if tb == nil {
				t.Fatal(diags)
			}
			req := tt.req
			var m match.Match
			ok := tb.Lookup(&req, tt.at, &m)
			got := ""
			if ok {
				got = m.Rule.ID
			}
			if got != tt.want {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
			// Candidates agrees: the same rule first.
			cs := tb.Candidates(&req, tt.at)
			if ok != (len(cs) > 0) || ok && cs[0].Rule.ID != tt.want {
				t.Errorf("candidates %v disagree", cs)
			}
		})
	}
}

// TestTableRows covers bulk-table rows: hosts, include_subdomains,
// subpath, case, and precedence against rules.
func TestTableRows(t *testing.T) {
	tbl := func(edit func(*detour.Table), rows ...detour.Row) []detour.Table {
		x := detour.Table{ID: "table:t.csv", File: "t.csv", Status: 301, Rows: rows, Source: detour.Source{File: "rules.yaml", Line: 9, Seq: 100}}
		if edit != nil {
			edit(&x)
		}
		return []detour.Table{x}
	}
	row := func(line int, path, to string) detour.Row { return detour.Row{Line: line, Path: path, To: to} }
	tests := []struct {
		name    string
		rules   []detour.Rule
		tables  []detour.Table
		req     detour.Request
		wantRow int
		wantLoc string
		status  int
	}{
		{name: "row", tables: tbl(nil, row(2, "/old", "/new")), req: get("", "/old"), wantRow: 2, wantLoc: "/new", status: 301},
		{name: "row status", tables: tbl(nil, detour.Row{Line: 3, Path: "/old", To: "/new", Status: 308}), req: get("", "/old"), wantRow: 3, wantLoc: "/new", status: 308},
		{name: "410 row", tables: tbl(nil, detour.Row{Line: 3, Path: "/old", Status: 410}), req: get("", "/old"), wantRow: 3, wantLoc: "", status: 410},
		{name: "row keeps query", tables: tbl(nil, row(2, "/old", "/new?a=1")), req: get("", "/old?b=2"), wantRow: 2, wantLoc: "/new?a=1&b=2", status: 301},
		{name: "row drops query", tables: tbl(func(x *detour.Table) { x.Query = detour.QueryDrop }, row(2, "/old", "/new")), req: get("", "/old?b=2"), wantRow: 2, wantLoc: "/new", status: 301},
		{name: "row full URL target", tables: tbl(nil, row(2, "/old", "https://new.example/x")), req: get("", "/old"), wantRow: 2, wantLoc: "https://new.example/x", status: 301},
		{name: "row host", tables: tbl(nil, detour.Row{Line: 2, Host: "a.example", Path: "/old", To: "/new"}), req: get("b.example", "/old"), wantRow: 0},
		{name: "table host", tables: tbl(func(x *detour.Table) { x.Host = "a.example" }, row(2, "/old", "/new")), req: get("a.example", "/old"), wantRow: 2, wantLoc: "/new", status: 301},
		{name: "no subdomains", tables: tbl(func(x *detour.Table) { x.Host = "a.example" }, row(2, "/old", "/new")), req: get("x.a.example", "/old"), wantRow: 0},
		{name: "include subdomains", tables: tbl(func(x *detour.Table) { x.Host = "a.example"; x.IncludeSubdomains = true }, row(2, "/old", "/new")), req: get("x.a.example", "/old"), wantRow: 2, wantLoc: "/new", status: 301},
		{name: "include subdomains apex", tables: tbl(func(x *detour.Table) { x.Host = "a.example"; x.IncludeSubdomains = true }, row(2, "/old", "/new")), req: get("a.example", "/old"), wantRow: 2, wantLoc: "/new", status: 301},
		{name: "subpath", tables: tbl(func(x *detour.Table) { x.Subpath = true }, row(2, "/old", "/new")), req: get("", "/old/a/b?q=1"), wantRow: 2, wantLoc: "/new/a/b?q=1", status: 301},
		{name: "subpath target with slash", tables: tbl(func(x *detour.Table) { x.Subpath = true }, row(2, "/old", "/new/")), req: get("", "/old/a"), wantRow: 2, wantLoc: "/new/a", status: 301},
		{name: "subpath target with query", tables: tbl(func(x *detour.Table) { x.Subpath = true }, row(2, "/old", "/new?x=1#f")), req: get("", "/old/a?q=1"), wantRow: 2, wantLoc: "/new/a?x=1&q=1#f", status: 301},
		{name: "subpath itself", tables: tbl(func(x *detour.Table) { x.Subpath = true }, row(2, "/old", "/new")), req: get("", "/old"), wantRow: 2, wantLoc: "/new", status: 301},
		{name: "subpath is segment-wise", tables: tbl(func(x *detour.Table) { x.Subpath = true }, row(2, "/old", "/new")), req: get("", "/older"), wantRow: 0},
		{name: "subpath longest row", tables: tbl(func(x *detour.Table) { x.Subpath = true }, row(2, "/a", "/x"), row(3, "/a/b", "/y")), req: get("", "/a/b/c"), wantRow: 3, wantLoc: "/y/c", status: 301},
		{name: "without subpath", tables: tbl(nil, row(2, "/old", "/new")), req: get("", "/old/a"), wantRow: 0},
		{name: "case-insensitive table", tables: tbl(func(x *detour.Table) { x.CaseInsensitive = true }, row(2, "/Old", "/new")), req: get("", "/OLD"), wantRow: 2, wantLoc: "/new", status: 301},
		{name: "row beats pattern", rules: []detour.Rule{r("p", "/*")}, tables: tbl(nil, row(2, "/old", "/new")), req: get("", "/old"), wantRow: 2, wantLoc: "/new", status: 301},
		{name: "rule beats row with same path", rules: []detour.Rule{r("exact", "/old")}, tables: tbl(nil, row(2, "/old", "/new")), req: get("", "/old"), wantRow: 0, wantLoc: "/exact", status: 307},
		{name: "row when rule does not answer", rules: []detour.Rule{r("exact", "/old", methods("POST"))}, tables: tbl(nil, row(2, "/old", "/new")), req: get("", "/old"), wantRow: 2, wantLoc: "/new", status: 301},
		{name: "priority rule beats row", rules: []detour.Rule{r("p", "/*", prio(1))}, tables: tbl(nil, row(2, "/old", "/new")), req: get("", "/old"), wantRow: 0, wantLoc: "/p", status: 307},
		{name: "rows answer all but OPTIONS", tables: tbl(nil, row(2, "/old", "/new")), req: detour.Request{Method: "OPTIONS", Path: "/old"}, wantRow: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for i := range tt.rules {
				tt.rules[i].Source = detour.Source{File: "rules.yaml", Line: i + 1, Seq: i}
			}
			tb, diags := match.Compile(tt.rules, tt.tables, match.Options{})
			if tb == nil {
				t.Fatal(diags)
			}
			var m match.Match
			req := tt.req
			ok := tb.Lookup(&req, now, &m)
			if tt.wantRow == 0 && tt.wantLoc == "" {
				if ok {
					t.Fatalf("matched %s row %d", m.Rule.ID, m.Row)
				}
				return
			}
			if !ok {
				t.Fatal("no match")
			}
			if m.Row != tt.wantRow || m.Location() != tt.wantLoc || m.Status() != tt.status {
				t.Errorf("got row %d %d %q, want row %d %d %q", m.Row, m.Status(), m.Location(), tt.wantRow, tt.status, tt.wantLoc)
			}
			if m.Row > 0 && m.Rule.ID != "table:t.csv" {
				t.Errorf("row rule id %q", m.Rule.ID)
			}
		})
	}
}

// TestCandidates lists every match, best first.
func TestCandidates(t *testing.T) {
	rules := []detour.Rule{
		r("re", "~^/a"),
		r("seg", "/a/*"),
		r("exact", "/a/b"),
		r("named", "/a/:x"),
		r("str", "/a*"),
		r("other", "/z"),
	}
	tb := mustCompile(t, match.Options{}, rules...)
	req := get("", "/a/b")
	var got []string
	for _, c := range tb.Candidates(&req, time.Time{}) {
		got = append(got, c.Rule.ID)
	}
	want := []string{"exact", "named", "seg", "str", "re"}
	if !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

// TestLookupNoMatchResetsMatch: a Match reused after a miss holds nothing.
func TestLookupNoMatchResetsMatch(t *testing.T) {
	tb := mustCompile(t, match.Options{}, r("a", "/a"))
	var m match.Match
	req := get("", "/a")
	if !tb.Lookup(&req, now, &m) {
		t.Fatal("no match")
	}
	miss := get("", "/b")
	if tb.Lookup(&miss, now, &m) || m.Rule != nil || m.Status() != 0 || m.Location() != "" {
		t.Errorf("after a miss: %+v", m)
	}
}

// TestEmptyTable answers nothing.
func TestEmptyTable(t *testing.T) {
	tb, diags := match.Compile(nil, nil, match.Options{})
	if tb == nil || len(diags) > 0 {
		t.Fatal(diags)
	}
	var m match.Match
	req := get("example.com", "/")
	if tb.Lookup(&req, now, &m) || len(tb.Candidates(&req, now)) != 0 || tb.Len() != 0 {
		t.Error("empty table matched")
	}
}

// TestConcurrentLookup: a Table answers from many goroutines at once
// (run with -race).
func TestConcurrentLookup(t *testing.T) {
	var rules []detour.Rule
	for i := range 200 {
		rules = append(rules, r(fmt.Sprintf("e%d", i), fmt.Sprintf("/e/%d", i)), r(fmt.Sprintf("p%d", i), fmt.Sprintf("/p/%d/*", i)))
	}
	tb := mustCompile(t, match.Options{}, rules...)
	done := make(chan string)
	for g := range 4 {
		go func() {
			var m match.Match
			buf := make([]byte, 0, 64)
			for i := range 500 {
				n := (i*7 + g) % 200
				req := get("", fmt.Sprintf("/p/%d/x", n))
				if !tb.Lookup(&req, now, &m) {
					done <- "no match"
					return
				}
				buf = m.AppendLocation(buf[:0])
				if string(buf) != fmt.Sprintf("/p%d", n) {
					done <- string(buf)
					return
				}
			}
			done <- ""
		}()
	}
	for range 4 {
		if msg := <-done; msg != "" {
			t.Error(msg)
		}
	}
}

// TestLongPaths: literals and paths longer than the length sets and the
// prefix-hash words.
func TestLongPaths(t *testing.T) {
	long := "/" + strings.Repeat("a", 300)
	tb := mustCompile(t, match.Options{},
		r("longseg", long+"/*"),
		r("longstr", long+"b*"),
		r("longnamed", long+"/:x/c"),
		r("short", "/a*"),
		r("exact", long+"/exact"),
	)
	for path, want := range map[string]string{
		long + "/x/y":                   "longseg",
		long + "bcd":                    "longstr",
		long + "/x/c":                   "longnamed",
		long + "/exact":                 "exact",
		"/a" + strings.Repeat("x", 400): "short",
		long + "c":                      "short",
	} {
		req := get("", path)
		var m match.Match
		if !tb.Lookup(&req, now, &m) || m.Rule.ID != want {
			t.Errorf("%.20s…%s: got %v, want %s", path, path[len(path)-5:], m.Rule, want)
		}
	}
}
