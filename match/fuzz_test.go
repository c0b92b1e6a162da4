package match_test

import (
	"strings"
	"testing"
	"time"

	"github.com/detourhttp/detour"
	"github.com/detourhttp/detour/match"
)

// FuzzLookup feeds the matcher random rule sets (from seed), a rule with
// a fuzzed from, and a fuzzed request. Nothing may panic; the random set
// must answer as the reference does; samples of the fuzzed rule must
// reach it.
func FuzzLookup(f *testing.F) {
	f.Add(uint64(1), "/a/*", "/a/b", "q=1")
	f.Add(uint64(2), "/blog/:year/:slug", "/blog/2024/x", "")
	f.Add(uint64(3), "~^/(a|b)/(.*)$", "/a/%2F%2F", "q")
	f.Add(uint64(4), "/promo*?id=:id&x", "/promotion", "id=1&x&q=2")
	f.Add(uint64(5), "/A/:x/*", "/a/b/", "q=%zz+1")
	f.Fuzz(func(t *testing.T, seed uint64, from, rawPath, query string) {
		path, err := detour.NormalizePath("/"+strings.TrimPrefix(rawPath, "/"), false)
		if err != nil {
			return
		}
		req := &detour.Request{Method: "GET", Scheme: "https", Host: "a.ex.com", Path: path, Query: query}

		// A random rule set against the reference.
		rng := newRand(seed)
		rules := randRules(rng, 1+int(seed%20))
		for i := range rules {
			rules[i].Source = detour.Source{File: "rules.yaml", Line: i + 1, Seq: i}
		}
		tables := randTables(rng, int(seed%7))
		order := detour.OrderSpecificity
		if seed%3 == 0 {
			order = detour.OrderFirstMatch
		}
		tb, diags := match.Compile(rules, tables, match.Options{Order: order})
		if tb == nil {
			t.Fatalf("compile: %v", diags)
		}
		// The reference renders captures and queries as they are: compare
		// Locations only when nothing needs encoding.
		plain := strings.Trim(path, "/abAx") == "" && strings.Trim(query, "abcdefghijklmnopqrstuvwxyz0123456789=&") == ""
		if diff := checkRef(tb, newRef(rules, tables, order), req, time.Time{}, plain); diff != "" {
			t.Fatal(diff)
		}

		// A fuzzed from: it compiles or is refused, and never panics.
		fr := detour.Rule{ID: "f", From: from, Status: 410, Source: detour.Source{File: "f.yaml", Line: 1}}
		ft, _ := match.Compile([]detour.Rule{fr}, nil, match.Options{})
		if ft == nil {
			return
		}
		var m match.Match
		ft.Lookup(req, time.Time{}, &m)
		ft.Candidates(req, time.Time{})
		samples, err := match.Samples(&fr, 3)
		if err != nil {
			return
		}
		for _, s := range samples {
			raw, q, _ := strings.Cut(s, "?")
			p, err := detour.NormalizePath(raw, false)
			if err != nil {
				t.Fatalf("sample %q of %q: %v", s, from, err)
			}
			if !ft.Lookup(&detour.Request{Method: "GET", Path: p, Query: q}, time.Time{}, &m) {
				t.Fatalf("sample %q does not match %q", s, from)
			}
		}
	})
}

// locationRules are the rules FuzzLocation picks from, each with the
// start of the request paths it answers: captures in every part of a
// target, relative and absolute, placeholders, query modes.
var locationRules = []struct {
	prefix string
	rule   detour.Rule
}{
	{"/x/", detour.Rule{From: "/x/*", To: "/:splat"}},
	{"/x/", detour.Rule{From: "/x/*", To: "/:splat/y"}},
	{"/x/", detour.Rule{From: "/x/*", To: "https://example.com/:splat"}},
	{"/x/", detour.Rule{From: "/x/*", To: "https://example.com/a?q=:splat#:splat"}},
	{"/x/", detour.Rule{From: "/x/*", To: "/a?q=:splat", Query: detour.QueryReplace}},
	{"/x/", detour.Rule{From: "/x/*", To: "/a#:splat", Query: detour.QueryDrop}},
	{"/x", detour.Rule{From: "/x*", To: "/:splat"}},
	{"/n/", detour.Rule{From: "/n/:a/*", To: "/:a:splat?:a=:splat"}},
	{"/r/", detour.Rule{From: "~^/r/(.*)$", To: "/$1"}},
	{"/r/", detour.Rule{From: "~^/r/(.*)$", To: "https://example.com/$1?v=$1"}},
	{"/q", detour.Rule{From: "/q?v=:v", To: "/:v?w=:v"}},
	{"/", detour.Rule{From: "/*", To: "https://{host}{path}?{query}", Host: "*.example.com"}},
	{"/", detour.Rule{From: "/*", To: "https://{host}/:splat#{path}", Host: "*.example.com"}},
	{"/", detour.Rule{From: "/*", To: "/:splat", Host: "*.example.com", Absolute: true}},
	{"/", detour.Rule{From: "/*", To: "/a/:splat", Host: "*.example.com", Absolute: true}},
}

// FuzzLocation renders Locations from fuzzed request paths and queries:
// the result is ASCII without controls or spaces, a relative one never
// begins with "//" or "/\", and no capture changes the scheme or host.
func FuzzLocation(f *testing.F) {
	f.Add(uint8(0), "//evil.example", "")
	f.Add(uint8(1), "", "a=1")
	f.Add(uint8(2), "\\evil", "#")
	f.Add(uint8(7), "a/b", "x=%0d%0a")
	f.Add(uint8(8), "\r\n", "\x00")
	f.Add(uint8(10), "", "v=//evil.example&v=2")
	f.Add(uint8(11), "ü/ß", "q=ü")
	f.Fuzz(func(t *testing.T, which uint8, rest, query string) {
		lr := locationRules[int(which)%len(locationRules)]
		rl := lr.rule
		rl.ID, rl.Status, rl.Source = "l", 307, detour.Source{File: "l.yaml", Line: 1}
		tb, diags := match.Compile([]detour.Rule{rl}, nil, match.Options{})
		if tb == nil {
			t.Fatalf("compile %+v: %v", rl, diags)
		}
		// The request path as the server hands it over: decoded, dot
		// segments removed.
		path, err := detour.NormalizePath(lr.prefix+strings.ReplaceAll(rest, "%", "%25"), false)
		if err != nil {
			return
		}
		req := &detour.Request{Method: "GET", Scheme: "https", Host: "shop.example.com", Path: path, Query: query}
		var m match.Match
		if !tb.Lookup(req, time.Time{}, &m) {
			return
		}
		loc := m.Location()
		for i := 0; i < len(loc); i++ {
			if c := loc[i]; c <= ' ' || c >= 0x7f {
				t.Fatalf("Location %q holds byte %#x", loc, c)
			}
		}
		switch {
		case strings.HasPrefix(loc, "/"):
			if strings.HasPrefix(loc, "//") || strings.HasPrefix(loc, "/\\") {
				t.Fatalf("Location %q begins with // or /\\", loc)
			}
			if strings.Contains(rl.To, "://") || rl.Absolute {
				t.Fatalf("absolute target %q gave %q", rl.To, loc)
			}
		case strings.HasPrefix(loc, "https://example.com/"), strings.HasPrefix(loc, "https://example.com?"),
			loc == "https://example.com",
			strings.HasPrefix(loc, "https://shop.example.com/"), strings.HasPrefix(loc, "https://shop.example.com?"):
		default:
			t.Fatalf("Location %q left the site (target %q)", loc, rl.To)
		}
	})
}
