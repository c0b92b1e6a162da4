package match

import (
	"errors"
	"fmt"
	"regexp"
	"regexp/syntax"
	"strings"

	"github.com/detourhttp/detour/internal/pct"
)

// kind is the shape of a rule's from pattern.
type kind uint8

const (
	// kindExact: "/a" — the whole path.
	kindExact kind = iota
	// kindNamed: "/blog/:year/:slug", optionally ending in "/*".
	kindNamed
	// kindSegment: "/docs/*" — "/docs", "/docs/" and everything below.
	kindSegment
	// kindString: "/promo*" — every path that begins with "/promo".
	kindString
	// kindRegex: "~re" or "~*re".
	kindRegex
)

// maxCaps is the number of capture slots a rule may use: named segments,
// the splat, regex groups and query-condition captures together.
const maxCaps = 16

// pattern is a parsed from.
type pattern struct {
	kind kind
	// lit is the literal the index keys on: the exact path; for a segment
	// prefix the path without "/*" ("/docs"); for a string prefix the path
	// without "*"; for named segments the part before the first named
	// segment, ending in "/". Escapes are decoded; with ci it is lower-case.
	lit string
	// segs are the segments after lit of a named pattern.
	segs []segment
	// splat: a named pattern ends in "/*".
	splat bool
	// re is the compiled regex of kindRegex.
	re *regexp.Regexp
	// ci: compare ASCII case-insensitively (exact, prefix and named only).
	ci bool
	// either: "/a" and "/a/" are the same (exact and named only).
	either bool
	// query holds the query conditions.
	query []qcond
	// caps maps capture names (without ":"; "1".."9" for regex groups) to
	// slots.
	caps []capName
	// npath is the number of slots filled by the path match; query
	// captures follow.
	npath int
	// sig ranks named patterns of equal literal prefix: one byte a
	// segment, sigLit < sigParam < sigEnd < sigSplat.
	sig string
}

// capName names a capture slot.
type capName struct {
	name string
	slot int
}

// addCap names slot.
func (p *pattern) addCap(name string, slot int) { p.caps = append(p.caps, capName{name, slot}) }

// capSlot returns the slot of a capture name.
func (p *pattern) capSlot(name string) (int, bool) {
	for _, c := range p.caps {
		if c.name == name {
			return c.slot, true
		}
	}
	return 0, false
}

// segment is one segment of a named pattern after its literal prefix.
type segment struct {
	lit   string // the literal segment (decoded; lower-case with ci)
	param bool   // a named segment: any non-empty segment
}

// Signature bytes of named patterns, in precedence order.
const (
	sigLit   = 'a'
	sigParam = 'b'
	sigEnd   = 'c'
	sigSplat = 'd'
)

// qmode is what a query condition asks of its parameter.
type qmode uint8

const (
	qPresent qmode = iota // "?id": the parameter is present
	qEqual                // "?id=5": some occurrence equals the value
	qCapture              // "?id=:id": present; the first value is captured
)

// qcond is one condition of a from's query part.
type qcond struct {
	name  string // decoded
	value string // decoded, for qEqual
	mode  qmode
	slot  int // capture slot, for qCapture
}

// parsePattern parses from with the rule's case and trailing-slash flags.
func parsePattern(from string, ci, either bool) (*pattern, error) {
	if from == "" {
		return nil, errors.New("from is empty")
	}
	if hasControl(from) {
		return nil, errors.New("from holds a control character")
	}
	if from[0] == '~' {
		return parseRegex(from)
	}
	p := &pattern{ci: ci, either: either}
	path, query, hasQuery := strings.Cut(from, "?")
	if path == "" || path[0] != '/' {
		return nil, fmt.Errorf("%q must begin with / or ~", from)
	}
	if err := p.parsePath(path); err != nil {
		return nil, err
	}
	if hasQuery {
		if err := p.parseQuery(query); err != nil {
			return nil, err
		}
	}
	if len(p.caps) > maxCaps {
		return nil, fmt.Errorf("more than %d captures", maxCaps)
	}
	return p, nil
}

// parsePath fills the path part of p.
func (p *pattern) parsePath(path string) error {
	star := strings.IndexByte(path, '*')
	if star >= 0 && star != len(path)-1 {
		return fmt.Errorf("%q: * may only end the pattern", path)
	}
	body := path
	if star >= 0 {
		body = path[:star]
	}
	segs := strings.Split(body, "/")[1:]
	firstParam := -1
	for i, s := range segs {
		if !strings.HasPrefix(s, ":") {
			continue
		}
		name := s[1:]
		if !validName(name) {
			return fmt.Errorf("%q: a named segment is a whole segment \":name\" (letters, digits, _)", s)
		}
		if star >= 0 && i == len(segs)-1 {
			return fmt.Errorf("%q: a named segment cannot end in * (write %s/*)", path, s)
		}
		if name == "splat" {
			return errors.New(":splat is reserved for the * of a pattern")
		}
		if _, dup := p.capSlot(name); dup {
			return fmt.Errorf("named segment :%s appears twice", name)
		}
		p.addCap(name, len(p.caps))
		if firstParam < 0 {
			firstParam = i
		}
	}
	switch {
	case firstParam < 0 && star < 0:
		p.kind = kindExact
		p.lit = p.decodeLit(path)
	case firstParam < 0 && strings.HasSuffix(body, "/"):
		p.kind = kindSegment
		p.lit = p.decodeLit(body[:len(body)-1])
		p.addCap("splat", 0)
	case firstParam < 0:
		p.kind = kindString
		p.lit = p.decodeLit(body)
		p.addCap("splat", 0)
	default:
		p.kind = kindNamed
		if star >= 0 {
			if !strings.HasSuffix(body, "/") {
				return fmt.Errorf("%q: after named segments only a final /* may follow", path)
			}
			p.splat = true
			segs = segs[:len(segs)-1] // the empty segment before "*"
			p.addCap("splat", len(p.caps))
		}
		p.lit = p.decodeLit("/" + strings.Join(segs[:firstParam], "/"))
		if firstParam > 0 {
			p.lit += "/"
		}
		var sig []byte
		for _, s := range segs[firstParam:] {
			if strings.HasPrefix(s, ":") {
				p.segs = append(p.segs, segment{param: true})
				sig = append(sig, sigParam)
				continue
			}
			p.segs = append(p.segs, segment{lit: p.decodeLit(s)})
			sig = append(sig, sigLit)
		}
		if p.splat {
			sig = append(sig, sigSplat)
		} else {
			sig = append(sig, sigEnd)
		}
		p.sig = string(sig)
	}
	p.npath = len(p.caps)
	return nil
}

// decodeLit percent-decodes a literal part of a pattern (a request path is
// matched decoded) and lower-cases it for a case-insensitive pattern.
func (p *pattern) decodeLit(s string) string {
	s = decodePercent(s, false)
	if p.ci {
		s = lowerASCII(s)
	}
	return s
}

// parseQuery parses the conditions after "?".
func (p *pattern) parseQuery(q string) error {
	if q == "" {
		return errors.New("empty query condition after ?")
	}
	for _, term := range strings.Split(q, "&") {
		name, value, hasValue := strings.Cut(term, "=")
		if name == "" {
			return fmt.Errorf("query condition %q has no parameter name", term)
		}
		c := qcond{name: decodePercent(name, true)}
		switch {
		case !hasValue:
			c.mode = qPresent
		case strings.HasPrefix(value, ":"):
			capName := value[1:]
			if !validName(capName) || capName == "splat" {
				return fmt.Errorf("query condition %q: bad capture name", term)
			}
			if _, dup := p.capSlot(capName); dup {
				return fmt.Errorf("capture :%s appears twice", capName)
			}
			c.mode = qCapture
			c.slot = len(p.caps)
			p.addCap(capName, c.slot)
		default:
			c.mode = qEqual
			c.value = decodePercent(value, true)
		}
		p.query = append(p.query, c)
	}
	return nil
}

// parseRegex parses "~re" and "~*re".
func parseRegex(from string) (*pattern, error) {
	src := from[1:]
	flags := ""
	if strings.HasPrefix(src, "*") {
		src = src[1:]
		flags = "(?i)"
	}
	if src == "" {
		return nil, errors.New("empty regular expression")
	}
	re, err := regexp.Compile(flags + src)
	if err != nil {
		var se *syntax.Error
		if errors.As(err, &se) {
			return nil, fmt.Errorf("bad regular expression: %s: %q", se.Code, se.Expr)
		}
		return nil, fmt.Errorf("bad regular expression: %w", err)
	}
	p := &pattern{kind: kindRegex, re: re}
	n := re.NumSubexp()
	for i := 1; i <= n && i < maxCaps+1; i++ {
		if i <= 9 {
			p.addCap(string(rune('0'+i)), i-1)
		}
		if name := re.SubexpNames()[i]; name != "" && validName(name) {
			p.addCap(name, i-1)
		}
	}
	p.npath = min(n, maxCaps)
	return p, nil
}

// validName reports whether s is a capture name: a letter or _, then
// letters, digits and _.
func validName(s string) bool {
	if s == "" || !isNameStart(s) {
		return false
	}
	for i := 1; i < len(s); i++ {
		if !isNameByte(s[i]) {
			return false
		}
	}
	return true
}

func isNameStart(s string) bool {
	c := s[0]
	return c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}

func isNameByte(c byte) bool {
	return c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}

// hasControl reports whether s holds an ASCII control character (C0 or
// DEL).
func hasControl(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] == 0x7f {
			return true
		}
	}
	return false
}

// decodePercent decodes %XX escapes of s; with plus, "+" is a space (a
// query). A "%" that does not start an escape stays as it is.
func decodePercent(s string, plus bool) string {
	if !strings.ContainsAny(s, "%+") {
		return s
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch v, esc := pct.Decode(s, i); {
		case esc:
			c = v
			i += 2
		case c == '+' && plus:
			c = ' '
		}
		b = append(b, c)
	}
	return string(b)
}

// lowerASCII lower-cases the ASCII letters of s.
func lowerASCII(s string) string {
	for i := 0; i < len(s); i++ {
		if 'A' <= s[i] && s[i] <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				b[j] = lower(b[j])
			}
			return string(b)
		}
	}
	return s
}

func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}
