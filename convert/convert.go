package convert

import (
	"bytes"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/detourhttp/detour"
	"github.com/detourhttp/detour/ruleset"
)

// Finding is something an importer or exporter could not express, or a
// place where the converted rules answer differently from the original on
// purpose.
type Finding struct {
	// File and Line locate the directive; Line is 0 when unknown.
	File string
	Line int
	// Lost is true when something was left out: the output does not do
	// all the input did. A note (Lost false) says what detour does
	// instead of a known pitfall of the original.
	Lost bool
	// Message says what, for a person.
	Message string
}

// String renders "file:line: warning: message" (or "note:" for notes).
func (f Finding) String() string {
	var b strings.Builder
	if f.File != "" {
		b.WriteString(f.File)
		if f.Line > 0 {
			fmt.Fprintf(&b, ":%d", f.Line)
		}
		b.WriteString(": ")
	}
	if f.Lost {
		b.WriteString("left out: ")
	} else {
		b.WriteString("note: ")
	}
	b.WriteString(f.Message)
	return b.String()
}

// Findings is a list of findings.
type Findings []Finding

// Lost reports whether any finding left something out.
func (fs Findings) Lost() bool {
	for _, f := range fs {
		if f.Lost {
			return true
		}
	}
	return false
}

// TableFile is a bulk CSV table an import writes beside the rules file.
type TableFile struct {
	// Name is the file name the rules file references (no folder).
	Name string
	// Data is the CSV text: from,to[,status] rows after a header row.
	Data []byte
}

// Result is an imported rule set.
type Result struct {
	// YAML is the rules document: it parses with ruleset.Parse.
	YAML []byte
	// Tables are the CSV files YAML references, to be written in the same
	// folder; empty for most imports.
	Tables []TableFile
	// Findings, in input order.
	Findings Findings
}

// Rule is a rule an importer produced, before it is written out: the
// fields of detour.Rule that importers set (same meaning; zero values are
// left out of the YAML), and where it came from.
type Rule struct {
	// Origin is "file:line" of the directive, written as a comment.
	Origin string
	// Host, Scheme, From, To, Status, Query and Priority are the rule's
	// fields as in the rules file; Status 0 is detour's default (307).
	Host     string
	Scheme   string
	From     string
	To       string
	Status   int
	Query    detour.QueryMode
	Priority int
	// Methods lists the methods the rule answers; empty: all but OPTIONS.
	Methods []string
	// CaseInsensitive sets case: insensitive.
	CaseInsensitive bool
}

// Table is a bulk table reference an importer produced.
type Table struct {
	// Origin is "file:line" of the directive, written as a comment.
	Origin string
	// File is the table; the rules file references File.Name.
	File TableFile
	// Host, Status and Query are the table's settings as in the rules
	// file.
	Host   string
	Status int
	Query  detour.QueryMode
	// CaseInsensitive sets case: insensitive.
	CaseInsensitive bool
}

// Doc is a rules document an importer built; Emit writes it.
type Doc struct {
	// Header is a comment written at the top.
	Header string
	// FirstMatch sets order: first-match.
	FirstMatch bool
	// MergeSlashes sets merge_slashes: true, as nginx and Apache merge
	// runs of slashes before they match.
	MergeSlashes bool
	// Rules and Tables in the order they are written.
	Rules  []Rule
	Tables []Table
}

// ImportFormats returns the formats Import accepts.
func ImportFormats() []string { return []string{"nginx", "apache", "netlify", "csv"} }

// ErrSyntax is wrapped by the errors of input that cannot be parsed.
var ErrSyntax = errors.New("syntax error")

// syntaxError is an input that cannot be parsed, at file:line.
type syntaxError struct {
	file string
	line int
	msg  string
}

func (e *syntaxError) Error() string {
	if e.line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.file, e.line, e.msg)
	}
	return fmt.Sprintf("%s: %s", e.file, e.msg)
}

func (e *syntaxError) Unwrap() error { return ErrSyntax }

func origin(file string, line int) string { return fmt.Sprintf("%s:%d", file, line) }

// relOrigins makes the origins of d's rules and tables relative to dir,
// so the comments do not depend on where the input was read from.
func relOrigins(d *Doc, dir string) {
	rel := func(o string) string {
		i := strings.LastIndexByte(o, ':')
		if i < 0 {
			return o
		}
		if r, err := filepath.Rel(dir, o[:i]); err == nil && filepath.IsLocal(r) {
			return filepath.ToSlash(r) + o[i:]
		}
		return o
	}
	for i := range d.Rules {
		d.Rules[i].Origin = rel(d.Rules[i].Origin)
	}
	for i := range d.Tables {
		d.Tables[i].Origin = rel(d.Tables[i].Origin)
	}
}

// check drops, with a finding each, the rules of d that detour would
// refuse (a target that is not a URL or path, a regex RE2 does not take,
// a capture the pattern lacks…), so an import always loads. Two rules
// that would tie (same host, pattern and priority) keep the first.
func (d *Doc) check() Findings {
	var fs Findings
	kept := d.Rules[:0]
	for _, r := range d.Rules {
		set, ds := d.parseOne(r)
		if !ds.HasErrors() {
			// As a load compiles it: a rule that redirects to itself
			// is a certain loop, which a load refuses.
			_, ds = set.Compile()
		}
		if ds.HasErrors() {
			file, line := splitOrigin(r.Origin)
			fs = append(fs, Finding{File: file, Line: line, Lost: true,
				Message: fmt.Sprintf("detour refuses the converted rule (from %s to %s): %s", r.From, r.To, ds.Errors()[0].Message)})
			continue
		}
		kept = append(kept, r)
	}
	d.Rules = kept
	type key struct {
		host, scheme, from, methods string
		prio                        int
	}
	seen := make(map[key]bool)
	kept = d.Rules[:0]
	for _, r := range d.Rules {
		k := key{r.Host, r.Scheme, r.From, strings.Join(r.Methods, ","), r.Priority}
		if seen[k] {
			file, line := splitOrigin(r.Origin)
			fs = append(fs, Finding{File: file, Line: line, Lost: true,
				Message: fmt.Sprintf("an earlier rule already answers %s %s; this one never would", r.Host, r.From)})
			continue
		}
		seen[k] = true
		kept = append(kept, r)
	}
	d.Rules = kept
	return append(fs, d.checkSet()...)
}

// checkSet drops the rules the whole set refuses, such as a redirect
// loop nginx would run into as well, each with a finding.
func (d *Doc) checkSet() Findings {
	var fs Findings
	for range 8 {
		set, ds := ruleset.Parse(bytes.NewReader(Emit(&Doc{Rules: d.Rules})), "rules.yaml")
		if !ds.HasErrors() && len(d.Tables) == 0 {
			_, ds = set.Compile()
		}
		if !ds.HasErrors() {
			return fs
		}
		drop := make(map[int]string)
		for _, e := range ds.Errors() {
			i := -1
			for j, r := range set.Rules {
				if r.Source.Line <= e.Line {
					i = j
				}
			}
			if i >= 0 && i < len(d.Rules) {
				drop[i] = e.Message
			}
		}
		if len(drop) == 0 {
			return fs
		}
		kept := d.Rules[:0]
		for i, r := range d.Rules {
			if msg, ok := drop[i]; ok {
				file, line := splitOrigin(r.Origin)
				fs = append(fs, Finding{File: file, Line: line, Lost: true,
					Message: fmt.Sprintf("detour refuses the converted rule (from %s): %s", r.From, msg)})
				continue
			}
			kept = append(kept, r)
		}
		d.Rules = kept
	}
	return fs
}

func splitOrigin(o string) (string, int) {
	i := strings.LastIndexByte(o, ':')
	if i < 0 {
		return o, 0
	}
	n, _ := strconv.Atoi(o[i+1:])
	return o[:i], n
}

// parseOne reads r as the rules file would hold it, with d's settings,
// for the checks of the reader (hosts, fields).
func (d *Doc) parseOne(r Rule) (*ruleset.Set, detour.Diagnostics) {
	r.Origin = ""
	one := Doc{FirstMatch: d.FirstMatch, MergeSlashes: d.MergeSlashes, Rules: []Rule{r}}
	return ruleset.Parse(bytes.NewReader(Emit(&one)), "rule.yaml")
}

// checkText refuses input that is not UTF-8 text: rules files are.
func checkText(data []byte, name string) error {
	if !utf8.Valid(data) {
		line := 1
		for i := 0; i < len(data); {
			r, n := utf8.DecodeRune(data[i:])
			if r == utf8.RuneError && n == 1 {
				break
			}
			if data[i] == '\n' {
				line++
			}
			i += n
		}
		return &syntaxError{file: name, line: line, msg: "the file is not UTF-8 text"}
	}
	return nil
}
