package check_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/detourhttp/detour"
	"github.com/detourhttp/detour/check"
)

func ptr[T any](v T) *T { return &v }

func TestParse(t *testing.T) {
	cases := mustParse(t, `# the SPEC §8 example, and more
cases:
  - request: {method: POST, url: /original-resource}
    expect: {status: 307, location: /temporary-resource}
  - request: {url: /docs/a?x=1, headers: {Host: example.com}}
    expect: {status: 308, location: "https://docs.example.com/a?x=1"}
  - request: {method: POST, url: /original-resource, body: "data=example"}
    expect: {status: 307, final_status: 200, hops: 1}
  - name: gone has no Location
    request:
      url: http://shop.example.com:8080/gone
      headers:
        X-Count: 5
        Accept: text/html
    expect:
      status: 410
      location: null
      hops: 0
`)
	want := []check.Case{
		{Source: "check.yaml:3", Request: check.Request{Method: "POST", URL: "/original-resource"},
			Expect: check.Expect{Status: 307, Location: ptr("/temporary-resource")}},
		{Source: "check.yaml:5", Request: check.Request{URL: "/docs/a?x=1", Headers: []check.Header{{Name: "Host", Value: "example.com"}}},
			Expect: check.Expect{Status: 308, Location: ptr("https://docs.example.com/a?x=1")}},
		{Source: "check.yaml:7", Request: check.Request{Method: "POST", URL: "/original-resource", Body: "data=example"},
			Expect: check.Expect{Status: 307, FinalStatus: 200, Hops: ptr(1)}},
		{Name: "gone has no Location", Source: "check.yaml:9",
			Request: check.Request{URL: "http://shop.example.com:8080/gone",
				Headers: []check.Header{{Name: "X-Count", Value: "5"}, {Name: "Accept", Value: "text/html"}}},
			Expect: check.Expect{Status: 410, Location: ptr(""), Hops: ptr(0)}},
	}
	if len(cases) != len(want) {
		t.Fatalf("got %d cases, want %d", len(cases), len(want))
	}
	for i := range want {
		got, w := cases[i], want[i]
		if got.Name != w.Name || got.Source != w.Source || got.Request.Method != w.Request.Method ||
			got.Request.URL != w.Request.URL || got.Request.Body != w.Request.Body ||
			!equalHeaders(got.Request.Headers, w.Request.Headers) || got.Expect.String() != w.Expect.String() {
			t.Errorf("case %d:\n got %+v %s\nwant %+v %s", i, got, got.Expect, w, w.Expect)
		}
	}
	if got, want := cases[1].Title(), "GET /docs/a?x=1 [Host: example.com]"; got != want {
		t.Errorf("Title() = %q, want %q", got, want)
	}
	if got, want := cases[3].Title(), "gone has no Location"; got != want {
		t.Errorf("Title() = %q, want %q", got, want)
	}
}

func equalHeaders(a, b []check.Header) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		text string
		want []string // each a diagnostic, "file:line: field: message" (message may be cut short)
	}{
		{"syntax error", "cases:\n  - request: {url: /a\n    expect: {status: 301}\n",
			[]string{"check.yaml:2: syntax error: did not find expected ',' or '}'"}},
		{"question mark in a flow value over two lines", "cases:\n  - request: {url: /docs/a?x=1,\n      method: GET}\n    expect: {status: 301}\n",
			[]string{`check.yaml:2: syntax error: did not find expected ',' or '}' (a value holding "?" inside { } or [ ] must be quoted`}},
		{"bad indentation", "cases:\n  - request:\n      url: /a\n     expect: {status: 301}\n",
			[]string{"check.yaml:2: syntax error: did not find expected key"}}, // where the mapping began
		{"tab indentation", "cases:\n\t- request: {url: /a}\n",
			[]string{"check.yaml:2: syntax error: "}},
		{"empty file", "", []string{"check.yaml:1: the file holds no cases"}},
		{"not a mapping", "- request: {url: /a}\n", []string{"check.yaml:1: an expectations file is a mapping with cases:"}},
		{"no cases", "cases: []\n", []string{"check.yaml:1: cases: the list is empty"}},
		{"cases not a list", "cases: {url: /a}\n", []string{"check.yaml:1: cases: must be a list"}},
		{"unknown top-level field", "cases:\n  - request: {url: /a}\n    expect: {status: 301}\ncommon: 1\n",
			[]string{`check.yaml:4: common: unknown field "common"; known fields are cases`}},
		{"unknown case field", "cases:\n  - request: {url: /a}\n    expect: {status: 301}\n    note: x\n",
			[]string{`check.yaml:4: cases[0].note: unknown field "note"`}},
		{"unknown request field", "cases:\n  - request: {url: /a, mehtod: POST}\n    expect: {status: 301}\n",
			[]string{`check.yaml:2: cases[0].request.mehtod: unknown field "mehtod" (did you mean "method"?)`}},
		{"unknown expect field", "cases:\n  - request: {url: /a}\n    expect:\n      status: 301\n      statsu: 302\n",
			[]string{`check.yaml:5: cases[0].expect.statsu: unknown field "statsu" (did you mean "status"?)`}},
		{"finalstatus", "cases:\n  - request: {url: /a}\n    expect: {final-status: 200}\n",
			[]string{`check.yaml:3: cases[0].expect.final-status: unknown field "final-status" (did you mean "final_status"?)`}},
		{"missing request", "cases:\n  - expect: {status: 301}\n",
			[]string{"check.yaml:2: cases[0].request: missing"}},
		{"missing url", "cases:\n  - request: {method: GET}\n    expect: {status: 301}\n",
			[]string{"check.yaml:2: cases[0].request.url: missing"}},
		{"missing expect", "cases:\n  - request: {url: /a}\n",
			[]string{"check.yaml:2: cases[0].expect: missing"}},
		{"empty expect", "cases:\n  - request: {url: /a}\n    expect: {}\n",
			[]string{"check.yaml:3: cases[0].expect: is empty"}},
		{"status as text", "cases:\n  - request: {url: /a}\n    expect: {status: \"301\"}\n",
			[]string{`check.yaml:3: cases[0].expect.status: must be a whole number, not "301"`}},
		{"status out of range", "cases:\n  - request: {url: /a}\n    expect: {status: 3070}\n",
			[]string{"check.yaml:3: cases[0].expect.status: must be between 100 and 599, not 3070"}},
		{"negative hops", "cases:\n  - request: {url: /a}\n    expect: {hops: -1}\n",
			[]string{"check.yaml:3: cases[0].expect.hops: must be between 0 and 100, not -1"}},
		{"empty location", "cases:\n  - request: {url: /a}\n    expect: {location: \"\"}\n",
			[]string{"check.yaml:3: cases[0].expect.location: is empty; write location: null"}},
		{"location a number", "cases:\n  - request: {url: /a}\n    expect: {location: 5}\n",
			[]string{"check.yaml:3: cases[0].expect.location: must be a string, not 5"}},
		{"bad location", "cases:\n  - request: {url: /a}\n    expect: {location: \"http://exa mple.com/\"}\n",
			[]string{`check.yaml:3: cases[0].expect.location: "http://exa mple.com/" is not a URL reference`}},
		{"relative url", "cases:\n  - request: {url: old}\n    expect: {status: 301}\n",
			[]string{`check.yaml:2: cases[0].request.url: "old" is neither a path beginning with / nor an http or https URL`}},
		{"scheme-relative url", "cases:\n  - request: {url: //example.com/a}\n    expect: {status: 301}\n",
			[]string{`check.yaml:2: cases[0].request.url: "//example.com/a" begins with //`}},
		{"ftp url", "cases:\n  - request: {url: \"ftp://example.com/a\"}\n    expect: {status: 301}\n",
			[]string{`check.yaml:2: cases[0].request.url: "ftp://example.com/a" is neither`}},
		{"url with a space", "cases:\n  - request: {url: \"/a b\"}\n    expect: {status: 301}\n",
			[]string{"check.yaml:2: cases[0].request.url: a URL holds no spaces"}},
		{"bad method", "cases:\n  - request: {url: /a, method: \"GE T\"}\n    expect: {status: 301}\n",
			[]string{`check.yaml:2: cases[0].request.method: "GE T" is not a method name`}},
		{"headers a list", "cases:\n  - request: {url: /a, headers: [Host]}\n    expect: {status: 301}\n",
			[]string{"check.yaml:2: cases[0].request.headers: must be a mapping, not a list"}},
		{"bad host header", "cases:\n  - request: {url: /a, headers: {Host: \"a b\"}}\n    expect: {status: 301}\n",
			[]string{`check.yaml:2: cases[0].request.headers.Host: "a b" is not a host`}},
		{"content-length header", "cases:\n  - request: {url: /a, headers: {Content-Length: 5}}\n    expect: {status: 301}\n",
			[]string{"check.yaml:2: cases[0].request.headers.Content-Length: Content-Length is set by the client"}},
		{"duplicate field", "cases:\n  - request: {url: /a}\n    expect: {status: 301}\n    expect: {status: 302}\n",
			[]string{`check.yaml:4: cases[0].expect: field "expect" is given twice (first at line 3)`}},
		{"second document", "cases:\n  - request: {url: /a}\n    expect: {status: 301}\n---\ncases: []\n",
			[]string{"check.yaml:4: an expectations file holds one YAML document"}},
		{"every problem reported", "cases:\n  - request: {url: /a}\n    expect: {status: 1}\n  - request: {url: b}\n    expect: {hops: x}\n",
			[]string{
				"check.yaml:3: cases[0].expect.status: must be between 100 and 599",
				`check.yaml:4: cases[1].request.url: "b" is neither`,
				`check.yaml:5: cases[1].expect.hops: must be a whole number, not "x"`,
			}},
		{"merge keys bring fields, and their problems", "x: &h {Host: a.example}\ncases:\n  - request: {url: /a, headers: {<<: *h, Bogus Name: 1}}\n    expect: {status: 301}\n",
			[]string{`check.yaml:1: x: unknown field "x"`, `check.yaml:3: cases[0].request.headers.Bogus Name: "Bogus Name" is not a header name`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cases, err := check.Parse(strings.NewReader(tt.text), "check.yaml")
			if err == nil {
				t.Fatalf("no error; cases %+v", cases)
			}
			var ds detour.Diagnostics
			if !errors.As(err, &ds) {
				t.Fatalf("error %v (%T) is not a detour.Diagnostics", err, err)
			}
			if len(ds) != len(tt.want) {
				t.Fatalf("got %d diagnostics, want %d:\n%v", len(ds), len(tt.want), err)
			}
			for i, w := range tt.want {
				if got := ds[i].String(); !strings.HasPrefix(got, w) {
					t.Errorf("diagnostic %d:\n got %s\nwant %s…", i, got, w)
				}
				if ds[i].Line == 0 || ds[i].File != "check.yaml" {
					t.Errorf("diagnostic %d names no file:line: %+v", i, ds[i])
				}
			}
		})
	}
}

func TestParseMergeKeysWork(t *testing.T) {
	// A merge key may bring shared headers into a case, so an anchor may
	// sit in an earlier case.
	cases := mustParse(t, `cases:
  - request: {url: /a, headers: &shop {Host: shop.example.com}}
    expect: {status: 307}
  - request: {url: /b, headers: {<<: *shop, Accept: text/html}}
    expect: {status: 307}
`)
	want := []check.Header{{Name: "Accept", Value: "text/html"}, {Name: "Host", Value: "shop.example.com"}}
	if got := cases[1].Request.Headers; !equalHeaders(got, want) {
		t.Errorf("headers %v, want %v", got, want)
	}
}

func TestLoad(t *testing.T) {
	t.Run("missing file", func(t *testing.T) {
		_, err := check.Load(filepath.Join(t.TempDir(), "nope.yaml"))
		var ds detour.Diagnostics
		if err == nil || errors.As(err, &ds) || !errors.Is(err, os.ErrNotExist) {
			t.Errorf("Load of a missing file: %v; want an os.ErrNotExist that is not a Diagnostics", err)
		}
	})
	t.Run("testdata files parse", func(t *testing.T) {
		files, _ := filepath.Glob("testdata/*.yaml")
		if len(files) == 0 {
			t.Fatal("no testdata/*.yaml")
		}
		for _, f := range files {
			cases, err := check.Load(f)
			if err != nil {
				t.Errorf("%s: %v", f, err)
				continue
			}
			if !strings.HasPrefix(cases[0].Source, f+":") {
				t.Errorf("%s: source %q does not name the file", f, cases[0].Source)
			}
		}
	})
}

func TestParseMergeBomb(t *testing.T) {
	// Each case's headers merge the previous case's twice: expanded
	// naively, the last would visit 2^40 mappings.
	var b strings.Builder
	b.WriteString("cases:\n  - request: {url: /a, headers: &h0 {X-A: a}}\n    expect: {status: 301}\n")
	for i := 1; i <= 40; i++ {
		fmt.Fprintf(&b, "  - request: {url: /a, headers: &h%d {<<: [*h%d, *h%d]}}\n    expect: {status: 301}\n", i, i-1, i-1)
	}
	_, err := check.Parse(strings.NewReader(b.String()), "check.yaml")
	if err == nil || !strings.Contains(err.Error(), "merge keys expand past") {
		t.Errorf("error %v, want the merge cap", err)
	}
}
