// Package match compiles rules into a lookup table and answers requests
// from it. It is pure: no I/O, no clock of its own, no HTTP server.
//
// Compile checks every rule (the errors of SPEC §1.4 that concern a single
// rule or a pair of rules) and builds a Table; Table.Lookup finds the rule
// that answers a normalised request following the precedence of SPEC §1.2,
// and the Match it fills renders the response's Location and headers
// (SPEC §1.3).
//
// # Patterns
//
// A rule's from is one of:
//
//   - "/a": the exact path. With trailing_slash: either, also the path with
//     its trailing slash removed ("/a/" → "/a") or added ("/a" → "/a/").
//   - "/docs/*": a segment prefix: "/docs", "/docs/" and every path below;
//     the rest after "/docs/" is the capture :splat.
//   - "/promo*": a string prefix: every path that begins with "/promo"; the
//     rest is :splat.
//   - "/blog/:year/:slug": named segments, each one whole, non-empty
//     segment; a final "/*" may follow (Netlify style), giving :splat.
//   - "~re" and "~*re": a Go (RE2) regular expression over the path, the
//     latter case-insensitive; groups are $1..$9, named groups also :name.
//     The whole text after "~" is the regex: it has no query condition.
//
// Any but a regex may end in a query condition: "?id" (present), "?id=5"
// (some occurrence equals 5), "?id=:id" (present; the first value is the
// capture :id), several joined by "&"; other parameters may be there too.
// Names and values are compared form-decoded. Literal parts of a pattern
// are percent-decoded, as request paths are; case: insensitive folds
// ASCII letters of exact, prefix and named patterns.
//
// # Precedence
//
// Lookup follows SPEC §1.2. Candidates are the rules whose host, scheme,
// methods (GET answers HEAD; no methods means all but OPTIONS), query
// condition, window (ignored when now is zero) and path match. Then:
//
//  1. Host tier: rules with the request's exact host; else wildcard hosts,
//     the longest suffix first; else host-less rules.
//  2. Higher priority first.
//  3. With order first-match, file order (Source.Seq) decides.
//  4. With order specificity: an exact path; then patterns, the longest
//     literal prefix first (for "/docs/*" the literal is "/docs/"); at an
//     equal literal, named segments before a segment prefix ("/x/*")
//     before a string prefix ("/x*"); between named patterns, segment by
//     segment, a literal segment before a named one, and a pattern that
//     ends before one that ends in "/*"; then regexes in file order.
//  5. Between rules of the same path pattern: more query conditions
//     first, then file order. A rule beats a table row with the same
//     host and path (the row is shadowed); rows have priority 0, and a
//     row with subpath competes below its path as a segment prefix.
//
// Exact paths and rows are found with one hash probe; prefixes and named
// segments by probing a hash of literal prefixes at the lengths the path
// allows, longest first, then walking a small trie of segments; regexes
// are scanned, in file order, only when nothing at a higher precedence
// answered. Lookup cost does not grow with the number of exact and
// pattern rules.
//
// # Captures and Location
//
// Captures are cut from the request path as Lookup sees it: decoded, dot
// segments removed. A request's "%2F" therefore arrives in a capture as
// "/", and the Location has "/" there wherever "/" may stay (a splat, a
// regex group); a named segment never holds "/". Query-condition captures
// are the raw query value, form-decoded and encoded again.
//
// Captured text is percent-encoded for the part of the URL it lands in:
// everything but letters, digits and -._~!$'()*,;:@ is encoded ("'" too in
// a query), so "?", "#", "&", "=", "+", "%", "\", controls and non-ASCII
// bytes never reach the Location as they are; "/" stays in a path from a
// splat or regex group, and in a query or fragment. A capture never sets
// a scheme or host (Compile refuses such targets), and a relative Location
// never begins with "//" or "/\": the second character is encoded.
package match

import (
	"encoding/binary"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/detourhttp/detour"
)

// DefaultMaxRegex is the number of regex rules a Table may hold when
// Options.MaxRegex is 0.
const DefaultMaxRegex = 10000

// Options tune Compile. The zero value is ready to use.
type Options struct {
	// Order says how rules of equal host tier and priority compete; the
	// zero value means detour.OrderSpecificity.
	Order detour.Order
	// MaxRegex caps the number of regex rules; 0 means 10,000.
	MaxRegex int
}

// Table is a compiled, immutable rule set. It is safe for concurrent use.
type Table struct {
	firstMatch bool
	seed       uint64
	rules      []*crule       // in file order
	rulePtrs   []*detour.Rule // rules[i].r
	// ruleArgs is Compile's rules when rulePtrs[i] is &ruleArgs[i] for
	// every i, else nil.
	ruleArgs  []detour.Rule
	tables    []*ctable
	tablePtrs []*detour.Table
	nrows     int
	any       *bucket
	hosts     map[string]*bucket
	wild      map[string]*bucket // by suffix, without "*."
	exact     exactIndex
	pidx      pindex
}

// Compile checks rules and tables and builds a Table. The diagnostics hold
// every error and warning found, each with the rule's Source file and line,
// the rule id and the field ("from", "to", "headers.X-Foo", …). When any is
// an error, the Table is nil.
//
// Diagnostics about a table row name the table's File (Table.File) and the
// row's line, with the table's id as the rule. A rule without an ID gets
// detour.DeriveID's. The Table refers to rules and tables, which must not
// change afterwards.
func Compile(rules []detour.Rule, tables []detour.Table, opts Options) (*Table, detour.Diagnostics) {
	return compile(rules, tables, opts)
}

// Len returns the number of rules and table rows in t.
func (t *Table) Len() int { return len(t.rules) + t.nrows }

// Rules returns t's rules (not table rows) in Source.Seq order. The caller
// must not change them.
func (t *Table) Rules() []*detour.Rule { return t.rulePtrs }

// Tables returns t's tables. The caller must not change them.
func (t *Table) Tables() []*detour.Table { return t.tablePtrs }

// TableRule returns the template rule of the i-th table of Tables: the
// Rule that Match.Rule and Candidate.Rule point at when one of its rows
// answers, its ID the table's id.
func (t *Table) TableRule(i int) *detour.Rule { return t.tables[i].tmpl }

// Lookup finds the rule that answers req at time now, fills m and reports
// whether one did. A zero now ignores windows (for lint). It allocates
// nothing when an exact rule or table row answers.
func (t *Table) Lookup(req *detour.Request, now time.Time, m *Match) bool {
	if h := req.Host; h != "" {
		if len(t.hosts) > 0 {
			if bk := t.hosts[h]; bk != nil && t.lookupBucket(bk, req, now, m) {
				return true
			}
		}
		if len(t.wild) > 0 {
			for i := strings.IndexByte(h, '.'); i >= 0; {
				suf := h[i+1:]
				if bk := t.wild[suf]; bk != nil && t.lookupBucket(bk, req, now, m) {
					return true
				}
				j := strings.IndexByte(suf, '.')
				if j < 0 {
					break
				}
				i += j + 1
			}
		}
	}
	if t.any != nil && t.lookupBucket(t.any, req, now, m) {
		return true
	}
	*m = Match{}
	return false
}

// lookupBucket answers from one bucket. An exact path whose rule or row
// has nothing to check but the method, a pre-rendered Location, and no
// pattern level that could beat it, answers straight from the exact
// index; everything else goes through a searcher.
func (t *Table) lookupBucket(bk *bucket, req *detour.Request, now time.Time, m *Match) bool {
	if bk.exactCS && !bk.exactCI {
		i := t.exact.findCS(bk.ns, bk.id, req.Path)
		if i < 0 && len(bk.levels) == 0 {
			return false
		}
		if i >= 0 && req.Method != "OPTIONS" {
			// A simple rule or row with a static Location, inline in its
			// slot (or, for an out entry, in the arena): read the slot
			// only (and the Location).
			s := &t.exact.slots[i]
			f := s.flags
			if f&(xSimple|xStatic|xLong) == xSimple|xStatic && f&xKindMask != xList &&
				(len(bk.levels) == 0 || t.beatsLevels(bk, t.exact.entry(i))) {
				m.t, m.req, m.cr, m.tb, m.ridx, m.Row = t, req, nil, nil, -1, 0
				if f&xKindMask == xRow {
					m.tb = t.tables[s.ref]
					m.Rule, m.Row = m.tb.tmpl, int(s.aux)
				} else {
					m.ridx = int32(s.ref)
					m.Rule = t.rulePtr(m.ridx)
				}
				k, n := int(s.klen), int(s.plen)
				m.status, m.static, m.pre = int(statusCodes[f>>xStatusShift&7]), true, s.data[k:k+n:k+n]
				if f&xOut != 0 {
					m.pre = t.exact.out(s)
				}
				m.qmode, m.rel, m.rest = qmodeRule(f>>xQmodeShift&3), f&xRel != 0, ""
				m.qpos, m.fpos = posLazy, posLazy
				if m.qmode == modeReplace {
					q, f := derivePos(m.pre)
					m.qpos, m.fpos = int32(q), int32(f)
				}
				return true
			}
		}
	}
	s := searcher{t: t, req: req, now: now}
	if !s.bucket(bk) {
		return false
	}
	s.finish(m)
	return true
}

// beatsLevels reports whether exact entry e beats the patterns of bk's
// levels: its priority is higher than theirs, or equal with order
// specificity.
func (t *Table) beatsLevels(bk *bucket, e entry) bool {
	top, prio := bk.levels[0].prio, e.prio()
	return top < prio || top == prio && !t.firstMatch
}

// rulePtr returns rulePtrs[i], without reading it when it can.
func (t *Table) rulePtr(i int32) *detour.Rule {
	if t.ruleArgs != nil {
		return &t.ruleArgs[i]
	}
	return t.rulePtrs[i]
}

// Candidates returns every rule that matches req at now, the one Lookup
// would choose first, then the rest in precedence order. Table rows appear
// as their table's template rule. It is for lint and "which rule answers
// this?", not for the hot path.
func (t *Table) Candidates(req *detour.Request, now time.Time) []Candidate {
	hits := t.candidates(req, now)
	out := make([]Candidate, len(hits))
	for i := range hits {
		out[i] = t.candidate(&hits[i])
	}
	return out
}

// candidate converts a hit.
func (t *Table) candidate(h *hit) Candidate {
	switch {
	case h.cr != nil:
		return Candidate{Rule: h.cr.r}
	case h.xi != nil:
		return Candidate{Rule: h.xi.tb.tmpl, Row: int(h.xi.line)}
	}
	e := t.exact.entry(int(h.off))
	if e.kind() == xRow {
		return Candidate{Rule: t.tables[e.ref()].tmpl, Row: int(e.line())}
	}
	return Candidate{Rule: t.rulePtrs[e.ref()]}
}

// Candidate is one rule that matches a request.
type Candidate struct {
	Rule *detour.Rule
	// Row is the table row's line, 0 for rules.
	Row int
}

// span is a capture: byte offsets into the request path, or into its raw
// query for query-condition captures.
type span struct{ s, e int32 }

// Match is the result of a Lookup. The zero value is ready for Lookup; a
// Match may be reused, and is not safe for concurrent use. It refers to
// the request it was filled from, which must stay unchanged while the
// Match is used.
type Match struct {
	// Rule is the rule that answered. For a table row it is the table's
	// template rule: ID is the table's id, and Row says which row.
	Rule *detour.Rule
	// Row is the 1-based line of the table row that answered; 0 for rules.
	Row int

	t      *Table
	req    *detour.Request
	cr     *crule  // the rule, when loaded (see ridx)
	ridx   int32   // index of the rule in t.rules, or -1
	tb     *ctable // the row's table
	status int
	// A static Location: pre-rendered, with where "?" and "#" are
	// (posLazy: not found yet; derivePos finds them, and the query mode
	// is not replace).
	static     bool
	rel        bool
	qmode      qmodeRule
	qpos, fpos int32
	pre        []byte
	rest       string // a subpath row: the rest of the path
	caps       [maxCaps]span
}

// setRule makes m the answer of rule cr.
func (m *Match) setRule(cr *crule) {
	m.cr, m.ridx, m.Rule, m.status, m.qmode = cr, cr.idx, cr.r, cr.status, cr.qmode
	switch {
	case cr.gone:
		m.static = true
	case cr.tgt.static && !cr.absolute:
		m.static, m.pre, m.qpos, m.fpos, m.rel = true, cr.tgt.pre, int32(cr.tgt.qpos), int32(cr.tgt.fpos), !cr.tgt.abs
	}
}

// rule returns the compiled rule of m, nil for a table row.
func (m *Match) rule() *crule {
	if m.cr == nil && m.ridx >= 0 && m.t != nil {
		m.cr = m.t.rules[m.ridx]
	}
	return m.cr
}

// Status returns the response status: 301, 302, 303, 307, 308 or 410.
// It is 0 when m holds no match.
func (m *Match) Status() int { return m.status }

// AppendLocation appends the Location header value to dst: the target
// with captures and placeholders substituted and encoded, and the query
// merged as the rule says. It appends nothing for 410. The value is
// ASCII without control characters, and a relative value never begins
// with "//" or "/\".
func (m *Match) AppendLocation(dst []byte) []byte {
	if m.Rule == nil || m.status == detour.StatusGone {
		return dst
	}
	if m.static {
		// m.pre may be in memory that its Table maps outside the heap:
		// m keeps the Table (and so the mapping), so m must stay
		// reachable while m.pre is read.
		if m.req.Query == "" && m.rest == "" && (m.qmode != modeReplace || m.qpos < 0) {
			dst = append(dst, m.pre...)
			runtime.KeepAlive(m)
			return dst
		}
		qpos, fpos := int(m.qpos), int(m.fpos)
		if m.qpos == posLazy {
			qpos, fpos = derivePos(m.pre)
		}
		start := len(dst)
		dst = appendQueryMerge(dst, m.pre, qpos, fpos, m.qmode, m.req.Query, m.rest)
		runtime.KeepAlive(m)
		if m.rel {
			dst = fixLeadingSlashes(dst, start)
		}
		return dst
	}
	return m.appendDynamic(dst)
}

// posLazy in Match.qpos and Match.fpos says that derivePos finds them.
const posLazy = -2

// Location returns the Location header value; it allocates.
func (m *Match) Location() string { return string(m.AppendLocation(nil)) }

// appendDynamic renders a target with captures or placeholders.
func (m *Match) appendDynamic(dst []byte) []byte {
	cr := m.rule()
	tg, req := &cr.tgt, m.req
	start := len(dst)
	rel := !tg.abs
	switch {
	case tg.origin != "":
		dst = append(dst, tg.origin...)
	case tg.hostTok:
		if tg.schemeTok {
			dst = append(dst, reqScheme(req)...)
		} else {
			dst = append(dst, tg.scheme...)
		}
		dst = append(dst, "://"...)
		dst = append(dst, req.Host...)
		dst = append(dst, tg.hostTail...)
	case cr.absolute:
		dst = append(dst, reqScheme(req)...)
		dst = append(dst, "://"...)
		if cr.host.kind == hostExact {
			dst = append(dst, cr.host.name...)
		} else {
			dst = append(dst, req.Host...)
		}
		rel = false
	}
	qmark := -1
	closed := false
	prog := tg.prog
	for i := 0; i < len(prog); {
		op := prog[i]
		i++
		kind, pt := tkind(op&opKind), part(op>>opPartShift&3)
		var lit []byte
		var slot byte
		switch kind {
		case tLit:
			n, w := binary.Uvarint(prog[i:])
			i += w
			lit = prog[i : i+int(n)]
			i += int(n)
		case tCap:
			slot = prog[i]
			i++
		}
		if pt == partQuery && m.qmode == modeReplace {
			continue
		}
		if pt == partFrag && !closed {
			dst, closed = m.closeQuery(dst, qmark), true
		}
		if pt == partQuery && qmark < 0 {
			qmark = len(dst)
		}
		dst = m.appendToken(dst, kind, pt, op, lit, slot)
	}
	if !closed {
		dst = m.closeQuery(dst, qmark)
	}
	if rel {
		dst = fixLeadingSlashes(dst, start)
	}
	return dst
}

// closeQuery ends the query part of a rendered target whose "?" is at
// qmark (-1: none): a bare "?" goes, and the request's query is merged.
func (m *Match) closeQuery(dst []byte, qmark int) []byte {
	if qmark >= 0 && qmark == len(dst)-1 {
		dst = dst[:qmark]
		qmark = -1
	}
	if m.qmode != modeDrop && m.req.Query != "" {
		if qmark < 0 {
			dst = append(dst, '?')
		} else {
			dst = append(dst, '&')
		}
		dst = appendRawQuery(dst, m.req.Query)
	}
	return dst
}

// appendToken renders one token of a target: its kind, part and op byte,
// and its literal or capture slot.
func (m *Match) appendToken(dst []byte, kind tkind, pt part, op byte, lit []byte, slot byte) []byte {
	req := m.req
	switch kind {
	case tLit:
		return append(dst, lit...)
	case tCap:
		sp := m.caps[slot]
		if op&opFromQuery != 0 {
			return appendCapturedQuery(dst, req.Query[sp.s:sp.e], pt)
		}
		return appendCaptured(dst, req.Path[sp.s:sp.e], pt, op&opSlash != 0)
	case tScheme:
		return append(dst, reqScheme(req)...)
	case tHost:
		return appendCaptured(dst, req.Host, pt, false)
	case tPath:
		return appendCaptured(dst, req.Path, pt, true)
	case tQuery:
		if pt == partPath {
			return appendCaptured(dst, req.Query, partQuery, true)
		}
		return appendRawQuery(dst, req.Query)
	}
	return dst
}

// reqScheme is the request's scheme, "http" when it has none.
func reqScheme(req *detour.Request) string {
	if req.Scheme == "" {
		return "http"
	}
	return req.Scheme
}

// Headers calls fn for each response header other than Location and the
// body's Content-Type: Cache-Control (no-store for 302/303/307, a max-age
// capped at the window's end for 301/308, unless the rule's headers set
// it), Retry-After, and the rule's extra headers. now caps max-age and
// renders "window_end".
func (m *Match) Headers(now time.Time, fn func(name, value string)) {
	if m.Rule == nil {
		return
	}
	if m.tb != nil {
		switch m.status {
		case 302, 303, 307:
			fn("Cache-Control", "no-store")
		case 301, 308:
			fn("Cache-Control", m.tb.ccPermanent)
		}
		return
	}
	cr := m.rule()
	if !cr.ownCC && cr.cc != "" {
		v := cr.cc
		if detour.Permanent(cr.status) && !cr.windowE.IsZero() && !now.IsZero() {
			left := int64(cr.windowE.Sub(now) / time.Second)
			if left < 0 {
				left = 0
			}
			if left < int64(cr.maxAge) {
				v = "max-age=" + strconv.FormatInt(left, 10)
			}
		}
		fn("Cache-Control", v)
	}
	if cr.retry != "" {
		fn("Retry-After", cr.retry)
	}
	for _, h := range cr.r.Headers {
		fn(h.Name, h.Value)
	}
}

// Samples returns up to n request targets (path, and "?query" when the
// rule has a query condition) that r's from pattern matches, exercising
// every capture. An exact rule yields its path. The targets are
// percent-encoded as a client sends them; each is checked against a table
// of r alone (host, methods, scheme and window aside). A regex sample
// takes the i-th branch of alternations and one or two repetitions.
func Samples(r *detour.Rule, n int) ([]string, error) { return samples(r, n) }
