package match_test

import (
	"slices"
	"testing"
	"time"

	"github.com/detourhttp/detour"
	"github.com/detourhttp/detour/match"
)

func TestHeaders(t *testing.T) {
	end := now.Add(90 * time.Second)
	tests := []struct {
		name string
		edit func(*detour.Rule)
		at   time.Time
		want []string // "Name: value"
	}{
		{"307 no-store", nil, now, []string{"Cache-Control: no-store"}},
		{"302 no-store", func(r *detour.Rule) { r.Status = 302 }, now, []string{"Cache-Control: no-store"}},
		{"303 no-store", func(r *detour.Rule) { r.Status = 303 }, now, []string{"Cache-Control: no-store"}},
		{"301 default max-age", func(r *detour.Rule) { r.Status = 301 }, now, []string{"Cache-Control: max-age=3600"}},
		{"308 own max-age", func(r *detour.Rule) { r.Status = 308; r.MaxAge = 60 }, now, []string{"Cache-Control: max-age=60"}},
		{"max-age capped at window end", func(r *detour.Rule) { r.Status = 301; r.Window.End = end }, now, []string{"Cache-Control: max-age=90"}},
		{"cap in whole seconds", func(r *detour.Rule) { r.Status = 301; r.Window.End = now.Add(1500 * time.Millisecond) }, now, []string{"Cache-Control: max-age=1"}},
		{"cap not above max-age", func(r *detour.Rule) { r.Status = 301; r.MaxAge = 30; r.Window.End = end }, now, []string{"Cache-Control: max-age=30"}},
		{"cap never negative", func(r *detour.Rule) { r.Status = 301; r.Window.End = now.Add(-time.Hour) }, now, []string{"Cache-Control: max-age=0"}},
		{"zero now does not cap", func(r *detour.Rule) { r.Status = 301; r.Window.End = end }, time.Time{}, []string{"Cache-Control: max-age=3600"}},
		{"rule sets Cache-Control", func(r *detour.Rule) {
			r.Headers = []detour.Header{{Name: "cache-control", Value: "max-age=5"}}
		}, now, []string{"cache-control: max-age=5"}},
		{"410 no Cache-Control", func(r *detour.Rule) { r.Status = 410; r.To = "" }, now, nil},
		{"retry-after seconds", func(r *detour.Rule) { r.RetryAfter = "7200" }, now, []string{"Cache-Control: no-store", "Retry-After: 7200"}},
		{"retry-after date as given", func(r *detour.Rule) { r.RetryAfter = "Sunday, 06-Nov-94 08:49:37 GMT" }, now, []string{"Cache-Control: no-store", "Retry-After: Sunday, 06-Nov-94 08:49:37 GMT"}},
		{"retry-after window end", func(r *detour.Rule) {
			r.RetryAfter = "window_end"
			r.Window.End = time.Date(2026, 12, 1, 4, 0, 0, 0, time.FixedZone("CET", 3600))
		}, now, []string{"Cache-Control: no-store", "Retry-After: Tue, 01 Dec 2026 03:00:00 GMT"}},
		{"extra headers in order", func(r *detour.Rule) {
			r.Headers = []detour.Header{{Name: "X-B", Value: "2"}, {Name: "X-A", Value: "1"}, {Name: "X-B", Value: "3"}}
		}, now, []string{"Cache-Control: no-store", "X-B: 2", "X-A: 1", "X-B: 3"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rl := rule(1, "/a", "/b")
			if tt.edit != nil {
				tt.edit(&rl)
			}
			tb := mustCompile(t, match.Options{}, rl)
			var m match.Match
			req := get("", "/a")
			if !tb.Lookup(&req, time.Time{}, &m) {
				t.Fatal("no match")
			}
			var got []string
			m.Headers(tt.at, func(name, value string) { got = append(got, name+": "+value) })
			if !slices.Equal(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestRowHeaders(t *testing.T) {
	tb, diags := match.Compile(nil, []detour.Table{{
		ID: "t", File: "t.csv", Status: 301, MaxAge: 120,
		Rows: []detour.Row{{Line: 1, Path: "/p", To: "/x"}, {Line: 2, Path: "/t", To: "/x", Status: 307}, {Line: 3, Path: "/g", Status: 410}},
	}}, match.Options{})
	if tb == nil {
		t.Fatal(diags)
	}
	for path, want := range map[string][]string{
		"/p": {"Cache-Control: max-age=120"},
		"/t": {"Cache-Control: no-store"},
		"/g": nil,
	} {
		var m match.Match
		req := get("", path)
		if !tb.Lookup(&req, now, &m) {
			t.Fatalf("%s: no match", path)
		}
		var got []string
		m.Headers(now, func(name, value string) { got = append(got, name+": "+value) })
		if !slices.Equal(got, want) {
			t.Errorf("%s: got %q, want %q", path, got, want)
		}
	}
}

func TestTimeFormat(t *testing.T) {
	got := time.Date(1994, 11, 6, 8, 49, 37, 0, time.UTC).Format(match.TimeFormat)
	if want := "Sun, 06 Nov 1994 08:49:37 GMT"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}
