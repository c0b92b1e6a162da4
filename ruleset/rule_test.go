package ruleset_test

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/detourhttp/detour"
	"github.com/detourhttp/detour/ruleset"
)

// TestDecodeRuleMessages: a rule read alone gives the same messages as the
// same rule in a rules file, with field paths relative to the rule.
func TestDecodeRuleMessages(t *testing.T) {
	tests := []struct {
		name  string
		json  string
		field string
	}{
		{"bad status", `{"from": "/a", "to": "/b", "status": 305}`, "status"},
		{"unknown field", `{"from": "/a", "to": "/b", "stauts": 307}`, "stauts"},
		{"no offset", `{"from": "/a", "to": "/b", "window": {"end": "2026-12-01T04:00:00"}}`, "window.end"},
		{"missing from", `{"to": "/b"}`, "from"},
		{"missing to", `{"from": "/a"}`, "to"},
		{"bad method", `{"from": "/a", "to": "/b", "methods": ["G T"]}`, "methods[0]"},
		{"bad id", `{"id": "-x", "from": "/a", "to": "/b"}`, "id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, got := ruleset.DecodeRule([]byte(tt.json), "request")
			if !got.HasErrors() {
				t.Fatalf("no error for %s", tt.json)
			}
			if got[0].Field != tt.field {
				t.Errorf("field %q, want %q (%v)", got[0].Field, tt.field, got)
			}
			// The same rule in a file: the same message, the field under rules[0].
			_, fileDiags := ruleset.Parse(strings.NewReader("rules:\n  - "+tt.json+"\n"), "detour.yaml")
			if !fileDiags.HasErrors() {
				t.Fatalf("file accepts %s", tt.json)
			}
			if fileDiags[0].Message != got[0].Message {
				t.Errorf("message %q, file says %q", got[0].Message, fileDiags[0].Message)
			}
			if want := "rules[0]." + tt.field; fileDiags[0].Field != want {
				t.Errorf("file field %q, want %q", fileDiags[0].Field, want)
			}
		})
	}
}

func TestDecodeRuleSyntax(t *testing.T) {
	tests := []struct{ name, in, code string }{
		{"not JSON", `{"from": `, "syntax"},
		{"empty", ``, "empty"},
		{"a list", `[1, 2]`, "syntax"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, ds := ruleset.DecodeRule([]byte(tt.in), "request")
			if !ds.HasErrors() || ds[0].Code != tt.code {
				t.Errorf("diagnostics %v, want code %q", ds, tt.code)
			}
		})
	}
}

func TestDecodeRuleIgnore(t *testing.T) {
	r, ds := ruleset.DecodeRule([]byte(`{"from": "/a", "to": "/b", "enabled": false, "version": 3}`), "request", "enabled", "version")
	if ds.HasErrors() {
		t.Fatal(ds)
	}
	want := detour.Rule{ID: detour.DeriveID("", "/a", nil), From: "/a", To: "/b", Status: 307, Query: detour.QueryPreserve}
	r.Source = detour.Source{}
	if !reflect.DeepEqual(r, want) {
		t.Errorf("got %+v, want %+v", r, want)
	}
}

// TestFieldsRoundTrip: Fields as JSON reads back as the same rule.
func TestFieldsRoundTrip(t *testing.T) {
	tests := []struct{ name, yaml string }{
		{"every field", `{id: m, host: "*.example.com", scheme: https, from: "/checkout/*", to: /maintenance, status: 302,
			query: drop, methods: [GET, POST], window: {start: "2026-12-01T02:00:00+01:00", end: "2026-12-01T04:00:00Z"},
			retry_after: window_end, headers: {X-Reason: maintenance, A: b}, priority: -3, case: insensitive,
			trailing_slash: either, absolute: true, max_age: 60}`},
		{"gone", `{from: /old, status: 410}`},
		{"defaults", `{from: /a, to: /b}`},
		{"retry after date", `{from: /a, to: /b, retry_after: "2026-12-01T04:00:00Z"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, ds := ruleset.DecodeRule([]byte(tt.yaml), "in")
			if ds.HasErrors() {
				t.Fatal(ds)
			}
			b, err := json.Marshal(ruleset.Fields(&r))
			if err != nil {
				t.Fatal(err)
			}
			back, ds := ruleset.DecodeRule(b, "json")
			if ds.HasErrors() {
				t.Fatalf("%s: %v", b, ds)
			}
			r.Source, back.Source = detour.Source{}, detour.Source{}
			if !reflect.DeepEqual(back, r) {
				t.Errorf("round trip through %s\n got %+v\nwant %+v", b, back, r)
			}
		})
	}
}

func TestHeaderFieldsJSON(t *testing.T) {
	in := ruleset.HeaderFields{{Name: "X-B", Value: "2"}, {Name: "A", Value: "1"}}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != `{"X-B":"2","A":"1"}` {
		t.Errorf("marshal %s", b)
	}
	var out ruleset.HeaderFields
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(out, in) {
		t.Errorf("round trip %v, want %v", out, in)
	}
}

// FuzzDecodeRule: any body the admin API receives gets diagnostics or a
// rule, never a panic; a rule it accepts reads back the same through
// Fields, as the store keeps it.
func FuzzDecodeRule(f *testing.F) {
	for _, s := range []string{
		`{"from": "/a", "to": "/b"}`,
		`{"id": "m", "host": "*.example.com", "from": "/x/:a/*", "to": "/y/:a/:splat", "status": 308, "methods": ["GET"]}`,
		`{"from": "~^/i/([0-9]+)$", "to": "/items/$1", "window": {"start": "2026-01-01T00:00:00+02:00"}, "retry_after": "window_end"}`,
		`{"from": "/g", "status": 410, "headers": {"X-A": "1"}}`,
		`{"from": "/a", "to": "/b", "enabled": false}`,
		`[1]`, `null`, `{"from": `, `{"from": "/a", "from": "/b"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r, ds := ruleset.DecodeRule(data, "request", "enabled")
		if ds.HasErrors() {
			for _, d := range ds.Errors() {
				if d.Message == "" {
					t.Fatalf("an error without a message: %+v", d)
				}
			}
			return
		}
		b, err := json.Marshal(ruleset.Fields(&r))
		if err != nil {
			t.Fatal(err)
		}
		back, ds := ruleset.DecodeRule(b, "store")
		if ds.HasErrors() {
			t.Fatalf("%s does not read back: %v", b, ds)
		}
		r.Source, back.Source = detour.Source{}, detour.Source{}
		if !reflect.DeepEqual(back, r) {
			t.Fatalf("round trip through %s\n got %+v\nwant %+v", b, back, r)
		}
	})
}
