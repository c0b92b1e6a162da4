package match

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"

	"github.com/detourhttp/detour/internal/pct"
	"golang.org/x/net/idna"
)

// part is the part of a URL a token of a target lands in.
type part uint8

const (
	partPath part = iota
	partQuery
	partFrag
)

// tkind is the kind of a token of a target.
type tkind uint8

const (
	tLit    tkind = iota // literal text, already ASCII and encoded
	tCap                 // a capture
	tScheme              // {scheme}
	tHost                // {host}
	tPath                // {path}
	tQuery               // {query}
)

// Placeholder bits of target.uses.
const (
	useScheme = 1 << iota
	useHost
	usePath
	useQuery
)

// token is one piece of a target after its origin.
type token struct {
	kind tkind
	part part
	lit  string // tLit
	slot uint8  // tCap
	// slash: a "/" of the capture stays literal in the path (the splat,
	// regex groups).
	slash bool
	// fromQuery: the capture is a raw query value, form-decoded before it
	// is encoded again.
	fromQuery bool
}

// target is a compiled rule target (or table row target).
type target struct {
	// What rendering reads comes first.

	// static: the target has no capture or placeholder, so pre is the
	// whole Location for a request without a query.
	static bool
	// abs: the target is an absolute URL.
	abs bool
	// schemeTok: the scheme is {scheme}; hostTok: the authority is {host}
	// followed by hostTail (":port" or empty).
	schemeTok, hostTok bool
	// qpos and fpos are the indexes of "?" and "#" in pre, -1 when none.
	qpos, fpos int
	pre        []byte
	// prog holds the tokens after parsing, encoded in one byte slice: for
	// each, an op byte (kind, part, flags), then a literal's length and
	// bytes or a capture's slot.
	prog []byte
	// inl holds pre and prog when they fit (see inline).
	inl [40]byte
	// origin is "scheme://authority" of an absolute target with a literal
	// scheme and authority; empty otherwise.
	origin   string
	scheme   string // literal scheme when hostTok && !schemeTok
	hostTail string
	// uses holds the placeholders the target uses.
	uses int
	// toks are the tokens while the target is parsed.
	toks []token
}

// inline moves pre and prog into inl when they fit, so that a target
// embedded in a compiled rule is rendered without reading other memory.
// t must not be copied afterwards.
func (t *target) inline() {
	n := copy(t.inl[:], t.pre)
	if n < len(t.pre) {
		return
	}
	t.pre = t.inl[:n:n]
	if m := copy(t.inl[n:], t.prog); m == len(t.prog) {
		t.prog = t.inl[n : n+m : n+m]
	}
}

// errOffSite is the error of a target whose scheme or authority a capture
// or placeholder could set.
var errOffSite = errors.New("a capture or placeholder before the target's path could send the redirect off-site")

// parseTarget compiles to. With p nil (table rows) the target is literal:
// ":", "$" and "{" have no meaning.
func parseTarget(to string, p *pattern) (*target, error) {
	if hasControl(to) {
		return nil, errors.New("target holds a control character")
	}
	t := &target{qpos: -1, fpos: -1}
	rest := to
	switch {
	case strings.HasPrefix(to, "//") || strings.HasPrefix(to, "/\\"):
		return nil, errors.New("a target may not begin with // or /\\ (write an absolute URL)")
	case strings.HasPrefix(to, "/"):
	default:
		scheme, after, ok := strings.Cut(to, "://")
		if !ok {
			if p != nil && (strings.HasPrefix(to, ":") || strings.HasPrefix(to, "$") || strings.HasPrefix(to, "{")) {
				return nil, errOffSite
			}
			return nil, fmt.Errorf("target %q must be a path beginning with / or an http(s) URL", to)
		}
		switch {
		case p != nil && scheme == "{scheme}":
			t.schemeTok = true
			t.uses |= useScheme
		case strings.EqualFold(scheme, "http"), strings.EqualFold(scheme, "https"):
			scheme = strings.ToLower(scheme)
		case p != nil && strings.ContainsAny(scheme, ":${"):
			return nil, errOffSite
		default:
			return nil, fmt.Errorf("target scheme %q is not http or https", scheme)
		}
		end := strings.IndexAny(after, "/?#")
		if end < 0 {
			end = len(after)
		}
		if p != nil && strings.HasPrefix(after, "{host}") {
			// The authority is {host} and an optional port; the path may
			// follow at once as {path}.
			end = len("{host}")
			for end < len(after) && (after[end] == ':' || '0' <= after[end] && after[end] <= '9') {
				end++
			}
			if r := after[end:]; r != "" && !strings.HasPrefix(r, "{path}") && !strings.ContainsRune("/?#", rune(r[0])) {
				return nil, errOffSite
			}
		}
		auth := after[:end]
		rest = after[end:]
		if err := t.parseAuthority(scheme, auth, p != nil); err != nil {
			return nil, err
		}
		t.abs = true
	}
	if err := t.parseRest(rest, p); err != nil {
		return nil, err
	}
	t.static = !t.schemeTok && !t.hostTok
	for _, k := range t.toks {
		if k.kind != tLit {
			t.static = false
		}
	}
	if t.static {
		t.pre, t.qpos, t.fpos = t.appendStatic(nil)
	}
	if p != nil {
		t.compileProg()
	}
	t.toks = nil
	return t, nil
}

// Op byte of a token in target.prog.
const (
	opKind      = 7 // tkind
	opPartShift = 3 // part, 2 bits
	opSlash     = 1 << 5
	opFromQuery = 1 << 6
)

// compileProg encodes the tokens into prog.
func (t *target) compileProg() {
	var b []byte
	for _, k := range t.toks {
		op := byte(k.kind) | byte(k.part)<<opPartShift
		if k.slash {
			op |= opSlash
		}
		if k.fromQuery {
			op |= opFromQuery
		}
		b = append(b, op)
		switch k.kind {
		case tLit:
			b = binary.AppendUvarint(b, uint64(len(k.lit)))
			b = append(b, k.lit...)
		case tCap:
			b = append(b, k.slot)
		}
	}
	t.prog = b
}

// fastTarget recognises a literal target that needs no work: a path, or
// an http(s) URL with a lower-case ASCII host, of printable ASCII that
// needs no escaping, without a bare "?" or a second "#". It reports the
// indexes of "?" and "#" (-1 when none) and whether it is absolute.
func fastTarget(to string) (qpos, fpos int, abs, ok bool) {
	rest := to
	switch {
	case strings.HasPrefix(to, "https://"):
		rest = to[len("https://"):]
	case strings.HasPrefix(to, "http://"):
		rest = to[len("http://"):]
	default:
		if to == "" || to[0] != '/' || len(to) > 1 && (to[1] == '/' || to[1] == '\\') {
			return 0, 0, false, false
		}
	}
	abs = len(rest) < len(to)
	if abs {
		end := strings.IndexAny(rest, "/?#")
		if end < 0 {
			end = len(rest)
		}
		if end == 0 {
			return 0, 0, false, false
		}
		for i := 0; i < end; i++ {
			c := rest[i]
			if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == ':') {
				return 0, 0, false, false
			}
		}
	}
	qpos, fpos = -1, -1
	for i := len(to) - len(rest); i < len(to); i++ {
		switch c := to[i]; {
		case c <= ' ' || c >= 0x7f || c == '%' || c == '"' || c == '<' || c == '>' || c == '\\' ||
			c == '^' || c == '`' || c == '{' || c == '|' || c == '}':
			return 0, 0, false, false
		case c == '#':
			if fpos >= 0 {
				return 0, 0, false, false
			}
			fpos = i
		case c == '?' && qpos < 0 && fpos < 0:
			if i+1 == len(to) || to[i+1] == '#' {
				return 0, 0, false, false // a bare "?"
			}
			qpos = i
		}
	}
	return qpos, fpos, abs, true
}

// parseAuthority checks the authority of an absolute target and converts
// an internationalised host to A-labels.
func (t *target) parseAuthority(scheme, auth string, tokens bool) error {
	if auth == "" {
		return errors.New("target has no host")
	}
	if strings.Contains(auth, "@") {
		return errors.New("target may not hold user information (user@host)")
	}
	if tokens && strings.HasPrefix(auth, "{host}") {
		t.hostTok = true
		t.uses |= useHost
		t.scheme = scheme
		t.hostTail = auth[len("{host}"):]
		if t.hostTail != "" && !validPort(t.hostTail) {
			return errOffSite
		}
		return nil
	}
	if tokens && (strings.ContainsAny(auth, "{$") || looksLikeCapture(auth)) {
		return errOffSite
	}
	if t.schemeTok {
		return errors.New("{scheme} needs {host} as the authority")
	}
	host, port := auth, ""
	if strings.HasPrefix(auth, "[") {
		i := strings.IndexByte(auth, ']')
		if i < 0 {
			return fmt.Errorf("target host %q is not valid", auth)
		}
		host, port = auth[:i+1], auth[i+1:]
	} else if i := strings.LastIndexByte(auth, ':'); i >= 0 {
		host, port = auth[:i], auth[i:]
	}
	if port != "" && !validPort(port) {
		return fmt.Errorf("target port %q is not valid", port)
	}
	if !strings.HasPrefix(host, "[") {
		a, err := idna.Lookup.ToASCII(host)
		if err != nil || a == "" {
			return fmt.Errorf("target host %q is not valid", host)
		}
		host = strings.ToLower(a)
	}
	t.origin = scheme + "://" + host + port
	return nil
}

// validPort reports whether s is ":" and up to five digits.
func validPort(s string) bool {
	if len(s) < 2 || len(s) > 6 || s[0] != ':' {
		return false
	}
	for i := 1; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// looksLikeCapture reports whether s holds ":name" with a name that
// begins with a letter or _ (a port begins with a digit).
func looksLikeCapture(s string) bool {
	for i := 0; i+1 < len(s); i++ {
		if s[i] == ':' && isNameStart(s[i+1:]) {
			return true
		}
	}
	return false
}

// parseRest tokenises the path, query and fragment of a target.
func (t *target) parseRest(s string, p *pattern) error {
	var lit []byte
	pt := partPath
	flush := func() {
		if len(lit) > 0 {
			t.toks = append(t.toks, token{kind: tLit, part: pt, lit: string(lit)})
			lit = lit[:0]
		}
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '?' && pt == partPath:
			flush()
			pt = partQuery
			lit = append(lit, '?')
		case c == '#' && pt != partFrag:
			flush()
			pt = partFrag
			lit = append(lit, '#')
		case p != nil && c == ':' && i+1 < len(s) && isNameStart(s[i+1:]):
			j := i + 2
			for j < len(s) && isNameByte(s[j]) {
				j++
			}
			name := s[i+1 : j]
			k, err := p.capToken(name, ":"+name)
			if err != nil {
				return err
			}
			flush()
			k.part = pt
			t.toks = append(t.toks, k)
			i = j - 1
		case p != nil && c == '$' && i+1 < len(s) && '0' <= s[i+1] && s[i+1] <= '9':
			name := s[i+1 : i+2]
			if name == "0" {
				return errors.New("$0 is not a capture (use $1..$9)")
			}
			k, err := p.capToken(name, "$"+name)
			if err != nil {
				return err
			}
			flush()
			k.part = pt
			t.toks = append(t.toks, k)
			i++
		case p != nil && c == '{':
			end := strings.IndexByte(s[i:], '}')
			if end < 0 {
				return fmt.Errorf("unclosed { in target (placeholders are {scheme} {host} {path} {query})")
			}
			name := s[i : i+end+1]
			var k token
			switch name {
			case "{scheme}":
				k.kind, t.uses = tScheme, t.uses|useScheme
			case "{host}":
				k.kind, t.uses = tHost, t.uses|useHost
			case "{path}":
				k.kind, t.uses = tPath, t.uses|usePath
			case "{query}":
				k.kind, t.uses = tQuery, t.uses|useQuery
			default:
				return fmt.Errorf("unknown placeholder %s (known: {scheme} {host} {path} {query})", name)
			}
			flush()
			k.part = pt
			t.toks = append(t.toks, k)
			i += end
		default:
			lit = appendLiteral(lit, c, s[i:], pt)
		}
	}
	flush()
	return nil
}

// capToken returns the token of capture name, written as ref.
func (p *pattern) capToken(name, ref string) (token, error) {
	slot, ok := p.capSlot(name)
	if !ok {
		return token{}, fmt.Errorf("capture %s is not defined by from", ref)
	}
	k := token{kind: tCap, slot: uint8(slot)}
	switch {
	case slot >= p.npath:
		k.fromQuery = true
	case p.kind == kindRegex || name == "splat":
		k.slash = true
	}
	return k, nil
}

// appendLiteral appends byte c of a target, the first byte of rest, to
// dst, percent-encoding what may not appear in a URL as it is: non-ASCII
// bytes (so an internationalised path becomes percent-encoded UTF-8),
// spaces, and characters no URL part allows. An escape that is already
// there is kept.
func appendLiteral(dst []byte, c byte, rest string, pt part) []byte {
	if _, esc := pct.Decode(rest, 0); esc {
		return append(dst, c)
	}
	switch {
	case c >= 0x80, c <= ' ', c == '%', c == '"', c == '<', c == '>', c == '\\',
		c == '^', c == '`', c == '{', c == '|', c == '}',
		c == '#' && pt == partFrag:
		return appendEscape(dst, c)
	}
	return append(dst, c)
}

const upperhex = "0123456789ABCDEF"

func appendEscape(dst []byte, c byte) []byte {
	return append(dst, '%', upperhex[c>>4], upperhex[c&15])
}

// capSafe reports whether byte c of captured text may be copied into the
// part pt of a Location as it is: RFC 3986 unreserved characters and the
// sub-delimiters other than "&", "=" and "+" (which structure a query),
// ":" and "@". "'" is encoded in a query, as WHATWG does. Everything else
// is percent-encoded: "%", "?", "#", "\", controls and non-ASCII bytes.
func capSafe(c byte, pt part) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	switch c {
	case '-', '.', '_', '~', '!', '$', '(', ')', '*', ',', ';', ':', '@':
		return true
	case '\'':
		return pt != partQuery
	}
	return false
}

// appendCaptured appends captured text s to dst, encoded for part pt. With
// slash, "/" stays literal; in a query or fragment it always does.
func appendCaptured(dst []byte, s string, pt part, slash bool) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if capSafe(c, pt) || c == '/' && (slash || pt != partPath) {
			dst = append(dst, c)
		} else {
			dst = appendEscape(dst, c)
		}
	}
	return dst
}

// appendCapturedQuery appends a raw query value s to dst: form-decoded
// ("+" is a space, "%XX" a byte) and encoded again for part pt.
func appendCapturedQuery(dst []byte, s string, pt part) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch v, esc := pct.Decode(s, i); {
		case c == '+':
			c = ' '
		case esc:
			c = v
			i += 2
		}
		if capSafe(c, pt) || c == '/' && pt != partPath {
			dst = append(dst, c)
		} else {
			dst = appendEscape(dst, c)
		}
	}
	return dst
}

// rawQuerySafe reports whether byte c of a request's raw query may be
// copied into a Location as it is.
func rawQuerySafe(c byte) bool {
	if c <= ' ' || c >= 0x7f {
		return false
	}
	switch c {
	case '"', '#', '<', '>', '\\', '^', '`', '{', '|', '}':
		return false
	}
	return true
}

// appendRawQuery appends a request's raw query to dst, keeping its escapes
// and its structure and encoding only what may not appear in a URL.
func appendRawQuery(dst []byte, q string) []byte {
	for i := 0; i < len(q); i++ {
		if !rawQuerySafe(q[i]) {
			return appendRawQuerySlow(dst, q)
		}
	}
	return append(dst, q...)
}

func appendRawQuerySlow(dst []byte, q string) []byte {
	for i := 0; i < len(q); i++ {
		if c := q[i]; rawQuerySafe(c) {
			dst = append(dst, c)
		} else {
			dst = appendEscape(dst, c)
		}
	}
	return dst
}

// appendStatic renders a static target and reports where its "?" and "#"
// are (-1 when absent). An empty query ("/a?") is dropped: no bare "?".
func (t *target) appendStatic(dst []byte) (out []byte, qpos, fpos int) {
	start := len(dst)
	qpos, fpos = -1, -1
	dst = append(dst, t.origin...)
	for _, k := range t.toks {
		switch k.part {
		case partQuery:
			if qpos < 0 && strings.HasPrefix(k.lit, "?") {
				qpos = len(dst) - start
			}
		case partFrag:
			if fpos < 0 && strings.HasPrefix(k.lit, "#") {
				if qpos >= 0 && qpos == len(dst)-start-1 {
					dst = dst[:len(dst)-1] // bare "?"
					qpos = -1
				}
				fpos = len(dst) - start
			}
		}
		dst = append(dst, k.lit...)
	}
	if qpos >= 0 && qpos == len(dst)-start-1 {
		dst = dst[:len(dst)-1]
		qpos = -1
	}
	return dst, qpos, fpos
}

// appendQueryMerge appends the static Location pre to dst with the
// request's raw query rq merged as mode says and, for a table row with
// subpath, the rest of the request path after the row's path.
func appendQueryMerge(dst, pre []byte, qpos, fpos int, mode qmodeRule, rq, rest string) []byte {
	pathEnd := len(pre)
	if qpos >= 0 {
		pathEnd = qpos
	} else if fpos >= 0 {
		pathEnd = fpos
	}
	qEnd := len(pre)
	if fpos >= 0 {
		qEnd = fpos
	}
	dst = append(dst, pre[:pathEnd]...)
	if rest != "" {
		if pathEnd > 0 && pre[pathEnd-1] == '/' {
			rest = rest[1:]
		}
		dst = appendCaptured(dst, rest, partPath, true)
	}
	hasQ := false
	if mode != modeReplace && qpos >= 0 {
		dst = append(dst, pre[qpos:qEnd]...)
		hasQ = true
	}
	if mode != modeDrop && rq != "" {
		if hasQ {
			dst = append(dst, '&')
		} else {
			dst = append(dst, '?')
		}
		dst = appendRawQuery(dst, rq)
	}
	if fpos >= 0 {
		dst = append(dst, pre[fpos:]...)
	}
	return dst
}

// qmodeRule is a rule's query mode, compiled.
type qmodeRule uint8

const (
	modePreserve qmodeRule = iota
	modeDrop
	modeReplace
)

// fixLeadingSlashes makes sure the relative Location dst[start:] does not
// begin with "//" or "/\", which a browser would read as another host:
// the second character is percent-encoded.
func fixLeadingSlashes(dst []byte, start int) []byte {
	if len(dst)-start < 2 || dst[start] != '/' || (dst[start+1] != '/' && dst[start+1] != '\\') {
		return dst
	}
	c := dst[start+1]
	dst = append(dst, 0, 0)
	copy(dst[start+4:], dst[start+2:len(dst)-2])
	dst[start+1], dst[start+2], dst[start+3] = '%', upperhex[c>>4], upperhex[c&15]
	return dst
}
