package convert

import (
	"cmp"
	"fmt"
	"regexp"
	"regexp/syntax"
	"slices"
	"strconv"
	"strings"

	"github.com/detourhttp/detour"
	"github.com/detourhttp/detour/ruleset"
)

// ExportFormats lists the formats Export writes.
func ExportFormats() []string { return []string{"nginx", "apache", "caddy"} }

// Export writes set as configuration for format ("nginx", "apache",
// "caddy"). What the format cannot express is left out and reported;
// the configuration answers everything else as detour would.
func Export(format string, set *ruleset.Set) ([]byte, Findings, error) {
	x := &exporter{format: format, keepSlashes: !set.MergeSlashes}
	rules := x.flatten(set)
	var out []byte
	switch format {
	case "nginx":
		out = x.nginx(rules)
	case "apache":
		out = x.apache(rules)
	case "caddy":
		out = x.caddy(rules)
	default:
		return nil, nil, fmt.Errorf("unknown format %q (known: nginx, apache, caddy)", format)
	}
	return out, x.findings, nil
}

type exporter struct {
	format   string
	findings Findings
	// keepSlashes is true when the rule set does not merge slashes, which
	// nginx and Apache do by default.
	keepSlashes bool
}

func (x *exporter) lost(r *detour.Rule, format string, args ...any) {
	x.findings = append(x.findings, Finding{File: r.Source.File, Line: r.Source.Line, Lost: true,
		Message: fmt.Sprintf(format, args...)})
}

// xrule is a rule ready to be written: its path as a regex with groups,
// and its target with captures numbered.
type xrule struct {
	r *detour.Rule
	// class orders rules of equal priority under specificity: 0 exact,
	// 1 pattern, 2 regex; lit and kind order patterns.
	class, lit, kind int
	exact            string // the path of an exact rule, "" otherwise
	re               string // the path regex (RE2 syntax, which PCRE reads alike)
	ci               bool
	groups           map[string]int // capture name ("splat", "1", "year") → group
	seq              int
}

// flatten turns set's rules and table rows into xrules, dropping (and
// reporting) what no exporter can express.
func (x *exporter) flatten(set *ruleset.Set) []*xrule {
	var out []*xrule
	for i := range set.Rules {
		r := &set.Rules[i]
		if xr := x.prepare(r, r.Source.Seq); xr != nil {
			out = append(out, xr)
		}
	}
	seq := len(set.Rules) + 1_000_000
	for ti := range set.Tables {
		tb := &set.Tables[ti]
		if tb.Subpath || tb.IncludeSubdomains {
			x.findings = append(x.findings, Finding{File: tb.Source.File, Line: tb.Source.Line, Lost: true,
				Message: fmt.Sprintf("table %s: subpath and include_subdomains cannot be exported", tb.File)})
			continue
		}
		for _, row := range tb.Rows {
			host := row.Host
			if host == "" {
				host = tb.Host
			}
			st := row.Status
			if st == 0 {
				st = tb.Status
			}
			if st == 0 {
				st = detour.DefaultStatus
			}
			r := &detour.Rule{ID: tb.ID, Host: host, From: row.Path, To: row.To, Status: st, Query: tb.Query,
				CaseInsensitive: tb.CaseInsensitive, Source: detour.Source{File: tb.File, Line: row.Line}}
			seq++
			if xr := x.prepare(r, seq); xr != nil {
				xr.exact = row.Path
				xr.re = "^" + regexp.QuoteMeta(row.Path) + "$"
				out = append(out, xr)
			}
		}
	}
	order := set.Order
	slices.SortStableFunc(out, func(a, b *xrule) int {
		if c := cmp.Compare(b.r.Priority, a.r.Priority); c != 0 {
			return c
		}
		if order == detour.OrderFirstMatch {
			return cmp.Compare(a.seq, b.seq)
		}
		if c := cmp.Compare(a.class, b.class); c != 0 {
			return c
		}
		if a.class == 1 {
			if c := cmp.Compare(b.lit, a.lit); c != 0 {
				return c
			}
			if c := cmp.Compare(a.kind, b.kind); c != 0 {
				return c
			}
		}
		return cmp.Compare(a.seq, b.seq)
	})
	return out
}

// prepare checks what r needs and builds its path regex.
func (x *exporter) prepare(r *detour.Rule, seq int) *xrule {
	switch {
	case !r.Window.IsZero():
		x.lost(r, "rule %s: a time window cannot be exported", r.ID)
		return nil
	case len(r.Methods) > 0 && x.format == "nginx":
		x.lost(r, "rule %s: methods cannot be exported to %s", r.ID, x.format)
		return nil
	case strings.Contains(r.From, "?") && !strings.HasPrefix(r.From, "~"):
		x.lost(r, "rule %s: a query condition cannot be exported", r.ID)
		return nil
	case r.TrailingSlashEither:
		x.lost(r, "rule %s: trailing_slash: either cannot be exported", r.ID)
		return nil
	}
	if len(r.Headers) > 0 || r.RetryAfter != "" {
		x.findings = append(x.findings, Finding{File: r.Source.File, Line: r.Source.Line,
			Message: fmt.Sprintf("rule %s: extra headers and Retry-After are not exported", r.ID)})
	}
	xr := &xrule{r: r, seq: seq, ci: r.CaseInsensitive, groups: map[string]int{}}
	from := r.From
	switch {
	case strings.HasPrefix(from, "~"):
		re := from[1:]
		if strings.HasPrefix(re, "*") {
			re, xr.ci = re[1:], true
		}
		rx, err := regexp.Compile(re)
		if err != nil {
			x.lost(r, "rule %s: %v", r.ID, err)
			return nil
		}
		for i, n := range rx.SubexpNames() {
			if i > 0 {
				xr.groups[strconv.Itoa(i)] = i
				if n != "" {
					xr.groups[n] = i
				}
			}
		}
		if hasNamedGroup(re) {
			// PCRE reads (?P<name>) too, but nginx's $name would be a
			// variable: number every group.
			re = stripGroupNames(re)
		}
		xr.class, xr.re = 2, re
	case strings.HasSuffix(from, "/*") && !strings.Contains(from, "/:"):
		lit := strings.TrimSuffix(from, "/*")
		xr.class, xr.kind, xr.lit = 1, 1, len(lit)+1
		xr.re = "^" + regexp.QuoteMeta(lit) + "(?:/(.*))?$"
		xr.groups["splat"] = 1
	case strings.HasSuffix(from, "*") && !strings.Contains(from, "/:"):
		lit := strings.TrimSuffix(from, "*")
		xr.class, xr.kind, xr.lit = 1, 2, len(lit)
		xr.re = "^" + regexp.QuoteMeta(lit) + "(.*)$"
		xr.groups["splat"] = 1
	case strings.Contains(from, "/:"):
		var b strings.Builder
		b.WriteString("^")
		segs := strings.Split(strings.TrimPrefix(from, "/"), "/")
		n := 0
		xr.class, xr.kind = 1, 0
		litDone := false
		for i, s := range segs {
			if s == "*" && i == len(segs)-1 {
				n++
				b.WriteString("(?:/(.*))?")
				xr.groups["splat"] = n
				continue
			}
			b.WriteString("/")
			if strings.HasPrefix(s, ":") {
				n++
				b.WriteString("([^/]+)")
				xr.groups[s[1:]] = n
				litDone = true
				continue
			}
			b.WriteString(regexp.QuoteMeta(s))
			if !litDone {
				xr.lit += len(s) + 1
			}
		}
		xr.lit++ // the slash before the first named segment
		b.WriteString("$")
		xr.re = b.String()
	default:
		xr.exact = from
		xr.re = "^" + regexp.QuoteMeta(from) + "$"
	}
	return xr
}

func hasNamedGroup(re string) bool {
	return strings.Contains(re, "(?P<") || strings.Contains(re, "(?<")
}

// stripGroupNames turns named groups into plain ones, keeping their
// numbers.
func stripGroupNames(re string) string {
	p, err := syntax.Parse(re, syntax.Perl)
	if err != nil {
		return re
	}
	var walk func(*syntax.Regexp)
	walk = func(r *syntax.Regexp) {
		r.Name = ""
		for _, s := range r.Sub {
			walk(s)
		}
	}
	walk(p)
	return p.String()
}

// targetParts is a rule's target cut for writing: the part before the
// query, the target's own query (without "?"), and the fragment (with
// "#").
type targetParts struct {
	base, query, frag string
	hasQuery          bool
}

// render writes r's target with captures and placeholders in the
// server's syntax: ref gives a capture's group reference, ph a
// placeholder's.
func (x *exporter) render(xr *xrule, ref func(n int) string, ph func(name string) string) (targetParts, bool) {
	r := xr.r
	to := r.To
	var b strings.Builder
	for i := 0; i < len(to); i++ {
		c := to[i]
		switch {
		case c == '$' && i+1 < len(to) && to[i+1] >= '1' && to[i+1] <= '9':
			g, ok := xr.groups[to[i+1:i+2]]
			if !ok {
				x.lost(r, "rule %s: target uses $%c, which the pattern does not capture", r.ID, to[i+1])
				return targetParts{}, false
			}
			b.WriteString(ref(g))
			i++
		case c == ':' && i+1 < len(to) && isNameStart(to[i+1]):
			j := i + 1
			for j < len(to) && isNameChar(to[j]) {
				j++
			}
			name := to[i+1 : j]
			g, ok := xr.groups[name]
			if !ok {
				b.WriteByte(c) // a literal colon, as in "https:"
				continue
			}
			b.WriteString(ref(g))
			i = j - 1
		case c == '{':
			j := strings.IndexByte(to[i:], '}')
			if j < 0 {
				b.WriteByte(c)
				continue
			}
			name := to[i+1 : i+j]
			v := ph(name)
			if v == "" {
				x.lost(r, "rule %s: placeholder {%s} cannot be exported to %s", r.ID, name, x.format)
				return targetParts{}, false
			}
			b.WriteString(v)
			i += j
		default:
			b.WriteByte(c)
		}
	}
	s := b.String()
	var tp targetParts
	s, tp.frag, _ = cutKeep(s, "#")
	tp.base, tp.query, tp.hasQuery = strings.Cut(s, "?")
	return tp, true
}

// cutKeep cuts s at sep, keeping sep on the second part.
func cutKeep(s, sep string) (string, string, bool) {
	i := strings.Index(s, sep)
	if i < 0 {
		return s, "", false
	}
	return s[:i], s[i:], true
}

func isNameStart(c byte) bool { return c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }
func isNameChar(c byte) bool  { return isNameStart(c) || '0' <= c && c <= '9' }

// hostRegex matches a Host header (with an optional port) for a rule's
// host matcher.
func hostRegex(h string) string {
	if suf, ok := strings.CutPrefix(h, "*."); ok {
		return `^.+\.` + regexp.QuoteMeta(suf) + `\.?(:[0-9]+)?$`
	}
	return "^" + regexp.QuoteMeta(h) + `\.?(:[0-9]+)?$`
}

// tierOf orders hosts as detour's host tiers: exact hosts, then wildcards
// by suffix length, then any host.
func tierOf(h string) int {
	switch {
	case h == "":
		return 0
	case strings.HasPrefix(h, "*."):
		return 1000 + len(h)
	}
	return 1_000_000
}

// byTier orders rules as one server tries them: detour's host tiers
// (exact hosts, then wildcards by suffix length, then any host), each in
// the precedence flatten gave. plainScheme's result is not shared, so it
// is sorted in place.
func byTier(rules []*xrule) []*xrule {
	slices.SortStableFunc(rules, func(a, b *xrule) int { return tierOf(b.r.Host) - tierOf(a.r.Host) })
	return rules
}

// answeredMethods lists the methods r answers: its own, and HEAD when it
// lists GET (detour.Rule.AnswersMethod).
func answeredMethods(r *detour.Rule) []string {
	ms := slices.Clone(r.Methods)
	if slices.Contains(ms, "GET") && !slices.Contains(ms, "HEAD") {
		ms = append(ms, "HEAD")
	}
	return ms
}
