package yamldoc_test

import (
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/detourhttp/detour/internal/testutil"
	"github.com/detourhttp/detour/internal/yamldoc"
)

// FuzzParse feeds Parse arbitrary bytes under both callers' options. It
// must never panic, and every error must carry a line within the input;
// a document that passes CheckAliases is walked with Pairs, which must
// not panic either and must report lines within the input. The seed
// corpus is testdata/fuzz/FuzzParse (run by plain go test).
func FuzzParse(f *testing.F) {
	for _, seed := range []string{"", "a: 1\n", "a: 1\n---\nb: 2\n", "a: {url: /a?x=1}\n", "x: &x {a: 1}\nm: {<<: [*x, *x], a: 2, a: 3}\n"} {
		f.Add([]byte(seed))
	}
	opts := []yamldoc.Options{
		{Noun: "a rules file"},
		{Noun: "an expectations file", Prefix: "syntax error: "},
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		// An upper bound on the lines as YAML counts them (CR, LF, NEL,
		// LS and PS all break lines); an error names one of them.
		text := testutil.YAMLText(data) // UTF-16 after a byte-order mark
		lines := 1
		for _, brk := range []string{"\n", "\r", "\u0085", "\u2028", "\u2029"} {
			lines += strings.Count(text, brk)
		}
		for _, o := range opts {
			root, err := yamldoc.Parse(data, o)
			if err != nil {
				if root != nil || err.Line < 1 || err.Line > lines || err.Msg == "" {
					t.Fatalf("Parse(%+v): root %v, error %v (input has %d lines at most)", o, root, err, lines)
				}
				continue
			}
			if root == nil || yamldoc.CheckAliases(root, 1000) != nil {
				continue
			}
			r := yamldoc.Reader{File: "f.yaml", MaxMerges: 1000}
			walk(&r, root)
			for _, d := range r.Diags {
				if d.Line < 1 || d.Line > lines || d.Message == "" || d.Code == "" {
					t.Errorf("bad diagnostic %#v", d)
				}
			}
		}
	})
}

// walk reads every mapping under n as written (aliases are walked where
// they are defined).
func walk(r *yamldoc.Reader, n *yaml.Node) {
	if n.Kind == yaml.MappingNode {
		r.Pairs(n, "")
	}
	for _, c := range n.Content {
		walk(r, c)
	}
}
