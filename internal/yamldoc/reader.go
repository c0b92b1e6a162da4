package yamldoc

import (
	"fmt"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/detourhttp/detour"
)

// Reader walks the nodes of one document and collects what is wrong with
// them as diagnostics naming File, the line and the field path. The
// zero value reports a field given twice as "duplicate-field", puts no
// cap on merge keys, and reports an unknown field alone, suggesting a
// near name only when the name is at least twice as long as the edits
// it takes. A Reader is not safe for concurrent use.
type Reader struct {
	// File names the document in diagnostics.
	File string
	// Diags holds the findings so far, in the order found.
	Diags detour.Diagnostics

	// DuplicateCode is the Code of a field given twice; "" means
	// "duplicate-field".
	DuplicateCode string
	// MaxMerges caps the mappings brought in through merge keys, so that
	// merges of merges cannot blow up; 0 means no cap (for a caller that
	// bounds aliases with CheckAliases first).
	MaxMerges int
	// ListKnown reports an unknown field that is near no known name with
	// the list of the known ones.
	ListKnown bool
	// LooseSuggestions suggests the nearest known name within two edits
	// however short the unknown name is.
	LooseSuggestions bool

	merges      int // mappings brought in through merge keys
	mergeCapped bool
}

// Add records the error code ("syntax", "invalid", ...) at line (at
// least 1) and field.
func (r *Reader) Add(code string, line int, field, msg string) {
	r.Diags = append(r.Diags, detour.Diagnostic{Severity: detour.SeverityError, File: r.File, Line: max(line, 1),
		Field: field, Code: code, Message: msg})
}

// Errorf records the error code at line and field, formatting the message.
func (r *Reader) Errorf(line int, field, code, format string, args ...any) {
	r.Add(code, line, field, fmt.Sprintf(format, args...))
}

// Errors returns the number of errors found so far.
func (r *Reader) Errors() int {
	n := 0
	for _, x := range r.Diags {
		if x.Severity == detour.SeverityError {
			n++
		}
	}
	return n
}

// Pair is one key and value of a mapping, as written (aliases not
// followed).
type Pair struct {
	Name     string
	Key, Val *yaml.Node
}

// Pairs returns the entries of the mapping n in file order, with YAML
// merge keys ("<<: *anchor") resolved: an entry written in n overrides a
// merged one. A key given twice, or one that is not a scalar, is an
// error and left out; parent is the field path of n.
func (r *Reader) Pairs(n *yaml.Node, parent string) []Pair {
	n = Deref(n)
	var out, merged []Pair
	seen := make(map[string]*yaml.Node)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		kk := Deref(k)
		if kk.Kind != yaml.ScalarNode {
			r.Errorf(k.Line, parent, "syntax", "a field name must be a plain word, not a %s", KindName(kk))
			continue
		}
		if kk.ShortTag() == "!!merge" {
			merged = append(merged, r.mergePairs(v, parent)...)
			continue
		}
		if prev := seen[kk.Value]; prev != nil {
			code := r.DuplicateCode
			if code == "" {
				code = "duplicate-field"
			}
			r.Errorf(k.Line, Join(parent, kk.Value), code, "field %q is given twice (first at line %d)", kk.Value, prev.Line)
			continue
		}
		seen[kk.Value] = k
		out = append(out, Pair{Name: kk.Value, Key: k, Val: v})
	}
	for _, p := range merged {
		if seen[p.Name] == nil {
			seen[p.Name] = p.Key
			out = append(out, p)
		}
	}
	return out
}

// mergePairs returns the entries a merge key brings: those of a mapping,
// or of a list of mappings where earlier ones win.
func (r *Reader) mergePairs(v *yaml.Node, parent string) []Pair {
	vv := Deref(v)
	if r.MaxMerges > 0 {
		if r.merges += max(len(vv.Content), 1); r.merges > r.MaxMerges {
			if !r.mergeCapped {
				r.mergeCapped = true
				r.Errorf(v.Line, parent, "syntax", "YAML merge keys expand past %d mappings", r.MaxMerges)
			}
			return nil
		}
	}
	switch vv.Kind {
	case yaml.MappingNode:
		return r.Pairs(vv, parent)
	case yaml.SequenceNode:
		var out []Pair
		seen := make(map[string]bool)
		for _, item := range vv.Content {
			if Deref(item).Kind != yaml.MappingNode {
				r.Errorf(item.Line, parent, "syntax", "<< takes a mapping or a list of mappings")
				continue
			}
			for _, p := range r.Pairs(item, parent) {
				if !seen[p.Name] {
					seen[p.Name] = true
					out = append(out, p)
				}
			}
		}
		return out
	}
	r.Errorf(v.Line, parent, "syntax", "<< takes a mapping or a list of mappings")
	return nil
}

// Mapping returns the entries of v, which must be a mapping; field is
// its path.
func (r *Reader) Mapping(v *yaml.Node, field string) ([]Pair, bool) {
	if Deref(v).Kind != yaml.MappingNode {
		r.Errorf(v.Line, field, "syntax", "must be a mapping, not a %s", KindName(v))
		return nil, false
	}
	return r.Pairs(v, field), true
}

// Unknown reports the field p of the mapping at parent as unknown
// ("unknown-field"), suggesting the nearest of the known names.
func (r *Reader) Unknown(p Pair, parent string, known []string) {
	msg := fmt.Sprintf("unknown field %q", p.Name)
	if r.ListKnown {
		msg += "; known fields are " + strings.Join(known, ", ")
	}
	if s := r.nearest(p.Name, known); s != "" {
		msg = fmt.Sprintf("unknown field %q (did you mean %q?)", p.Name, s)
	}
	r.Add("unknown-field", p.Key.Line, Join(parent, p.Name), msg)
}

// nearest returns the name in known closest to s (in lower case) by edit
// distance, if it is within two edits and, unless r.LooseSuggestions,
// no more edits than half the length of s: a likely typo.
func (r *Reader) nearest(s string, known []string) string {
	best, bestDist := "", 3
	for _, k := range known {
		if dist := editDistance(strings.ToLower(s), k); dist < bestDist {
			best, bestDist = k, dist
		}
	}
	if !r.LooseSuggestions && bestDist > len(s)/2 {
		return ""
	}
	return best
}

// editDistance is the Levenshtein distance of a and b, or 64 when either
// is longer than that (no name is a typo of so long a string).
func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 64
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
