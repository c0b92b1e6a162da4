package check

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
	"golang.org/x/net/http/httpguts"

	"github.com/detourhttp/detour"
	"github.com/detourhttp/detour/follow"
)

// MaxFileSize caps an expectations file: 64 MiB.
const MaxFileSize = 64 << 20

// maxMergeVisits bounds the mappings brought in through YAML merge keys
// in one file, so that merges of merges of merges cannot blow up.
const maxMergeVisits = 1_000_000

// Fields of an expectations file, for messages about unknown ones.
var (
	topFields     = []string{"cases"}
	caseFields    = []string{"name", "request", "expect"}
	requestFields = []string{"method", "url", "headers", "body"}
	expectFields  = []string{"status", "location", "final_status", "hops"}
)

// Load reads the expectations file at path; see Parse. An error that is
// not a detour.Diagnostics means the file could not be read.
func Load(path string) ([]Case, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("expectations: %w", err)
	}
	defer f.Close()
	return Parse(f, path)
}

// Parse reads an expectations file (SPEC §8) from r; name is the file's
// name for messages and Case.Source:
//
//	cases:
//	  - name: the seed's exchange            # optional
//	    request: {method: POST, url: /original-resource, body: "data=example"}
//	    expect: {status: 307, location: /temporary-resource, final_status: 200, hops: 1}
//
// request.url is required: an absolute http(s) URL or a path beginning
// with "/". method defaults to GET; headers is a mapping of names to
// values (a Host header sets the request's Host); body is sent as is.
// expect needs at least one of status, location (null: the response must
// have none), final_status and hops.
//
// Unknown fields, fields of the wrong type, a field given twice and values
// out of range are errors. When the file cannot be used, the error is a
// detour.Diagnostics holding every problem found, each naming the file,
// the line and the field ("cases[2].expect.status").
func Parse(r io.Reader, name string) ([]Case, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("expectations: read %s: %w", name, err)
	}
	d := &decoder{file: name}
	if len(data) > MaxFileSize {
		d.add("too-large", 1, "", fmt.Sprintf("the file is larger than the cap of %d bytes", MaxFileSize))
		return nil, d.diags
	}
	root, line, msg := parseYAML(data)
	if msg != "" {
		d.syntaxf(line, "", "%s", msg)
		return nil, d.diags
	}
	d.top(root)
	if len(d.diags) > 0 {
		return nil, d.diags
	}
	return d.cases, nil
}

// decoder decodes one file, collecting every problem.
type decoder struct {
	file  string
	cases []Case
	diags detour.Diagnostics

	merges      int // mappings brought in through merge keys
	mergeCapped bool
}

// add records a problem of kind code ("syntax", "unknown-field",
// "invalid") at line.
func (d *decoder) add(code string, line int, field, msg string) {
	d.diags = append(d.diags, detour.Diagnostic{Severity: detour.SeverityError, File: d.file, Line: max(line, 1),
		Field: field, Code: code, Message: msg})
}

func (d *decoder) errorf(line int, field, format string, args ...any) {
	d.add("invalid", line, field, fmt.Sprintf(format, args...))
}

func (d *decoder) syntaxf(line int, field, format string, args ...any) {
	d.add("syntax", line, field, fmt.Sprintf(format, args...))
}

// parseYAML parses data as one YAML document and returns its root (nil
// for an empty one), or the line and message of a syntax error.
func parseYAML(data []byte) (root *yaml.Node, line int, msg string) {
	defer func() {
		if p := recover(); p != nil { // a bug in the YAML library
			root, line, msg = nil, 1, fmt.Sprintf("the YAML parser failed: %v", p)
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, 0, ""
		}
		line, msg := syntaxError(data, err)
		return nil, line, msg
	}
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case err == nil:
		return nil, next.Line, "an expectations file holds one YAML document; a second one begins here"
	case !errors.Is(err, io.EOF):
		line, msg := syntaxError(data, err)
		return nil, line, msg
	}
	if len(doc.Content) == 0 {
		return nil, 0, ""
	}
	return doc.Content[0], 0, ""
}

var lineRE = regexp.MustCompile(`^yaml: line (\d+): `)

// parserProblems are the errors of the YAML library's parser (not its
// scanner). It numbers their lines from 0, and the scanner's from 1.
var parserProblems = map[string]bool{
	"did not find expected <stream-start>":   true,
	"did not find expected <document start>": true,
	"did not find expected node content":     true,
	"did not find expected '-' indicator":    true,
	"did not find expected key":              true,
	"did not find expected ',' or ']'":       true,
	"did not find expected ',' or '}'":       true,
	"found undefined tag handle":             true,
	"found duplicate %YAML directive":        true,
	"found incompatible YAML document":       true,
	"found duplicate %TAG directive":         true,
}

// syntaxError returns the 1-based line and the message of an error of
// the YAML library: a parser error names the line where the construct
// it could not finish began (a "{" left open, say).
func syntaxError(data []byte, err error) (int, string) {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	line := 0
	if m := lineRE.FindStringSubmatch(err.Error()); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = strings.TrimPrefix(err.Error(), m[0])
	}
	if parserProblems[msg] || line == 0 {
		line++
	}
	msg = "syntax error: " + msg
	if strings.HasPrefix(msg, "syntax error: did not find expected ',' or") && flowQuestionMark(data, line) {
		// go-yaml does not take "?" inside a plain value in { } or
		// [ ] (go-yaml/yaml#905), as in {url: /a?x=1}.
		msg += ` (a value holding "?" inside { } or [ ] must be quoted, as in {url: "/a?x=1"})`
	}
	return line, msg
}

// flowQuestionMark reports whether the 1-based line of data holds a "?"
// after a "{" or "[".
func flowQuestionMark(data []byte, line int) bool {
	lines := bytes.Split(data, []byte("\n"))
	if line < 1 || line > len(lines) {
		return false
	}
	l := lines[line-1]
	i := bytes.IndexAny(l, "{[")
	return i >= 0 && bytes.IndexByte(l[i:], '?') >= 0
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

func kindName(n *yaml.Node) string {
	switch deref(n).Kind {
	case yaml.MappingNode:
		return "mapping"
	case yaml.SequenceNode:
		return "list"
	case yaml.ScalarNode:
		return "value"
	}
	return "node"
}

func join(parent, name string) string {
	if parent == "" {
		return name
	}
	return parent + "." + name
}

// pair is one key and value of a mapping.
type pair struct {
	name     string
	key, val *yaml.Node
}

// pairs returns the entries of the mapping n in file order, with merge
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
			d.syntaxf(k.Line, parent, "a field name must be a plain word, not a %s", kindName(kk))
			continue
		}
		if kk.ShortTag() == "!!merge" {
			merged = append(merged, d.mergePairs(v, parent)...)
			continue
		}
		if prev := seen[kk.Value]; prev != nil {
			d.errorf(k.Line, join(parent, kk.Value), "field %q is given twice (first at line %d)", kk.Value, prev.Line)
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
	if d.merges += max(len(vv.Content), 1); d.merges > maxMergeVisits {
		if !d.mergeCapped {
			d.mergeCapped = true
			d.syntaxf(v.Line, parent, "YAML merge keys expand past %d mappings", maxMergeVisits)
		}
		return nil
	}
	switch vv.Kind {
	case yaml.MappingNode:
		return d.pairs(vv, parent)
	case yaml.SequenceNode:
		var out []pair
		seen := make(map[string]bool)
		for _, item := range vv.Content {
			if deref(item).Kind != yaml.MappingNode {
				d.syntaxf(item.Line, parent, "<< takes a mapping or a list of mappings")
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
	d.syntaxf(v.Line, parent, "<< takes a mapping or a list of mappings")
	return nil
}

// mapping returns the entries of v, which must be a mapping.
func (d *decoder) mapping(v *yaml.Node, field string) ([]pair, bool) {
	if deref(v).Kind != yaml.MappingNode {
		d.syntaxf(v.Line, field, "must be a mapping, not a %s", kindName(v))
		return nil, false
	}
	return d.pairs(v, field), true
}

// unknown reports the unknown field p, suggesting the nearest known one.
func (d *decoder) unknown(p pair, parent string, known []string) {
	msg := fmt.Sprintf("unknown field %q; known fields are %s", p.name, strings.Join(known, ", "))
	if n := nearest(p.name, known); n != "" {
		msg = fmt.Sprintf("unknown field %q (did you mean %q?)", p.name, n)
	}
	d.add("unknown-field", p.key.Line, join(parent, p.name), msg)
}

// nearest returns the known name within two edits of s, or "".
func nearest(s string, known []string) string {
	best, bestD := "", 3
	for _, k := range known {
		if dist := editDistance(strings.ToLower(s), k); dist < bestD {
			best, bestD = k, dist
		}
	}
	return best
}

func editDistance(a, b string) int {
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

// text returns the scalar v as text: a string, or a number or boolean as
// written.
func (d *decoder) text(v *yaml.Node, field string) (string, bool) {
	n := deref(v)
	if n.Kind != yaml.ScalarNode || n.ShortTag() == "!!null" {
		d.errorf(v.Line, field, "must be a text value, not a %s", describe(n))
		return "", false
	}
	return n.Value, true
}

// str returns the scalar v, which must be a string.
func (d *decoder) str(v *yaml.Node, field string) (string, bool) {
	n := deref(v)
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!str" {
		d.errorf(v.Line, field, "must be a string, not %s", describe(n))
		return "", false
	}
	return n.Value, true
}

// integer returns the integer v, which must lie in [lo, hi].
func (d *decoder) integer(v *yaml.Node, field string, lo, hi int) (int, bool) {
	n := deref(v)
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" {
		d.errorf(v.Line, field, "must be a whole number, not %s", describe(n))
		return 0, false
	}
	i, err := strconv.Atoi(n.Value)
	if err != nil || i < lo || i > hi {
		d.errorf(v.Line, field, "must be between %d and %d, not %s", lo, hi, n.Value)
		return 0, false
	}
	return i, true
}

// describe names what a node is, for messages.
func describe(n *yaml.Node) string {
	if n.Kind != yaml.ScalarNode {
		return "a " + kindName(n)
	}
	switch n.ShortTag() {
	case "!!null":
		return "null"
	case "!!str":
		return strconv.Quote(n.Value)
	}
	return n.Value
}

// top decodes the top-level mapping.
func (d *decoder) top(root *yaml.Node) {
	if root == nil || isNull(root) {
		d.errorf(1, "", "the file holds no cases; it begins with cases: and a list of them")
		return
	}
	if deref(root).Kind != yaml.MappingNode {
		d.syntaxf(root.Line, "", "an expectations file is a mapping with cases:, not a %s", kindName(root))
		return
	}
	var list *pair
	for _, p := range d.pairs(root, "") {
		if p.name != "cases" {
			d.unknown(p, "", topFields)
			continue
		}
		list = &p
	}
	if list == nil {
		if len(d.diags) == 0 {
			d.errorf(root.Line, "cases", "missing: the file holds no cases")
		}
		return
	}
	v := deref(list.val)
	if v.Kind != yaml.SequenceNode {
		d.syntaxf(list.val.Line, "cases", "must be a list (each case begins with \"- \"), not a %s", kindName(v))
		return
	}
	if len(v.Content) == 0 {
		d.errorf(list.val.Line, "cases", "the list is empty: nothing to check")
		return
	}
	d.cases = make([]Case, 0, len(v.Content))
	for i, item := range v.Content {
		if c, ok := d.oneCase(item, "cases["+strconv.Itoa(i)+"]"); ok {
			d.cases = append(d.cases, c)
		}
	}
}

// oneCase decodes one item of cases.
func (d *decoder) oneCase(item *yaml.Node, field string) (Case, bool) {
	c := Case{Source: d.file + ":" + strconv.Itoa(item.Line)}
	ps, ok := d.mapping(item, field)
	if !ok {
		return c, false
	}
	errs := len(d.diags)
	var req, exp *pair
	for _, p := range ps {
		switch p.name {
		case "name":
			c.Name, _ = d.text(p.val, join(field, p.name))
		case "request":
			req = &p
		case "expect":
			exp = &p
		default:
			d.unknown(p, field, caseFields)
		}
	}
	if req == nil {
		d.errorf(item.Line, join(field, "request"), "missing: a case needs a request with at least a url")
	} else {
		c.Request = d.request(req.val, join(field, "request"))
	}
	if exp == nil {
		d.errorf(item.Line, join(field, "expect"), "missing: a case needs an expect with at least one of %s", strings.Join(expectFields, ", "))
	} else {
		c.Expect = d.expect(exp.val, join(field, "expect"))
	}
	return c, len(d.diags) == errs
}

// request decodes a case's request.
func (d *decoder) request(v *yaml.Node, field string) Request {
	var r Request
	ps, ok := d.mapping(v, field)
	if !ok {
		return r
	}
	hasURL := false
	for _, p := range ps {
		f := join(field, p.name)
		switch p.name {
		case "method":
			if s, ok := d.str(p.val, f); ok {
				if !httpguts.ValidHeaderFieldName(s) {
					d.errorf(p.val.Line, f, "%q is not a method name (a token such as GET or POST)", s)
					continue
				}
				r.Method = s
			}
		case "url":
			s, ok := d.str(p.val, f)
			if !ok {
				continue
			}
			hasURL = true
			if err := checkURL(s); err != nil {
				d.errorf(p.val.Line, f, "%v", err)
				continue
			}
			r.URL = s
		case "headers":
			r.Headers = d.headers(p.val, f)
		case "body":
			r.Body, _ = d.text(p.val, f)
		default:
			d.unknown(p, field, requestFields)
		}
	}
	if !hasURL {
		d.errorf(v.Line, join(field, "url"), "missing: a request needs a url (a path such as /old, or an absolute http(s) URL)")
	}
	return r
}

// checkURL checks a case's url: an absolute http(s) URL with a host, or a
// path beginning with one "/".
func checkURL(s string) error {
	if strings.ContainsAny(s, " \t\r\n\x00") {
		return errors.New("a URL holds no spaces or control characters; percent-encode them")
	}
	if strings.HasPrefix(s, "/") {
		if strings.HasPrefix(s, "//") {
			return fmt.Errorf("%q begins with //; give a path such as /old or an absolute URL such as http://example.com/old", s)
		}
		if _, err := url.Parse(s); err != nil {
			return fmt.Errorf("%q does not parse: %w", s, unwrapURL(err))
		}
		return nil
	}
	u, err := url.Parse(s)
	switch {
	case err != nil:
		return fmt.Errorf("%q does not parse: %w", s, unwrapURL(err))
	case u.Scheme != "http" && u.Scheme != "https":
		return fmt.Errorf("%q is neither a path beginning with / nor an http or https URL", s)
	case u.Host == "":
		return fmt.Errorf("%q has no host", s)
	}
	return nil
}

func unwrapURL(err error) error {
	if ue, ok := errors.AsType[*url.Error](err); ok {
		return ue.Err
	}
	return err
}

// headers decodes request headers: a mapping of names to values.
func (d *decoder) headers(v *yaml.Node, field string) []Header {
	ps, ok := d.mapping(v, field)
	if !ok {
		return nil
	}
	var out []Header
	for _, p := range ps {
		f := join(field, p.name)
		if !httpguts.ValidHeaderFieldName(p.name) {
			d.errorf(p.key.Line, f, "%q is not a header name", p.name)
			continue
		}
		val, ok := d.text(p.val, f)
		if !ok {
			continue
		}
		if strings.ContainsAny(val, "\r\n\x00") {
			d.errorf(p.val.Line, f, "a header value holds no CR, LF or NUL")
			continue
		}
		switch strings.ToLower(p.name) {
		case "content-length", "transfer-encoding", "connection":
			d.errorf(p.key.Line, f, "%s is set by the client from the body; leave it out", p.name)
			continue
		case "host":
			if _, _, err := splitHostPort(val); err != nil {
				d.errorf(p.val.Line, f, "%q is not a host (name or address, optionally :port)", val)
				continue
			}
		}
		out = append(out, Header{Name: p.name, Value: val})
	}
	return out
}

// splitHostPort splits a Host header value; the port is optional.
func splitHostPort(hp string) (host, port string, err error) {
	if hp == "" {
		return "", "", errors.New("empty host")
	}
	u, err := url.Parse("http://" + hp + "/")
	if err != nil || u.Host != hp || u.User != nil {
		return "", "", errors.New("bad host")
	}
	host, port = u.Hostname(), u.Port()
	if strings.Contains(hp, ":") && !strings.HasPrefix(hp, "[") && port == "" {
		return "", "", errors.New("empty port")
	}
	if port != "" {
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return "", "", errors.New("bad port")
		}
	}
	if strings.HasPrefix(hp, "[") && net.ParseIP(host) == nil {
		return "", "", errors.New("bad IPv6 address")
	}
	return host, port, nil
}

// expect decodes a case's expect.
func (d *decoder) expect(v *yaml.Node, field string) Expect {
	var e Expect
	ps, ok := d.mapping(v, field)
	if !ok {
		return e
	}
	for _, p := range ps {
		f := join(field, p.name)
		switch p.name {
		case "status":
			e.Status, _ = d.integer(p.val, f, 100, 599)
		case "final_status":
			e.FinalStatus, _ = d.integer(p.val, f, 100, 599)
		case "hops":
			if n, ok := d.integer(p.val, f, 0, 100); ok {
				e.Hops = &n
			}
		case "location":
			if isNull(p.val) {
				none := ""
				e.Location = &none
				continue
			}
			s, ok := d.str(p.val, f)
			if !ok {
				continue
			}
			if s == "" {
				d.errorf(p.val.Line, f, "is empty; write location: null for a response without Location")
				continue
			}
			if _, err := follow.Resolve(&url.URL{Scheme: "http", Host: "example.com", Path: "/"}, s); err != nil {
				d.errorf(p.val.Line, f, "%q is not a URL reference: %v", s, err)
				continue
			}
			e.Location = &s
		default:
			d.unknown(p, field, expectFields)
		}
	}
	if len(ps) == 0 {
		d.errorf(v.Line, field, "is empty: give at least one of %s", strings.Join(expectFields, ", "))
	}
	return e
}
