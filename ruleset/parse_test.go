package ruleset_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/detourhttp/detour"
	"github.com/detourhttp/detour/ruleset"
)

func TestParseFields(t *testing.T) {
	ts := func(s string) time.Time {
		tm, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return tm
	}
	cases := []struct {
		name string
		src  string
		want detour.Rule // Source.File is rules.yaml; Seq 0
	}{
		{
			name: "minimal rule gets 307, preserve and a derived id",
			src:  "rules:\n  - from: /original-resource\n    to: /temporary-resource\n",
			want: detour.Rule{ID: detour.DeriveID("", "/original-resource", nil), From: "/original-resource", To: "/temporary-resource",
				Status: 307, Query: detour.QueryPreserve, Source: detour.Source{Line: 2}},
		},
		{
			name: "every field",
			src: `rules:
  - id: checkout-maintenance
    host: Shop.Example.COM
    scheme: HTTP
    from: /checkout/*
    to: /maintenance
    status: 302
    query: drop
    methods: [get, HEAD, post, GET]
    window:
      start: 2026-12-01T02:00:00Z
      end:   2026-12-01T04:00:00+01:00
    retry_after: 7200
    headers: {X-Reason: maintenance, Cache-Control: "max-age=5"}
    priority: -10
    case: insensitive
    trailing_slash: either
    absolute: true
    max_age: 60
`,
			want: detour.Rule{ID: "checkout-maintenance", Host: "shop.example.com", Scheme: "http", From: "/checkout/*", To: "/maintenance",
				Status: 302, Query: detour.QueryDrop, Methods: []string{"GET", "HEAD", "POST"},
				Window:     detour.Window{Start: ts("2026-12-01T02:00:00Z"), End: ts("2026-12-01T04:00:00+01:00")},
				RetryAfter: "7200", Headers: []detour.Header{{Name: "X-Reason", Value: "maintenance"}, {Name: "Cache-Control", Value: "max-age=5"}},
				Priority: -10, CaseInsensitive: true, TrailingSlashEither: true, Absolute: true, MaxAge: 60,
				Source: detour.Source{Line: 2}},
		},
		{
			name: "410 needs no to",
			src:  "rules:\n  - {id: gone, from: /gone, status: 410}\n",
			want: detour.Rule{ID: "gone", From: "/gone", Status: 410, Query: detour.QueryPreserve, Source: detour.Source{Line: 2}},
		},
		{
			name: "wildcard and IDN hosts become A-labels",
			src:  "rules:\n  - {id: w, host: \"*.Bücher.example\", from: /a, to: /b}\n",
			want: detour.Rule{ID: "w", Host: "*.xn--bcher-kva.example", From: "/a", To: "/b", Status: 307, Query: detour.QueryPreserve,
				Source: detour.Source{Line: 2}},
		},
		{
			name: "retry_after as an HTTP date, normalised",
			src:  "rules:\n  - {id: r, from: /a, to: /b, retry_after: \"Tue, 01 Dec 2026 04:00:00 GMT\"}\n",
			want: detour.Rule{ID: "r", From: "/a", To: "/b", Status: 307, Query: detour.QueryPreserve,
				RetryAfter: "Tue, 01 Dec 2026 04:00:00 GMT", Source: detour.Source{Line: 2}},
		},
		{
			name: "retry_after as an RFC 3339 time is sent as an HTTP date",
			src:  "rules:\n  - {id: r, from: /a, to: /b, retry_after: 2026-12-01T05:00:00+01:00}\n",
			want: detour.Rule{ID: "r", From: "/a", To: "/b", Status: 307, Query: detour.QueryPreserve,
				RetryAfter: "Tue, 01 Dec 2026 04:00:00 GMT", Source: detour.Source{Line: 2}},
		},
		{
			name: "retry_after window_end with a window",
			src:  "rules:\n  - {id: r, from: /a, to: /b, retry_after: window_end, window: {end: 2026-12-01T04:00:00Z}}\n",
			want: detour.Rule{ID: "r", From: "/a", To: "/b", Status: 307, Query: detour.QueryPreserve,
				Window: detour.Window{End: ts("2026-12-01T04:00:00Z")}, RetryAfter: "window_end", Source: detour.Source{Line: 2}},
		},
		{
			name: "defaults apply, and a rule overrides them",
			src: `defaults:
  status: 301
  query: replace
  methods: [GET]
  case: insensitive
  trailing_slash: either
  max_age: 600
  absolute: true
  host: example.com
  scheme: https
  priority: 5
  headers: {X-A: a, X-B: b}
rules:
  - id: r
    from: /a
    to: /b
    status: 308
    headers: {x-b: B, X-C: c}
`,
			want: detour.Rule{ID: "r", Host: "example.com", Scheme: "https", From: "/a", To: "/b", Status: 308, Query: detour.QueryReplace,
				Methods: []string{"GET"}, Headers: []detour.Header{{Name: "X-A", Value: "a"}, {Name: "x-b", Value: "B"}, {Name: "X-C", Value: "c"}}, Priority: 5,
				CaseInsensitive: true, TrailingSlashEither: true, Absolute: true, MaxAge: 600, Source: detour.Source{Line: 14}},
		},
		{
			name: "defaults written after the rules still apply",
			src:  "rules:\n  - {id: r, from: /a, to: /b}\ndefaults: {status: 303}\n",
			want: detour.Rule{ID: "r", From: "/a", To: "/b", Status: 303, Query: detour.QueryPreserve, Source: detour.Source{Line: 2}},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, ds := ruleset.Parse(strings.NewReader(tc.src), "rules.yaml")
			if len(ds) > 0 {
				t.Fatalf("diagnostics:\n%v", ds.Error())
			}
			if len(s.Rules) != 1 {
				t.Fatalf("got %d rules, want 1", len(s.Rules))
			}
			want := tc.want
			want.Source.File = "rules.yaml"
			if got := s.Rules[0]; !reflect.DeepEqual(got, want) {
				t.Errorf("rule:\n got %+v\nwant %+v", got, want)
			}
		})
	}
}

func TestParseMergeKeys(t *testing.T) {
	s := mustParse(t, `defaults: {status: 307}
rules:
  - &base
    id: base
    from: /a
    to: /b
    status: 302
    headers: {X-A: a}
  - <<: *base
    id: copy
    from: /c
  - <<: [{to: /first}, {to: /second, status: 308}]
    id: list
    from: /d
`)
	got := make([]string, len(s.Rules))
	for i, r := range s.Rules {
		got[i] = fmt.Sprintf("%s %s→%s %d %v line %d seq %d", r.ID, r.From, r.To, r.Status, r.Headers, r.Source.Line, r.Source.Seq)
	}
	want := []string{
		"base /a→/b 302 [{X-A a}] line 3 seq 0",
		"copy /c→/b 302 [{X-A a}] line 9 seq 1",
		"list /d→/first 308 [] line 12 seq 2",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("rules:\n got %q\nwant %q", got, want)
	}
}

func TestParseSetLevel(t *testing.T) {
	cases := []struct {
		name  string
		src   string
		order detour.Order
		merge bool
	}{
		{"defaults", "rules: []\n", detour.OrderSpecificity, false},
		{"first-match", "order: first-match\n", detour.OrderFirstMatch, false},
		{"specificity", "order: specificity\n", detour.OrderSpecificity, false},
		{"merge_slashes", "merge_slashes: true\n", detour.OrderSpecificity, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := mustParse(t, tc.src)
			if s.Order != tc.order || s.MergeSlashes != tc.merge {
				t.Errorf("got order %q merge %v, want %q %v", s.Order, s.MergeSlashes, tc.order, tc.merge)
			}
			if len(s.Files) != 1 || s.Files[0] != "rules.yaml" {
				t.Errorf("Files = %q, want [rules.yaml]", s.Files)
			}
		})
	}
}

func TestParseSeqAndTables(t *testing.T) {
	s := mustParse(t, `tables:
  - file: legacy.csv
    status: 301
    query: drop
    host: Example.com
    include_subdomains: true
    subpath: true
    case: insensitive
    max_age: 120
  - file: sub/more.csv
rules:
  - {id: a, from: /a, to: /b}
  - {id: b, from: /c, to: /d}
defaults: {status: 308, query: replace}
`)
	want := []detour.Table{
		{ID: "table:legacy.csv", File: "legacy.csv", Source: detour.Source{File: "rules.yaml", Line: 2, Seq: 0}, Status: 301,
			Query: detour.QueryDrop, Host: "example.com", IncludeSubdomains: true, Subpath: true, CaseInsensitive: true, MaxAge: 120},
		{ID: "table:sub/more.csv", File: "sub/more.csv", Source: detour.Source{File: "rules.yaml", Line: 10, Seq: 1}, Status: 308,
			Query: detour.QueryReplace},
	}
	if !reflect.DeepEqual(s.Tables, want) {
		t.Errorf("tables:\n got %+v\nwant %+v", s.Tables, want)
	}
	var seqs []int
	for _, r := range s.Rules {
		seqs = append(seqs, r.Source.Seq)
	}
	if !reflect.DeepEqual(seqs, []int{2, 3}) {
		t.Errorf("rule seqs = %v, want [2 3] (tables come first in this file)", seqs)
	}
}

// TestParseErrors pins the file, line, field and code of every kind of
// error a rules file can have.
func TestParseErrors(t *testing.T) {
	cases := []struct {
		name string
		src  string
		want []string // briefs: "file:line severity field code"
		msg  string   // a part of the first message, when it matters
	}{
		{"yaml syntax", "rules:\n  - from: /a\n    to: [\n", []string{"rules.yaml:4 error  syntax"}, "did not find expected node content"},
		{"question mark in a flow rule over two lines", "rules:\n  - {from: /a?x=1,\n     to: /b}\n", []string{"rules.yaml:2 error  syntax"}, `value holding "?" inside { } or [ ] must be quoted`},
		{"unclosed flow list", "rules:\n  - from: /a\n    to: /b\n    status: [307\n", []string{"rules.yaml:4 error  syntax"}, "did not find expected ',' or ']'"},
		{"yaml syntax on line 1", "value: -", []string{"rules.yaml:1 error  syntax"}, "block sequence"},
		{"tab indentation", "rules:\n\t- from: /a\n", []string{"rules.yaml:2 error  syntax"}, ""},
		{"invalid UTF-8", "rules:\n  - from: /a\xff\n", []string{"rules.yaml:2 error  syntax"}, "UTF-8"},
		{"control character", "rules:\n  - from: /a\x01\n", []string{"rules.yaml:2 error  syntax"}, "control characters"},
		{"unknown anchor", "rules:\n  - from: /a\n    to: *nowhere\n", []string{"rules.yaml:3 error  syntax"}, "unknown anchor"},
		{"two documents", "rules: []\n---\nrules: []\n", []string{"rules.yaml:2 error  syntax"}, "one YAML document"},
		{"top level not a mapping", "- from: /a\n", []string{"rules.yaml:1 error  syntax"}, "mapping"},
		{"unknown top-level field", "rules: []\nrule: []\n", []string{"rules.yaml:2 error rule unknown-field"}, `unknown field "rule" (did you mean "rules"?)`},
		{"unknown rule field", "rules:\n  - from: /a\n    to: /b\n    form: /c\n", []string{"rules.yaml:4 error rules[0].form unknown-field"}, `did you mean "from"?`},
		{"unknown field far from any", "rules:\n  - from: /a\n    to: /b\n    xyzzy: 1\n", []string{"rules.yaml:4 error rules[0].xyzzy unknown-field"}, `unknown field "xyzzy"`},
		{"unknown window field", "rules:\n  - from: /a\n    to: /b\n    window:\n      begin: 2026-01-01T00:00:00Z\n",
			[]string{"rules.yaml:5 error rules[0].window.begin unknown-field"}, ""},
		{"unknown defaults field", "defaults:\n  stauts: 301\n", []string{"rules.yaml:2 error defaults.stauts unknown-field"}, `did you mean "status"?`},
		{"rule-only field in defaults", "defaults:\n  from: /a\n", []string{"rules.yaml:2 error defaults.from unknown-field"}, "cannot have a default"},
		{"unknown table field", "tables:\n  - file: a.csv\n    fil: b.csv\n", []string{"rules.yaml:3 error tables[0].fil unknown-field"}, ""},
		{"field given twice", "rules:\n  - from: /a\n    to: /b\n    to: /c\n", []string{"rules.yaml:4 error rules[0].to duplicate-field"}, "first at line 3"},
		{"bad status", "rules:\n  - from: /a\n    to: /b\n    status: 300\n", []string{"rules.yaml:4 error rules[0].status invalid"}, "301, 302, 303, 307, 308 or 410"},
		{"status not a number", "rules:\n  - from: /a\n    to: /b\n    status: moved\n", []string{"rules.yaml:4 error rules[0].status invalid"}, ""},
		{"bad default status", "defaults: {status: 200}\n", []string{"rules.yaml:1 error defaults.status invalid"}, ""},
		{"bad query", "rules:\n  - {from: /a, to: /b, query: keep}\n", []string{"rules.yaml:2 error rules[0].query invalid"}, "preserve, drop or replace"},
		{"bad case", "rules:\n  - {from: /a, to: /b, case: lower}\n", []string{"rules.yaml:2 error rules[0].case invalid"}, ""},
		{"bad trailing_slash", "rules:\n  - {from: /a, to: /b, trailing_slash: maybe}\n", []string{"rules.yaml:2 error rules[0].trailing_slash invalid"}, ""},
		{"bad scheme", "rules:\n  - {from: /a, to: /b, scheme: ftp}\n", []string{"rules.yaml:2 error rules[0].scheme invalid"}, ""},
		{"bad absolute", "rules:\n  - {from: /a, to: /b, absolute: yes}\n", []string{"rules.yaml:2 error rules[0].absolute invalid"}, "true or false"},
		{"bad priority", "rules:\n  - {from: /a, to: /b, priority: high}\n", []string{"rules.yaml:2 error rules[0].priority invalid"}, ""},
		{"max_age zero", "rules:\n  - {from: /a, to: /b, max_age: 0}\n", []string{"rules.yaml:2 error rules[0].max_age invalid"}, "temporary status"},
		{"max_age negative", "rules:\n  - {from: /a, to: /b, max_age: -1}\n", []string{"rules.yaml:2 error rules[0].max_age invalid"}, ""},
		{"bad order", "order: last-match\n", []string{"rules.yaml:1 error order invalid"}, "specificity or first-match"},
		{"bad merge_slashes", "merge_slashes: sometimes\n", []string{"rules.yaml:1 error merge_slashes invalid"}, ""},
		{"methods not a list", "rules:\n  - {from: /a, to: /b, methods: GET}\n", []string{"rules.yaml:2 error rules[0].methods invalid"}, ""},
		{"methods empty", "rules:\n  - {from: /a, to: /b, methods: []}\n", []string{"rules.yaml:2 error rules[0].methods invalid"}, ""},
		{"method not a token", "rules:\n  - from: /a\n    to: /b\n    methods:\n      - GET\n      - \"GE T\"\n",
			[]string{"rules.yaml:6 error rules[0].methods[1] invalid"}, ""},
		{"window without offset", "rules:\n  - from: /a\n    to: /b\n    window:\n      start: 2026-12-01T02:00:00\n",
			[]string{"rules.yaml:5 error rules[0].window.start invalid"}, "has no offset"},
		{"window date only", "rules:\n  - from: /a\n    to: /b\n    window: {end: 2026-12-01}\n",
			[]string{"rules.yaml:4 error rules[0].window.end invalid"}, "no time and no offset"},
		{"window garbage", "rules:\n  - from: /a\n    to: /b\n    window: {end: soon}\n",
			[]string{"rules.yaml:4 error rules[0].window.end invalid"}, "RFC 3339"},
		{"window end before start", "rules:\n  - from: /a\n    to: /b\n    window:\n      start: 2026-12-01T04:00:00Z\n      end: 2026-12-01T02:00:00Z\n",
			[]string{"rules.yaml:6 error rules[0].window.end invalid"}, "before it starts"},
		{"window not a mapping", "rules:\n  - {from: /a, to: /b, window: tomorrow}\n", []string{"rules.yaml:2 error rules[0].window invalid"}, ""},
		{"retry_after window_end without window", "rules:\n  - {from: /a, to: /b, retry_after: window_end}\n",
			[]string{"rules.yaml:2 error rules[0].retry_after invalid"}, "window"},
		{"retry_after negative", "rules:\n  - {from: /a, to: /b, retry_after: -5}\n", []string{"rules.yaml:2 error rules[0].retry_after invalid"}, ""},
		{"retry_after garbage", "rules:\n  - {from: /a, to: /b, retry_after: later}\n", []string{"rules.yaml:2 error rules[0].retry_after invalid"}, "HTTP date"},
		{"headers not a mapping", "rules:\n  - {from: /a, to: /b, headers: [X-A]}\n", []string{"rules.yaml:2 error rules[0].headers invalid"}, ""},
		{"bad header name", "rules:\n  - from: /a\n    to: /b\n    headers:\n      X-A: a\n      \"X B\": b\n",
			[]string{"rules.yaml:6 error rules[0].headers.X B invalid"}, "header name"},
		{"header value a list", "rules:\n  - from: /a\n    to: /b\n    headers:\n      X-A: [a]\n",
			[]string{"rules.yaml:5 error rules[0].headers.X-A invalid"}, ""},
		{"host with port", "rules:\n  - {host: example.com:8080, from: /a, to: /b}\n", []string{"rules.yaml:2 error rules[0].host invalid"}, "port"},
		{"host as URL", "rules:\n  - {host: \"https://example.com\", from: /a, to: /b}\n", []string{"rules.yaml:2 error rules[0].host invalid"}, "not a URL"},
		{"wildcard in the middle", "rules:\n  - {host: \"a.*.example.com\", from: /a, to: /b}\n", []string{"rules.yaml:2 error rules[0].host invalid"}, "wildcard"},
		{"host with empty label", "rules:\n  - {host: a..example.com, from: /a, to: /b}\n", []string{"rules.yaml:2 error rules[0].host invalid"}, ""},
		{"bad IDN", "rules:\n  - {host: \"xn--a.example\", from: /a, to: /b}\n", []string{"rules.yaml:2 error rules[0].host invalid"}, ""},
		{"bad id", "rules:\n  - {id: \"my rule\", from: /a, to: /b}\n", []string{"rules.yaml:2 error rules[0].id invalid"}, ""},
		{"missing from", "rules:\n  - to: /b\n", []string{"rules.yaml:2 error rules[0].from invalid"}, "missing"},
		{"empty from", "rules:\n  - from: \"\"\n    to: /b\n", []string{"rules.yaml:2 error rules[0].from invalid"}, "empty"},
		{"missing to", "rules:\n  - from: /a\n", []string{"rules.yaml:2 error rules[0].to invalid"}, "unless its status is 410"},
		{"empty to", "rules:\n  - from: /a\n    to:\n", []string{"rules.yaml:3 error rules[0].to invalid"}, "empty"},
		{"410 with a to is a warning", "rules:\n  - from: /a\n    to: /b\n    status: 410\n", []string{"rules.yaml:3 warning rules[0].to ignored"}, ""},
		{"rules not a list", "rules:\n  from: /a\n", []string{"rules.yaml:2 error rules syntax"}, "list"},
		{"rule not a mapping", "rules:\n  - /a\n", []string{"rules.yaml:2 error rules[0] syntax"}, ""},
		{"defaults not a mapping", "defaults: [1]\n", []string{"rules.yaml:1 error defaults syntax"}, ""},
		{"key not a word", "rules:\n  - ? [a]\n    : 1\n    from: /a\n    to: /b\n", []string{"rules.yaml:2 error rules[0] syntax"}, ""},
		{"merge of a scalar", "rules:\n  - <<: 5\n    from: /a\n    to: /b\n", []string{"rules.yaml:2 error rules[0] syntax"}, "<<"},
		{"duplicate ids", "rules:\n  - id: a\n    from: /a\n    to: /b\n  - id: a\n    from: /c\n    to: /d\n",
			[]string{"rules.yaml:5 error rules[1].id duplicate-id"}, "already used at rules.yaml:2"},
		{"duplicate derived ids", "rules:\n  - {from: /a, to: /b, window: {end: 2026-01-01T00:00:00Z}}\n  - {from: /a, to: /c, window: {start: 2026-01-01T00:00:00Z}}\n",
			[]string{"rules.yaml:3 error rules[1] duplicate-id"}, "give one of the rules an id"},
		{"a rule id and a table id", "tables: [{file: a.csv}]\nrules:\n  - {id: a, from: /a, to: /b}\n", nil, ""},
		{"table without file", "tables:\n  - status: 301\n", []string{"rules.yaml:2 error tables[0].file table"}, "missing"},
		{"table absolute path", "tables:\n  - file: /etc/passwd\n", []string{"rules.yaml:2 error tables[0].file table"}, "absolute"},
		{"table climbing out", "tables:\n  - file: sub/../../x.csv\n", []string{"rules.yaml:2 error tables[0].file table"}, "leaves"},
		{"table wildcard host", "tables:\n  - {file: a.csv, host: \"*.example.com\"}\n", []string{"rules.yaml:2 error tables[0].host invalid"}, "include_subdomains"},
		{"table bad status", "tables:\n  - {file: a.csv, status: 200}\n", []string{"rules.yaml:2 error tables[0].status invalid"}, ""},
		{"alias cycle", "rules: &r\n  - *r\n", []string{"rules.yaml:2 error  alias"}, "contains it"},
		{"several errors, each with its line", "rules:\n  - from: /a\n    to: /b\n    status: 1\n  - from: /c\n    to: /d\n    query: x\n",
			[]string{"rules.yaml:4 error rules[0].status invalid", "rules.yaml:7 error rules[1].query invalid"}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, ds := ruleset.Parse(strings.NewReader(tc.src), "rules.yaml")
			assertDiags(t, ds, tc.want...)
			if tc.msg != "" && len(ds) > 0 && !strings.Contains(ds[0].Message, tc.msg) {
				t.Errorf("message %q does not mention %q", ds[0].Message, tc.msg)
			}
		})
	}
}

// TestParseDropsBadRules: a rule with an error is left out of the set, the
// others stay (for lint), and Seq still follows the file.
// TestParseFlowQueryCondition: a query condition in a flow rule is read
// as written, though go-yaml refuses "?" in a plain value in { }
// (yamldoc works around go-yaml/yaml#905).
func TestParseFlowQueryCondition(t *testing.T) {
	s := mustParse(t, "rules:\n  - {from: /product.php?id=:id, to: /p/:id}\n  - {from: /a, to: /b?x=1}\n")
	var got []string
	for _, r := range s.Rules {
		got = append(got, r.From+" "+r.To)
	}
	if want := []string{"/product.php?id=:id /p/:id", "/a /b?x=1"}; !reflect.DeepEqual(got, want) {
		t.Errorf("rules = %q, want %q", got, want)
	}
}

func TestParseDropsBadRules(t *testing.T) {
	s, ds := ruleset.Parse(strings.NewReader("rules:\n  - {id: a, from: /a, to: /b}\n  - {id: b, from: /c, status: 1}\n  - {id: c, from: /e, to: /f}\n"), "rules.yaml")
	if !ds.HasErrors() {
		t.Fatal("no error for the bad rule")
	}
	var got []string
	for _, r := range s.Rules {
		got = append(got, fmt.Sprintf("%s@%d", r.ID, r.Source.Seq))
	}
	if want := []string{"a@0", "c@2"}; !reflect.DeepEqual(got, want) {
		t.Errorf("rules = %q, want %q", got, want)
	}
}

func TestParseSizeCap(t *testing.T) {
	l := ruleset.Loader{MaxFileSize: 64}
	src := "rules:\n" + strings.Repeat("  - {from: /a, to: /b}\n", 10)
	_, ds := l.Parse(strings.NewReader(src), "big.yaml")
	assertDiags(t, ds, "big.yaml:0 error  too-large")

	_, ds = l.Parse(strings.NewReader("rules: []\n"), "small.yaml")
	assertDiags(t, ds)
}

// TestParseAliasBomb: a "billion laughs" file is refused from the size of
// its aliases, without expanding them (the test would not finish if they
// were expanded).
func TestParseAliasBomb(t *testing.T) {
	var b strings.Builder
	b.WriteString("a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n")
	for i := 1; i <= 9; i++ {
		fmt.Fprintf(&b, "a%d: &a%d [", i, i)
		for j := 0; j < 10; j++ {
			if j > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "*a%d", i-1)
		}
		b.WriteString("]\n")
	}
	fmt.Fprintf(&b, "rules:\n  - from: /a\n    to: /b\n    methods: *a9\n")
	_, ds := ruleset.Parse(strings.NewReader(b.String()), "bomb.yaml")
	assertDiags(t, ds, "bomb.yaml:14 error  alias")

	t.Run("a modest use of aliases passes", func(t *testing.T) {
		var b strings.Builder
		b.WriteString("defaults: {status: 301}\nrules:\n  - &r {from: /a, to: /b, headers: {X-A: a, X-B: b}}\n")
		for i := 0; i < 200; i++ {
			fmt.Fprintf(&b, "  - {<<: *r, id: r%d, from: /x%d}\n", i, i)
		}
		s := mustParse(t, b.String())
		if len(s.Rules) != 201 {
			t.Errorf("got %d rules, want 201", len(s.Rules))
		}
	})
	t.Run("the cap is configurable", func(t *testing.T) {
		l := ruleset.Loader{MaxAliasNodes: 10}
		_, ds := l.Parse(strings.NewReader("x: &x [1, 2, 3, 4, 5, 6]\nrules:\n  - {from: /a, to: /b, methods: *x}\n  - {from: /c, to: /d, methods: *x}\n"), "r.yaml")
		assertDiags(t, ds, "r.yaml:4 error  alias")
	})
}

// TestParseGolden parses each testdata/parse/*.yaml and compares the set
// and diagnostics with its .golden file.
func TestParseGolden(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "parse", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden inputs: %v", err)
	}
	for _, f := range files {
		name := filepath.Base(f)
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			s, ds := ruleset.Parse(bytes.NewReader(data), name)
			golden(t, filepath.Join("parse", strings.TrimSuffix(name, ".yaml")+".golden"), render(t, s, ds))
		})
	}
}

func TestDemo(t *testing.T) {
	s := ruleset.Demo()
	if len(s.Files) != 0 {
		t.Errorf("Files = %q, want none", s.Files)
	}
	var found bool
	for _, r := range s.Rules {
		if r.From == "/original-resource" {
			found = true
			if r.To != "/temporary-resource" || r.Status != 307 || len(r.Methods) != 0 || !r.Window.IsZero() {
				t.Errorf("demo rule = %+v, want /original-resource → /temporary-resource 307 for every method, always", r)
			}
		}
		if r.From == "/temporary-resource" {
			t.Errorf("the demo set has a rule for /temporary-resource, which the server answers itself: %+v", r)
		}
	}
	if !found {
		t.Error("the demo set has no /original-resource rule")
	}
}

// An empty file is refused: it is most often a file caught between
// truncation and write, and refusing it keeps the previous rules serving.
func TestParseEmptyRefused(t *testing.T) {
	for name, src := range map[string]string{"empty file": "", "comments only": "# nothing yet\n", "blank lines": "\n\n"} {
		t.Run(name, func(t *testing.T) {
			_, ds := ruleset.Parse(strings.NewReader(src), "rules.yaml")
			if len(ds) != 1 || ds[0].Code != "empty" || ds[0].File != "rules.yaml" || ds[0].Line != 1 || ds[0].Severity != detour.SeverityError {
				t.Errorf("diagnostics = %v, want one error rules.yaml:1 code empty", ds)
			}
		})
	}
}
