// Package ruleset reads detour rule files — one YAML file, or a folder of
// *.yaml files read in lexical order — into detour rules and tables, with
// every error naming file, line and field (SPEC §1), and lints the result:
// redirect loops, chains, shadowed rules and expired windows (SPEC §1.4).
//
// It reads files and knows the YAML format; it knows nothing of HTTP
// servers. Package match compiles what it reads; the server's reload code
// calls Load and Set.Compile and watches Set.Files.
package ruleset

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/detourhttp/detour"
)

// Default caps of a Loader.
const (
	// DefaultMaxFileSize caps each rules file: 16 MiB.
	DefaultMaxFileSize = 16 << 20
	// DefaultMaxAliasNodes caps the nodes YAML aliases may add to one
	// rules file when expanded: a million, far above any honest use of
	// anchors and far below a "billion laughs".
	DefaultMaxAliasNodes = 1_000_000
	// DefaultMaxTableSize caps each table file: 1 GiB.
	DefaultMaxTableSize = 1 << 30
)

// Set is a rule set as read from files: rules with their defaults applied
// and Source filled in, tables with their rows, and the set-level settings.
//
// A Set returned together with error diagnostics holds only the rules and
// tables that were read cleanly; it is good for lint, not for serving.
type Set struct {
	// Rules in file order (Source.Seq ascending).
	Rules []detour.Rule
	// Tables in file order, with their rows.
	Tables []detour.Table
	// Order is the set's order: detour.OrderSpecificity unless a file
	// says first-match.
	Order detour.Order
	// MergeSlashes says whether request paths have runs of slashes merged
	// before matching (the server normalises with it).
	MergeSlashes bool
	// Files lists every file read, rules files and table files, as paths
	// joined to the path given to Load; the reload code watches them.
	// Parse lists its name only; the demo set lists none.
	Files []string

	// places maps (file, rule or table id) to where its fields were
	// written, so the field names of match's diagnostics can be given as
	// paths ("rules[3].to") with the field's own line.
	places map[placeKey]*place
}

// Loader reads rule sets with caps of its own. The zero value uses the
// defaults; a Loader is safe for concurrent use.
type Loader struct {
	// MaxFileSize caps each rules file in bytes; 0 means DefaultMaxFileSize.
	MaxFileSize int64
	// MaxAliasNodes caps the nodes YAML aliases may add to a rules file
	// when expanded; 0 means DefaultMaxAliasNodes.
	MaxAliasNodes int
	// MaxTableSize caps each table file in bytes; 0 means
	// DefaultMaxTableSize.
	MaxTableSize int64
}

// Load reads the rule set at path with the default caps; see Loader.Load.
func Load(path string) (*Set, detour.Diagnostics, error) {
	var l Loader
	return l.Load(path)
}

// Parse reads one rules file from r with the default caps; see
// Loader.Parse.
func Parse(r io.Reader, name string) (*Set, detour.Diagnostics) {
	var l Loader
	return l.Parse(r, name)
}

// Parse reads one rules file from r; name is the file's name for
// messages and Source.File. It does no other I/O: the set's tables carry
// their settings but no rows (Load reads them). The Set is never nil; the
// diagnostics hold every error and warning found.
func (l *Loader) Parse(r io.Reader, name string) (*Set, detour.Diagnostics) {
	data, err := readCapped(r, l.maxFileSize())
	if err != nil {
		return &Set{Order: detour.OrderSpecificity, Files: []string{name}}, detour.Diagnostics{readDiagnostic(name, err, l.maxFileSize())}
	}
	f := l.parseFile(data, name, 0)
	s := newSet()
	s.Files = []string{name}
	var ds detour.Diagnostics
	ds = s.add(f, ds)
	ds = s.checkIDs(ds)
	return s, ds
}

// Load reads the rule set at path: one rules file, or a folder whose
// *.yaml files (not those whose names begin with a dot; symlinks
// followed; not recursive) are read in lexical order as one set, and then
// the table files they reference. Source.Seq runs on across files.
//
// The error is set only when path cannot be read at all (it does not
// exist, or is neither a file nor a folder); everything else — a file in
// the folder that cannot be read, syntax, fields, tables — is a
// diagnostic, and the Set holds what was read cleanly.
func (l *Loader) Load(path string) (*Set, detour.Diagnostics, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, nil, fmt.Errorf("rules: %w", err)
	}
	var files []string
	switch {
	case fi.IsDir():
		files, err = ruleFiles(path)
		if err != nil {
			return nil, nil, fmt.Errorf("rules: %w", err)
		}
	case fi.Mode().IsRegular():
		files = []string{path}
	default:
		return nil, nil, fmt.Errorf("rules: %s: %w", path, errNotRegular)
	}

	s := newSet()
	var ds detour.Diagnostics
	if fi.IsDir() && len(files) == 0 {
		ds = append(ds, detour.Diagnostic{Severity: detour.SeverityError, File: path, Code: "invalid",
			Message: "the folder holds no *.yaml rules files"})
	}
	seq := 0
	for _, name := range files {
		s.Files = append(s.Files, name)
		data, err := readFile(name, l.maxFileSize())
		if err != nil {
			if !fi.IsDir() && !errors.Is(err, errTooLarge) {
				return nil, nil, fmt.Errorf("rules: %w", err)
			}
			ds = append(ds, readDiagnostic(name, err, l.maxFileSize()))
			continue
		}
		f := l.parseFile(data, name, seq)
		seq = f.seq
		ds = s.add(f, ds)
	}
	ds = s.checkIDs(ds)
	ds = l.loadTables(s, ds)
	return s, ds, nil
}

// ruleFiles lists the *.yaml files of dir in lexical order, skipping
// names that begin with a dot (editor lock files, Kubernetes' ..data)
// and anything that is not a regular file once symlinks are followed.
func ruleFiles(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var files []string
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, ".") || !strings.HasSuffix(name, ".yaml") {
			continue
		}
		p := filepath.Join(dir, name)
		fi, err := os.Stat(p)
		if err != nil || !fi.Mode().IsRegular() {
			continue
		}
		files = append(files, p)
	}
	slices.Sort(files)
	return files, nil
}

var (
	// errTooLarge: a file is over its size cap.
	errTooLarge = errors.New("file too large")
	// errNotRegular: a path is neither a regular file nor a folder.
	errNotRegular = errors.New("not a regular file or folder")
)

// readCapped reads r to the end, or fails with errTooLarge past max bytes.
func readCapped(r io.Reader, max int64) ([]byte, error) {
	var b bytes.Buffer
	n, err := b.ReadFrom(io.LimitReader(r, max+1))
	if err != nil {
		return nil, fmt.Errorf("read: %w", err)
	}
	if n > max {
		return nil, errTooLarge
	}
	return b.Bytes(), nil
}

// readFile reads the regular file name, capped at max bytes.
func readFile(name string, max int64) ([]byte, error) {
	fi, err := os.Stat(name)
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: %w", name, errNotRegular)
	}
	if fi.Size() > max {
		return nil, errTooLarge
	}
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return readCapped(f, max)
}

// readDiagnostic reports a rules file that could not be read.
func readDiagnostic(name string, err error, max int64) detour.Diagnostic {
	d := detour.Diagnostic{Severity: detour.SeverityError, File: name, Code: "read",
		Message: fmt.Sprintf("cannot read: %v", err)}
	if errors.Is(err, errTooLarge) {
		d.Code = "too-large"
		d.Message = fmt.Sprintf("the rules file is larger than the cap of %d bytes", max)
	}
	return d
}

func (l *Loader) maxFileSize() int64 {
	if l.MaxFileSize > 0 {
		return l.MaxFileSize
	}
	return DefaultMaxFileSize
}

func (l *Loader) maxAliasNodes() int {
	if l.MaxAliasNodes > 0 {
		return l.MaxAliasNodes
	}
	return DefaultMaxAliasNodes
}

func (l *Loader) maxTableSize() int64 {
	if l.MaxTableSize > 0 {
		return l.MaxTableSize
	}
	return DefaultMaxTableSize
}

func newSet() *Set {
	return &Set{Order: detour.OrderSpecificity, places: make(map[placeKey]*place)}
}

// add merges one parsed file into s: its rules and tables, and its
// set-level settings, which must agree with those of the files before.
func (s *Set) add(f *fileSet, ds detour.Diagnostics) detour.Diagnostics {
	ds = append(ds, f.diags...)
	s.Rules = append(s.Rules, f.rules...)
	s.Tables = append(s.Tables, f.tables...)
	for k, p := range f.places {
		s.places[k] = p
	}
	if f.order.line > 0 {
		if prev, ok := s.settingFrom("order"); ok && prev.value != f.order.value {
			ds = append(ds, conflict(f.file, f.order, "order", prev))
		} else {
			s.Order = detour.Order(f.order.value)
			s.setSetting("order", f.order, f.file)
		}
	}
	if f.merge.line > 0 {
		if prev, ok := s.settingFrom("merge_slashes"); ok && prev.value != f.merge.value {
			ds = append(ds, conflict(f.file, f.merge, "merge_slashes", prev))
		} else {
			s.MergeSlashes = f.merge.value == "true"
			s.setSetting("merge_slashes", f.merge, f.file)
		}
	}
	return ds
}

// setting is a set-level value as one file wrote it.
type setting struct {
	value string
	file  string
	line  int
}

// settingFrom returns the file that first set the set-level field name.
func (s *Set) settingFrom(name string) (setting, bool) {
	p, ok := s.places[placeKey{kind: "setting", id: name}]
	if !ok {
		return setting{}, false
	}
	return setting{value: p.value, file: p.file, line: p.line}, true
}

func (s *Set) setSetting(name string, v setting, file string) {
	s.places[placeKey{kind: "setting", id: name}] = &place{file: file, line: v.line, value: v.value}
}

// conflict reports a set-level field on which two files disagree.
func conflict(file string, v setting, field string, prev setting) detour.Diagnostic {
	return detour.Diagnostic{Severity: detour.SeverityError, File: file, Line: v.line, Field: field, Code: "conflict",
		Message: fmt.Sprintf("%s: %s disagrees with %s: %s at %s:%d; %s applies to the whole rule set, so the files must agree",
			field, v.value, field, prev.value, prev.file, prev.line, field)}
}

// checkIDs reports rules and tables that share an id, naming both places,
// and drops the later one so that what remains can still be compiled for
// lint.
func (s *Set) checkIDs(ds detour.Diagnostics) detour.Diagnostics {
	seen := make(map[string]detour.Source, len(s.Rules)+len(s.Tables))
	dup := func(kind, id string, src detour.Source) bool {
		first, ok := seen[id]
		if !ok {
			seen[id] = src
			return false
		}
		d := detour.Diagnostic{Severity: detour.SeverityError, File: src.File, Line: src.Line, Field: "id", Rule: id,
			Code: "duplicate-id", Message: fmt.Sprintf("id %q is already used at %s", id, first)}
		if p := s.places[placeKey{kind: kind, file: src.File, id: id, seq: src.Seq}]; p != nil {
			d.Field, d.Line = p.fieldAt("id")
			if p.derivedID {
				d.Field = p.path
				d.Line = src.Line
				d.Message = fmt.Sprintf("derived id %q (from host, from and methods) is already used at %s; give one of the rules an id", id, first)
			}
		}
		ds = append(ds, d)
		return true
	}
	rules := s.Rules[:0]
	for _, r := range s.Rules {
		if !dup("rule", r.ID, r.Source) {
			rules = append(rules, r)
		}
	}
	s.Rules = slices.Clip(rules)
	tables := s.Tables[:0]
	for _, t := range s.Tables {
		if !dup("table", t.ID, t.Source) {
			tables = append(tables, t)
		}
	}
	s.Tables = slices.Clip(tables)
	return ds
}

//go:embed demo.yaml
var demoYAML []byte

// Demo returns the built-in demo set of SPEC §8: /original-resource
// redirects with 307 to /temporary-resource (which the server answers
// itself with an echo), and a few rules that show the format. It is read
// from the embedded demo.yaml by the same parser; its Files is empty, as
// there is nothing on disk to watch.
func Demo() *Set {
	s, ds := Parse(bytes.NewReader(demoYAML), "demo.yaml")
	if ds.HasErrors() {
		panic("ruleset: the embedded demo set does not parse: " + ds.Error())
	}
	s.Files = nil
	return s
}
