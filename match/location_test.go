package match_test

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/detourhttp/detour"
	"github.com/detourhttp/detour/match"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/ with the current output")

// TestLocationGolden runs testdata/location.golden: each case is a rule
// and requests, each request with the Location it must get. See
// testdata/README.md for the format; go test -run TestLocationGolden
// -update rewrites the Locations.
func TestLocationGolden(t *testing.T) {
	const file = "testdata/location.golden"
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	var (
		name string
		rl   detour.Rule
		tb   *match.Table
	)
	sc := bufio.NewScanner(strings.NewReader(string(data)))
	for ln := 1; sc.Scan(); ln++ {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "#") || line == "":
		case strings.HasPrefix(line, "== "):
			name = strings.TrimPrefix(line, "== ")
			rl = detour.Rule{ID: name, Status: 307, Source: detour.Source{File: file, Line: ln}}
			tb = nil
		case strings.Contains(line, " -> "):
			if tb == nil {
				var diags detour.Diagnostics
				tb, diags = match.Compile([]detour.Rule{rl}, nil, match.Options{})
				if tb == nil {
					t.Fatalf("%s:%d: %s: %v", file, ln, name, diags)
				}
			}
			reqText, want, _ := strings.Cut(line, " -> ")
			got := goldenLocation(t, tb, reqText)
			if got != want && !*update {
				t.Errorf("%s:%d: %s: %s\n got  %s\n want %s", file, ln, name, reqText, got, want)
			}
			if !strings.HasPrefix(got, "(") {
				checkLocation(t, got, rl.To)
			}
			line = reqText + " -> " + got
		case strings.Contains(line, ": "):
			k, v, _ := strings.Cut(line, ": ")
			setField(t, &rl, k, v)
		}
		out.WriteString(line + "\n")
	}
	if *update {
		if err := os.WriteFile(file, []byte(out.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// setField sets a rule field named as in a rules file.
func setField(t *testing.T, r *detour.Rule, k, v string) {
	t.Helper()
	switch k {
	case "from":
		r.From = v
	case "to":
		r.To = v
	case "host":
		r.Host = v
	case "query":
		r.Query = detour.QueryMode(v)
	case "absolute":
		r.Absolute = v == "true"
	case "status":
		r.Status, _ = strconv.Atoi(v)
	case "case":
		r.CaseInsensitive = v == "insensitive"
	default:
		t.Fatalf("unknown field %q", k)
	}
}

// goldenLocation looks up "METHOD URL" and returns the Location, or
// "(no match)".
func goldenLocation(t *testing.T, tb *match.Table, text string) string {
	t.Helper()
	method, target, _ := strings.Cut(text, " ")
	req := detour.Request{Method: method, Scheme: "http"}
	if s, rest, ok := strings.Cut(target, "://"); ok {
		req.Scheme = s
		i := strings.IndexByte(rest, '/')
		req.Host, target = rest[:i], rest[i:]
	}
	rawPath, query, _ := strings.Cut(target, "?")
	path, err := detour.NormalizePath(rawPath, false)
	if err != nil {
		t.Fatalf("%s: %v", text, err)
	}
	req.Path, req.Query = path, query
	var m match.Match
	if !tb.Lookup(&req, now, &m) {
		return "(no match)"
	}
	loc := m.Location()
	if loc == "" {
		return "(none)"
	}
	return loc
}

// checkLocation checks what must hold of every Location: ASCII without
// controls or spaces; a relative one does not begin with "//" or "/\"; an
// absolute one keeps the scheme and host of an absolute target.
func checkLocation(t *testing.T, loc, target string) {
	t.Helper()
	for i := 0; i < len(loc); i++ {
		if c := loc[i]; c <= ' ' || c >= 0x7f {
			t.Errorf("Location %q holds byte %#x", loc, c)
		}
	}
	if strings.HasPrefix(loc, "//") || strings.HasPrefix(loc, "/\\") {
		t.Errorf("Location %q begins with // or /\\", loc)
	}
	if i := strings.Index(target, "://"); i >= 0 && !strings.Contains(target, "{") {
		end := strings.IndexAny(target[i+3:], "/?#")
		origin := target
		if end >= 0 {
			origin = target[:i+3+end]
		}
		if !strings.HasPrefix(loc, strings.ToLower(origin)) {
			t.Errorf("Location %q left the origin of %q", loc, target)
		}
	}
}

// TestAppendLocationAllocs: an exact rule (or row) with a static target
// renders into a buffer with room without allocating, with or without a
// request query to merge.
func TestAppendLocationAllocs(t *testing.T) {
	tb, diags := match.Compile(
		[]detour.Rule{
			rule(1, "/a", "/b?x=1#f"),
			rule(2, "/About", "/c", ci),
			rule(3, "/maint", "/m", methods("GET", "POST"), window(now.Add(-time.Hour), now.Add(time.Hour))),
		},
		[]detour.Table{{ID: "t", File: "t.csv", Rows: []detour.Row{{Line: 1, Path: "/old", To: "/new"}}}},
		match.Options{})
	if tb == nil {
		t.Fatal(diags)
	}
	for _, target := range []string{"/a", "/a?y=2&z", "/about", "/ABOUT?q", "/old", "/old?x", "/maint", "/maint?q=1"} {
		req := get("example.com", target)
		var m match.Match
		buf := make([]byte, 0, 128)
		allocs := testing.AllocsPerRun(100, func() {
			if !tb.Lookup(&req, now, &m) {
				t.Fatalf("%s: no match", target)
			}
			buf = m.AppendLocation(buf[:0])
		})
		if allocs != 0 {
			t.Errorf("%s: %v allocations", target, allocs)
		}
	}
}

// TestMatchZeroValue: a zero Match renders nothing.
func TestMatchZeroValue(t *testing.T) {
	var m match.Match
	if m.Status() != 0 || m.Location() != "" {
		t.Error("zero Match renders")
	}
	called := false
	m.Headers(now, func(string, string) { called = true })
	if called {
		t.Error("zero Match has headers")
	}
}

func ExampleMatch_AppendLocation() {
	tb, _ := match.Compile([]detour.Rule{{
		ID: "docs", From: "/docs/*", To: "https://docs.example.com/:splat", Status: 308,
	}}, nil, match.Options{})
	req := detour.Request{Method: "GET", Scheme: "https", Host: "example.com", Path: "/docs/a b/c", Query: "v=2"}
	var m match.Match
	if tb.Lookup(&req, time.Time{}, &m) {
		fmt.Println(m.Status(), string(m.AppendLocation(nil)))
	}
	// Output: 308 https://docs.example.com/a%20b/c?v=2
}
