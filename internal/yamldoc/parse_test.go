package yamldoc_test

import (
	"testing"

	"github.com/detourhttp/detour/internal/yamldoc"
)

func TestParse(t *testing.T) {
	rules := yamldoc.Options{Noun: "a rules file"}
	expect := yamldoc.Options{Noun: "an expectations file", Prefix: "syntax error: ", FlowHint: true}
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
		{name: "question mark in flow hint", data: "a: {url: /a?x=1, b: 2}\n", opts: expect, wantLine: 1,
			wantMsg: `syntax error: did not find expected ',' or '}' (a value holding "?" inside { } or [ ] must be quoted, as in {url: "/a?x=1"})`},
		{name: "question mark in flow without hint", data: "a: {url: /a?x=1, b: 2}\n", opts: rules, wantLine: 1,
			wantMsg: "did not find expected ',' or '}'"},
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
