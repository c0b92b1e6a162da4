package yamldoc_test

import (
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/detourhttp/detour/internal/yamldoc"
)

// mustParse parses data as one document with a root.
func mustParse(tb testing.TB, data string) *yaml.Node {
	tb.Helper()
	root, err := yamldoc.Parse([]byte(data), yamldoc.Options{})
	if err != nil || root == nil {
		tb.Fatalf("parse %q: root %v, error %v", data, root, err)
	}
	return root
}

// diags renders r's findings one a line as "line field: message (code)".
func diags(r *yamldoc.Reader) string {
	var b strings.Builder
	for _, d := range r.Diags {
		b.WriteString(d.String() + " (" + d.Code + ")\n")
	}
	return b.String()
}

// names renders the names of ps, with the line of each value.
func names(ps []yamldoc.Pair) string {
	var b strings.Builder
	for _, p := range ps {
		b.WriteString(p.Name + "=" + yamldoc.Deref(p.Val).Value + " ")
	}
	return strings.TrimSpace(b.String())
}

func TestPairs(t *testing.T) {
	tests := []struct {
		name      string
		reader    yamldoc.Reader
		data      string
		wantPairs string
		wantDiags string
	}{
		{name: "file order", data: "b: 1\na: 2\n", wantPairs: "b=1 a=2"},
		{name: "duplicate key", data: "a: 1\nb: 2\na: 3\n", wantPairs: "a=1 b=2",
			wantDiags: "f.yaml:3: a: field \"a\" is given twice (first at line 1) (duplicate-field)\n"},
		{name: "duplicate key with its own code", reader: yamldoc.Reader{DuplicateCode: "invalid"}, data: "a: 1\na: 3\n", wantPairs: "a=1",
			wantDiags: "f.yaml:2: a: field \"a\" is given twice (first at line 1) (invalid)\n"},
		{name: "key not a word", data: "[a]: 1\nb: 2\n", wantPairs: "b=2",
			wantDiags: "f.yaml:1: a field name must be a plain word, not a list (syntax)\n"},
		{name: "merge key written entry wins", data: "base: &b {a: 1, c: 3}\nm: {<<: *b, a: 2}\n", wantPairs: "a=2 c=3"},
		{name: "merge list earlier wins", data: "x: &x {a: 1}\ny: &y {a: 2, b: 2}\nm: {<<: [*x, *y]}\n", wantPairs: "a=1 b=2"},
		{name: "merge of a scalar", data: "m: {<<: 5, a: 1}\n", wantPairs: "a=1",
			wantDiags: "f.yaml:1: << takes a mapping or a list of mappings (syntax)\n"},
		{name: "merge list of a scalar", data: "m: {<<: [5], a: 1}\n", wantPairs: "a=1",
			wantDiags: "f.yaml:1: << takes a mapping or a list of mappings (syntax)\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := mustParse(t, tt.data)
			r := tt.reader
			r.File = "f.yaml"
			// The mapping under test is the last value of the root.
			n := root
			if v := root.Content[len(root.Content)-1]; yamldoc.Deref(v).Kind == yaml.MappingNode {
				n = v
			}
			if gotPairs := names(r.Pairs(n, "")); gotPairs != tt.wantPairs {
				t.Errorf("got pairs %q, want %q", gotPairs, tt.wantPairs)
			}
			if got := diags(&r); got != tt.wantDiags {
				t.Errorf("got diagnostics\n%s\nwant\n%s", got, tt.wantDiags)
			}
		})
	}
}

func TestMergeCap(t *testing.T) {
	// Merges of merges: each level brings the one below twice.
	data := "l0: &l0 {a: 1}\nl1: &l1 {<<: [*l0, *l0]}\nl2: &l2 {<<: [*l1, *l1]}\nl3: &l3 {<<: [*l2, *l2]}\nm: {<<: [*l3, *l3]}\n"
	tests := []struct {
		name      string
		max       int
		wantDiags string
	}{
		{name: "no cap", max: 0, wantDiags: ""},
		{name: "wide enough", max: 100, wantDiags: ""},
		{name: "capped", max: 5, wantDiags: "f.yaml:3: m: YAML merge keys expand past 5 mappings (syntax)\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := mustParse(t, data)
			r := yamldoc.Reader{File: "f.yaml", MaxMerges: tt.max}
			r.Pairs(root.Content[len(root.Content)-1], "m")
			if got := diags(&r); got != tt.wantDiags {
				t.Errorf("got diagnostics\n%s\nwant\n%s", got, tt.wantDiags)
			}
		})
	}
}

func TestMapping(t *testing.T) {
	tests := []struct {
		name      string
		data      string
		wantOK    bool
		wantDiags string
	}{
		{name: "mapping", data: "v: {a: 1}\n", wantOK: true},
		{name: "through an alias", data: "x: &x {a: 1}\nv: *x\n", wantOK: true},
		{name: "list", data: "v: [1]\n", wantDiags: "f.yaml:1: req: must be a mapping, not a list (syntax)\n"},
		{name: "null", data: "v:\n", wantDiags: "f.yaml:1: req: must be a mapping, not a value (syntax)\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := mustParse(t, tt.data)
			r := yamldoc.Reader{File: "f.yaml"}
			_, ok := r.Mapping(root.Content[len(root.Content)-1], "req")
			if ok != tt.wantOK {
				t.Errorf("got ok %v, want %v", ok, tt.wantOK)
			}
			if got := diags(&r); got != tt.wantDiags {
				t.Errorf("got diagnostics\n%s\nwant\n%s", got, tt.wantDiags)
			}
		})
	}
}

func TestUnknown(t *testing.T) {
	known := []string{"from", "to", "status", "url"}
	tests := []struct {
		name   string
		reader yamldoc.Reader
		field  string
		want   string
	}{
		{name: "suggestion", field: "form", want: `unknown field "form" (did you mean "from"?)`},
		{name: "suggestion ignores case", field: "Status", want: `unknown field "Status" (did you mean "status"?)`},
		{name: "nothing near", field: "colour", want: `unknown field "colour"`},
		{name: "too short to guess", field: "u", want: `unknown field "u"`},
		{name: "too short but loose", reader: yamldoc.Reader{LooseSuggestions: true}, field: "u", want: `unknown field "u" (did you mean "to"?)`},
		{name: "long name", field: strings.Repeat("x", 100), want: `unknown field "` + strings.Repeat("x", 100) + `"`},
		{name: "listing known", reader: yamldoc.Reader{ListKnown: true}, field: "colour", want: `unknown field "colour"; known fields are from, to, status, url`},
		{name: "listing known but near", reader: yamldoc.Reader{ListKnown: true}, field: "stauts", want: `unknown field "stauts" (did you mean "status"?)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := mustParse(t, "rule:\n  "+tt.field+": 1\n")
			r := tt.reader
			r.File = "f.yaml"
			ps := r.Pairs(root.Content[1], "rule")
			r.Unknown(ps[0], "rule", known)
			if len(r.Diags) != 1 {
				t.Fatalf("got %d diagnostics, want 1: %v", len(r.Diags), r.Diags)
			}
			d := r.Diags[0]
			if d.Message != tt.want || d.Code != "unknown-field" || d.Line != 2 || d.Field != "rule."+tt.field {
				t.Errorf("got %d %s %s: %q, want 2 rule.%s unknown-field: %q", d.Line, d.Field, d.Code, d.Message, tt.field, tt.want)
			}
		})
	}
}

func TestScalars(t *testing.T) {
	type read func(r *yamldoc.Reader, v *yaml.Node) (any, bool)
	value := func(r *yamldoc.Reader, v *yaml.Node) (any, bool) { return r.Value(v, "f") }
	number := func(r *yamldoc.Reader, v *yaml.Node) (any, bool) { return r.Number(v, "f", 1, 10) }
	text := func(r *yamldoc.Reader, v *yaml.Node) (any, bool) { return r.Text(v, "f") }
	str := func(r *yamldoc.Reader, v *yaml.Node) (any, bool) { return r.Str(v, "f") }
	integer := func(r *yamldoc.Reader, v *yaml.Node) (any, bool) { return r.Int(v, "f", 1, 10) }
	tests := []struct {
		name    string
		read    read
		yaml    string
		want    any
		wantErr string // the message; "" when ok
	}{
		{name: "value string", read: value, yaml: "abc", want: "abc"},
		{name: "value number as written", read: value, yaml: "0x10", want: "0x10"},
		{name: "value null", read: value, yaml: "~", want: ""},
		{name: "value list", read: value, yaml: "[1]", want: "", wantErr: "must be a single value, not a list"},
		{name: "number", read: number, yaml: "7", want: 7},
		{name: "number quoted", read: number, yaml: `"7"`, want: 7},
		{name: "number not whole", read: number, yaml: "7.5", want: 0, wantErr: `must be a whole number, got "7.5"`},
		{name: "number out of range", read: number, yaml: "11", want: 0, wantErr: "must be between 1 and 10, got 11"},
		{name: "number long text clipped", read: number, yaml: strings.Repeat("é", 50), want: 0,
			wantErr: `must be a whole number, got "` + strings.Repeat("é", 40) + `…"`},
		{name: "text number", read: text, yaml: "12", want: "12"},
		{name: "text null", read: text, yaml: "null", want: "", wantErr: "must be a text value, not null"},
		{name: "text mapping", read: text, yaml: "{a: 1}", want: "", wantErr: "must be a text value, not a mapping"},
		{name: "str", read: str, yaml: "'12'", want: "12"},
		{name: "str number", read: str, yaml: "12", want: "", wantErr: "must be a string, not 12"},
		{name: "str list", read: str, yaml: "[a]", want: "", wantErr: "must be a string, not a list"},
		{name: "int", read: integer, yaml: "3", want: 3},
		{name: "int quoted", read: integer, yaml: `"3"`, want: 0, wantErr: `must be a whole number, not "3"`},
		{name: "int out of range", read: integer, yaml: "0", want: 0, wantErr: "must be between 1 and 10, not 0"},
		{name: "int hex", read: integer, yaml: "0x3", want: 0, wantErr: "must be between 1 and 10, not 0x3"},
		{name: "int through alias", read: integer, yaml: "*n", want: 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := mustParse(t, "n: &n 5\nv: "+tt.yaml+"\n")
			r := yamldoc.Reader{File: "f.yaml"}
			got, ok := tt.read(&r, root.Content[3])
			if got != tt.want || ok != (tt.wantErr == "") {
				t.Errorf("got %#v, %v; want %#v, %v", got, ok, tt.want, tt.wantErr == "")
			}
			gotErr := ""
			if len(r.Diags) > 0 {
				d := r.Diags[0]
				gotErr = d.Message
				if d.Line != 2 || d.Field != "f" || d.Code != "invalid" {
					t.Errorf("got %d %s %s, want 2 f invalid", d.Line, d.Field, d.Code)
				}
			}
			if gotErr != tt.wantErr || len(r.Diags) > 1 {
				t.Errorf("got error %q (of %d), want %q", gotErr, len(r.Diags), tt.wantErr)
			}
		})
	}
}

func TestNodeNames(t *testing.T) {
	root := mustParse(t, "m: {a: 1}\nl: [1]\ns: 'x'\nn: ~\ni: 3\n")
	tests := []struct {
		name         string
		node         *yaml.Node
		wantKind     string
		wantDescribe string
	}{
		{name: "mapping", node: root.Content[1], wantKind: "mapping", wantDescribe: "a mapping"},
		{name: "list", node: root.Content[3], wantKind: "list", wantDescribe: "a list"},
		{name: "string", node: root.Content[5], wantKind: "value", wantDescribe: `"x"`},
		{name: "null", node: root.Content[7], wantKind: "value", wantDescribe: "null"},
		{name: "integer", node: root.Content[9], wantKind: "value", wantDescribe: "3"},
		{name: "document", node: &yaml.Node{Kind: yaml.DocumentNode}, wantKind: "node", wantDescribe: "a node"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := yamldoc.KindName(tt.node); got != tt.wantKind {
				t.Errorf("KindName: got %q, want %q", got, tt.wantKind)
			}
			if got := yamldoc.Describe(tt.node); got != tt.wantDescribe {
				t.Errorf("Describe: got %q, want %q", got, tt.wantDescribe)
			}
		})
	}
}

func TestPaths(t *testing.T) {
	tests := []struct{ name, got, want string }{
		{name: "join top", got: yamldoc.Join("", "rules"), want: "rules"},
		{name: "join nested", got: yamldoc.Join("rules[3]", "to"), want: "rules[3].to"},
		{name: "index", got: yamldoc.Index("rules", 3), want: "rules[3]"},
		{name: "clip short", got: yamldoc.Clip("abc"), want: "abc"},
		{name: "clip long", got: yamldoc.Clip(strings.Repeat("a", 81)), want: strings.Repeat("a", 80) + "…"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != tt.want {
				t.Errorf("got %q, want %q", tt.got, tt.want)
			}
		})
	}
}
