package check_test

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/detourhttp/detour"
	"github.com/detourhttp/detour/check"
	"github.com/detourhttp/detour/ruleset"
)

// derived is a derived case in short: "METHOD TARGET [Host] → STATUS LOCATION".
func derived(c check.Case) string {
	s := c.Request.Method + " " + c.Request.URL
	if h := c.Request.Host(); h != "" {
		s += " [" + h + "]"
	}
	s += " → " + strconv.Itoa(c.Expect.Status)
	if c.Expect.Location != nil && *c.Expect.Location != "" {
		s += " " + *c.Expect.Location
	}
	return s
}

func TestFromRules(t *testing.T) {
	now := time.Now()
	tests := []struct {
		name  string
		rules string
		want  []string
	}{
		{"exact", "rules:\n  - {from: /original-resource, to: /temporary-resource}\n", []string{
			"GET /original-resource → 307 /temporary-resource",
			"GET /original-resource?detour-check=1 → 307 /temporary-resource?detour-check=1",
		}},
		{"segment prefix with a splat", "rules:\n  - {from: /docs/*, to: \"https://docs.example.com/:splat\", status: 308}\n", []string{
			"GET /docs/a → 308 https://docs.example.com/a",
			"GET /docs/x/y → 308 https://docs.example.com/x/y",
			"GET /docs → 308 https://docs.example.com/",
			"GET /docs/a?detour-check=1 → 308 https://docs.example.com/a?detour-check=1",
		}},
		{"named segments", "rules:\n  - {from: /blog/:year/:slug, to: /posts/:year/:slug}\n", []string{
			"GET /blog/a/b2 → 307 /posts/a/b2",
			"GET /blog/b2/c-3 → 307 /posts/b2/c-3",
			"GET /blog/c-3/a → 307 /posts/c-3/a",
			"GET /blog/a/b2?detour-check=1 → 307 /posts/a/b2?detour-check=1",
		}},
		{"regex with a capture", "rules:\n  - {from: \"~^/item/([0-9]+)$\", to: /items/$1}\n", []string{
			"GET /item/0 → 307 /items/0",
			"GET /item/11 → 307 /items/11",
			"GET /item/9 → 307 /items/9",
			"GET /item/0?detour-check=1 → 307 /items/0?detour-check=1",
		}},
		{"query drop and a query capture", "rules:\n  - {from: \"/product.php?id=:id\", to: /products/:id, query: drop}\n", []string{
			"GET /product.php?id=a → 307 /products/a",
			"GET /product.php?id=a&detour-check=1 → 307 /products/a",
		}},
		{"query replace", "rules:\n  - {from: /search, to: \"/find?src=old\", query: replace}\n", []string{
			"GET /search → 307 /find",
			"GET /search?detour-check=1 → 307 /find?detour-check=1",
		}},
		{"exact host, methods", "rules:\n  - {host: shop.example.com, from: /checkout, to: /maintenance, methods: [POST]}\n", []string{
			"POST /checkout [shop.example.com:8080] → 307 /maintenance",
			"POST /checkout?detour-check=1 [shop.example.com:8080] → 307 /maintenance?detour-check=1",
		}},
		{"GET preferred among methods", "rules:\n  - {from: /a, to: /b, methods: [POST, GET]}\n", []string{
			"GET /a → 307 /b",
			"GET /a?detour-check=1 → 307 /b?detour-check=1",
		}},
		{"wildcard host and placeholders", "rules:\n  - {host: \"*.example.org\", from: /x, to: \"https://{host}/y\", status: 301}\n", []string{
			"GET /x [detour-check.example.org:8080] → 301 https://detour-check.example.org/y",
			"GET /x?detour-check=1 [detour-check.example.org:8080] → 301 https://detour-check.example.org/y?detour-check=1",
		}},
		{"host from the base", "rules:\n  - {host: 127.0.0.1, from: /h, to: \"{scheme}://{host}/z\", status: 302}\n", []string{
			"GET /h [127.0.0.1:8080] → 302 http://127.0.0.1/z",
			"GET /h?detour-check=1 [127.0.0.1:8080] → 302 http://127.0.0.1/z?detour-check=1",
		}},
		{"case-insensitive, trailing slash either", "rules:\n  - {from: /About, to: /about-us, case: insensitive, trailing_slash: either}\n", []string{
			"GET /About → 307 /about-us",
			"GET /About?detour-check=1 → 307 /about-us?detour-check=1",
			"GET /aBOUT → 307 /about-us",
			"GET /About/ → 307 /about-us",
		}},
		{"410", "rules:\n  - {from: /gone, status: 410}\n", []string{
			"GET /gone → 410",
			"GET /gone?detour-check=1 → 410",
		}},
		{"active window", "rules:\n  - {from: /w, to: /x, window: {start: 2000-01-01T00:00:00Z}}\n", []string{
			"GET /w → 307 /x",
			"GET /w?detour-check=1 → 307 /x?detour-check=1",
		}},
		{"a sample answered by another rule", "rules:\n  - {from: /docs/*, to: /d}\n  - {from: /docs, to: /exact}\n", []string{
			"GET /docs/a → 307 /d",
			"GET /docs/x/y → 307 /d",
			"GET /docs → 307 /exact",
			"GET /docs/a?detour-check=1 → 307 /d?detour-check=1",
			"GET /docs → 307 /exact",
			"GET /docs?detour-check=1 → 307 /exact?detour-check=1",
		}},
	}
	base := mustURL(t, "http://127.0.0.1:8080")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cases, skipped, err := check.FromRules(mustParseRules(t, tt.rules), base, now)
			if err != nil {
				t.Fatal(err)
			}
			if len(skipped) > 0 {
				t.Errorf("skipped %+v", skipped)
			}
			got := make([]string, len(cases))
			for i, c := range cases {
				got[i] = derived(c)
				if !strings.HasPrefix(c.Source, "rules.yaml:") {
					t.Errorf("case %q has source %q", c.Name, c.Source)
				}
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("cases\n got %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestFromRulesNames(t *testing.T) {
	set := mustParseRules(t, "rules:\n  - {id: docs, from: /docs/*, to: /d}\n  - {id: exact, from: /docs, to: /exact}\n")
	cases, _, err := check.FromRules(set, mustURL(t, "http://127.0.0.1:8080"), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"docs: GET /docs/a":                   "rules.yaml:2",
		"docs: GET /docs (answered by exact)": "rules.yaml:2",
		"exact: GET /docs?detour-check=1":     "rules.yaml:3",
		"docs: GET /docs/a?detour-check=1":    "rules.yaml:2",
		"exact: GET /docs":                    "rules.yaml:3",
		"docs: GET /docs/x/y":                 "rules.yaml:2",
	}
	got := map[string]string{}
	for _, c := range cases {
		got[c.Name] = c.Source
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("names and sources\n got %q\nwant %q", got, want)
	}
}

func TestFromRulesSkips(t *testing.T) {
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	set := mustParseRules(t, `
rules:
  - {id: future, from: /f, to: /x, window: {start: 2027-01-01T00:00:00Z}}
  - {id: past, from: /p, to: /x, window: {end: 2026-01-01T00:00:00Z}}
  - {id: closing, from: /c, to: /x, window: {end: 2026-06-01T12:00:30Z}}
  - {id: opening, from: /o, to: /x, window: {start: 2026-06-01T11:59:45Z}}
  - {id: https-only, scheme: https, from: /s, to: /x}
  - {id: kept, from: /k, to: /x}
`)
	cases, skipped, err := check.FromRules(set, mustURL(t, "http://127.0.0.1:8080"), now)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"future":     "its window [2027-01-01T00:00:00Z, …) is not active at 2026-06-01T12:00:00Z",
		"past":       "its window […, 2026-01-01T00:00:00Z) is not active at 2026-06-01T12:00:00Z",
		"closing":    "its window […, 2026-06-01T12:00:30Z) opens or closes within 1m0s of now; the server's clock decides",
		"opening":    "its window [2026-06-01T11:59:45Z, …) opens or closes within 1m0s of now; the server's clock decides",
		"https-only": "it answers https requests only and the base URL is http",
	}
	got := map[string]string{}
	for _, s := range skipped {
		got[s.Rule] = s.Reason
		if !strings.HasPrefix(s.Source, "rules.yaml:") {
			t.Errorf("skip of %s has source %q", s.Rule, s.Source)
		}
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("skipped\n got %q\nwant %q", got, want)
	}
	if len(cases) != 2 || cases[0].Request.URL != "/k" {
		t.Errorf("cases %+v, want those of rule kept", cases)
	}
	// Under https the https-only rule is checked.
	_, skipped, _ = check.FromRules(set, mustURL(t, "https://127.0.0.1:8443"), now)
	for _, s := range skipped {
		if s.Rule == "https-only" {
			t.Errorf("https-only skipped with an https base: %s", s.Reason)
		}
	}
}

func TestFromRulesTables(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "detour.yaml"), `
tables:
  - {file: legacy.csv, status: 301}
  - {file: sub.csv, host: example.com, subpath: true, query: drop}
`)
	writeFile(t, filepath.Join(dir, "legacy.csv"), "from,to\n/old/1,/new/1\n/old/caf%C3%A9,/new/e\n/old/a%3Fb,/new/q,302\nhttp://other.example.com/x,/y\n")
	writeFile(t, filepath.Join(dir, "sub.csv"), "/guides,/manual\n")
	set, ds, err := ruleset.Load(dir)
	if err != nil || ds.HasErrors() {
		t.Fatal(err, ds)
	}
	cases, skipped, err := check.FromRules(set, mustURL(t, "http://127.0.0.1:8080"), time.Now())
	if err != nil || len(skipped) > 0 {
		t.Fatal(err, skipped)
	}
	var got []string
	for _, c := range cases {
		got = append(got, derived(c)+" ("+c.Source+")")
	}
	legacy, sub := filepath.Join(dir, "legacy.csv"), filepath.Join(dir, "sub.csv")
	want := []string{
		"GET /old/1 → 301 /new/1 (" + legacy + ":2)",
		"GET /old/1?detour-check=1 → 301 /new/1?detour-check=1 (" + legacy + ":2)",
		"GET /old/caf%C3%A9 → 301 /new/e (" + legacy + ":3)",
		"GET /old/a%3Fb → 302 /new/q (" + legacy + ":4)",
		"GET /x [other.example.com:8080] → 301 /y (" + legacy + ":5)",
		"GET /guides [example.com:8080] → 307 /manual (" + sub + ":1)",
		"GET /guides?detour-check=1 [example.com:8080] → 307 /manual (" + sub + ":1)",
		"GET /guides/detour-check/a [example.com:8080] → 307 /manual/detour-check/a (" + sub + ":1)",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("cases\n got %q\nwant %q", got, want)
	}
}

func writeFile(t *testing.T, path, text string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestFromRulesErrors(t *testing.T) {
	set := mustParseRules(t, "rules:\n  - {from: /a, to: /b}\n")
	for name, base := range map[string]string{"no scheme": "//127.0.0.1:8080", "ftp": "ftp://example.com", "no host": "http:///x"} {
		t.Run(name, func(t *testing.T) {
			if _, _, err := check.FromRules(set, mustURL(t, base), time.Now()); err == nil {
				t.Errorf("base %q accepted", base)
			}
		})
	}
	t.Run("a set that does not compile", func(t *testing.T) {
		set := &ruleset.Set{Rules: []detour.Rule{
			{ID: "a", From: "/x", To: "/y", Status: 307}, {ID: "b", From: "/x", To: "/z", Status: 307},
		}}
		_, _, err := check.FromRules(set, mustURL(t, "http://127.0.0.1"), time.Now())
		var ds detour.Diagnostics
		if !errors.As(err, &ds) || !ds.HasErrors() {
			t.Errorf("error %v, want the diagnostics of a tie", err)
		}
	})
}

// TestFromRulesAgainstServers derives the cases of testdata/rules and runs
// them against detour serving the same rules (every case passes) and
// serving testdata/rules-changed, where three things differ (exactly the
// cases they touch fail).
func TestFromRulesAgainstServers(t *testing.T) {
	set, ds, err := ruleset.Load("testdata/rules")
	if err != nil || ds.HasErrors() {
		t.Fatal(err, ds)
	}
	changed, ds, err := ruleset.Load("testdata/rules-changed")
	if err != nil || ds.HasErrors() {
		t.Fatal(err, ds)
	}
	tests := []struct {
		name string
		set  *ruleset.Set
		want map[string][]string
	}{
		{"the same rules", set, map[string][]string{}},
		{"changed rules", changed, map[string][]string{
			"blog: GET /blog/a/b2":                {`location: expected "/posts/a/b2", got "/articles/a/b2"`},
			"blog: GET /blog/b2/c-3":              {`location: expected "/posts/b2/c-3", got "/articles/b2/c-3"`},
			"blog: GET /blog/c-3/a":               {`location: expected "/posts/c-3/a", got "/articles/c-3/a"`},
			"blog: GET /blog/a/b2?detour-check=1": {`location: expected "/posts/a/b2?detour-check=1", got "/articles/a/b2?detour-check=1"`},
			"search: GET /search":                 {`location: expected "/find", got "/find?src=old"`},
			"search: GET /search?detour-check=1":  {`location: expected "/find?detour-check=1", got "/find?src=old"`},
			"table:legacy.csv row 3: GET /old/2":  {"status: expected 301, got 302", `location: expected "/new/2", got "/new/two"`},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := serveSet(t, tt.set, false)
			base := mustURL(t, srv.URL)
			cases, skipped, err := check.FromRules(set, base, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			if len(skipped) != 1 || skipped[0].Rule != "later" {
				t.Errorf("skipped %+v, want the rule whose window is to come", skipped)
			}
			rep := mustRun(t, &check.Runner{Base: base}, cases)
			if got := failures(rep); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("failures\n got %q\nwant %q", got, tt.want)
			}
		})
	}
}
