package ruleset

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/detourhttp/detour"
)

// LintPath runs every check of `detour lint` on the rule set at path:
// the load errors of Load, match.Compile's checks, and the redirect
// graph of Lint at now. With strict, every warning becomes an error. The
// diagnostics come sorted by file and line.
//
// The error is set only when path cannot be read at all (exit code 2);
// otherwise the diagnostics decide: errors (an unparsable file included)
// mean exit code 1, none mean 0.
//
// When loading finds errors, the rules that were read cleanly are still
// compiled and linted, so that one run reports as much as it can.
func LintPath(path string, now time.Time, strict bool) (detour.Diagnostics, error) {
	s, ds, err := Load(path)
	if err != nil {
		return nil, err
	}
	_, cds := s.CompileAt(now)
	ds = append(ds, cds...)
	if strict {
		ds = Strict(ds)
	}
	Sort(ds)
	return ds, nil
}

// Strict returns ds with every warning turned into an error, as
// `detour lint --strict` reports them.
func Strict(ds detour.Diagnostics) detour.Diagnostics {
	out := slices.Clone(ds)
	for i := range out {
		out[i].Severity = detour.SeverityError
	}
	return out
}

// Sort orders ds by file and line, stably: findings of one line keep the
// order in which they were found.
func Sort(ds detour.Diagnostics) {
	slices.SortStableFunc(ds, func(a, b detour.Diagnostic) int {
		return cmp.Or(cmp.Compare(a.File, b.File), cmp.Compare(a.Line, b.Line))
	})
}

// Report is the JSON document of `detour lint --json`:
//
//	{"errors":1,"warnings":1,"diagnostics":[
//	  {"severity":"error","file":"rules.yaml","line":4,"field":"rules[0].to",
//	   "rule":"a","code":"loop","message":"redirect loop: …"},
//	  {"severity":"warning", …}]}
//
// Diagnostics is never null. In a diagnostic, file, line, field and rule
// are left out when unknown or not relevant; code is a stable word
// ("syntax", "unknown-field", "duplicate-field", "invalid", "alias",
// "too-large", "read", "conflict", "duplicate-id", "table", "tie",
// "loop", "possible-loop", "chain", "shadowed", "expired", "ignored",
// "incomplete", and those of package match).
type Report struct {
	Errors      int                `json:"errors"`
	Warnings    int                `json:"warnings"`
	Diagnostics detour.Diagnostics `json:"diagnostics"`
}

// NewReport counts the errors and warnings of ds.
func NewReport(ds detour.Diagnostics) Report {
	r := Report{Diagnostics: ds}
	if r.Diagnostics == nil {
		r.Diagnostics = detour.Diagnostics{}
	}
	for _, d := range ds {
		if d.Severity == detour.SeverityError {
			r.Errors++
		} else {
			r.Warnings++
		}
	}
	return r
}

// WriteJSON writes ds to w as a Report, indented, followed by a newline.
func WriteJSON(w io.Writer, ds detour.Diagnostics) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(NewReport(ds)); err != nil {
		return fmt.Errorf("lint report: %w", err)
	}
	return nil
}

// WriteText writes ds to w one a line ("file:line: field: message [rule
// id]"), then a summary line such as "2 errors, 1 warning" when there is
// anything to report.
func WriteText(w io.Writer, ds detour.Diagnostics) error {
	for _, d := range ds {
		if _, err := fmt.Fprintln(w, d.String()); err != nil {
			return fmt.Errorf("lint report: %w", err)
		}
	}
	if len(ds) == 0 {
		return nil
	}
	r := NewReport(ds)
	if _, err := fmt.Fprintf(w, "%s, %s\n", plural(r.Errors, "error"), plural(r.Warnings, "warning")); err != nil {
		return fmt.Errorf("lint report: %w", err)
	}
	return nil
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}
