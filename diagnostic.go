package detour

import (
	"fmt"
	"strings"
)

// Severity of a Diagnostic.
type Severity int

// Severities. An error refuses the rule set; a warning does not, unless
// linting is strict.
const (
	SeverityWarning Severity = iota
	SeverityError
)

// String returns "warning" or "error".
func (s Severity) String() string {
	if s == SeverityError {
		return "error"
	}
	return "warning"
}

// MarshalText lets Severity appear as a word in JSON.
func (s Severity) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Diagnostic is one finding about a rule set: an error that refuses it, or
// a warning. It names the file, the line and the field it is about.
type Diagnostic struct {
	Severity Severity `json:"severity"`
	// File and Line locate the finding; Line is 0 when unknown.
	File string `json:"file,omitempty"`
	Line int    `json:"line,omitempty"`
	// Field is the field path, such as "rules[3].to"; empty when the
	// finding is about a whole rule or file.
	Field string `json:"field,omitempty"`
	// Rule is the id of the rule concerned, when there is one.
	Rule string `json:"rule,omitempty"`
	// Code is a short stable word for the kind of finding: "syntax",
	// "unknown-field", "invalid", "tie", "loop", "possible-loop", "chain",
	// "shadowed", "expired", "duplicate-id", "table".
	Code string `json:"code"`
	// Message says what is wrong, for a person.
	Message string `json:"message"`
}

// String renders "file:line: field: message" with the parts that are set,
// followed by " [rule id]" and prefixed with "warning: " for warnings.
func (d Diagnostic) String() string {
	var b strings.Builder
	if d.File != "" {
		b.WriteString(d.File)
		if d.Line > 0 {
			fmt.Fprintf(&b, ":%d", d.Line)
		}
		b.WriteString(": ")
	}
	if d.Severity == SeverityWarning {
		b.WriteString("warning: ")
	}
	if d.Field != "" {
		b.WriteString(d.Field)
		b.WriteString(": ")
	}
	b.WriteString(d.Message)
	if d.Rule != "" {
		fmt.Fprintf(&b, " [rule %s]", d.Rule)
	}
	return b.String()
}

// Diagnostics is a list of findings. As an error it reports its errors.
type Diagnostics []Diagnostic

// HasErrors reports whether any finding is an error.
func (ds Diagnostics) HasErrors() bool {
	for _, d := range ds {
		if d.Severity == SeverityError {
			return true
		}
	}
	return false
}

// Errors returns the findings that are errors.
func (ds Diagnostics) Errors() Diagnostics {
	var out Diagnostics
	for _, d := range ds {
		if d.Severity == SeverityError {
			out = append(out, d)
		}
	}
	return out
}

// Error joins the findings, one a line.
func (ds Diagnostics) Error() string {
	lines := make([]string, len(ds))
	for i, d := range ds {
		lines[i] = d.String()
	}
	return strings.Join(lines, "\n")
}
