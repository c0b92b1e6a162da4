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
	f *fileSet
}

// parseFile reads one rules file; seq is the Source.Seq of its first
// rule.
func (l *Loader) parseFile(data []byte, name string, seq int) *fileSet {
	f := &fileSet{file: name, places: make(map[placeKey]*place), seq: seq}
	d := decoder{f: f}
	root, yerr := parseYAML(data)
	if yerr == nil && root != nil {
		yerr = checkAliases(root, l.maxAliasNodes())
		if yerr != nil {
			d.errorf(yerr.line, "", "alias", "%s", yerr.msg)
			return f
		}
	}
	if yerr != nil {
		d.errorf(yerr.line, "", "syntax", "%s", yerr.msg)
		return f
	}
	if root == nil {
		// An empty file is far more often a file caught half-written
		// (truncated, then written in place) than a wish to serve
		// nothing: refusing it keeps the previous rules serving.
		d.errorf(1, "", "empty", "the rules file is empty; write `rules: []` for a set with no rules")
		return f
	}
	d.top(root)
	return f
}

func (d *decoder) errorf(line int, field, code, format string, args ...any) {
	d.f.diags = append(d.f.diags, detour.Diagnostic{Severity: detour.SeverityError, File: d.f.file, Line: line,
		Field: field, Code: code, Message: fmt.Sprintf(format, args...)})
}

func (d *decoder) warnf(line int, field, code, format string, args ...any) {
	d.f.diags = append(d.f.diags, detour.Diagnostic{Severity: detour.SeverityWarning, File: d.f.file, Line: line,
		Field: field, Code: code, Message: fmt.Sprintf(format, args...)})
}

// errors returns the number of errors found so far.
func (d *decoder) errors() int {
	n := 0
	for _, x := range d.f.diags {
		if x.Severity == detour.SeverityError {
			n++
		}
	}
	return n
}

// deref follows aliases.
func deref(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	n = deref(n)
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

func join(parent, name string) string {
	if parent == "" {
		return name
	}
	return parent + "." + name
}

func index(parent string, i int) string { return parent + "[" + strconv.Itoa(i) + "]" }

// pair is one key and value of a mapping.
type pair struct {
	name     string
	key, val *yaml.Node
}

// pairs returns the entries of mapping n in file order, with YAML merge
// keys ("<<: *anchor") resolved: an entry written in n overrides a merged
// one. A key given twice is an error.
func (d *decoder) pairs(n *yaml.Node, parent string) []pair {
	n = deref(n)
	var out, merged []pair
	seen := make(map[string]*yaml.Node)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		kk := deref(k)
		if kk.Kind != yaml.ScalarNode {
			d.errorf(k.Line, parent, "syntax", "a field name must be a plain word, not a %s", kindName(kk))
			continue
		}
		if kk.ShortTag() == "!!merge" {
			merged = append(merged, d.mergePairs(v, parent)...)
			continue
		}
		if prev := seen[kk.Value]; prev != nil {
			d.errorf(k.Line, join(parent, kk.Value), "duplicate-field", "field %q is given twice (first at line %d)", kk.Value, prev.Line)
			continue
		}
		seen[kk.Value] = k
		out = append(out, pair{name: kk.Value, key: k, val: v})
	}
	for _, p := range merged {
		if seen[p.name] == nil {
			seen[p.name] = p.key
			out = append(out, p)
		}
	}
	return out
}

// mergePairs returns the entries a merge key brings: those of a mapping,
// or of a list of mappings where earlier ones win.
func (d *decoder) mergePairs(v *yaml.Node, parent string) []pair {
	vv := deref(v)
	switch vv.Kind {
	case yaml.MappingNode:
		return d.pairs(vv, parent)
	case yaml.SequenceNode:
		var out []pair
		seen := make(map[string]bool)
		for _, item := range vv.Content {
			if deref(item).Kind != yaml.MappingNode {
				d.errorf(item.Line, parent, "syntax", "<< takes a mapping or a list of mappings")
				continue
			}
			for _, p := range d.pairs(item, parent) {
				if !seen[p.name] {
					seen[p.name] = true
					out = append(out, p)
				}
			}
		}
		return out
	}
	d.errorf(v.Line, parent, "syntax", "<< takes a mapping or a list of mappings")
	return nil
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "mapping"
	case yaml.SequenceNode:
		return "list"
	case yaml.ScalarNode:
		return "value"
	}
	return "node"
}

// unknown reports a field that is not one of known, suggesting the
// nearest known name.
func (d *decoder) unknown(p pair, parent string, known []string) {
	msg := fmt.Sprintf("unknown field %q", p.name)
	if s := nearest(p.name, known); s != "" {
		msg += fmt.Sprintf(" (did you mean %q?)", s)
	}
	d.errorf(p.key.Line, join(parent, p.name), "unknown-field", "%s", msg)
}

// nearest returns the name in known closest to s by edit distance, if it
// is close enough to be a likely typo.
func nearest(s string, known []string) string {
	best, bestDist := "", 3
	for _, k := range known {
		if dist := editDistance(strings.ToLower(s), k); dist < bestDist {
			best, bestDist = k, dist
		}
	}
	if bestDist > len(s)/2 {
		return ""
	}
	return best
}

// editDistance is the Levenshtein distance of a and b (short strings).
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

// text returns the text of a scalar; null is "". It reports anything
// else.
func (d *decoder) text(v *yaml.Node, field string) (string, bool) {
	vv := deref(v)
	if vv.Kind != yaml.ScalarNode {
		d.errorf(v.Line, field, "invalid", "must be a single value, not a %s", kindName(vv))
		return "", false
	}
	if vv.ShortTag() == "!!null" {
		return "", true
	}
	return vv.Value, true
}

// integer returns a whole number in [lo, hi].
func (d *decoder) integer(v *yaml.Node, field string, lo, hi int) (int, bool) {
	s, ok := d.text(v, field)
	if !ok {
		return 0, false
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		d.errorf(v.Line, field, "invalid", "must be a whole number, got %q", clip(s))
		return 0, false
	}
	if n < lo || n > hi {
		d.errorf(v.Line, field, "invalid", "must be between %d and %d, got %d", lo, hi, n)
		return 0, false
	}
	return n, true
}

// boolean returns true or false.
func (d *decoder) boolean(v *yaml.Node, field string) (bool, bool) {
	s, ok := d.text(v, field)
	if !ok {
		return false, false
	}
	switch strings.ToLower(s) {
	case "true":
		return true, true
	case "false":
		return false, true
	}
	d.errorf(v.Line, field, "invalid", "must be true or false, got %q", clip(s))
	return false, false
}

// oneOf returns one of the words choices (compared case-insensitively).
func (d *decoder) oneOf(v *yaml.Node, field string, choices ...string) (string, bool) {
	s, ok := d.text(v, field)
	if !ok {
		return "", false
	}
	for _, c := range choices {
		if strings.EqualFold(s, c) {
			return c, true
		}
	}
	d.errorf(v.Line, field, "invalid", "must be %s, got %q", orList(choices), clip(s))
	return "", false
}

func orList(words []string) string {
	if len(words) == 1 {
		return words[0]
	}
	return strings.Join(words[:len(words)-1], ", ") + " or " + words[len(words)-1]
}

// clip cuts s short for a message.
func clip(s string) string {
	const n = 80
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && s[cut]&0xc0 == 0x80 {
		cut--
	}
	return s[:cut] + "…"
}

// top decodes the top-level mapping of a rules file.
func (d *decoder) top(root *yaml.Node) {
	n := deref(root)
	if isNull(n) {
		return
	}
	if n.Kind != yaml.MappingNode {
		d.errorf(root.Line, "", "syntax", "a rules file is a mapping with rules:, tables:, defaults:, order: and merge_slashes:, not a %s", kindName(n))
		return
	}
	ps := d.pairs(n, "")
	// Defaults apply wherever they are written in the file.
	defs := &defaults{rule: detour.Rule{Status: detour.DefaultStatus, Query: detour.QueryPreserve}}
	for _, p := range ps {
		if p.name == "defaults" {
			d.defaults(p, defs)
		}
	}
	for _, p := range ps {
		switch p.name {
		case "defaults":
		case "order":
			if v, ok := d.oneOf(p.val, "order", string(detour.OrderSpecificity), string(detour.OrderFirstMatch)); ok {
				d.f.order = setting{value: v, file: d.f.file, line: p.val.Line}
			}
		case "merge_slashes":
			if v, ok := d.boolean(p.val, "merge_slashes"); ok {
				d.f.merge = setting{value: strconv.FormatBool(v), file: d.f.file, line: p.val.Line}
			}
		case "rules":
			d.list(p, func(item *yaml.Node, path string) { d.rule(item, path, defs) })
		case "tables":
			d.list(p, func(item *yaml.Node, path string) { d.table(item, path, defs) })
		default:
			d.unknown(p, "", topFields)
		}
	}
}

// list calls fn for each item of the list p.val, with its field path.
func (d *decoder) list(p pair, fn func(item *yaml.Node, path string)) {
	if isNull(p.val) {
		return
	}
	v := deref(p.val)
	if v.Kind != yaml.SequenceNode {
		d.errorf(p.val.Line, p.name, "syntax", "must be a list (each item begins with \"- \"), not a %s", kindName(v))
		return
	}
	for i, item := range v.Content {
		fn(item, index(p.name, i))
	}
}

// defaults is what a file's defaults: give each of its rules and tables.
type defaults struct {
	rule   detour.Rule
	fields []fieldPlace
}

func (d *decoder) defaults(p pair, defs *defaults) {
	if isNull(p.val) {
		return
	}
	if deref(p.val).Kind != yaml.MappingNode {
		d.errorf(p.val.Line, "defaults", "syntax", "must be a mapping of rule fields, not a %s", kindName(deref(p.val)))
		return
	}
	for _, q := range d.pairs(p.val, "defaults") {
		field := join("defaults", q.name)
		if !d.common(&defs.rule, q, field, nil) {
			if slices.Contains(ruleFields, q.name) {
				d.errorf(q.key.Line, field, "unknown-field", "%s cannot have a default; defaults may set %s", q.name, orList(defaultsFields))
				continue
			}
			d.unknown(q, "defaults", defaultsFields)
			continue
		}
		defs.fields = append(defs.fields, fieldPlace{name: q.name, path: field, line: q.key.Line})
	}
}

// common decodes a field that both rules and defaults have, into r, and
// reports whether q is one. Header lines are recorded in pl when set.
func (d *decoder) common(r *detour.Rule, q pair, field string, pl *place) bool {
	switch q.name {
	case "host":
		if s, ok := d.text(q.val, field); ok {
			h, err := parseHost(s)
			if err != nil {
				d.errorf(q.val.Line, field, "invalid", "%v", err)
				break
			}
			r.Host = h
		}
	case "scheme":
		if s, ok := d.oneOf(q.val, field, "http", "https"); ok {
			r.Scheme = s
		}
	case "status":
		if n, ok := d.status(q.val, field); ok {
			r.Status = n
		}
	case "query":
		if s, ok := d.oneOf(q.val, field, string(detour.QueryPreserve), string(detour.QueryDrop), string(detour.QueryReplace)); ok {
			r.Query = detour.QueryMode(s)
		}
	case "methods":
		if ms, ok := d.methods(q.val, field); ok {
			r.Methods = ms
		}
	case "headers":
		d.headers(r, q, field, pl)
	case "priority":
		if n, ok := d.integer(q.val, field, -1_000_000, 1_000_000); ok {
			r.Priority = n
		}
	case "case":
		if s, ok := d.oneOf(q.val, field, "sensitive", "insensitive"); ok {
			r.CaseInsensitive = s == "insensitive"
		}
	case "trailing_slash":
		if s, ok := d.oneOf(q.val, field, "strict", "either"); ok {
			r.TrailingSlashEither = s == "either"
		}
	case "absolute":
		if b, ok := d.boolean(q.val, field); ok {
			r.Absolute = b
		}
	case "max_age":
		if s := deref(q.val); s.Kind == yaml.ScalarNode && s.Value == "0" {
			d.errorf(q.val.Line, field, "invalid", "must be at least 1; to keep a redirect out of caches use a temporary status (302, 303, 307)")
		} else if n, ok := d.integer(q.val, field, 1, 1<<31-1); ok {
			r.MaxAge = n
		}
	default:
		return false
	}
	return true
}

func (d *decoder) status(v *yaml.Node, field string) (int, bool) {
	s, ok := d.text(v, field)
	if !ok {
		return 0, false
	}
	n, err := strconv.Atoi(s)
	if err != nil || !detour.ValidStatus(n) {
		d.errorf(v.Line, field, "invalid", "status must be 301, 302, 303, 307, 308 or 410, got %q", clip(s))
		return 0, false
	}
	return n, true
}

// methods decodes a list of method names into upper-case tokens, without
// repeats.
func (d *decoder) methods(v *yaml.Node, field string) ([]string, bool) {
	vv := deref(v)
	if vv.Kind != yaml.SequenceNode {
		d.errorf(v.Line, field, "invalid", "must be a list of methods, such as [GET, HEAD, POST]")
		return nil, false
	}
	if len(vv.Content) == 0 {
		d.errorf(v.Line, field, "invalid", "lists no method; leave methods out to answer every method but OPTIONS")
		return nil, false
	}
	ok := true
	var out []string
	for i, item := range vv.Content {
		f := index(field, i)
		s, good := d.text(item, f)
		if !good {
			ok = false
			continue
		}
		m := strings.ToUpper(s)
		if !httpguts.ValidHeaderFieldName(m) {
			d.errorf(item.Line, f, "invalid", "%q is not a method name", clip(s))
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
func (d *decoder) headers(r *detour.Rule, q pair, field string, pl *place) {
	if isNull(q.val) {
		return
	}
	if deref(q.val).Kind != yaml.MappingNode {
		d.errorf(q.val.Line, field, "invalid", "must be a mapping of header names to values, such as {X-Reason: maintenance}")
		return
	}
	hs := slices.Clone(r.Headers)
	for _, h := range d.pairs(q.val, field) {
		f := join(field, h.name)
		if !httpguts.ValidHeaderFieldName(h.name) {
			d.errorf(h.key.Line, f, "invalid", "%q is not a header name", clip(h.name))
			continue
		}
		val, ok := d.text(h.val, f)
		if !ok {
			continue
		}
		if i := slices.IndexFunc(hs, func(x detour.Header) bool { return strings.EqualFold(x.Name, h.name) }); i >= 0 {
			hs[i] = detour.Header{Name: h.name, Value: val}
		} else {
			hs = append(hs, detour.Header{Name: h.name, Value: val})
		}
		if pl != nil {
			pl.set("headers."+h.name, f, h.key.Line)
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
	n := deref(item)
	if n.Kind != yaml.MappingNode {
		d.errorf(item.Line, path, "syntax", "a rule is a mapping with from: and to:, not a %s", kindName(n))
		return
	}
	before := d.errors()
	r := defs.rule
	r.Methods = slices.Clone(r.Methods)
	r.Headers = slices.Clone(r.Headers)
	pl := &place{file: d.f.file, line: item.Line, path: path, fields: slices.Clone(defs.fields)}
	var (
		sawFrom    bool
		toPair     *pair
		retryAfter *pair
		window     detour.Window
	)
	for _, p := range d.pairs(n, path) {
		field := join(path, p.name)
		if slices.Contains(ruleFields, p.name) {
			pl.set(p.name, field, p.key.Line)
		}
		if d.common(&r, p, field, pl) {
			continue
		}
		switch p.name {
		case "id":
			if s, ok := d.text(p.val, field); ok {
				if !validID(s) {
					d.errorf(p.val.Line, field, "invalid", "id %q must be 1 to 128 letters, digits, '.', '_' or '-', beginning with a letter or digit", clip(s))
					break
				}
				r.ID = s
			}
		case "from":
			sawFrom = true
			if s, ok := d.text(p.val, field); ok {
				if s == "" {
					d.errorf(p.val.Line, field, "invalid", "from is empty; it is a path such as /old, a pattern or a ~regex")
					break
				}
				r.From = s
			}
		case "to":
			toPair = &p
			if s, ok := d.text(p.val, field); ok {
				r.To = s
			}
		case "window":
			window = d.window(p, field, pl)
		case "retry_after":
			retryAfter = &p
		default:
			d.unknown(p, path, ruleFields)
		}
	}
	r.Window = window
	if retryAfter != nil {
		r.RetryAfter = d.retryAfter(*retryAfter, join(path, "retry_after"), window)
	}
	if !sawFrom {
		d.errorf(item.Line, join(path, "from"), "invalid", "missing: every rule needs from:")
	}
	switch {
	case r.Status == detour.StatusGone && r.To != "":
		d.warnf(toPair.val.Line, join(path, "to"), "ignored", "to is ignored: a 410 answers with no Location")
		r.To = ""
	case r.Status != detour.StatusGone && toPair == nil:
		d.errorf(item.Line, join(path, "to"), "invalid", "missing: a rule needs to: unless its status is 410")
	case r.Status != detour.StatusGone && r.To == "" && deref(toPair.val).Kind == yaml.ScalarNode:
		d.errorf(toPair.val.Line, join(path, "to"), "invalid", "to is empty; only a 410 rule has no target")
	}
	seq := d.f.seq
	d.f.seq++
	if d.errors() > before {
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
func (d *decoder) window(p pair, field string, pl *place) detour.Window {
	var w detour.Window
	if isNull(p.val) {
		return w
	}
	if deref(p.val).Kind != yaml.MappingNode {
		d.errorf(p.val.Line, field, "invalid", "must be a mapping with start: and/or end:")
		return w
	}
	endLine := 0
	for _, q := range d.pairs(p.val, field) {
		f := join(field, q.name)
		var t *time.Time
		switch q.name {
		case "start":
			t = &w.Start
		case "end":
			t = &w.End
			endLine = q.val.Line
		default:
			d.unknown(q, field, windowFields)
			continue
		}
		pl.set("window."+q.name, f, q.key.Line)
		s, ok := d.text(q.val, f)
		if !ok || s == "" {
			continue
		}
		tm, err := parseTime(s)
		if err != nil {
			d.errorf(q.val.Line, f, "invalid", "%v", err)
			continue
		}
		*t = tm
	}
	if !w.Start.IsZero() && !w.End.IsZero() && !w.End.After(w.Start) {
		d.errorf(endLine, join(field, "end"), "invalid", "the window ends (%s) before it starts (%s)",
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
func (d *decoder) retryAfter(p pair, field string, w detour.Window) string {
	s, ok := d.text(p.val, field)
	if !ok || s == "" {
		return ""
	}
	if s == "window_end" {
		if w.End.IsZero() {
			d.errorf(p.val.Line, field, "invalid", "window_end needs a window with an end")
			return ""
		}
		return s
	}
	if n, err := strconv.Atoi(s); err == nil {
		if n < 0 {
			d.errorf(p.val.Line, field, "invalid", "must not be negative, got %d", n)
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
	d.errorf(p.val.Line, field, "invalid", "must be seconds, an HTTP date such as %q, or window_end; got %q",
		"Tue, 01 Dec 2026 04:00:00 GMT", clip(s))
	return ""
}

// table decodes one item of tables:.
func (d *decoder) table(item *yaml.Node, fpath string, defs *defaults) {
	n := deref(item)
	if n.Kind != yaml.MappingNode {
		d.errorf(item.Line, fpath, "syntax", "a table is a mapping with file:, not a %s", kindName(n))
		return
	}
	before := d.errors()
	def := defs.rule
	t := detour.Table{Status: def.Status, Query: def.Query, CaseInsensitive: def.CaseInsensitive, MaxAge: def.MaxAge}
	pl := &place{file: d.f.file, line: item.Line, path: fpath}
	for _, f := range defs.fields {
		if slices.Contains(tableFields, f.name) && f.name != "host" {
			pl.fields = append(pl.fields, f)
		}
	}
	sawFile := false
	for _, p := range d.pairs(n, fpath) {
		field := join(fpath, p.name)
		if slices.Contains(tableFields, p.name) {
			pl.set(p.name, field, p.key.Line)
		}
		switch p.name {
		case "file":
			sawFile = true
			s, ok := d.text(p.val, field)
			if !ok {
				break
			}
			if err := checkTablePath(s); err != nil {
				d.errorf(p.val.Line, field, "table", "%v", err)
				break
			}
			t.File = s
		case "host":
			s, ok := d.text(p.val, field)
			if !ok {
				break
			}
			h, err := parseHost(s)
			switch {
			case err != nil:
				d.errorf(p.val.Line, field, "invalid", "%v", err)
			case strings.HasPrefix(h, "*."):
				d.errorf(p.val.Line, field, "invalid", "a table's host is exact; add include_subdomains: true to match the names below it")
			default:
				t.Host = h
			}
		case "include_subdomains":
			if b, ok := d.boolean(p.val, field); ok {
				t.IncludeSubdomains = b
			}
		case "subpath":
			if b, ok := d.boolean(p.val, field); ok {
				t.Subpath = b
			}
		case "status", "query", "case", "max_age":
			var r detour.Rule
			if !d.common(&r, p, field, nil) {
				break
			}
			switch p.name {
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
			d.unknown(p, fpath, tableFields)
		}
	}
	if !sawFile {
		d.errorf(item.Line, join(fpath, "file"), "table", "missing: a table needs file:")
	}
	seq := d.f.seq
	d.f.seq++
	if d.errors() > before {
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
