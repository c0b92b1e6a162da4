package ruleset

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/detourhttp/detour"
	"github.com/detourhttp/detour/internal/yamldoc"
)

// DefaultMaxRuleSize caps the document DecodeRule reads: 1 MiB.
const DefaultMaxRuleSize = 1 << 20

// DecodeRule reads one rule — a mapping with the fields of an item of a
// rules file's rules: list — from data, which may be YAML or JSON (JSON is
// YAML). It is the same decoder as the rules file's, so the fields, the
// defaults (status 307, query preserve) and every message are the same;
// field paths are relative to the rule ("to", "window.end") rather than
// "rules[3].to". name is the document's name for diagnostics (File).
//
// Top-level fields named in ignore are skipped without a word (the admin
// API reads fields such as "enabled" itself). The rule's id is derived
// when it names none; its Source is {File: name, Line: line of the rule}.
// The rule is valid only when the diagnostics hold no error.
func DecodeRule(data []byte, name string, ignore ...string) (detour.Rule, detour.Diagnostics) {
	f := &fileSet{file: name, places: make(map[placeKey]*place)}
	d := newDecoder(f)
	if len(data) > DefaultMaxRuleSize {
		d.Errorf(1, "", "too-large", "the rule is larger than the cap of %d bytes", DefaultMaxRuleSize)
		return detour.Rule{}, d.Diags
	}
	root, yerr := parseYAML(data)
	if yerr == nil && root != nil {
		yerr = yamldoc.CheckAliases(root, DefaultMaxAliasNodes)
	}
	switch {
	case yerr != nil:
		d.Errorf(yerr.Line, "", "syntax", "%s", yerr.Msg)
		return detour.Rule{}, d.Diags
	case root == nil || yamldoc.IsNull(root):
		d.Errorf(1, "", "empty", "the rule is empty; it is a mapping with from: and to:")
		return detour.Rule{}, d.Diags
	}
	if n := yamldoc.Deref(root); n.Kind == yaml.MappingNode && len(ignore) > 0 {
		kept := make([]*yaml.Node, 0, len(n.Content))
		for i := 0; i+1 < len(n.Content); i += 2 {
			if k := yamldoc.Deref(n.Content[i]); k.Kind == yaml.ScalarNode && slices.Contains(ignore, k.Value) {
				continue
			}
			kept = append(kept, n.Content[i], n.Content[i+1])
		}
		c := *n
		c.Content = kept
		root = &c
	}
	defs := &defaults{rule: detour.Rule{Status: detour.DefaultStatus, Query: detour.QueryPreserve}}
	d.rule(root, "", defs)
	if len(f.rules) != 1 || d.Diags.HasErrors() {
		return detour.Rule{}, d.Diags
	}
	return f.rules[0], d.Diags
}

// RuleFields is a rule as the rules file writes it, for JSON: the field
// names and values DecodeRule reads back into the same rule. Fields
// holding their default are left out, but for id, from and status.
type RuleFields struct {
	ID            string        `json:"id"`
	Host          string        `json:"host,omitempty"`
	Scheme        string        `json:"scheme,omitempty"`
	From          string        `json:"from"`
	To            string        `json:"to,omitempty"`
	Status        int           `json:"status"`
	Query         string        `json:"query,omitempty"`
	Methods       []string      `json:"methods,omitempty"`
	Window        *WindowFields `json:"window,omitempty"`
	RetryAfter    string        `json:"retry_after,omitempty"`
	Headers       HeaderFields  `json:"headers,omitempty"`
	Priority      int           `json:"priority,omitempty"`
	Case          string        `json:"case,omitempty"`
	TrailingSlash string        `json:"trailing_slash,omitempty"`
	Absolute      bool          `json:"absolute,omitempty"`
	MaxAge        int           `json:"max_age,omitempty"`
}

// WindowFields is a rule's window: RFC 3339 times with their offsets.
type WindowFields struct {
	Start string `json:"start,omitempty"`
	End   string `json:"end,omitempty"`
}

// HeaderFields are a rule's extra headers; as JSON, an object whose keys
// keep the rule's order.
type HeaderFields []detour.Header

// MarshalJSON writes the headers as one JSON object, in order.
func (h HeaderFields) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, x := range h {
		if i > 0 {
			b.WriteByte(',')
		}
		k, err := json.Marshal(x.Name)
		if err != nil {
			return nil, err
		}
		v, err := json.Marshal(x.Value)
		if err != nil {
			return nil, err
		}
		b.Write(k)
		b.WriteByte(':')
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// UnmarshalJSON reads a JSON object of header names and values, in order.
func (h *HeaderFields) UnmarshalJSON(data []byte) error {
	if bytes.Equal(bytes.TrimSpace(data), []byte("null")) {
		*h = nil
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return fmt.Errorf("headers: want a JSON object")
	}
	var out HeaderFields
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return fmt.Errorf("headers: %w", err)
		}
		name, _ := t.(string)
		var value string
		if err := dec.Decode(&value); err != nil {
			return fmt.Errorf("headers: %s: %w", name, err)
		}
		out = append(out, detour.Header{Name: name, Value: value})
	}
	*h = out
	return nil
}

// Fields returns r as the rules file would write it. Encoded as JSON and
// read back with DecodeRule, it gives r again (but for Source).
func Fields(r *detour.Rule) RuleFields {
	f := RuleFields{
		ID:         r.ID,
		Host:       r.Host,
		Scheme:     r.Scheme,
		From:       r.From,
		To:         r.To,
		Status:     r.Status,
		Query:      string(r.Query),
		Methods:    slices.Clone(r.Methods),
		RetryAfter: r.RetryAfter,
		Headers:    HeaderFields(slices.Clone(r.Headers)),
		Priority:   r.Priority,
		Absolute:   r.Absolute,
		MaxAge:     r.MaxAge,
	}
	if f.Status == 0 {
		f.Status = detour.DefaultStatus
	}
	if r.CaseInsensitive {
		f.Case = "insensitive"
	}
	if r.TrailingSlashEither {
		f.TrailingSlash = "either"
	}
	if !r.Window.IsZero() {
		f.Window = &WindowFields{Start: formatTime(r.Window.Start), End: formatTime(r.Window.End)}
	}
	return f
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Format(time.RFC3339Nano)
}

// MarshalRule returns r as one JSON object of RuleFields.
func MarshalRule(r *detour.Rule) ([]byte, error) {
	return json.Marshal(Fields(r))
}
