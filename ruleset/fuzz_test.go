package ruleset_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/detourhttp/detour"
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
		// LS and PS all break lines).
		lines := 1
		for _, brk := range []string{"\n", "\r", "\u0085", "\u2028", "\u2029"} {
			lines += bytes.Count(data, []byte(brk))
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
