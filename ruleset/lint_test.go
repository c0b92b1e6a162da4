package ruleset_test

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/detourhttp/detour"
	"github.com/detourhttp/detour/ruleset"
)

// now is the lint clock of these tests.
var now = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

// TestLint pins each redirect-graph finding: its file, line, field,
// severity and code.
func TestLint(t *testing.T) {
	cases := []struct {
		name string
		src  string
		want []string // briefs
		msg  string   // a part of the first message
	}{
		{
			name: "certain loop between two exact rules",
			src:  "rules:\n  - id: a\n    from: /a\n    to: /b\n  - id: b\n    from: /b\n    to: /a\n",
			want: []string{"rules.yaml:4 error rules[0].to loop"},
			msg:  "/a [rule a at rules.yaml:2] → /b [rule b at rules.yaml:5] → /a",
		},
		{
			name: "a rule that redirects to itself",
			src:  "rules:\n  - {id: self, from: /a, to: /a}\n",
			want: []string{"rules.yaml:2 error rules[0].to loop"},
		},
		{
			name: "certain loop across two hosts of the set",
			src: "rules:\n  - {id: a, host: a.example, from: /x, to: \"https://b.example/y\"}\n" +
				"  - {id: b, host: b.example, from: /y, to: \"https://a.example/x\"}\n",
			want: []string{"rules.yaml:2 error rules[0].to loop"},
			msg:  "https://a.example/x",
		},
		{
			name: "a loop that grows the query is still certain",
			src:  "rules:\n  - {id: a, from: /a, to: \"/b?x=1\"}\n  - {id: b, from: /b, to: /a}\n",
			want: []string{"rules.yaml:2 error rules[0].to loop"},
		},
		{
			name: "loop with a table row",
			src:  "rules:\n  - {id: a, from: /a, to: /b}\n",
			want: []string{"rules.yaml:2 error rules[0].to loop"},
			// the table is added by the test: /b → /a
		},
		{
			name: "possible loop through patterns",
			src:  "rules:\n  - {id: docs, from: /docs/*, to: /manual/:splat}\n  - {id: manual, from: /manual/*, to: /docs/:splat}\n",
			want: []string{"rules.yaml:2 warning rules[0].to possible-loop"},
			msg:  "pattern",
		},
		{
			name: "possible loop through windows that never overlap",
			src: "rules:\n  - {id: a, from: /a, to: /b, window: {end: 2026-07-01T00:00:00Z}}\n" +
				"  - {id: b, from: /b, to: /a, window: {start: 2026-07-01T00:00:00Z}}\n",
			want: []string{"rules.yaml:2 warning rules[0].to possible-loop"},
			msg:  "never active at the same time",
		},
		{
			name: "possible loop through a wildcard host",
			src:  "rules:\n  - {id: w, host: \"*.example.com\", from: /a, to: /a}\n",
			want: []string{"rules.yaml:2 warning rules[0].to possible-loop"},
			msg:  "wildcard",
		},
		{
			name: "a loop whose windows have all ended is no longer certain",
			src: "rules:\n  - {id: a, from: /a, to: /b, window: {end: 2026-01-01T00:00:00Z}}\n" +
				"  - {id: b, from: /b, to: /a}\n",
			want: []string{"rules.yaml:2 warning rules[0].to possible-loop", "rules.yaml:2 warning rules[0].window.end expired"},
			msg:  "ended",
		},
		{
			name: "an endless chain is a possible loop",
			src:  "rules:\n  - {id: grow, from: /a/*, to: /a/a/:splat}\n",
			want: []string{"rules.yaml:2 warning rules[0].to possible-loop"},
			msg:  "still going after 16 hops",
		},
		{
			name: "chain",
			src:  "rules:\n  - id: a\n    from: /a\n    to: /b\n  - id: b\n    from: /b\n    to: /c\n",
			want: []string{"rules.yaml:4 warning rules[0].to chain"},
			msg:  "redirect straight to /c",
		},
		{
			name: "chain that ends in 410",
			src:  "rules:\n  - {id: a, from: /a, to: /b}\n  - {id: b, from: /b, status: 410}\n",
			want: []string{"rules.yaml:2 warning rules[0].to chain"},
			msg:  "answer 410",
		},
		{
			name: "chain through an absolute URL on a host the set serves",
			src:  "rules:\n  - {id: a, from: /a, to: \"https://example.com/b\"}\n  - {id: b, host: example.com, from: /b, to: /c}\n",
			want: []string{"rules.yaml:2 warning rules[0].to chain"},
		},
		{
			name: "a redirect off the set's hosts ends the graph",
			src:  "rules:\n  - {id: a, from: /a, to: \"https://elsewhere.example/b\"}\n  - {id: b, from: /b, to: /c}\n",
		},
		{
			name: "a 303 turns POST into GET, and a GET-less rule does not answer it",
			src:  "rules:\n  - {id: a, from: /a, to: /b, status: 303, methods: [POST]}\n  - {id: b, from: /b, to: /c, methods: [POST]}\n",
		},
		{
			name: "a 302 turns POST into GET too",
			src:  "rules:\n  - {id: a, from: /a, to: /b, status: 302, methods: [POST]}\n  - {id: b, from: /b, to: /a, methods: [POST]}\n",
			want: []string{"rules.yaml:3 warning rules[1].to chain"},
			msg:  "it ends where it began, as a GET",
		},
		{
			name: "a 307 keeps POST",
			src:  "rules:\n  - {id: a, from: /a, to: /b, methods: [POST]}\n  - {id: b, from: /b, to: /a, methods: [POST]}\n",
			want: []string{"rules.yaml:2 error rules[0].to loop"},
		},
		{
			name: "http to https upgrade and a rule on https do not chain",
			src: "rules:\n  - {id: up, host: example.com, scheme: http, from: /*, to: \"https://{host}/:splat\", status: 308}\n" +
				"  - {id: old, host: example.com, from: /old, to: /new}\n",
		},
		{
			name: "shadowed by a higher priority",
			src:  "rules:\n  - {id: wide, from: /docs/*, to: /x, priority: 10}\n  - {id: narrow, from: /docs/a/*, to: /y}\n",
			want: []string{"rules.yaml:3 warning rules[1] shadowed"},
			msg:  "rule wide at rules.yaml:2",
		},
		{
			name: "an exact rule shadowed by first-match order",
			src:  "order: first-match\nrules:\n  - {id: all, from: /*, to: \"https://elsewhere.example/\"}\n  - {id: one, from: /one, to: /y}\n",
			want: []string{"rules.yaml:4 warning rules[1] shadowed"},
		},
		{
			name: "not shadowed by a rule with a window",
			src:  "rules:\n  - {id: wide, from: /docs/*, to: /x, priority: 10, window: {end: 2026-12-01T00:00:00Z}}\n  - {id: narrow, from: /docs/a/*, to: /y}\n",
		},
		{
			name: "not shadowed by a rule with fewer methods",
			src:  "rules:\n  - {id: wide, from: /docs/*, to: /x, priority: 10, methods: [GET]}\n  - {id: narrow, from: /docs/a/*, to: /y}\n",
		},
		{
			name: "expired window",
			src:  "rules:\n  - id: old\n    from: /a\n    to: /b\n    window:\n      end: 2026-05-01T00:00:00Z\n",
			want: []string{"rules.yaml:6 warning rules[0].window.end expired"},
			msg:  "2026-05-01T00:00:00Z",
		},
		{
			name: "a window ending later is not expired",
			src:  "rules:\n  - {id: soon, from: /a, to: /b, window: {end: 2026-06-01T12:00:01Z}}\n",
		},
		{
			name: "a window ending right now is expired",
			src:  "rules:\n  - {id: now, from: /a, to: /b, window: {end: 2026-06-01T12:00:00Z}}\n",
			want: []string{"rules.yaml:2 warning rules[0].window.end expired"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := mustParse(t, tc.src)
			if strings.HasPrefix(tc.name, "loop with a table row") {
				s.Tables = []detour.Table{{ID: "table:t.csv", File: "t.csv", Status: 307, Query: detour.QueryPreserve,
					Source: detour.Source{File: "rules.yaml", Line: 9, Seq: 9}, Rows: []detour.Row{{Line: 1, Path: "/b", To: "/a"}}}}
			}
			_, ds := s.CompileAt(now)
			assertDiags(t, ds, tc.want...)
			if tc.msg != "" && (len(ds) == 0 || !strings.Contains(ds[0].Message, tc.msg)) {
				t.Errorf("first message does not mention %q:\n%v", tc.msg, ds.Error())
			}
		})
	}
}

// TestLintTables pins findings about table rows, which name the table
// file and the row's line.
func TestLintTables(t *testing.T) {
	cases := []struct {
		name  string
		rules string
		csv   string
		want  []string // briefs, file names relative to the folder
		msg   string
	}{
		{
			name:  "a file rule wins over a row, with a warning",
			rules: "rules:\n  - {id: r, from: /old, to: /other}\ntables:\n  - file: t.csv\n",
			csv:   "from,to\n/keep,/kept\n/old,/new\n",
			want:  []string{"t.csv:3 warning from shadowed"},
			msg:   "rule r at",
		},
		{
			name:  "a pattern of higher priority wins over a row",
			rules: "rules:\n  - {id: r, from: /old/*, to: /other, priority: 1}\ntables:\n  - file: t.csv\n",
			csv:   "from,to\n/keep,/kept\n/old/x,/new\n",
			want:  []string{"t.csv:3 warning  shadowed"},
			msg:   "never answers: rule r at",
		},
		{
			name:  "rows that chain",
			rules: "tables:\n  - file: t.csv\n",
			csv:   "/a,/b\n/b,/c\n",
			want:  []string{"t.csv:1 warning  chain"},
			msg:   "t.csv:2] → /c",
		},
		{
			name:  "rows that loop",
			rules: "tables:\n  - file: t.csv\n",
			csv:   "/x,/y\n/a,/b\n/b,/a\n",
			want:  []string{"t.csv:2 error  loop"},
		},
		{
			name:  "rows on a host chaining through a full URL",
			rules: "tables:\n  - {file: t.csv, host: example.com}\n",
			csv:   "/a,https://example.com/b\n/b,https://elsewhere.example/c\n",
			want:  []string{"t.csv:1 warning  chain"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFiles(t, dir, map[string]string{"rules.yaml": tc.rules, "t.csv": tc.csv})
			ds, err := ruleset.LintPath(filepath.Join(dir, "rules.yaml"), now, false)
			if err != nil {
				t.Fatal(err)
			}
			assertDiagsIn(t, ds, dir, tc.msg, tc.want...)
		})
	}
}

func TestLintRowFindingsAreCapped(t *testing.T) {
	var csv, rules strings.Builder
	rules.WriteString("tables:\n  - file: t.csv\nrules:\n")
	for i := range 30 {
		csv.WriteString("/r" + string(rune('a'+i%26)) + strings.Repeat("x", i/26) + ",/to\n")
	}
	csv.WriteString("/to,/end\n")
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"rules.yaml": rules.String(), "t.csv": csv.String()})
	ds, err := ruleset.LintPath(filepath.Join(dir, "rules.yaml"), now, false)
	if err != nil {
		t.Fatal(err)
	}
	chains := 0
	summary := ""
	for _, d := range ds {
		if d.Code == "chain" {
			chains++
			if d.Line == 0 {
				summary = d.Message
			}
		}
	}
	if chains != 21 || summary != "10 more rows that start a chain not shown" {
		t.Errorf("got %d chain findings (summary %q), want 20 and a summary of 10 more:\n%v", chains, summary, ds.Error())
	}
}

func TestLintBudget(t *testing.T) {
	s := mustParse(t, "rules:\n  - {id: a, from: /a, to: /b}\n  - {id: b, from: /b, to: /c}\n  - {id: c, from: /c, to: /d}\n")
	tb, ds := s.CompileAt(now)
	if tb == nil {
		t.Fatal(ds)
	}
	got := ruleset.LintOptions{MaxLookups: 3}.Lint(s, tb, now)
	last := got[len(got)-1]
	if last.Code != "incomplete" || last.Severity != detour.SeverityWarning {
		t.Errorf("last finding = %v, want an incomplete warning", last)
	}
}

// TestCompileLocatesMatchDiagnostics: match names fields relative to the
// rule ("to", "headers.Location"); Compile gives them as paths in the
// file with the field's own line.
func TestCompileLocatesMatchDiagnostics(t *testing.T) {
	cases := []struct {
		name string
		src  string
		want []string
	}{
		{"bad regex", "rules:\n  - id: re\n    to: /x\n    from: ~^/(unclosed\n", []string{"rules.yaml:4 error rules[0].from invalid"}},
		{"forbidden header", "rules:\n  - id: h\n    from: /a\n    to: /b\n    headers:\n      X-Ok: fine\n      Location: /evil\n",
			[]string{"rules.yaml:7 error rules[0].headers.Location invalid"}},
		{"header value with a control character", "rules:\n  - id: h\n    from: /a\n    to: /b\n    headers:\n      X-Bad: \"a\\rb\"\n",
			[]string{"rules.yaml:6 error rules[0].headers.X-Bad invalid"}},
		{"capture that is not defined", "rules:\n  - id: c\n    from: /a/:x\n    to: /b/:y\n", []string{"rules.yaml:4 error rules[0].to invalid"}},
		{"target that could leave the site", "rules:\n  - id: c\n    from: /a/*\n    to: \"https://:splat\"\n", []string{"rules.yaml:4 error rules[0].to invalid"}},
		{"control character in a target", "rules:\n  - id: c\n    from: /a\n    to: \"/b\\nc\"\n", []string{"rules.yaml:4 error rules[0].to invalid"}},
		{"tie", "rules:\n  - {id: one, from: /a, to: /b}\n  - id: two\n    to: /c\n    from: /a\n", []string{"rules.yaml:5 error rules[1].from tie"}},
		{"a field from defaults", "defaults:\n  absolute: true\nrules:\n  - {id: abs, from: /a, to: /b}\n", []string{"rules.yaml:2 error defaults.absolute invalid"}},
		{"a table field", "tables:\n  - file: t.csv\n    status: 301\n", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := mustParse(t, tc.src)
			tb, ds := s.CompileAt(now)
			assertDiags(t, ds, tc.want...)
			if (tb == nil) != ds.HasErrors() {
				t.Errorf("table %v with errors %v", tb != nil, ds.HasErrors())
			}
		})
	}
}

func TestDemoLintsClean(t *testing.T) {
	s := ruleset.Demo()
	tb, ds := s.Compile()
	if tb == nil || len(ds) > 0 {
		t.Fatalf("the demo set: %v", ds.Error())
	}
	if tb.Len() != len(s.Rules) {
		t.Errorf("table holds %d rules, the set %d", tb.Len(), len(s.Rules))
	}
}

func TestLintPath(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"clean.yaml":    "rules:\n  - {id: a, from: /a, to: /b}\n",
		"warnings.yaml": "rules:\n  - {id: a, from: /a, to: /b}\n  - {id: b, from: /b, to: /c}\n",
		"broken.yaml":   "rules:\n  - {id: a, from: /a, to: /b, status: 1}\n  - {id: b, from: /b, to: /b}\n",
	})
	cases := []struct {
		name   string
		file   string
		strict bool
		want   []string
	}{
		{"clean", "clean.yaml", false, nil},
		{"warnings pass", "warnings.yaml", false, []string{"warnings.yaml:2 warning rules[0].to chain"}},
		{"strict turns warnings into errors", "warnings.yaml", true, []string{"warnings.yaml:2 error rules[0].to chain"}},
		{"load errors and lint of the rest", "broken.yaml", false, []string{"broken.yaml:2 error rules[0].status invalid", "broken.yaml:3 error rules[1].to loop"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ds, err := ruleset.LintPath(filepath.Join(dir, tc.file), now, tc.strict)
			if err != nil {
				t.Fatal(err)
			}
			for i := range ds {
				ds[i].File = filepath.Base(ds[i].File)
			}
			assertDiags(t, ds, tc.want...)
		})
	}
	t.Run("unreadable path", func(t *testing.T) {
		if _, err := ruleset.LintPath(filepath.Join(dir, "missing.yaml"), now, false); err == nil {
			t.Error("no error for a missing path")
		}
	})
}

// TestLintGolden lints each testdata/lint/*.yaml (a file, or a folder of
// the same name without .yaml) and compares the text and JSON reports
// with the golden files.
func TestLintGolden(t *testing.T) {
	inputs, err := filepath.Glob(filepath.Join("testdata", "lint", "*.yaml"))
	if err != nil || len(inputs) == 0 {
		t.Fatalf("no golden inputs: %v", err)
	}
	for _, in := range inputs {
		name := strings.TrimSuffix(filepath.Base(in), ".yaml")
		t.Run(name, func(t *testing.T) {
			ds, err := ruleset.LintPath(filepath.ToSlash(in), now, false)
			if err != nil {
				t.Fatal(err)
			}
			var text, js bytes.Buffer
			if err := ruleset.WriteText(&text, ds); err != nil {
				t.Fatal(err)
			}
			if err := ruleset.WriteJSON(&js, ds); err != nil {
				t.Fatal(err)
			}
			golden(t, filepath.Join("lint", name+".txt"), text.Bytes())
			golden(t, filepath.Join("lint", name+".json"), js.Bytes())
		})
	}
}

func TestWriteJSONShape(t *testing.T) {
	var b bytes.Buffer
	if err := ruleset.WriteJSON(&b, nil); err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(strings.Fields(b.String()), ""), `{"errors":0,"warnings":0,"diagnostics":[]}`; got != want {
		t.Errorf("empty report = %s, want %s", got, want)
	}
	ds := detour.Diagnostics{
		{Severity: detour.SeverityError, File: "r.yaml", Line: 3, Field: "rules[0].to", Rule: "a", Code: "loop", Message: "redirect loop: /a → /a"},
		{Severity: detour.SeverityWarning, Code: "incomplete", Message: "stopped"},
	}
	b.Reset()
	if err := ruleset.WriteJSON(&b, ds); err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(b.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"errors": 1.0, "warnings": 1.0,
		"diagnostics": []any{
			map[string]any{"severity": "error", "file": "r.yaml", "line": 3.0, "field": "rules[0].to", "rule": "a", "code": "loop", "message": "redirect loop: /a → /a"},
			map[string]any{"severity": "warning", "code": "incomplete", "message": "stopped"},
		},
	}
	gj, _ := json.Marshal(got)
	wj, _ := json.Marshal(want)
	if !bytes.Equal(gj, wj) {
		t.Errorf("report:\n got %s\nwant %s", gj, wj)
	}
}

func TestWriteText(t *testing.T) {
	var b bytes.Buffer
	ds := detour.Diagnostics{
		{Severity: detour.SeverityError, File: "r.yaml", Line: 3, Field: "rules[0].to", Rule: "a", Code: "loop", Message: "redirect loop: /a → /a"},
		{Severity: detour.SeverityWarning, File: "r.yaml", Line: 5, Rule: "b", Code: "shadowed", Message: "never answers"},
	}
	if err := ruleset.WriteText(&b, ds); err != nil {
		t.Fatal(err)
	}
	want := "r.yaml:3: rules[0].to: redirect loop: /a → /a [rule a]\nr.yaml:5: warning: never answers [rule b]\n1 error, 1 warning\n"
	if b.String() != want {
		t.Errorf("text:\n%s\nwant:\n%s", b.String(), want)
	}
	b.Reset()
	if err := ruleset.WriteText(&b, nil); err != nil || b.Len() != 0 {
		t.Errorf("empty report wrote %q, %v", b.String(), err)
	}
}
