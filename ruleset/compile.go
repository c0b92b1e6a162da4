package ruleset

import (
	"path/filepath"
	"strings"
	"time"

	"github.com/detourhttp/detour"
	"github.com/detourhttp/detour/match"
)

// Compile is CompileAt with the current time.
func (s *Set) Compile() (*match.Table, detour.Diagnostics) {
	return s.CompileAt(time.Now())
}

// CompileAt builds the lookup table of s with match.Compile and checks its
// redirect graph with Lint at now (now only decides which windows have
// expired). It returns every diagnostic of both, the field names of
// match's given as paths in the rules file ("rules[3].to") with the line
// of that field; the table is nil when any diagnostic is an error (a
// certain redirect loop included).
//
// CompileAt does not change s; the table refers to s's rules and tables,
// which must not change afterwards.
func (s *Set) CompileAt(now time.Time) (*match.Table, detour.Diagnostics) {
	t, ds := match.Compile(s.Rules, s.Tables, match.Options{Order: s.Order})
	s.locate(ds)
	if t == nil || ds.HasErrors() {
		return nil, ds
	}
	ds = append(ds, Lint(s, t, now)...)
	if ds.HasErrors() {
		return nil, ds
	}
	return t, ds
}

// locate rewrites, in place, the field and line of diagnostics about a
// rule or table of s that name a field relative to it ("to",
// "headers.X-Foo") into the field's path and line in the rules file.
func (s *Set) locate(ds detour.Diagnostics) {
	if len(s.places) == 0 || len(ds) == 0 {
		return
	}
	byID := s.placesByID()
	tables := make(map[string]*detour.Table, len(s.Tables))
	for i := range s.Tables {
		tables[s.Tables[i].ID] = &s.Tables[i]
	}
	for i := range ds {
		d := &ds[i]
		// match names a row's table file as the rules file wrote it;
		// give it as Load read it, as ruleset's own row messages do.
		if tb := tables[d.Rule]; tb != nil && d.File == tb.File && tb.Source.File != "" {
			d.File = tableFile(tb)
			continue
		}
		p := byID[d.Rule]
		if p == nil || d.File != "" && d.File != p.file {
			continue
		}
		if d.File == "" {
			d.File = p.file
		}
		if strings.HasPrefix(d.Field, "rules[") || strings.HasPrefix(d.Field, "tables[") || strings.HasPrefix(d.Field, "defaults") {
			continue
		}
		field, line := p.fieldAt(d.Field)
		d.Field = field
		if line > 0 && (d.Line == 0 || d.Line == p.line) {
			d.Line = line
		}
	}
}

// placesByID maps the id of each rule and table of s to its place.
func (s *Set) placesByID() map[string]*place {
	byID := make(map[string]*place, len(s.Rules)+len(s.Tables))
	for i := range s.Rules {
		r := &s.Rules[i]
		if p := s.places[placeKey{kind: "rule", file: r.Source.File, id: r.ID, seq: r.Source.Seq}]; p != nil {
			byID[r.ID] = p
		}
	}
	for i := range s.Tables {
		t := &s.Tables[i]
		if p := s.places[placeKey{kind: "table", file: t.Source.File, id: t.ID, seq: t.Source.Seq}]; p != nil {
			byID[t.ID] = p
		}
	}
	return byID
}

// tableFile is the path of tb's file as Load read it: joined to the
// folder of the rules file that names it.
func tableFile(tb *detour.Table) string {
	if tb.Source.File == "" {
		return tb.File
	}
	return filepath.Join(filepath.Dir(tb.Source.File), filepath.FromSlash(tb.File))
}
