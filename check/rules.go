package check

import (
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
	"time"

	"github.com/detourhttp/detour"
	"github.com/detourhttp/detour/match"
	"github.com/detourhttp/detour/ruleset"
)

// SamplesPerRule is how many sample requests FromRules draws from a
// pattern rule (match.Samples), besides the variants of the first.
const SamplesPerRule = 3

// WindowMargin: FromRules skips a rule whose window opens or closes
// within this long of now, since the server's clock then decides.
const WindowMargin = time.Minute

// QueryProbe is the query parameter FromRules adds to a sample to see
// what a rule does with the request's query (preserve, drop, replace).
const QueryProbe = "detour-check=1"

// WildcardLabel is the label FromRules puts in front of a wildcard host
// ("*.example.com" is asked for as "detour-check.example.com").
const WildcardLabel = "detour-check"

// Skipped is a rule that FromRules derived no case from, and why.
type Skipped struct {
	// Rule is the rule's id; Source where it is written.
	Rule   string
	Source string
	// Reason says why, for a person.
	Reason string
}

// FromRules derives cases from a rule set, so that a server claiming to
// implement it can be verified (SPEC §5.2): each case's expectation is the
// status and Location that package match computes for its request, at
// now, as detour would answer it. base is the URL the cases will be sent
// to: its scheme and host are the request's, as the server will see them.
//
// What is derived, rule by rule (in file order) and then row by row:
//
//   - an exact rule: its path; a pattern (segment or string prefix, named
//     segments, regex, query condition): up to SamplesPerRule sample
//     targets from match.Samples, which exercise every capture;
//   - the first sample again with QueryProbe added to its query, so that
//     query: preserve, drop and replace show; with case: insensitive, the
//     first sample with its letters' case swapped; with trailing_slash:
//     either, the first sample with its trailing slash toggled;
//   - the method: GET when the rule answers it, else the first it lists;
//   - the host: none for a host-less rule (the request carries base's
//     host), the rule's host for an exact one, and WildcardLabel under a
//     wildcard, sent as the Host header with base's port when base names
//     one (as a client reaching that host on that port would send it);
//   - a table row: its path (and host), as it is; the first row of each
//     table again with QueryProbe, and, for a subpath table, with a path
//     below it.
//
// A sample that another rule answers (a shadowed rule, a higher
// priority) still makes a case, named after both: the set as a whole is
// what is verified. Skipped are rules whose window is not active at now
// (or opens or closes within WindowMargin of it), rules for another
// scheme than base's, and rules no sample request reaches; each is listed
// with the reason.
//
// The cases hold the rows of every table; memory grows linearly with
// them. The error is set when the set does not compile (it then wraps
// the detour.Diagnostics) or base is not an http(s) URL with a host.
func FromRules(set *ruleset.Set, base *url.URL, now time.Time) ([]Case, []Skipped, error) {
	if base == nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return nil, nil, fmt.Errorf("rules: the base must be an http or https URL with a host")
	}
	host, err := detour.NormalizeHost(base.Host)
	if err != nil {
		return nil, nil, fmt.Errorf("rules: base host %q: %w", base.Host, err)
	}
	t, ds := match.Compile(set.Rules, set.Tables, match.Options{Order: set.Order})
	if t == nil {
		return nil, nil, fmt.Errorf("rules do not compile: %w", ds.Errors())
	}
	g := &deriver{t: t, now: now, scheme: base.Scheme, host: host, port: base.Port(), merge: set.MergeSlashes}
	for _, r := range t.Rules() {
		g.rule(r)
	}
	for _, tb := range t.Tables() {
		g.table(tb)
	}
	return g.cases, g.skipped, nil
}

// deriver builds the cases of one rule set.
type deriver struct {
	t      *match.Table
	now    time.Time
	scheme string
	host   string // base's host, normalised
	port   string // base's port, if it names one
	merge  bool
	m      match.Match
	buf    []byte

	cases   []Case
	skipped []Skipped
}

func (g *deriver) skip(r *detour.Rule, format string, args ...any) {
	g.skipped = append(g.skipped, Skipped{Rule: r.ID, Source: r.Source.String(), Reason: fmt.Sprintf(format, args...)})
}

// rule derives the cases of rule r.
func (g *deriver) rule(r *detour.Rule) {
	w := r.Window
	switch {
	case !w.Active(g.now):
		g.skip(r, "its window %s is not active at %s", showWindow(w), g.now.UTC().Format(time.RFC3339))
		return
	case near(w.Start, g.now) || near(w.End, g.now):
		g.skip(r, "its window %s opens or closes within %s of now; the server's clock decides", showWindow(w), WindowMargin)
		return
	case r.Scheme != "" && r.Scheme != g.scheme:
		g.skip(r, "it answers %s requests only and the base URL is %s", r.Scheme, g.scheme)
		return
	}
	method := "GET"
	if !r.AnswersMethod(method) {
		if len(r.Methods) == 0 {
			g.skip(r, "it answers no method")
			return
		}
		method = r.Methods[0]
	}
	hostHeader := r.Host
	if rest, ok := strings.CutPrefix(r.Host, "*."); ok {
		hostHeader = WildcardLabel + "." + rest
	}
	targets, err := match.Samples(r, SamplesPerRule)
	if err != nil {
		g.skip(r, "no sample request: %v", err)
		return
	}
	first := targets[0]
	targets = append(targets, withQuery(first))
	if r.CaseInsensitive {
		targets = append(targets, swapCase(first))
	}
	if r.TrailingSlashEither {
		targets = append(targets, toggleSlash(first))
	}
	made := 0
	for _, target := range targets {
		if g.add(r.ID, r, r.Source.String(), method, hostHeader, target) {
			made++
		}
	}
	if made == 0 {
		g.skip(r, "none of its sample requests (%s) is answered by any rule", strings.Join(targets, ", "))
	}
}

// table derives the cases of a table's rows.
func (g *deriver) table(tb *detour.Table) {
	file := tb.File
	if tb.Source.File != "" {
		file = filepath.Join(filepath.Dir(tb.Source.File), filepath.FromSlash(tb.File))
	}
	for i := range tb.Rows {
		row := &tb.Rows[i]
		host := row.Host
		if host == "" {
			host = tb.Host
		}
		target := encodePath(row.Path)
		name := fmt.Sprintf("%s row %d", tb.ID, row.Line)
		src := fmt.Sprintf("%s:%d", file, row.Line)
		g.add(name, nil, src, "GET", host, target)
		if i == 0 {
			g.add(name, nil, src, "GET", host, withQuery(target))
			if tb.Subpath {
				g.add(name, nil, src, "GET", host, strings.TrimSuffix(target, "/")+"/detour-check/a")
			}
		}
	}
}

// add looks up one request and, when a rule answers it, adds the case
// expecting that answer. want is the rule the sample was drawn from (nil
// for a row): when another rule answers, the case's name says so.
func (g *deriver) add(name string, want *detour.Rule, src, method, hostHeader, target string) bool {
	rawPath, query, _ := strings.Cut(target, "?")
	path, err := detour.NormalizePath(rawPath, g.merge)
	if err != nil {
		return false
	}
	req := detour.Request{Method: method, Scheme: g.scheme, Host: g.host, Path: path, Query: query}
	if hostHeader != "" {
		req.Host = hostHeader
		if g.port != "" {
			// What a client reaching the host on base's port sends.
			hostHeader += ":" + g.port
		}
	}
	if !g.t.Lookup(&req, g.now, &g.m) {
		return false
	}
	g.buf = g.m.AppendLocation(g.buf[:0])
	loc := string(g.buf)
	c := Case{
		Name:    name + ": " + method + " " + target,
		Source:  src,
		Request: Request{Method: method, URL: target},
		Expect:  Expect{Status: g.m.Status(), Location: &loc},
	}
	if hostHeader != "" {
		c.Request.Headers = []Header{{Name: "Host", Value: hostHeader}}
		c.Name += " [Host: " + hostHeader + "]"
	}
	if got := g.m.Rule; want != nil && got != want {
		by := got.ID
		if g.m.Row > 0 {
			by = fmt.Sprintf("%s row %d", got.ID, g.m.Row)
		}
		c.Name += " (answered by " + by + ")"
	}
	g.cases = append(g.cases, c)
	return true
}

// near reports whether t is set and within WindowMargin of now.
func near(t, now time.Time) bool {
	if t.IsZero() {
		return false
	}
	d := t.Sub(now)
	return d > -WindowMargin && d < WindowMargin
}

func showWindow(w detour.Window) string {
	s, e := "…", "…"
	if !w.Start.IsZero() {
		s = w.Start.Format(time.RFC3339)
	}
	if !w.End.IsZero() {
		e = w.End.Format(time.RFC3339)
	}
	return "[" + s + ", " + e + ")"
}

// withQuery adds QueryProbe to a target's query.
func withQuery(target string) string {
	if strings.Contains(target, "?") {
		return target + "&" + QueryProbe
	}
	return target + "?" + QueryProbe
}

// swapCase swaps the case of the ASCII letters of a target's path (not
// of its escapes or query).
func swapCase(target string) string {
	path, query, hasQuery := strings.Cut(target, "?")
	b := []byte(path)
	for i := 0; i < len(b); i++ {
		switch c := b[i]; {
		case c == '%':
			i += 2
		case 'a' <= c && c <= 'z':
			b[i] = c - 'a' + 'A'
		case 'A' <= c && c <= 'Z':
			b[i] = c - 'A' + 'a'
		}
	}
	if hasQuery {
		return string(b) + "?" + query
	}
	return string(b)
}

// toggleSlash adds a trailing slash to a target's path, or removes it.
func toggleSlash(target string) string {
	path, query, hasQuery := strings.Cut(target, "?")
	switch {
	case path == "/":
	case strings.HasSuffix(path, "/"):
		path = strings.TrimSuffix(path, "/")
	default:
		path += "/"
	}
	if hasQuery {
		return path + "?" + query
	}
	return path
}

// encodePath percent-encodes a decoded path as a request target: every
// byte but the unreserved characters, the sub-delimiters, ":", "@" and
// "/".
func encodePath(p string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(p))
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9',
			strings.IndexByte("-._~!$&'()*+,;=:@/", c) >= 0:
			b.WriteByte(c)
		default:
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
		}
	}
	return b.String()
}
