package check

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
	"golang.org/x/net/http/httpguts"

	"github.com/detourhttp/detour/follow"
	"github.com/detourhttp/detour/internal/yamldoc"
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
	d := newDecoder(name)
	if len(data) > MaxFileSize {
		d.Add("too-large", 1, "", fmt.Sprintf("the file is larger than the cap of %d bytes", MaxFileSize))
		return nil, d.Diags
	}
	root, yerr := parseYAML(data)
	if yerr != nil {
		d.syntaxf(yerr.Line, "", "%s", yerr.Msg)
		return nil, d.Diags
	}
	d.top(root)
	if len(d.Diags) > 0 {
		return nil, d.Diags
	}
	return d.cases, nil
}

// decoder decodes one file, collecting every problem.
type decoder struct {
	yamldoc.Reader
	cases []Case
}

// newDecoder returns a decoder of the file name: a field given twice is
// "invalid", merge keys are capped at maxMergeVisits, and an unknown
// field is reported with the known ones or the nearest, however short.
func newDecoder(name string) *decoder {
	return &decoder{Reader: yamldoc.Reader{File: name, DuplicateCode: "invalid", MaxMerges: maxMergeVisits,
		ListKnown: true, LooseSuggestions: true}}
}

// parseYAML parses data as the one YAML document of an expectations file.
func parseYAML(data []byte) (*yaml.Node, *yamldoc.Error) {
	return yamldoc.Parse(data, yamldoc.Options{Noun: "an expectations file", Prefix: "syntax error: "})
}

func (d *decoder) errorf(line int, field, format string, args ...any) {
	d.Errorf(line, field, "invalid", format, args...)
}

func (d *decoder) syntaxf(line int, field, format string, args ...any) {
	d.Errorf(line, field, "syntax", format, args...)
}

// top decodes the top-level mapping.
func (d *decoder) top(root *yaml.Node) {
	if root == nil || yamldoc.IsNull(root) {
		d.errorf(1, "", "the file holds no cases; it begins with cases: and a list of them")
		return
	}
	if yamldoc.Deref(root).Kind != yaml.MappingNode {
		d.syntaxf(root.Line, "", "an expectations file is a mapping with cases:, not a %s", yamldoc.KindName(root))
		return
	}
	var list *yamldoc.Pair
	for _, p := range d.Pairs(root, "") {
		if p.Name != "cases" {
			d.Unknown(p, "", topFields)
			continue
		}
		list = &p
	}
	if list == nil {
		if len(d.Diags) == 0 {
			d.errorf(root.Line, "cases", "missing: the file holds no cases")
		}
		return
	}
	v := yamldoc.Deref(list.Val)
	if v.Kind != yaml.SequenceNode {
		d.syntaxf(list.Val.Line, "cases", "must be a list (each case begins with \"- \"), not a %s", yamldoc.KindName(v))
		return
	}
	if len(v.Content) == 0 {
		d.errorf(list.Val.Line, "cases", "the list is empty: nothing to check")
		return
	}
	d.cases = make([]Case, 0, len(v.Content))
	for i, item := range v.Content {
		if c, ok := d.oneCase(item, yamldoc.Index("cases", i)); ok {
			d.cases = append(d.cases, c)
		}
	}
}

// oneCase decodes one item of cases.
func (d *decoder) oneCase(item *yaml.Node, field string) (Case, bool) {
	c := Case{Source: d.File + ":" + strconv.Itoa(item.Line)}
	ps, ok := d.Mapping(item, field)
	if !ok {
		return c, false
	}
	errs := len(d.Diags)
	var req, exp *yamldoc.Pair
	for _, p := range ps {
		switch p.Name {
		case "name":
			c.Name, _ = d.Text(p.Val, yamldoc.Join(field, p.Name))
		case "request":
			req = &p
		case "expect":
			exp = &p
		default:
			d.Unknown(p, field, caseFields)
		}
	}
	if req == nil {
		d.errorf(item.Line, yamldoc.Join(field, "request"), "missing: a case needs a request with at least a url")
	} else {
		c.Request = d.request(req.Val, yamldoc.Join(field, "request"))
	}
	if exp == nil {
		d.errorf(item.Line, yamldoc.Join(field, "expect"), "missing: a case needs an expect with at least one of %s", strings.Join(expectFields, ", "))
	} else {
		c.Expect = d.expect(exp.Val, yamldoc.Join(field, "expect"))
	}
	return c, len(d.Diags) == errs
}

// request decodes a case's request.
func (d *decoder) request(v *yaml.Node, field string) Request {
	var r Request
	ps, ok := d.Mapping(v, field)
	if !ok {
		return r
	}
	hasURL := false
	for _, p := range ps {
		f := yamldoc.Join(field, p.Name)
		switch p.Name {
		case "method":
			if s, ok := d.Str(p.Val, f); ok {
				if !httpguts.ValidHeaderFieldName(s) {
					d.errorf(p.Val.Line, f, "%q is not a method name (a token such as GET or POST)", s)
					continue
				}
				r.Method = s
			}
		case "url":
			s, ok := d.Str(p.Val, f)
			if !ok {
				continue
			}
			hasURL = true
			if err := checkURL(s); err != nil {
				d.errorf(p.Val.Line, f, "%v", err)
				continue
			}
			r.URL = s
		case "headers":
			r.Headers = d.headers(p.Val, f)
		case "body":
			r.Body, _ = d.Text(p.Val, f)
		default:
			d.Unknown(p, field, requestFields)
		}
	}
	if !hasURL {
		d.errorf(v.Line, yamldoc.Join(field, "url"), "missing: a request needs a url (a path such as /old, or an absolute http(s) URL)")
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
	ps, ok := d.Mapping(v, field)
	if !ok {
		return nil
	}
	var out []Header
	for _, p := range ps {
		f := yamldoc.Join(field, p.Name)
		if !httpguts.ValidHeaderFieldName(p.Name) {
			d.errorf(p.Key.Line, f, "%q is not a header name", p.Name)
			continue
		}
		val, ok := d.Text(p.Val, f)
		if !ok {
			continue
		}
		if strings.ContainsAny(val, "\r\n\x00") {
			d.errorf(p.Val.Line, f, "a header value holds no CR, LF or NUL")
			continue
		}
		switch strings.ToLower(p.Name) {
		case "content-length", "transfer-encoding", "connection":
			d.errorf(p.Key.Line, f, "%s is set by the client from the body; leave it out", p.Name)
			continue
		case "host":
			if _, _, err := splitHostPort(val); err != nil {
				d.errorf(p.Val.Line, f, "%q is not a host (name or address, optionally :port)", val)
				continue
			}
		}
		out = append(out, Header{Name: p.Name, Value: val})
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
	ps, ok := d.Mapping(v, field)
	if !ok {
		return e
	}
	for _, p := range ps {
		f := yamldoc.Join(field, p.Name)
		switch p.Name {
		case "status":
			e.Status, _ = d.Int(p.Val, f, 100, 599)
		case "final_status":
			e.FinalStatus, _ = d.Int(p.Val, f, 100, 599)
		case "hops":
			if n, ok := d.Int(p.Val, f, 0, 100); ok {
				e.Hops = &n
			}
		case "location":
			if yamldoc.IsNull(p.Val) {
				none := ""
				e.Location = &none
				continue
			}
			s, ok := d.Str(p.Val, f)
			if !ok {
				continue
			}
			if s == "" {
				d.errorf(p.Val.Line, f, "is empty; write location: null for a response without Location")
				continue
			}
			if _, err := follow.Resolve(&url.URL{Scheme: "http", Host: "example.com", Path: "/"}, s); err != nil {
				d.errorf(p.Val.Line, f, "%q is not a URL reference: %v", s, err)
				continue
			}
			e.Location = &s
		default:
			d.Unknown(p, field, expectFields)
		}
	}
	if len(ps) == 0 {
		d.errorf(v.Line, field, "is empty: give at least one of %s", strings.Join(expectFields, ", "))
	}
	return e
}
