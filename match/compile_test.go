package match_test

import (
	"strings"
	"testing"
	"time"

	"github.com/detourhttp/detour"
	"github.com/detourhttp/detour/match"
)

// rule returns a valid rule from → to (307) placed at rules.yaml:line.
func rule(line int, from, to string, edit ...func(*detour.Rule)) detour.Rule {
	r := detour.Rule{
		ID:     "r" + strings.TrimPrefix(strings.ReplaceAll(from, "/", "-"), "-"),
		From:   from,
		To:     to,
		Status: 307,
		Source: detour.Source{File: "rules.yaml", Line: line, Seq: line},
	}
	for _, e := range edit {
		e(&r)
	}
	return r
}

// mustCompile compiles rules and fails the test on errors.
func mustCompile(tb testing.TB, opts match.Options, rules ...detour.Rule) *match.Table {
	tb.Helper()
	for i := range rules {
		if rules[i].Source.Line == 0 {
			rules[i].Source = detour.Source{File: "rules.yaml", Line: i + 1, Seq: i}
		}
		if rules[i].Status == 0 && rules[i].To != "" {
			rules[i].Status = 307
		}
	}
	t, diags := match.Compile(rules, nil, opts)
	if t == nil || diags.HasErrors() {
		tb.Fatalf("compile: %v", diags)
	}
	return t
}

func TestCompileErrors(t *testing.T) {
	date := time.Date(2026, 12, 1, 2, 0, 0, 0, time.UTC)
	tests := []struct {
		name  string
		rules []detour.Rule
		opts  match.Options
		field string
		code  string
		msg   string // a part of the message
	}{
		{"bad status", []detour.Rule{rule(3, "/a", "/b", func(r *detour.Rule) { r.Status = 200 })}, match.Options{}, "status", "invalid", "status 200"},
		{"410 with a target", []detour.Rule{rule(3, "/a", "/b", func(r *detour.Rule) { r.Status = 410 })}, match.Options{}, "to", "invalid", "410 rule has no target"},
		{"redirect without a target", []detour.Rule{rule(3, "/a", "")}, match.Options{}, "to", "invalid", "needs a target"},
		{"bad regex", []detour.Rule{rule(3, "~^/(a", "/b")}, match.Options{}, "from", "invalid", "bad regular expression"},
		{"empty regex", []detour.Rule{rule(3, "~", "/b")}, match.Options{}, "from", "invalid", "empty regular expression"},
		{"from without slash", []detour.Rule{rule(3, "a/b", "/b")}, match.Options{}, "from", "invalid", "must begin with /"},
		{"star in the middle", []detour.Rule{rule(3, "/a/*/b", "/b")}, match.Options{}, "from", "invalid", "* may only end"},
		{"named segment with a star", []detour.Rule{rule(3, "/a/:x*", "/b")}, match.Options{}, "from", "invalid", "cannot end in *"},
		{"part of a segment named", []detour.Rule{rule(3, "/a/:x-y", "/b")}, match.Options{}, "from", "invalid", "whole segment"},
		{"empty name", []detour.Rule{rule(3, "/a/:", "/b")}, match.Options{}, "from", "invalid", "whole segment"},
		{"splat is reserved", []detour.Rule{rule(3, "/a/:splat", "/b")}, match.Options{}, "from", "invalid", "reserved"},
		{"named twice", []detour.Rule{rule(3, "/a/:x/:x", "/b")}, match.Options{}, "from", "invalid", "twice"},
		{"string prefix after named", []detour.Rule{rule(3, "/a/:x/b*", "/b")}, match.Options{}, "from", "invalid", "only a final /*"},
		{"empty query condition", []detour.Rule{rule(3, "/a?", "/b")}, match.Options{}, "from", "invalid", "empty query condition"},
		{"query condition without name", []detour.Rule{rule(3, "/a?=1", "/b")}, match.Options{}, "from", "invalid", "no parameter name"},
		{"capture not defined", []detour.Rule{rule(3, "/a", "/b/:x")}, match.Options{}, "to", "invalid", "capture :x is not defined"},
		{"splat not defined", []detour.Rule{rule(3, "/a/:x", "/b/:splat")}, match.Options{}, "to", "invalid", "capture :splat is not defined"},
		{"regex group not defined", []detour.Rule{rule(3, "~^/a/([0-9]+)$", "/b/$2")}, match.Options{}, "to", "invalid", "capture $2 is not defined"},
		{"$0", []detour.Rule{rule(3, "~^/a$", "/b/$0")}, match.Options{}, "to", "invalid", "$0"},
		{"capture as host", []detour.Rule{rule(3, "/a/*", "https://:splat/x")}, match.Options{}, "to", "invalid", "off-site"},
		{"capture in host", []detour.Rule{rule(3, "/a/:h", "https://x.:h.com/")}, match.Options{}, "to", "invalid", "off-site"},
		{"regex group as host", []detour.Rule{rule(3, "~^/(.*)$", "http://$1/")}, match.Options{}, "to", "invalid", "off-site"},
		{"capture before the path", []detour.Rule{rule(3, "/a/*", ":splat/x")}, match.Options{}, "to", "invalid", "off-site"},
		{"placeholder host without host matcher", []detour.Rule{rule(3, "/a", "https://{host}/")}, match.Options{}, "to", "invalid", "need a rule with a host matcher"},
		{"placeholder path without host matcher", []detour.Rule{rule(3, "/a", "/x{path}")}, match.Options{}, "to", "invalid", "need a rule with a host matcher"},
		{"placeholder before the path", []detour.Rule{rule(3, "/a", "{path}", func(r *detour.Rule) { r.Host = "example.com" })}, match.Options{}, "to", "invalid", "off-site"},
		{"host placeholder extended", []detour.Rule{rule(3, "/a", "https://{host}.evil.example/", func(r *detour.Rule) { r.Host = "*.example.com" })}, match.Options{}, "to", "invalid", "off-site"},
		{"unknown placeholder", []detour.Rule{rule(3, "/a", "/b/{nope}", func(r *detour.Rule) { r.Host = "example.com" })}, match.Options{}, "to", "invalid", "unknown placeholder"},
		{"absolute without host", []detour.Rule{rule(3, "/a", "/b", func(r *detour.Rule) { r.Absolute = true })}, match.Options{}, "absolute", "invalid", "host matcher"},
		{"scheme-relative target", []detour.Rule{rule(3, "/a", "//evil.example/")}, match.Options{}, "to", "invalid", "may not begin with //"},
		{"backslash target", []detour.Rule{rule(3, "/a", "/\\evil.example/")}, match.Options{}, "to", "invalid", "may not begin with //"},
		{"ftp target", []detour.Rule{rule(3, "/a", "ftp://example.com/")}, match.Options{}, "to", "invalid", "not http or https"},
		{"relative path target", []detour.Rule{rule(3, "/a", "b/c")}, match.Options{}, "to", "invalid", "beginning with /"},
		{"user info", []detour.Rule{rule(3, "/a", "https://user@example.com/")}, match.Options{}, "to", "invalid", "user information"},
		{"CR LF in target", []detour.Rule{rule(3, "/a", "/b\r\nSet-Cookie: x=1")}, match.Options{}, "to", "invalid", "control character"},
		{"tab in target", []detour.Rule{rule(3, "/a", "/b\tc")}, match.Options{}, "to", "invalid", "control character"},
		{"NUL in from", []detour.Rule{rule(3, "/a\x00", "/b")}, match.Options{}, "from", "invalid", "control character"},
		{"control in header value", []detour.Rule{rule(3, "/a", "/b", func(r *detour.Rule) {
			r.Headers = []detour.Header{{Name: "X-Reason", Value: "a\r\nb"}}
		})}, match.Options{}, "headers.X-Reason", "invalid", "control character"},
		{"header name not a token", []detour.Rule{rule(3, "/a", "/b", func(r *detour.Rule) {
			r.Headers = []detour.Header{{Name: "X Reason", Value: "x"}}
		})}, match.Options{}, "headers.X Reason", "invalid", "not a token"},
		{"Location header", []detour.Rule{rule(3, "/a", "/b", func(r *detour.Rule) {
			r.Headers = []detour.Header{{Name: "location", Value: "/x"}}
		})}, match.Options{}, "headers.location", "invalid", "may not be set"},
		{"Transfer-Encoding header", []detour.Rule{rule(3, "/a", "/b", func(r *detour.Rule) {
			r.Headers = []detour.Header{{Name: "Transfer-Encoding", Value: "chunked"}}
		})}, match.Options{}, "headers.Transfer-Encoding", "invalid", "may not be set"},
		{"Connection header", []detour.Rule{rule(3, "/a", "/b", func(r *detour.Rule) {
			r.Headers = []detour.Header{{Name: "CONNECTION", Value: "close"}}
		})}, match.Options{}, "headers.CONNECTION", "invalid", "may not be set"},
		{"Upgrade header", []detour.Rule{rule(3, "/a", "/b", func(r *detour.Rule) {
			r.Headers = []detour.Header{{Name: "Upgrade", Value: "h2c"}}
		})}, match.Options{}, "headers.Upgrade", "invalid", "may not be set"},
		{"retry_after words", []detour.Rule{rule(3, "/a", "/b", func(r *detour.Rule) { r.RetryAfter = "soon" })}, match.Options{}, "retry_after", "invalid", "not seconds"},
		{"retry_after negative", []detour.Rule{rule(3, "/a", "/b", func(r *detour.Rule) { r.RetryAfter = "-5" })}, match.Options{}, "retry_after", "invalid", "not seconds"},
		{"retry_after window_end without end", []detour.Rule{rule(3, "/a", "/b", func(r *detour.Rule) {
			r.RetryAfter = "window_end"
			r.Window.Start = date
		})}, match.Options{}, "retry_after", "invalid", "needs a window with an end"},
		{"window end before start", []detour.Rule{rule(3, "/a", "/b", func(r *detour.Rule) {
			r.Window = detour.Window{Start: date, End: date.Add(-time.Hour)}
		})}, match.Options{}, "window", "invalid", "not after its start"},
		{"window end equals start", []detour.Rule{rule(3, "/a", "/b", func(r *detour.Rule) {
			r.Window = detour.Window{Start: date, End: date}
		})}, match.Options{}, "window", "invalid", "not after its start"},
		{"host with port", []detour.Rule{rule(3, "/a", "/b", func(r *detour.Rule) { r.Host = "example.com:8080" })}, match.Options{}, "host", "invalid", "no port"},
		{"wildcard in the middle", []detour.Rule{rule(3, "/a", "/b", func(r *detour.Rule) { r.Host = "a.*.com" })}, match.Options{}, "host", "invalid", "host"},
		{"bad host", []detour.Rule{rule(3, "/a", "/b", func(r *detour.Rule) { r.Host = "exa mple.com" })}, match.Options{}, "host", "invalid", "host"},
		{"bad scheme", []detour.Rule{rule(3, "/a", "/b", func(r *detour.Rule) { r.Scheme = "ftp" })}, match.Options{}, "scheme", "invalid", "not http or https"},
		{"lower-case method", []detour.Rule{rule(3, "/a", "/b", func(r *detour.Rule) { r.Methods = []string{"get"} })}, match.Options{}, "methods", "invalid", "upper-case token"},
		{"bad query mode", []detour.Rule{rule(3, "/a", "/b", func(r *detour.Rule) { r.Query = "keep" })}, match.Options{}, "query", "invalid", "not preserve"},
		{"negative max_age", []detour.Rule{rule(3, "/a", "/b", func(r *detour.Rule) { r.MaxAge = -1 })}, match.Options{}, "max_age", "invalid", "negative"},
		{"regex cap", []detour.Rule{rule(1, "~^/a", "/x"), rule(2, "~^/b", "/x"), rule(3, "~^/c", "/x")}, match.Options{MaxRegex: 2}, "from", "invalid", "more than 2 regex rules"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tb, diags := match.Compile(tt.rules, nil, tt.opts)
			if tb != nil {
				t.Fatalf("compiled; want an error")
			}
			errs := diags.Errors()
			if len(errs) == 0 {
				t.Fatalf("no errors in %v", diags)
			}
			d := errs[0]
			r := tt.rules[len(tt.rules)-1]
			if d.File != "rules.yaml" || d.Line != r.Source.Line || d.Rule != r.ID || d.Field != tt.field || d.Code != tt.code {
				t.Errorf("got %s:%d rule %q field %q code %q, want rules.yaml:%d rule %q field %q code %q",
					d.File, d.Line, d.Rule, d.Field, d.Code, r.Source.Line, r.ID, tt.field, tt.code)
			}
			if !strings.Contains(d.Message, tt.msg) {
				t.Errorf("message %q does not say %q", d.Message, tt.msg)
			}
		})
	}
}

func TestCompileAccepts(t *testing.T) {
	date := time.Date(2026, 12, 1, 2, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		rule detour.Rule
	}{
		{"host placeholder with a host matcher", rule(1, "/*", "https://{host}{path}", func(r *detour.Rule) { r.Host = "example.com" })},
		{"host placeholder with a port", rule(1, "/*", "https://{host}:8443/:splat", func(r *detour.Rule) { r.Host = "*.example.com" })},
		{"scheme and host placeholders", rule(1, "/a", "{scheme}://{host}/b?{query}", func(r *detour.Rule) { r.Host = "example.com" })},
		{"target port", rule(1, "/a", "https://example.com:8443/b")},
		{"410", rule(1, "/a", "", func(r *detour.Rule) { r.Status = 410 })},
		{"retry_after seconds", rule(1, "/a", "/b", func(r *detour.Rule) { r.RetryAfter = "7200" })},
		{"retry_after date", rule(1, "/a", "/b", func(r *detour.Rule) { r.RetryAfter = "Wed, 21 Oct 2026 07:28:00 GMT" })},
		{"retry_after window_end", rule(1, "/a", "/b", func(r *detour.Rule) { r.RetryAfter = "window_end"; r.Window.End = date })},
		{"custom header", rule(1, "/a", "/b", func(r *detour.Rule) { r.Headers = []detour.Header{{Name: "X-Reason", Value: "maintenance"}} })},
		{"named regex group", rule(1, `~^/u/(?P<id>[0-9]+)$`, "/users/:id")},
		{"query capture", rule(1, "/p.php?id=:id&lang=en&x", "/p/:id")},
		{"colon with digits in target", rule(1, "/a", "/b?t=10:30")},
		{"dollar without digit", rule(1, "/a", "/b$x")},
		{"rule without id", detour.Rule{From: "/a", To: "/b", Status: 307}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tb, diags := match.Compile([]detour.Rule{tt.rule}, nil, match.Options{})
			if tb == nil || len(diags) > 0 {
				t.Fatalf("got %v", diags)
			}
		})
	}
}

func TestCompileDuplicateID(t *testing.T) {
	a := rule(3, "/a", "/x")
	b := rule(9, "/b", "/y")
	b.ID = a.ID
	_, diags := match.Compile([]detour.Rule{a, b}, nil, match.Options{})
	errs := diags.Errors()
	if len(errs) != 1 {
		t.Fatalf("got %v", diags)
	}
	d := errs[0]
	if d.Line != 9 || d.Code != "duplicate-id" || d.Field != "id" || !strings.Contains(d.Message, "rules.yaml:3") {
		t.Errorf("got %+v", d)
	}
}

func TestCompileTies(t *testing.T) {
	day := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	base := func(line int, edit ...func(*detour.Rule)) detour.Rule {
		r := rule(line, "/a", "/x", edit...)
		r.ID = "r" + string(rune('0'+line))
		return r
	}
	tests := []struct {
		name string
		a, b detour.Rule
		tie  bool
	}{
		{"same from", base(1), base(2), true},
		{"different priority", base(1), base(2, func(r *detour.Rule) { r.Priority = 1 }), false},
		{"disjoint methods", base(1, func(r *detour.Rule) { r.Methods = []string{"GET"} }), base(2, func(r *detour.Rule) { r.Methods = []string{"POST"} }), false},
		{"GET and HEAD overlap", base(1, func(r *detour.Rule) { r.Methods = []string{"GET"} }), base(2, func(r *detour.Rule) { r.Methods = []string{"HEAD"} }), true},
		{"all methods and POST", base(1), base(2, func(r *detour.Rule) { r.Methods = []string{"POST"} }), true},
		{"disjoint windows", base(1, func(r *detour.Rule) { r.Window.End = day }), base(2, func(r *detour.Rule) { r.Window.Start = day }), false},
		{"overlapping windows", base(1, func(r *detour.Rule) { r.Window.End = day.Add(time.Hour) }), base(2, func(r *detour.Rule) { r.Window.Start = day }), true},
		{"different schemes", base(1, func(r *detour.Rule) { r.Scheme = "http" }), base(2, func(r *detour.Rule) { r.Scheme = "https" }), false},
		{"any scheme and http", base(1), base(2, func(r *detour.Rule) { r.Scheme = "http" }), true},
		{"different hosts", base(1, func(r *detour.Rule) { r.Host = "a.example" }), base(2, func(r *detour.Rule) { r.Host = "b.example" }), false},
		{"exact and wildcard host", base(1, func(r *detour.Rule) { r.Host = "example.com" }), base(2, func(r *detour.Rule) { r.Host = "*.example.com" }), false},
		{"different from", base(1), base(2, func(r *detour.Rule) { r.From = "/a/" }), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, diags := match.Compile([]detour.Rule{tt.a, tt.b}, nil, match.Options{})
			errs := diags.Errors()
			if !tt.tie {
				if len(errs) > 0 {
					t.Fatalf("got %v", errs)
				}
				return
			}
			if len(errs) != 1 {
				t.Fatalf("got %v, want one tie", diags)
			}
			d := errs[0]
			if d.Code != "tie" || d.Line != 2 || d.Rule != "r2" || !strings.Contains(d.Message, "rules.yaml:1") || !strings.Contains(d.Message, "rules.yaml:2") {
				t.Errorf("got %+v", d)
			}
		})
	}
}

func TestCompileTables(t *testing.T) {
	table := func(rows ...detour.Row) detour.Table {
		return detour.Table{ID: "table:legacy.csv", File: "legacy.csv", Source: detour.Source{File: "rules.yaml", Line: 7, Seq: 10}, Rows: rows}
	}
	t.Run("bad row target", func(t *testing.T) {
		_, diags := match.Compile(nil, []detour.Table{table(
			detour.Row{Line: 2, Path: "/a", To: "/b"},
			detour.Row{Line: 3, Path: "/c", To: "/d\nX-Evil: 1"},
		)}, match.Options{})
		errs := diags.Errors()
		if len(errs) != 1 {
			t.Fatalf("got %v", diags)
		}
		d := errs[0]
		if d.File != "legacy.csv" || d.Line != 3 || d.Field != "to" || d.Rule != "table:legacy.csv" || !strings.Contains(d.Message, `/c,/d`) {
			t.Errorf("got %+v", d)
		}
	})
	t.Run("row text cut short", func(t *testing.T) {
		_, diags := match.Compile(nil, []detour.Table{table(detour.Row{Line: 5, Path: "/" + strings.Repeat("x", 200), To: "ftp://x/"})}, match.Options{})
		d := diags.Errors()[0]
		if !strings.Contains(d.Message, "...") || len(d.Message) > 200 {
			t.Errorf("got %q", d.Message)
		}
	})
	t.Run("bad row status", func(t *testing.T) {
		_, diags := match.Compile(nil, []detour.Table{table(detour.Row{Line: 4, Path: "/a", To: "/b", Status: 304})}, match.Options{})
		if d := diags.Errors()[0]; d.Line != 4 || d.Field != "status" {
			t.Errorf("got %+v", d)
		}
	})
	t.Run("row path without slash", func(t *testing.T) {
		_, diags := match.Compile(nil, []detour.Table{table(detour.Row{Line: 4, Path: "a", To: "/b"})}, match.Options{})
		if d := diags.Errors()[0]; d.Line != 4 || d.Field != "from" {
			t.Errorf("got %+v", d)
		}
	})
	t.Run("many bad rows", func(t *testing.T) {
		var rows []detour.Row
		for i := range 500 {
			rows = append(rows, detour.Row{Line: i + 1, Path: "/a", To: "bad"})
		}
		_, diags := match.Compile(nil, []detour.Table{table(rows...)}, match.Options{})
		if n := len(diags); n != 101 || !strings.Contains(diags[100].Message, "400 more") {
			t.Errorf("got %d diagnostics, last %v", n, diags[n-1])
		}
	})
	t.Run("duplicate rows", func(t *testing.T) {
		_, diags := match.Compile(nil, []detour.Table{table(detour.Row{Line: 2, Path: "/a", To: "/b"}, detour.Row{Line: 9, Path: "/a", To: "/c"})}, match.Options{})
		errs := diags.Errors()
		if len(errs) != 1 || errs[0].Code != "tie" || errs[0].Line != 9 || !strings.Contains(errs[0].Message, "legacy.csv:2") {
			t.Errorf("got %v", diags)
		}
	})
	t.Run("rule shadows row", func(t *testing.T) {
		tb, diags := match.Compile([]detour.Rule{rule(1, "/a", "/rule")},
			[]detour.Table{table(detour.Row{Line: 2, Path: "/a", To: "/row"}, detour.Row{Line: 3, Path: "/b", To: "/row"})}, match.Options{})
		if tb == nil || len(diags) != 1 {
			t.Fatalf("got %v", diags)
		}
		d := diags[0]
		if d.Severity != detour.SeverityWarning || d.Code != "shadowed" || d.File != "legacy.csv" || d.Line != 2 || !strings.Contains(d.Message, "rules.yaml:1") {
			t.Errorf("got %+v", d)
		}
		var m match.Match
		tb.Lookup(&detour.Request{Method: "GET", Path: "/a"}, time.Time{}, &m)
		if m.Location() != "/rule" || m.Row != 0 {
			t.Errorf("got %q row %d", m.Location(), m.Row)
		}
	})
	t.Run("bad table status", func(t *testing.T) {
		tbl := table(detour.Row{Line: 2, Path: "/a", To: "/b"})
		tbl.Status = 200
		_, diags := match.Compile(nil, []detour.Table{tbl}, match.Options{})
		if d := diags.Errors()[0]; d.File != "rules.yaml" || d.Line != 7 || d.Field != "status" {
			t.Errorf("got %+v", d)
		}
	})
	t.Run("bad table query mode", func(t *testing.T) {
		tbl := table(detour.Row{Line: 2, Path: "/a", To: "/b"})
		tbl.Query = "keep"
		_, diags := match.Compile(nil, []detour.Table{tbl}, match.Options{})
		errs := diags.Errors()
		if len(errs) != 1 || errs[0].Line != 7 || errs[0].Field != "query" || !strings.Contains(errs[0].Message, "not preserve") {
			t.Errorf("got %v", diags)
		}
	})
	t.Run("table query mode", func(t *testing.T) {
		tbl := table(detour.Row{Line: 2, Path: "/a", To: "/b?t=1"})
		tbl.Query = detour.QueryDrop
		tb, diags := match.Compile(nil, []detour.Table{tbl}, match.Options{})
		if tb == nil {
			t.Fatalf("got %v", diags)
		}
		var m match.Match
		tb.Lookup(&detour.Request{Method: "GET", Path: "/a", Query: "r=2"}, time.Time{}, &m)
		if got, want := m.Location(), "/b?t=1"; got != want {
			t.Errorf("Location = %q, want %q", got, want)
		}
	})
}

// TestCompileNonASCIITargets: targets become ASCII at load.
func TestCompileNonASCIITargets(t *testing.T) {
	tests := []struct {
		name, to, want string
	}{
		{"IDN host and path", "https://Bücher.example/straße?q=ü#ä", "https://xn--bcher-kva.example/stra%C3%9Fe?q=%C3%BC#%C3%A4"},
		{"relative path", "/café", "/caf%C3%A9"},
		{"escapes kept", "/a%20b", "/a%20b"},
		{"lone percent", "/100%", "/100%25"},
		{"space", "/a b", "/a%20b"},
		{"quotes and brackets", `/a"<>|`, "/a%22%3C%3E%7C"},
		{"upper-case scheme", "HTTPS://Example.COM/A", "https://example.com/A"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tb := mustCompile(t, match.Options{}, rule(1, "/a", tt.to))
			var m match.Match
			if !tb.Lookup(&detour.Request{Method: "GET", Path: "/a"}, time.Time{}, &m) {
				t.Fatal("no match")
			}
			if got := m.Location(); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestTableAccessors(t *testing.T) {
	rules := []detour.Rule{rule(5, "/b", "/x"), rule(1, "/a", "/y")}
	tables := []detour.Table{{ID: "t", File: "t.csv", Rows: []detour.Row{{Line: 1, Path: "/c", To: "/z"}, {Line: 2, Path: "/d", To: "/z"}}}}
	tb, diags := match.Compile(rules, tables, match.Options{})
	if tb == nil {
		t.Fatal(diags)
	}
	if tb.Len() != 4 {
		t.Errorf("Len = %d, want 4", tb.Len())
	}
	rs := tb.Rules()
	if len(rs) != 2 || rs[0] != &rules[1] || rs[1] != &rules[0] {
		t.Errorf("Rules not in Seq order: %v", rs)
	}
	if ts := tb.Tables(); len(ts) != 1 || ts[0] != &tables[0] {
		t.Errorf("Tables = %v", ts)
	}
}

// TestRowTargetsAsRules: a row's target renders as the same target of an
// exact rule does (rows take a shortcut for targets that need no work).
func TestRowTargetsAsRules(t *testing.T) {
	targets := []string{
		"/new", "/new?a=1", "/new#f", "/new?a=1#f", "/new?#f", "/new?", "/a?b?c#d#e",
		"https://example.com", "https://example.com/x?y", "http://example.com:8080/x",
		"https://EXAMPLE.com/x", "https://bücher.example/", "/caf%C3%A9", "/a b", "/%zz",
	}
	for _, to := range targets {
		tb, diags := match.Compile([]detour.Rule{rule(1, "/rule", to)},
			[]detour.Table{{ID: "t", File: "t.csv", Rows: []detour.Row{{Line: 1, Path: "/row", To: to}}}}, match.Options{})
		if tb == nil {
			t.Fatalf("%s: %v", to, diags)
		}
		for _, q := range []string{"", "q=1"} {
			var m match.Match
			rq, wq := get("", "/rule?"+q), get("", "/row?"+q)
			tb.Lookup(&rq, now, &m)
			want := m.Location()
			tb.Lookup(&wq, now, &m)
			if got := m.Location(); got != want {
				t.Errorf("%s ?%s: row %q, rule %q", to, q, got, want)
			}
		}
	}
}
