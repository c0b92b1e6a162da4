package match

import (
	"fmt"
	"regexp/syntax"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/detourhttp/detour"
)

// Values samples put in captures: the i-th of each kind.
func sampleParam(i int) string { return [...]string{"a", "b2", "c-3"}[i%3] }
func sampleSplat(i int) string { return [...]string{"a", "x/y", ""}[i%3] }
func sampleValue(i int) string { return [...]string{"a", "1", "x-y"}[i%3] }

// samples builds up to n request targets that r's from matches, checking
// each against a one-rule table.
func samples(r *detour.Rule, n int) ([]string, error) {
	if r == nil {
		return nil, errNoRule
	}
	if n <= 0 {
		return nil, nil
	}
	p, err := parsePattern(r.From, r.CaseInsensitive, r.TrailingSlashEither)
	if err != nil {
		return nil, fmt.Errorf("samples of %s: %w", r.ID, err)
	}
	probe := detour.Rule{
		ID:                  "sample",
		From:                r.From,
		Status:              detour.StatusGone,
		CaseInsensitive:     r.CaseInsensitive,
		TrailingSlashEither: r.TrailingSlashEither,
	}
	t, diags := Compile([]detour.Rule{probe}, nil, Options{})
	if t == nil {
		return nil, fmt.Errorf("samples of %s: %w", r.ID, diags)
	}
	var out []string
	seen := map[string]bool{}
	tries := 3 * n
	if p.kind == kindExact {
		tries = 1
	}
	for i := 0; i < tries && len(out) < n; i++ {
		path, ok := samplePath(p, r.From, i)
		if !ok {
			continue
		}
		target := encodeSamplePath(path)
		query := sampleQueryString(p, i)
		if query != "" {
			target += "?" + query
		}
		if seen[target] || !sampleMatches(t, path, query) {
			continue
		}
		seen[target] = true
		out = append(out, target)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("samples of %s: found no path that %q matches", r.ID, r.From)
	}
	return out, nil
}

// sampleMatches reports whether the decoded path and the query reach the
// one rule of t.
func sampleMatches(t *Table, path, query string) bool {
	if norm, err := detour.NormalizePath(encodeSamplePath(path), false); err != nil || norm != path {
		return false
	}
	var m Match
	return t.Lookup(&detour.Request{Method: "GET", Scheme: "https", Path: path, Query: query}, time.Time{}, &m)
}

// samplePath returns the i-th sample path (decoded) of p.
func samplePath(p *pattern, from string, i int) (string, bool) {
	switch p.kind {
	case kindExact:
		path, _, _ := strings.Cut(from, "?")
		return decodePercent(path, false), true
	case kindSegment:
		if s := sampleSplat(i); s != "" {
			return p.lit + "/" + s, true
		}
		return p.lit, true
	case kindString:
		s := sampleSplat(i)
		if s == "x/y" {
			s = "/x/y"
		}
		return p.lit + s, true
	case kindNamed:
		var b strings.Builder
		b.WriteString(p.lit)
		for j, s := range p.segs {
			if j > 0 {
				b.WriteByte('/')
			}
			if s.param {
				b.WriteString(sampleParam(i + j))
			} else {
				b.WriteString(s.lit)
			}
		}
		if p.splat {
			if s := sampleSplat(i); s != "" {
				b.WriteString("/" + s)
			}
		}
		return b.String(), true
	case kindRegex:
		return sampleRegex(p, i)
	}
	return "", false
}

// sampleQueryString returns the i-th query that meets p's conditions.
func sampleQueryString(p *pattern, i int) string {
	var parts []string
	for _, c := range p.query {
		name := encodeSampleQuery(c.name)
		switch c.mode {
		case qPresent:
			parts = append(parts, name)
		case qEqual:
			parts = append(parts, name+"="+encodeSampleQuery(c.value))
		case qCapture:
			parts = append(parts, name+"="+sampleValue(i))
		}
	}
	return strings.Join(parts, "&")
}

// sampleRegex builds the i-th string the regex of p matches: the i-th
// branch of alternations, one or more repetitions.
func sampleRegex(p *pattern, i int) (string, bool) {
	src := p.re.String()
	re, err := syntax.Parse(src, syntax.Perl)
	if err != nil {
		return "", false
	}
	var b []byte
	if !genRegex(re, &b, i) || len(b) > 2048 {
		return "", false
	}
	s := string(b)
	if !strings.HasPrefix(s, "/") {
		s = "/" + s
	}
	if !utf8.ValidString(s) || strings.ContainsRune(s, 0) || !p.re.MatchString(s) {
		return "", false
	}
	return s, true
}

// genRegex appends a string re matches to b; choice picks branches and
// repetition counts.
func genRegex(re *syntax.Regexp, b *[]byte, choice int) bool {
	switch re.Op {
	case syntax.OpNoMatch:
		return false
	case syntax.OpLiteral:
		for _, r := range re.Rune {
			*b = utf8.AppendRune(*b, r)
		}
	case syntax.OpCharClass:
		r, ok := pickRune(re.Rune, choice)
		if !ok {
			return false
		}
		*b = utf8.AppendRune(*b, r)
	case syntax.OpAnyCharNotNL, syntax.OpAnyChar:
		*b = append(*b, "axb"[choice%3])
	case syntax.OpCapture:
		return genRegex(re.Sub[0], b, choice)
	case syntax.OpStar, syntax.OpPlus, syntax.OpQuest:
		n := 1
		if re.Op != syntax.OpQuest && choice%2 == 1 {
			n = 2
		}
		for range n {
			if !genRegex(re.Sub[0], b, choice) {
				return false
			}
		}
	case syntax.OpRepeat:
		n := max(re.Min, 1)
		if re.Max >= 0 && n > re.Max {
			n = re.Max
		}
		if n > 100 {
			return false
		}
		for range n {
			if !genRegex(re.Sub[0], b, choice) {
				return false
			}
		}
	case syntax.OpConcat:
		for _, s := range re.Sub {
			if !genRegex(s, b, choice) {
				return false
			}
		}
	case syntax.OpAlternate:
		return genRegex(re.Sub[choice%len(re.Sub)], b, choice/len(re.Sub))
	}
	return true
}

// pickRune picks a rune of a character class, preferring letters and
// digits that need no escaping in a path.
func pickRune(ranges []rune, choice int) (rune, bool) {
	in := func(r rune) bool {
		for i := 0; i+1 < len(ranges); i += 2 {
			if ranges[i] <= r && r <= ranges[i+1] {
				return true
			}
		}
		return false
	}
	var nice []rune
	for _, r := range "abxyz019AXZ-_.~" {
		if in(r) {
			nice = append(nice, r)
		}
	}
	if len(nice) > 0 {
		return nice[choice%len(nice)], true
	}
	for i := 0; i+1 < len(ranges); i += 2 {
		for r := max(ranges[i], 0x21); r <= ranges[i+1] && r < 0x110000; r++ {
			if r != '/' && r != 0x7f && r != utf8.RuneError {
				return r, true
			}
			if r-ranges[i] > 256 {
				break
			}
		}
	}
	return 0, false
}

// encodeSamplePath percent-encodes a decoded path into a request target.
func encodeSamplePath(p string) string {
	var b []byte
	for i := 0; i < len(p); i++ {
		c := p[i]
		if c == '/' || capSafe(c, partPath) || c == '&' || c == '=' || c == '+' {
			b = append(b, c)
		} else {
			b = appendEscape(b, c)
		}
	}
	return string(b)
}

// encodeSampleQuery encodes a decoded query name or value.
func encodeSampleQuery(s string) string {
	var b []byte
	for i := 0; i < len(s); i++ {
		if c := s[i]; capSafe(c, partQuery) || c == '/' {
			b = append(b, c)
		} else {
			b = appendEscape(b, c)
		}
	}
	return string(b)
}
