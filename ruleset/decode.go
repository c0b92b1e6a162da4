package ruleset

import (
	"cmp"
	"fmt"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
	"golang.org/x/net/http/httpguts"
	"golang.org/x/net/idna"

	"github.com/detourhttp/detour"
	"github.com/detourhttp/detour/internal/yamldoc"
)

// fileSet is one rules file as read.
type fileSet struct {
	file   string
	rules  []detour.Rule
	tables []detour.Table
	places map[placeKey]*place
	order  setting
	merge  setting
	diags  detour.Diagnostics
	// seq is the Source.Seq of the next rule or table.
	seq int
}

// placeKey finds the place of a rule or table (kind "rule", "table") or
// of a set-level setting (kind "setting", id the field name).
type placeKey struct {
	kind string
	file string
	id   string
	seq  int
}

// place is where a rule, table or setting was written.
type place struct {
	file string
	line int
	// path is the field path of the rule or table: "rules[3]".
	path string
	// value is a setting's value as written.
	value string
	// derivedID is true when the rule's id was derived, not written.
	derivedID bool
	// fields says where each field was written; a field that came from
	// defaults has a path beginning "defaults.".
	fields []fieldPlace
}

// fieldPlace is where one field was written.
type fieldPlace struct {
	name string // "to", "window.end", "headers.X-Reason"
	path string // "rules[3].to", "defaults.status"
	line int
}

// fieldAt returns the path and line of the field name ("to",
// "headers.X-Foo", "window"), falling back on the enclosing field and
// then on the rule itself.
func (p *place) fieldAt(name string) (string, int) {
	for _, f := range p.fields {
		if f.name == name {
			return f.path, f.line
		}
	}
	if i := strings.IndexAny(name, ".["); i > 0 {
		for _, f := range p.fields {
			if f.name == name[:i] {
				return f.path + name[i:], f.line
			}
		}
	}
	if name == "" {
		return p.path, p.line
	}
	return p.path + "." + name, p.line
}

// set records where field name was written, replacing a default's place.
func (p *place) set(name, path string, line int) {
	for i := range p.fields {
		if p.fields[i].name == name {
			p.fields[i] = fieldPlace{name: name, path: path, line: line}
			return
		}
	}
	p.fields = append(p.fields, fieldPlace{name: name, path: path, line: line})
}

// Field names, for strict decoding and suggestions.
var (
	topFields      = []string{"defaults", "order", "merge_slashes", "rules", "tables"}
	commonFields   = []string{"host", "scheme", "status", "query", "methods", "headers", "priority", "case", "trailing_slash", "absolute", "max_age"}
	ruleFields     = append(slices.Clone(commonFields), "id", "from", "to", "window", "retry_after")
	defaultsFields = commonFields
	windowFields   = []string{"start", "end"}
	tableFields    = []string{"file", "status", "query", "host", "include_subdomains", "subpath", "case", "max_age"}
)

// decoder walks the YAML tree of one rules file.
type decoder struct {
	yamldoc.Reader
	f *fileSet
}

// newDecoder returns a decoder that adds what it reads to f.
func newDecoder(f *fileSet) *decoder {
	return &decoder{Reader: yamldoc.Reader{File: f.file}, f: f}
}

// parseYAML parses data as the one YAML document of a rules file.
func parseYAML(data []byte) (*yaml.Node, *yamldoc.Error) {
	return yamldoc.Parse(data, yamldoc.Options{Noun: "a rules file"})
}

// parseFile reads one rules file; seq is the Source.Seq of its first
// rule.
func (l *Loader) parseFile(data []byte, name string, seq int) *fileSet {
	f := &fileSet{file: name, places: make(map[placeKey]*place), seq: seq}
	d := newDecoder(f)
	d.document(data, l.maxAliasNodes())
	f.diags = d.Diags
	return f
}

// document decodes the whole of a rules file, its aliases expanding to at
// most maxAliases nodes.
func (d *decoder) document(data []byte, maxAliases int) {
	root, yerr := parseYAML(data)
	if yerr == nil && root != nil {
		yerr = yamldoc.CheckAliases(root, maxAliases)
		if yerr != nil {
			d.Errorf(yerr.Line, "", "alias", "%s", yerr.Msg)
			return
		}
	}
	if yerr != nil {
		d.Errorf(yerr.Line, "", "syntax", "%s", yerr.Msg)
		return
	}
	if root == nil {
		// An empty file is far more often a file caught half-written
		// (truncated, then written in place) than a wish to serve
		// nothing: refusing it keeps the previous rules serving.
		d.Errorf(1, "", "empty", "the rules file is empty; write `rules: []` for a set with no rules")
		return
	}
	d.top(root)
}

func (d *decoder) warnf(line int, field, code, format string, args ...any) {
	d.Diags = append(d.Diags, detour.Diagnostic{Severity: detour.SeverityWarning, File: d.File, Line: line,
		Field: field, Code: code, Message: fmt.Sprintf(format, args...)})
}

// boolean returns true or false.
func (d *decoder) boolean(v *yaml.Node, field string) (bool, bool) {
	s, ok := d.Value(v, field)
	if !ok {
		return false, false
	}
	switch strings.ToLower(s) {
	case "true":
		return true, true
	case "false":
		return false, true
	}
	d.Errorf(v.Line, field, "invalid", "must be true or false, got %q", clip(s))
	return false, false
}

// oneOf returns one of the words choices (compared case-insensitively).
func (d *decoder) oneOf(v *yaml.Node, field string, choices ...string) (string, bool) {
	s, ok := d.Value(v, field)
	if !ok {
		return "", false
	}
	for _, c := range choices {
		if strings.EqualFold(s, c) {
			return c, true
		}
	}
	d.Errorf(v.Line, field, "invalid", "must be %s, got %q", orList(choices), clip(s))
	return "", false
}

func orList(words []string) string {
	if len(words) == 1 {
		return words[0]
	}
	return strings.Join(words[:len(words)-1], ", ") + " or " + words[len(words)-1]
}

// clip cuts s short for a message, as the YAML readers do.
func clip(s string) string { return yamldoc.Clip(s) }

// top decodes the top-level mapping of a rules file.
func (d *decoder) top(root *yaml.Node) {
	n := yamldoc.Deref(root)
	if yamldoc.IsNull(n) {
		return
	}
	if n.Kind != yaml.MappingNode {
		d.Errorf(root.Line, "", "syntax", "a rules file is a mapping with rules:, tables:, defaults:, order: and merge_slashes:, not a %s", yamldoc.KindName(n))
		return
	}
	ps := d.Pairs(n, "")
	// Defaults apply wherever they are written in the file.
	defs := &defaults{rule: detour.Rule{Status: detour.DefaultStatus, Query: detour.QueryPreserve}}
	for _, p := range ps {
		if p.Name == "defaults" {
			d.defaults(p, defs)
		}
	}
	for _, p := range ps {
		switch p.Name {
		case "defaults":
		case "order":
			if v, ok := d.oneOf(p.Val, "order", string(detour.OrderSpecificity), string(detour.OrderFirstMatch)); ok {
				d.f.order = setting{value: v, file: d.f.file, line: p.Val.Line}
			}
		case "merge_slashes":
			if v, ok := d.boolean(p.Val, "merge_slashes"); ok {
				d.f.merge = setting{value: strconv.FormatBool(v), file: d.f.file, line: p.Val.Line}
			}
		case "rules":
			d.list(p, func(item *yaml.Node, path string) { d.rule(item, path, defs) })
		case "tables":
			d.list(p, func(item *yaml.Node, path string) { d.table(item, path, defs) })
		default:
			d.Unknown(p, "", topFields)
		}
	}
}

// list calls fn for each item of the list p.Val, with its field path.
func (d *decoder) list(p yamldoc.Pair, fn func(item *yaml.Node, path string)) {
	if yamldoc.IsNull(p.Val) {
		return
	}
	v := yamldoc.Deref(p.Val)
	if v.Kind != yaml.SequenceNode {
		d.Errorf(p.Val.Line, p.Name, "syntax", "must be a list (each item begins with \"- \"), not a %s", yamldoc.KindName(v))
		return
	}
	for i, item := range v.Content {
		fn(item, yamldoc.Index(p.Name, i))
	}
}

// defaults is what a file's defaults: give each of its rules and tables.
type defaults struct {
	rule   detour.Rule
	fields []fieldPlace
}

func (d *decoder) defaults(p yamldoc.Pair, defs *defaults) {
	if yamldoc.IsNull(p.Val) {
		return
	}
	if yamldoc.Deref(p.Val).Kind != yaml.MappingNode {
		d.Errorf(p.Val.Line, "defaults", "syntax", "must be a mapping of rule fields, not a %s", yamldoc.KindName(yamldoc.Deref(p.Val)))
		return
	}
	for _, q := range d.Pairs(p.Val, "defaults") {
		field := yamldoc.Join("defaults", q.Name)
		if !d.common(&defs.rule, q, field, nil) {
			if slices.Contains(ruleFields, q.Name) {
				d.Errorf(q.Key.Line, field, "unknown-field", "%s cannot have a default; defaults may set %s", q.Name, orList(defaultsFields))
				continue
			}
			d.Unknown(q, "defaults", defaultsFields)
			continue
		}
		defs.fields = append(defs.fields, fieldPlace{name: q.Name, path: field, line: q.Key.Line})
	}
}

// common decodes a field that both rules and defaults have, into r, and
// reports whether q is one. Header lines are recorded in pl when set.
func (d *decoder) common(r *detour.Rule, q yamldoc.Pair, field string, pl *place) bool {
	switch q.Name {
	case "host":
		if s, ok := d.Value(q.Val, field); ok {
			h, err := parseHost(s)
			if err != nil {
				d.Errorf(q.Val.Line, field, "invalid", "%v", err)
				break
			}
			r.Host = h
		}
	case "scheme":
		if s, ok := d.oneOf(q.Val, field, "http", "https"); ok {
			r.Scheme = s
		}
	case "status":
		if n, ok := d.status(q.Val, field); ok {
			r.Status = n
		}
	case "query":
		if s, ok := d.oneOf(q.Val, field, string(detour.QueryPreserve), string(detour.QueryDrop), string(detour.QueryReplace)); ok {
			r.Query = detour.QueryMode(s)
		}
	case "methods":
		if ms, ok := d.methods(q.Val, field); ok {
			r.Methods = ms
		}
	case "headers":
		d.headers(r, q, field, pl)
	case "priority":
		if n, ok := d.Number(q.Val, field, -1_000_000, 1_000_000); ok {
			r.Priority = n
		}
	case "case":
		if s, ok := d.oneOf(q.Val, field, "sensitive", "insensitive"); ok {
			r.CaseInsensitive = s == "insensitive"
		}
	case "trailing_slash":
		if s, ok := d.oneOf(q.Val, field, "strict", "either"); ok {
			r.TrailingSlashEither = s == "either"
		}
	case "absolute":
		if b, ok := d.boolean(q.Val, field); ok {
			r.Absolute = b
		}
	case "max_age":
		if s := yamldoc.Deref(q.Val); s.Kind == yaml.ScalarNode && s.Value == "0" {
			d.Errorf(q.Val.Line, field, "invalid", "must be at least 1; to keep a redirect out of caches use a temporary status (302, 303, 307)")
		} else if n, ok := d.Number(q.Val, field, 1, 1<<31-1); ok {
			r.MaxAge = n
		}
	default:
		return false
	}
	return true
}

func (d *decoder) status(v *yaml.Node, field string) (int, bool) {
	s, ok := d.Value(v, field)
	if !ok {
		return 0, false
	}
	n, err := strconv.Atoi(s)
	if err != nil || !detour.ValidStatus(n) {
		d.Errorf(v.Line, field, "invalid", "status must be 301, 302, 303, 307, 308 or 410, got %q", clip(s))
		return 0, false
	}
	return n, true
}

// methods decodes a list of method names into upper-case tokens, without
// repeats.
func (d *decoder) methods(v *yaml.Node, field string) ([]string, bool) {
	vv := yamldoc.Deref(v)
	if vv.Kind != yaml.SequenceNode {
		d.Errorf(v.Line, field, "invalid", "must be a list of methods, such as [GET, HEAD, POST]")
		return nil, false
	}
	if len(vv.Content) == 0 {
		d.Errorf(v.Line, field, "invalid", "lists no method; leave methods out to answer every method but OPTIONS")
		return nil, false
	}
	ok := true
	var out []string
	for i, item := range vv.Content {
		f := yamldoc.Index(field, i)
		s, good := d.Value(item, f)
		if !good {
			ok = false
			continue
		}
		m := strings.ToUpper(s)
		if !httpguts.ValidHeaderFieldName(m) {
			d.Errorf(item.Line, f, "invalid", "%q is not a method name", clip(s))
			ok = false
			continue
		}
		if !slices.Contains(out, m) {
			out = append(out, m)
		}
	}
	return out, ok
}

// headers decodes extra response headers into r, in file order; a header
// named again replaces the default's.
func (d *decoder) headers(r *detour.Rule, q yamldoc.Pair, field string, pl *place) {
	if yamldoc.IsNull(q.Val) {
		return
	}
	if yamldoc.Deref(q.Val).Kind != yaml.MappingNode {
		d.Errorf(q.Val.Line, field, "invalid", "must be a mapping of header names to values, such as {X-Reason: maintenance}")
		return
	}
	hs := slices.Clone(r.Headers)
	for _, h := range d.Pairs(q.Val, field) {
		f := yamldoc.Join(field, h.Name)
		if !httpguts.ValidHeaderFieldName(h.Name) {
			d.Errorf(h.Key.Line, f, "invalid", "%q is not a header name", clip(h.Name))
			continue
		}
		val, ok := d.Value(h.Val, f)
		if !ok {
			continue
		}
		if i := slices.IndexFunc(hs, func(x detour.Header) bool { return strings.EqualFold(x.Name, h.Name) }); i >= 0 {
			hs[i] = detour.Header{Name: h.Name, Value: val}
		} else {
			hs = append(hs, detour.Header{Name: h.Name, Value: val})
		}
		if pl != nil {
			pl.set("headers."+h.Name, f, h.Key.Line)
		}
	}
	r.Headers = hs
}

// parseHost returns the host matcher of a rule: an exact host or a
// "*."-wildcard, lower-case, internationalised names as A-labels.
func parseHost(s string) (string, error) {
	if s == "" {
		return "", nil
	}
	rest, wild := strings.CutPrefix(s, "*.")
	if strings.HasPrefix(rest, "[") {
		if wild || !strings.HasSuffix(rest, "]") {
			return "", fmt.Errorf("%q is not a host", clip(s))
		}
		return strings.ToLower(rest), nil
	}
	if strings.ContainsAny(rest, "*/:@?# \t") {
		switch {
		case strings.Contains(rest, "://"):
			return "", fmt.Errorf("host is a name such as example.com, not a URL: %q", clip(s))
		case strings.Contains(rest, ":"):
			return "", fmt.Errorf("host must not have a port (requests are matched without it): %q", clip(s))
		case strings.Contains(rest, "*"):
			return "", fmt.Errorf("a wildcard host is written *.example.com, with the * alone as the first label: %q", clip(s))
		}
		return "", fmt.Errorf("%q is not a host", clip(s))
	}
	h, err := detour.NormalizeHost(rest)
	if err != nil || h == "" {
		return "", fmt.Errorf("%q is not a host name (internationalised names must be valid IDNA)", clip(s))
	}
	if strings.Contains(h, "xn--") {
		if _, err := idna.Lookup.ToUnicode(h); err != nil {
			return "", fmt.Errorf("%q is not a valid internationalised host name: %v", clip(s), err)
		}
	}
	if len(h) > 253 {
		return "", fmt.Errorf("host is longer than 253 characters")
	}
	for label := range strings.SplitSeq(h, ".") {
		if label == "" || len(label) > 63 {
			return "", fmt.Errorf("%q is not a host name: every label must hold 1 to 63 characters", clip(s))
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
				return "", fmt.Errorf("%q is not a host name", clip(s))
			}
		}
	}
	if wild {
		return "*." + h, nil
	}
	return h, nil
}

// validID reports whether s is a rule id: 1 to 128 letters, digits, '.',
// '_' and '-', beginning with a letter or digit.
func validID(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case (c == '.' || c == '_' || c == '-') && i > 0:
		default:
			return false
		}
	}
	return true
}

// rule decodes one item of rules: and adds it to the file's rules unless
// it has errors.
func (d *decoder) rule(item *yaml.Node, path string, defs *defaults) {
	n := yamldoc.Deref(item)
	if n.Kind != yaml.MappingNode {
		d.Errorf(item.Line, path, "syntax", "a rule is a mapping with from: and to:, not a %s", yamldoc.KindName(n))
		return
	}
	before := d.Errors()
	r := defs.rule
	r.Methods = slices.Clone(r.Methods)
	r.Headers = slices.Clone(r.Headers)
	pl := &place{file: d.f.file, line: item.Line, path: path, fields: slices.Clone(defs.fields)}
	var (
		sawFrom    bool
		toPair     *yamldoc.Pair
		retryAfter *yamldoc.Pair
		window     detour.Window
	)
	for _, p := range d.Pairs(n, path) {
		field := yamldoc.Join(path, p.Name)
		if slices.Contains(ruleFields, p.Name) {
			pl.set(p.Name, field, p.Key.Line)
		}
		if d.common(&r, p, field, pl) {
			continue
		}
		switch p.Name {
		case "id":
			if s, ok := d.Value(p.Val, field); ok {
				if !validID(s) {
					d.Errorf(p.Val.Line, field, "invalid", "id %q must be 1 to 128 letters, digits, '.', '_' or '-', beginning with a letter or digit", clip(s))
					break
				}
				r.ID = s
			}
		case "from":
			sawFrom = true
			if s, ok := d.Value(p.Val, field); ok {
				if s == "" {
					d.Errorf(p.Val.Line, field, "invalid", "from is empty; it is a path such as /old, a pattern or a ~regex")
					break
				}
				r.From = s
			}
		case "to":
			toPair = &p
			if s, ok := d.Value(p.Val, field); ok {
				r.To = s
			}
		case "window":
			window = d.window(p, field, pl)
		case "retry_after":
			retryAfter = &p
		default:
			d.Unknown(p, path, ruleFields)
		}
	}
	r.Window = window
	if retryAfter != nil {
		r.RetryAfter = d.retryAfter(*retryAfter, yamldoc.Join(path, "retry_after"), window)
	}
	if !sawFrom {
		d.Errorf(item.Line, yamldoc.Join(path, "from"), "invalid", "missing: every rule needs from:")
	}
	switch {
	case r.Status == detour.StatusGone && r.To != "":
		d.warnf(toPair.Val.Line, yamldoc.Join(path, "to"), "ignored", "to is ignored: a 410 answers with no Location")
		r.To = ""
	case r.Status != detour.StatusGone && toPair == nil:
		d.Errorf(item.Line, yamldoc.Join(path, "to"), "invalid", "missing: a rule needs to: unless its status is 410")
	case r.Status != detour.StatusGone && r.To == "" && yamldoc.Deref(toPair.Val).Kind == yaml.ScalarNode:
		d.Errorf(toPair.Val.Line, yamldoc.Join(path, "to"), "invalid", "to is empty; only a 410 rule has no target")
	}
	seq := d.f.seq
	d.f.seq++
	if d.Errors() > before {
		return
	}
	if r.ID == "" {
		r.ID = detour.DeriveID(r.Host, r.From, r.Methods)
		pl.derivedID = true
	}
	r.Source = detour.Source{File: d.f.file, Line: item.Line, Seq: seq}
	d.f.rules = append(d.f.rules, r)
	d.f.places[placeKey{kind: "rule", file: d.f.file, id: r.ID, seq: seq}] = pl
}

// window decodes window: {start, end}.
func (d *decoder) window(p yamldoc.Pair, field string, pl *place) detour.Window {
	var w detour.Window
	if yamldoc.IsNull(p.Val) {
		return w
	}
	if yamldoc.Deref(p.Val).Kind != yaml.MappingNode {
		d.Errorf(p.Val.Line, field, "invalid", "must be a mapping with start: and/or end:")
		return w
	}
	endLine := 0
	for _, q := range d.Pairs(p.Val, field) {
		f := yamldoc.Join(field, q.Name)
		var t *time.Time
		switch q.Name {
		case "start":
			t = &w.Start
		case "end":
			t = &w.End
			endLine = q.Val.Line
		default:
			d.Unknown(q, field, windowFields)
			continue
		}
		pl.set("window."+q.Name, f, q.Key.Line)
		s, ok := d.Value(q.Val, f)
		if !ok || s == "" {
			continue
		}
		tm, err := parseTime(s)
		if err != nil {
			d.Errorf(q.Val.Line, f, "invalid", "%v", err)
			continue
		}
		*t = tm
	}
	if !w.Start.IsZero() && !w.End.IsZero() && !w.End.After(w.Start) {
		d.Errorf(endLine, yamldoc.Join(field, "end"), "invalid", "the window ends (%s) before it starts (%s)",
			w.End.Format(time.RFC3339), w.Start.Format(time.RFC3339))
	}
	return w
}

// parseTime parses an RFC 3339 time, which must have an explicit offset.
func parseTime(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	for _, layout := range []string{"2006-01-02T15:04:05", "2006-01-02 15:04:05", "2006-01-02T15:04", "2006-01-02 15:04"} {
		if _, err := time.Parse(layout, s); err == nil {
			return time.Time{}, fmt.Errorf("%q has no offset: write it with Z or ±hh:mm, such as %sZ", clip(s), strings.Replace(s, " ", "T", 1))
		}
	}
	if _, err := time.Parse("2006-01-02", s); err == nil {
		return time.Time{}, fmt.Errorf("%q has no time and no offset: write it as %sT00:00:00Z or with your offset", clip(s), s)
	}
	return time.Time{}, fmt.Errorf("%q is not an RFC 3339 time such as 2026-12-01T02:00:00Z", clip(s))
}

// httpDate is the IMF-fixdate layout of RFC 9110 §5.6.7.
const httpDate = "Mon, 02 Jan 2006 15:04:05 GMT"

// retryAfter decodes retry_after: seconds, an HTTP date (or an RFC 3339
// time, sent as an HTTP date), or window_end, which needs a window end.
func (d *decoder) retryAfter(p yamldoc.Pair, field string, w detour.Window) string {
	s, ok := d.Value(p.Val, field)
	if !ok || s == "" {
		return ""
	}
	if s == "window_end" {
		if w.End.IsZero() {
			d.Errorf(p.Val.Line, field, "invalid", "window_end needs a window with an end")
			return ""
		}
		return s
	}
	if n, err := strconv.Atoi(s); err == nil {
		if n < 0 {
			d.Errorf(p.Val.Line, field, "invalid", "must not be negative, got %d", n)
			return ""
		}
		return strconv.Itoa(n)
	}
	if t, err := time.Parse(httpDate, s); err == nil {
		return t.UTC().Format(httpDate)
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC().Format(httpDate)
	}
	d.Errorf(p.Val.Line, field, "invalid", "must be seconds, an HTTP date such as %q, or window_end; got %q",
		"Tue, 01 Dec 2026 04:00:00 GMT", clip(s))
	return ""
}

// table decodes one item of tables:.
func (d *decoder) table(item *yaml.Node, fpath string, defs *defaults) {
	n := yamldoc.Deref(item)
	if n.Kind != yaml.MappingNode {
		d.Errorf(item.Line, fpath, "syntax", "a table is a mapping with file:, not a %s", yamldoc.KindName(n))
		return
	}
	before := d.Errors()
	def := defs.rule
	t := detour.Table{Status: def.Status, Query: def.Query, CaseInsensitive: def.CaseInsensitive, MaxAge: def.MaxAge}
	pl := &place{file: d.f.file, line: item.Line, path: fpath}
	for _, f := range defs.fields {
		if slices.Contains(tableFields, f.name) && f.name != "host" {
			pl.fields = append(pl.fields, f)
		}
	}
	sawFile := false
	for _, p := range d.Pairs(n, fpath) {
		field := yamldoc.Join(fpath, p.Name)
		if slices.Contains(tableFields, p.Name) {
			pl.set(p.Name, field, p.Key.Line)
		}
		switch p.Name {
		case "file":
			sawFile = true
			s, ok := d.Value(p.Val, field)
			if !ok {
				break
			}
			if err := checkTablePath(s); err != nil {
				d.Errorf(p.Val.Line, field, "table", "%v", err)
				break
			}
			t.File = s
		case "host":
			s, ok := d.Value(p.Val, field)
			if !ok {
				break
			}
			h, err := parseHost(s)
			switch {
			case err != nil:
				d.Errorf(p.Val.Line, field, "invalid", "%v", err)
			case strings.HasPrefix(h, "*."):
				d.Errorf(p.Val.Line, field, "invalid", "a table's host is exact; add include_subdomains: true to match the names below it")
			default:
				t.Host = h
			}
		case "include_subdomains":
			if b, ok := d.boolean(p.Val, field); ok {
				t.IncludeSubdomains = b
			}
		case "subpath":
			if b, ok := d.boolean(p.Val, field); ok {
				t.Subpath = b
			}
		case "status", "query", "case", "max_age":
			var r detour.Rule
			if !d.common(&r, p, field, nil) {
				break
			}
			switch p.Name {
			case "status":
				t.Status = cmp.Or(r.Status, t.Status)
			case "query":
				t.Query = detour.QueryMode(cmp.Or(string(r.Query), string(t.Query)))
			case "case":
				t.CaseInsensitive = r.CaseInsensitive
			case "max_age":
				t.MaxAge = cmp.Or(r.MaxAge, t.MaxAge)
			}
		default:
			d.Unknown(p, fpath, tableFields)
		}
	}
	if !sawFile {
		d.Errorf(item.Line, yamldoc.Join(fpath, "file"), "table", "missing: a table needs file:")
	}
	seq := d.f.seq
	d.f.seq++
	if d.Errors() > before {
		return
	}
	t.ID = "table:" + path.Clean(t.File)
	t.Source = detour.Source{File: d.f.file, Line: item.Line, Seq: seq}
	d.f.tables = append(d.f.tables, t)
	d.f.places[placeKey{kind: "table", file: d.f.file, id: t.ID, seq: seq}] = pl
}

// checkTablePath refuses a table path that is absolute or climbs out of
// the rules file's folder. (Symlinks are checked when the table is read.)
func checkTablePath(p string) error {
	switch {
	case p == "":
		return fmt.Errorf("file is empty; it names a CSV file beside the rules file")
	case strings.HasPrefix(p, "/") || strings.HasPrefix(p, `\`) || len(p) > 1 && p[1] == ':':
		return fmt.Errorf("%q is an absolute path; a table is named relative to the rules file and stays in its folder", clip(p))
	case strings.ContainsRune(p, 0):
		return fmt.Errorf("the path holds a NUL byte")
	}
	for seg := range strings.SplitSeq(strings.ReplaceAll(p, `\`, "/"), "/") {
		if seg == ".." {
			return fmt.Errorf("%q leaves the rules file's folder (..); a table must stay in it", clip(p))
		}
	}
	return nil
}
