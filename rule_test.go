package detour_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/detourhttp/detour"
)

func TestWindowActive(t *testing.T) {
	start := time.Date(2026, 12, 1, 2, 0, 0, 0, time.UTC)
	end := start.Add(2 * time.Hour)
	w := detour.Window{Start: start, End: end}
	tests := []struct {
		name string
		w    detour.Window
		now  time.Time
		want bool
	}{
		{name: "before start", w: w, now: start.Add(-time.Nanosecond), want: false},
		{name: "at start", w: w, now: start, want: true},
		{name: "inside", w: w, now: start.Add(time.Hour), want: true},
		{name: "at end is outside", w: w, now: end, want: false},
		{name: "open start", w: detour.Window{End: end}, now: start.Add(-1000 * time.Hour), want: true},
		{name: "open end", w: detour.Window{Start: start}, now: end.Add(1000 * time.Hour), want: true},
		{name: "zero window", now: start, want: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.w.Active(tt.now); got != tt.want {
				t.Errorf("Active(%v) = %v, want %v", tt.now, got, tt.want)
			}
		})
	}
}

func TestWindowOverlaps(t *testing.T) {
	at := func(h int) time.Time { return time.Date(2026, 1, 1, h, 0, 0, 0, time.UTC) }
	tests := []struct {
		name string
		a, b detour.Window
		want bool
	}{
		{name: "both open", want: true},
		{name: "one open", a: detour.Window{Start: at(1), End: at(2)}, want: true},
		{name: "disjoint", a: detour.Window{Start: at(1), End: at(2)}, b: detour.Window{Start: at(3), End: at(4)}, want: false},
		{name: "touching is disjoint", a: detour.Window{Start: at(1), End: at(2)}, b: detour.Window{Start: at(2), End: at(3)}, want: false},
		{name: "nested", a: detour.Window{Start: at(1), End: at(5)}, b: detour.Window{Start: at(2), End: at(3)}, want: true},
		{name: "open end meets later", a: detour.Window{Start: at(1)}, b: detour.Window{Start: at(8), End: at(9)}, want: true},
		{name: "open start before", a: detour.Window{End: at(1)}, b: detour.Window{Start: at(2)}, want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.a.Overlaps(tt.b); got != tt.want {
				t.Errorf("a.Overlaps(b) = %v, want %v", got, tt.want)
			}
			if got := tt.b.Overlaps(tt.a); got != tt.want {
				t.Errorf("b.Overlaps(a) = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestAnswersMethod(t *testing.T) {
	tests := []struct {
		name    string
		methods []string
		m       string
		want    bool
	}{
		{name: "default answers GET", m: "GET", want: true},
		{name: "default answers POST", m: "POST", want: true},
		{name: "default refuses OPTIONS", m: "OPTIONS", want: false},
		{name: "GET answers HEAD", methods: []string{"GET"}, m: "HEAD", want: true},
		{name: "listed", methods: []string{"POST"}, m: "POST", want: true},
		{name: "not listed", methods: []string{"POST"}, m: "GET", want: false},
		{name: "OPTIONS when listed", methods: []string{"OPTIONS"}, m: "OPTIONS", want: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := detour.Rule{Methods: tt.methods}
			if got := r.AnswersMethod(tt.m); got != tt.want {
				t.Errorf("AnswersMethod(%q) = %v, want %v", tt.m, got, tt.want)
			}
		})
	}
}

func TestMethodsOverlap(t *testing.T) {
	tests := []struct {
		name string
		a, b []string
		want bool
	}{
		{name: "both default", want: true},
		{name: "default and POST", b: []string{"POST"}, want: true},
		{name: "default and OPTIONS", b: []string{"OPTIONS"}, want: false},
		{name: "GET and HEAD", a: []string{"GET"}, b: []string{"HEAD"}, want: true},
		{name: "GET and POST", a: []string{"GET"}, b: []string{"POST"}, want: false},
		{name: "shared PUT", a: []string{"GET", "PUT"}, b: []string{"DELETE", "PUT"}, want: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, b := detour.Rule{Methods: tt.a}, detour.Rule{Methods: tt.b}
			if got := a.MethodsOverlap(&b); got != tt.want {
				t.Errorf("a.MethodsOverlap(b) = %v, want %v", got, tt.want)
			}
			if got := b.MethodsOverlap(&a); got != tt.want {
				t.Errorf("b.MethodsOverlap(a) = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestDeriveID(t *testing.T) {
	a := detour.DeriveID("example.com", "/a", []string{"GET", "POST"})
	if b := detour.DeriveID("example.com", "/a", []string{"POST", "GET"}); a != b {
		t.Errorf("method order changed the id: %s vs %s", a, b)
	}
	if b := detour.DeriveID("example.com", "/b", []string{"GET", "POST"}); a == b {
		t.Errorf("different from, same id %s", a)
	}
	if b := detour.DeriveID("", "/a", []string{"GET", "POST"}); a == b {
		t.Errorf("different host, same id %s", a)
	}
	if len(a) != len("r-")+12 || a[:2] != "r-" {
		t.Errorf("id %q: want r- and 12 hex digits", a)
	}
}

func TestDiagnosticString(t *testing.T) {
	d := detour.Diagnostic{Severity: detour.SeverityError, File: "rules.yaml", Line: 12, Field: "rules[3].to", Rule: "r-1", Message: "capture :slug is not defined"}
	if got, want := d.String(), "rules.yaml:12: rules[3].to: capture :slug is not defined [rule r-1]"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	w := detour.Diagnostic{Severity: detour.SeverityWarning, File: "a.yaml", Message: "chain"}
	if got, want := w.String(), "a.yaml: warning: chain"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	ds := detour.Diagnostics{w}
	if ds.HasErrors() {
		t.Error("warnings only: HasErrors() = true")
	}
	ds = append(ds, d)
	if !ds.HasErrors() || len(ds.Errors()) != 1 {
		t.Errorf("HasErrors() = %v, Errors() = %v", ds.HasErrors(), ds.Errors())
	}
}

func TestErrorCode(t *testing.T) {
	err := fmt.Errorf("create rule: %w", detour.Errorf(detour.ECONFLICT, "rule %s conflicts", "x"))
	if got := detour.ErrorCode(err); got != detour.ECONFLICT {
		t.Errorf("ErrorCode = %q, want %q", got, detour.ECONFLICT)
	}
	if got := detour.ErrorMessage(err); got != "rule x conflicts" {
		t.Errorf("ErrorMessage = %q", got)
	}
	if got := detour.ErrorCode(errors.New("disk on fire")); got != detour.EINTERNAL {
		t.Errorf("ErrorCode(plain) = %q, want %q", got, detour.EINTERNAL)
	}
	if got := detour.ErrorMessage(errors.New("disk on fire")); got != "internal error" {
		t.Errorf("ErrorMessage(plain) = %q leaks the cause", got)
	}
	if detour.ErrorCode(nil) != "" {
		t.Error("ErrorCode(nil) not empty")
	}
}
