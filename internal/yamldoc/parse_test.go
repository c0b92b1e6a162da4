package yamldoc_test

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/detourhttp/detour/internal/yamldoc"
)

func TestParse(t *testing.T) {
	rules := yamldoc.Options{Noun: "a rules file"}
	expect := yamldoc.Options{Noun: "an expectations file", Prefix: "syntax error: "}
	tests := []struct {
		name     string
		data     string
		opts     yamldoc.Options
		wantLine int // 0: no error
		wantMsg  string
		wantRoot string // the root's tag, when parsed
	}{
		{name: "empty", data: "", opts: rules},
		{name: "comment only", data: "# nothing\n", opts: rules},
		{name: "mapping", data: "a: 1\n", opts: rules, wantRoot: "!!map"},
		{name: "explicit document", data: "---\n- a\n...\n", opts: rules, wantRoot: "!!seq"},
		{name: "second document", data: "a: 1\n---\nb: 2\n", opts: rules, wantLine: 2,
			wantMsg: "a rules file holds one YAML document; a second one begins here"},
		{name: "second document named", data: "a: 1\n---\nb: 2\n", opts: expect, wantLine: 2,
			wantMsg: "an expectations file holds one YAML document; a second one begins here"},
		{name: "syntax error in second document", data: "a: 1\n---\nb: [\n", opts: rules, wantLine: 4,
			wantMsg: "did not find expected node content"},
		{name: "scanner error keeps its line", data: "a: 1\nb: 'open\n", opts: rules, wantLine: 2,
			wantMsg: "found unexpected end of stream"},
		{name: "scanner error prefixed", data: "a: 1\nb: 'open\n", opts: expect, wantLine: 2,
			wantMsg: "syntax error: found unexpected end of stream"},
		{name: "parser error counted from one in a rules file", data: "a: 1\nb: {c: 1\n", opts: rules, wantLine: 2,
			wantMsg: "did not find expected ',' or '}'"},
		{name: "parser error counted from one", data: "a: 1\nb: {c: 1\n", opts: expect, wantLine: 2,
			wantMsg: "syntax error: did not find expected ',' or '}'"},
		{name: "question mark in flow", data: "a: {url: /a?x=1, b: 2}\n", opts: rules, wantRoot: "!!map"},
		{name: "question mark in a flow collection over two lines: hint", data: "a: {url: /a?x=1,\n  b: 2}\n", opts: expect, wantLine: 1,
			wantMsg: `syntax error: did not find expected ',' or '}' (a value holding "?" inside { } or [ ] must be quoted, as in "/a?x=1")`},
		{name: "question mark in a flow collection over two lines: hint in a rules file", data: "a: {url: /a?x=1,\n  b: 2}\n", opts: rules, wantLine: 1,
			wantMsg: `did not find expected ',' or '}' (a value holding "?" inside { } or [ ] must be quoted, as in "/a?x=1")`},
		{name: "bad byte line found", data: "a: 1\nb: 2\nc: \x01\n", opts: rules, wantLine: 3,
			wantMsg: "control characters are not allowed"},
		{name: "bad byte line found in an expectations file", data: "a: 1\nb: 2\nc: \x01\n", opts: expect, wantLine: 3,
			wantMsg: "syntax error: control characters are not allowed"},
		{name: "invalid UTF-8 line found", data: "a: 1\r\nb: \xc3\n", opts: rules, wantLine: 2,
			wantMsg: "invalid trailing UTF-8 octet"},
		{name: "unknown anchor line found", data: "a: 1\nb: 2\nc: *nope\n", opts: rules, wantLine: 3,
			wantMsg: "unknown anchor 'nope' referenced"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root, err := yamldoc.Parse([]byte(tt.data), tt.opts)
			if tt.wantLine == 0 {
				if err != nil {
					t.Fatalf("got error %v, want none", err)
				}
				got := ""
				if root != nil {
					got = root.ShortTag()
				}
				if got != tt.wantRoot {
					t.Errorf("got root %q, want %q", got, tt.wantRoot)
				}
				return
			}
			if err == nil {
				t.Fatalf("got no error, want line %d: %s", tt.wantLine, tt.wantMsg)
			}
			if root != nil {
				t.Errorf("got a root with an error")
			}
			if err.Line != tt.wantLine || err.Msg != tt.wantMsg {
				t.Errorf("got line %d: %q\nwant line %d: %q", err.Line, err.Msg, tt.wantLine, tt.wantMsg)
			}
		})
	}
}

// TestFlowQuestionMark: a plain scalar holding "?" inside { } or [ ] is
// valid YAML that go-yaml refuses (go-yaml/yaml#905); Parse reads it as
// the string it is, on every line it occurs, and leaves all else alone.
func TestFlowQuestionMark(t *testing.T) {
	tests := []struct {
		name string
		data string
		want any
	}{
		{"SPEC §8 example", "cases:\n  - request: {url: /docs/a?x=1, headers: {Host: example.com}}\n" +
			"    expect: {status: 308, location: \"https://docs.example.com/a?x=1\"}\n",
			map[string]any{"cases": []any{map[string]any{
				"request": map[string]any{"url": "/docs/a?x=1", "headers": map[string]any{"Host": "example.com"}},
				"expect":  map[string]any{"status": 308, "location": "https://docs.example.com/a?x=1"}}}}},
		{"several lines", "- {url: /a?x=1}\n- {url: /b?y=2, status: 301}\n- [c?d, e, 'f?g']\n",
			[]any{map[string]any{"url": "/a?x=1"}, map[string]any{"url": "/b?y=2", "status": 301}, []any{"c?d", "e", "f?g"}}},
		{"absolute URL with a colon", "a: {url: https://x.test/a?b=c:d, n: 1}\n",
			map[string]any{"a": map[string]any{"url": "https://x.test/a?b=c:d", "n": 1}}},
		{"question mark last", "a: {q: x?}\n", map[string]any{"a": map[string]any{"q": "x?"}}},
		{"key with a question mark", "a: {k?: v}\n", map[string]any{"a": map[string]any{"k?": "v"}}},
		{"quotes and backslashes kept", `a: {u: /a?b="c"\d}` + "\n", map[string]any{"a": map[string]any{"u": `/a?b="c"\d`}}},
		{"comment after the collection", "a: {u: /a?b} # note\n", map[string]any{"a": map[string]any{"u": "/a?b"}}},
		{"plain value with spaces", "a: [x y?z , w]\n", map[string]any{"a": []any{"x y?z", "w"}}},
		{"block values untouched", "a: /a?b\nb: {c: 1}\n", map[string]any{"a": "/a?b", "b": map[string]any{"c": 1}}},
		{"a block scalar's text untouched", "a: |\n  {u: /a?b}\nb: {u: /c?d}\n",
			map[string]any{"a": "{u: /a?b}\n", "b": map[string]any{"u": "/c?d"}}},
		{"a block scalar after such a line untouched", "a: {u: /c?d}\nb: |\n  x: {u: /a?b}\n  - [e?f]\nc: [g?h]\n",
			map[string]any{"a": map[string]any{"u": "/c?d"}, "b": "x: {u: /a?b}\n- [e?f]\n", "c": []any{"g?h"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root, perr := yamldoc.Parse([]byte(tt.data), yamldoc.Options{})
			if perr != nil {
				t.Fatalf("Parse: %v", perr)
			}
			var got any
			if err := root.Decode(&got); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %#v\nwant %#v", got, tt.want)
			}
		})
	}
}

// TestFlowQuestionMarkManyLines: thousands of such lines are read in one
// pass (they are all quoted at once, then checked), not one parse per line.
func TestFlowQuestionMarkManyLines(t *testing.T) {
	var b strings.Builder
	b.WriteString("rules:\n")
	const n = 5000
	for i := range n {
		fmt.Fprintf(&b, "  - {from: /old/%d?id=1, to: /new/%d}\n", i, i)
	}
	root, perr := yamldoc.Parse([]byte(b.String()), yamldoc.Options{})
	if perr != nil {
		t.Fatalf("Parse: %v", perr)
	}
	var got struct {
		Rules []struct{ From, To string }
	}
	if err := root.Decode(&got); err != nil {
		t.Fatal(err)
	}
	if len(got.Rules) != n || got.Rules[n-1].From != "/old/4999?id=1" {
		t.Fatalf("got %d rules, the last %+v", len(got.Rules), got.Rules[len(got.Rules)-1])
	}
}

func TestCheckAliases(t *testing.T) {
	tests := []struct {
		name     string
		data     string
		limit    int
		wantLine int // 0: no error
		wantMsg  string
	}{
		{name: "no aliases", data: "a: [1, 2, 3]\n", limit: 0},
		{name: "within the cap", data: "a: &x [1, 2]\nb: *x\n", limit: 3},
		{name: "over the cap", data: "a: &x [1, 2]\nb: *x\nc: *x\n", limit: 3, wantLine: 3,
			wantMsg: "YAML aliases expand the file by more than 3 nodes (the cap); the last of the largest is *x"},
		{name: "billion laughs", data: "a: &a [x, x, x, x]\nb: &b [*a, *a, *a, *a]\nc: &c [*b, *b, *b, *b]\nd: [*c, *c, *c, *c]\n",
			limit: 100, wantLine: 4,
			wantMsg: "YAML aliases expand the file by more than 100 nodes (the cap); the last of the largest is *c"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root, perr := yamldoc.Parse([]byte(tt.data), yamldoc.Options{})
			if perr != nil {
				t.Fatal(perr)
			}
			err := yamldoc.CheckAliases(root, tt.limit)
			switch {
			case tt.wantLine == 0 && err != nil:
				t.Fatalf("got %v, want no error", err)
			case tt.wantLine == 0:
			case err == nil:
				t.Fatalf("got no error, want line %d", tt.wantLine)
			case err.Line != tt.wantLine || err.Msg != tt.wantMsg:
				t.Errorf("got line %d: %q\nwant line %d: %q", err.Line, err.Msg, tt.wantLine, tt.wantMsg)
			}
		})
	}
}
