package ruleset_test

import (
	"bytes"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/detourhttp/detour"
	"github.com/detourhttp/detour/internal/testutil"
	"github.com/detourhttp/detour/ruleset"
)

// FuzzParse feeds the rules-file parser arbitrary bytes. It must never
// panic, every error must name the file and, when the input has any
// content, a line within it, and every rule it returns must be complete.
// What parses is then compiled and linted, as every reload does, which
// must not panic either. The seed corpus is testdata/fuzz/FuzzParse (run
// by plain go test).
func FuzzParse(f *testing.F) {
	for _, seed := range []string{"", "rules: []\n", "rules:\n  - from: /a\n    to: /b\n"} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s, ds := ruleset.Parse(bytes.NewReader(data), "fuzz.yaml")
		if s == nil {
			t.Fatal("Parse returned a nil Set")
		}
		// An upper bound on the lines as YAML counts them (CR, LF, NEL,
		// LS and PS all break lines), in the text YAML reads: UTF-16
		// after a byte-order mark.
		text := testutil.YAMLText(data)
		lines := 1
		for _, brk := range []string{"\n", "\r", "\u0085", "\u2028", "\u2029"} {
			lines += strings.Count(text, brk)
		}
		content := len(bytes.TrimSpace(data)) > 0
		for _, d := range ds {
			if d.File != "fuzz.yaml" {
				t.Errorf("diagnostic names file %q: %v", d.File, d)
			}
			if d.Severity == detour.SeverityError && content && (d.Line < 1 || d.Line > lines) {
				t.Errorf("error without a line in the input (1..%d): %v", lines, d)
			}
			if d.Code == "" || d.Message == "" {
				t.Errorf("diagnostic without code or message: %#v", d)
			}
		}
		seq := -1
		for _, r := range s.Rules {
			if r.ID == "" || r.From == "" || !detour.ValidStatus(r.Status) || r.Query == "" {
				t.Errorf("incomplete rule: %+v", r)
			}
			if r.To == "" && r.Status != detour.StatusGone {
				t.Errorf("rule without a target: %+v", r)
			}
			if r.Source.File != "fuzz.yaml" || r.Source.Line < 1 || r.Source.Seq <= seq {
				t.Errorf("bad source %+v after seq %d", r.Source, seq)
			}
			seq = r.Source.Seq
			for _, m := range r.Methods {
				if m != strings.ToUpper(m) {
					t.Errorf("method %q not upper-case", m)
				}
			}
			if r.Host != strings.ToLower(r.Host) {
				t.Errorf("host %q not lower-case", r.Host)
			}
		}
		tb, cds := s.CompileAt(time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC))
		if (tb == nil) != cds.HasErrors() {
			t.Errorf("CompileAt: table %v, errors %v", tb != nil, cds.HasErrors())
		}
	})
}

// FuzzReadTableLines: ReadTable reads a table without quotes itself,
// line by line; what it reads — rows, lines, diagnostics — must be what
// encoding/csv reads. The seed corpus is the line ends, blanks, comments,
// white space and field counts the two could disagree on.
func FuzzReadTableLines(f *testing.F) {
	for _, seed := range []string{
		"", "\n", "\r\n", "/a,/b", "/a,/b\n", "/a,/b\r\n/c,/d\r\n", "/a,/b\r", "/a,/b\r\r\n", "\r",
		"from,to\n/a,/b\n", "\ufefffrom,to\n/a,/b\n", "\ufeff#x\n/a,/b\n", "# comment\n/a,/b\n", " # not a comment\n",
		"  \n/a,/b\n", "\t/a, \t/b ,  308\n", "/a,/b,301,x\n", "/a\n", "/a,,\n", ",\n", "/a,/b\n\n\n/c,/d",
		"/a,/b,\u00a0308\n", "\u0085/a,/b\n", "https://Example.COM/a,/b\n", "/a/../b,/c\n", "/a%2,/b\n", "/a,/b,410\n",
		"x\xff,/b\n", "/a,/b\n#\n/c\r,/d\n",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, text string) {
		text = strings.ReplaceAll(text, `"`, "")
		for _, merge := range []bool{false, true} {
			got := detour.Table{ID: "table:t.csv", Status: 301}
			gotDs := ruleset.ReadTable(strings.NewReader(text), "t.csv", &got, merge)
			want := detour.Table{ID: "table:t.csv", Status: 301}
			wantDs := ruleset.ReadTableCSV(text, "t.csv", &want, merge)
			if !slices.Equal(got.Rows, want.Rows) {
				t.Errorf("%q (merge %v): rows\n got %+v\nwant %+v", text, merge, got.Rows, want.Rows)
			}
			if !slices.Equal(gotDs, wantDs) {
				t.Errorf("%q (merge %v): diagnostics\n got %v\nwant %v", text, merge, gotDs, wantDs)
			}
		}
	})
}
