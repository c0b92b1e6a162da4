package ruleset_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/detourhttp/detour"
	"github.com/detourhttp/detour/ruleset"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// brief renders a diagnostic as "file:line severity field code", the
// parts a test pins down exactly.
func brief(d detour.Diagnostic) string {
	return fmt.Sprintf("%s:%d %s %s %s", d.File, d.Line, d.Severity, d.Field, d.Code)
}

func briefs(ds detour.Diagnostics) []string {
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = brief(d)
	}
	return out
}

// assertDiags checks that ds, as briefs, are exactly want (in any order).
func assertDiags(tb testing.TB, ds detour.Diagnostics, want ...string) {
	tb.Helper()
	got := briefs(ds)
	g, w := slices.Clone(got), slices.Clone(want)
	slices.Sort(g)
	slices.Sort(w)
	if !slices.Equal(g, w) {
		tb.Errorf("diagnostics:\n got: %q\nwant: %q\nfull:\n%v", got, want, ds.Error())
	}
}

// assertDiagsIn is assertDiags for files read from dir: it names them
// relative to dir, and, when msg is set, checks that the first message
// mentions it.
func assertDiagsIn(tb testing.TB, ds detour.Diagnostics, dir, msg string, want ...string) {
	tb.Helper()
	for i := range ds {
		ds[i].File = strings.TrimPrefix(strings.TrimPrefix(ds[i].File, dir), string(filepath.Separator))
	}
	assertDiags(tb, ds, want...)
	if msg != "" && (len(ds) == 0 || !strings.Contains(ds[0].Message, msg)) {
		tb.Errorf("first message does not mention %q:\n%v", msg, ds.Error())
	}
}

// mustParse parses src as rules.yaml and fails on any diagnostic.
func mustParse(tb testing.TB, src string) *ruleset.Set {
	tb.Helper()
	s, ds := ruleset.Parse(strings.NewReader(src), "rules.yaml")
	if len(ds) > 0 {
		tb.Fatalf("Parse: unexpected diagnostics:\n%v", ds.Error())
	}
	return s
}

// writeFiles writes files (name → content) under dir; a content
// beginning with "->" makes a symlink to the rest.
func writeFiles(tb testing.TB, dir string, files map[string]string) {
	tb.Helper()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			tb.Fatal(err)
		}
		if target, ok := strings.CutPrefix(content, "->"); ok {
			if err := os.Symlink(target, p); err != nil {
				tb.Fatal(err)
			}
			continue
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			tb.Fatal(err)
		}
	}
}

// golden compares got with the file testdata/name, or rewrites it under
// -update.
func golden(tb testing.TB, name string, got []byte) {
	tb.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			tb.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		tb.Fatalf("%v (run go test ./ruleset -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		tb.Errorf("%s differs from the output (run go test ./ruleset -update to accept it):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

// render is the golden form of a set and its diagnostics.
func render(tb testing.TB, s *ruleset.Set, ds detour.Diagnostics) []byte {
	tb.Helper()
	var b bytes.Buffer
	b.WriteString("# diagnostics\n")
	for _, d := range ds {
		fmt.Fprintf(&b, "%s (%s)\n", d.String(), d.Code)
	}
	b.WriteString("# set\n")
	out, err := json.MarshalIndent(struct {
		Order        detour.Order
		MergeSlashes bool
		Files        []string
		Rules        []detour.Rule
		Tables       []detour.Table
	}{s.Order, s.MergeSlashes, s.Files, s.Rules, s.Tables}, "", "  ")
	if err != nil {
		tb.Fatal(err)
	}
	b.Write(out)
	b.WriteByte('\n')
	return b.Bytes()
}
