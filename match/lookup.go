package match

import (
	"cmp"
	"slices"
	"strings"
	"time"

	"github.com/detourhttp/detour"
)

// Classes of a hit, in precedence order within a priority.
const (
	classExact uint8 = iota
	classPattern
	classRegex
)

// hit is a rule or row that matches the request, with what its precedence
// is decided on.
type hit struct {
	cr   *crule // the rule; nil for an exact-index entry without one loaded
	xi   *xitem // item of an exact-index list, or nil
	sig  string
	prio int
	off  int32 // slot of the exact-index entry, or -1
	line int32 // a row's line
	rest int32 // a subpath row: where the rest of the path begins; or -1

	suffix int32
	lit    int32
	nq     int32
	ord    int32
	tier   int8
	class  uint8
	pk     kind // kindNamed, kindSegment, kindString
	isRow  bool
}

// cmpHit orders hits by precedence (SPEC §1.2): host tier, wildcard
// suffix length, priority; then with first-match file order; then exact
// paths, patterns (longest literal prefix, named before segment prefix
// before string prefix, then literal segments before named ones segment by
// segment), regexes; rules before rows, more query conditions first, file
// order.
func (t *Table) cmpHit(a, b *hit) int {
	if c := cmp.Compare(a.tier, b.tier); c != 0 {
		return c
	}
	if c := cmp.Compare(b.suffix, a.suffix); c != 0 {
		return c
	}
	if c := cmp.Compare(b.prio, a.prio); c != 0 {
		return c
	}
	if t.firstMatch {
		if c := cmp.Compare(a.ord, b.ord); c != 0 {
			return c
		}
	}
	if c := cmp.Compare(a.class, b.class); c != 0 {
		return c
	}
	if a.class == classPattern {
		if c := cmp.Compare(b.lit, a.lit); c != 0 {
			return c
		}
		if c := cmp.Compare(a.pk, b.pk); c != 0 {
			return c
		}
		if c := strings.Compare(a.sig, b.sig); c != 0 {
			return c
		}
	}
	if a.isRow != b.isRow {
		if a.isRow {
			return 1
		}
		return -1
	}
	if c := cmp.Compare(b.nq, a.nq); c != 0 && !t.firstMatch {
		return c
	}
	if c := cmp.Compare(a.ord, b.ord); c != 0 {
		return c
	}
	return cmp.Compare(a.line, b.line)
}

// searcher is the state of one Lookup or Candidates.
type searcher struct {
	t       *Table
	req     *detour.Request
	now     time.Time
	collect *[]hit // Candidates: every hit, no early stop

	tier   int8
	suffix int
	prio   int // priority of the level being searched
	lit    int // literal prefix length of the named trie being searched

	ph   prefixHash // prefix hashes of the path
	phOK bool

	found    bool
	best     hit
	exFound  bool
	ex       hit // best exact hit of the bucket
	bestCaps [maxCaps]span
	cur      [maxCaps]span
}

// run searches the host tiers in order and reports whether a rule
// answers; with collect it visits every tier.
func (s *searcher) run() bool {
	t := s.t
	if h := s.req.Host; h != "" {
		if len(t.hosts) > 0 {
			if bk := t.hosts[h]; bk != nil && s.bucket(bk) && s.collect == nil {
				return true
			}
		}
		if len(t.wild) > 0 {
			for i := strings.IndexByte(h, '.'); i >= 0; {
				suf := h[i+1:]
				if bk := t.wild[suf]; bk != nil && s.bucket(bk) && s.collect == nil {
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
	return t.any != nil && s.bucket(t.any)
}

// bucket searches one bucket: its exact paths, then its levels from the
// highest priority down, as long as they can still beat what was found.
func (s *searcher) bucket(bk *bucket) bool {
	s.tier, s.suffix = bk.tier, bk.suffix
	s.found = false
	if bk.exactCS || bk.exactCI {
		s.exact(bk)
	}
	for _, lv := range bk.levels {
		if s.found && s.collect == nil {
			if s.best.prio > lv.prio || s.best.prio == lv.prio && !s.t.firstMatch {
				break
			}
		}
		s.level(bk, lv)
	}
	return s.found
}

// exact probes the exact index for the request path.
func (s *searcher) exact(bk *bucket) {
	x := &s.t.exact
	s.exFound = false
	if bk.exactCS {
		if i := x.find(bk.id, 0, s.req.Path); i >= 0 {
			s.entry(i, classExact, 0, -1)
		}
	}
	if bk.exactCI {
		if i := x.find(bk.id, xCI, s.req.Path); i >= 0 {
			s.entry(i, classExact, 0, -1)
		}
	}
	if s.exFound {
		s.offer(&s.ex, false)
	}
}

// give offers h, as an exact hit when ex.
func (s *searcher) give(h *hit, ex bool) {
	if ex {
		s.offerExact(h)
	} else {
		s.offer(h, false)
	}
}

// offerExact keeps the better of two exact hits (of the case-sensitive
// and the case-insensitive key): higher priority, rules before rows (a
// rule shadows a row with the same path), more query conditions (with
// specificity), file order.
func (s *searcher) offerExact(h *hit) {
	if s.exFound {
		a, b := h, &s.ex
		c := cmp.Compare(b.prio, a.prio)
		if c == 0 && a.isRow != b.isRow {
			c = 1
			if b.isRow {
				c = -1
			}
		}
		if c == 0 && !s.t.firstMatch {
			c = cmp.Compare(b.nq, a.nq)
		}
		if c == 0 {
			c = cmp.Compare(a.ord, b.ord)
		}
		if c >= 0 {
			return
		}
	}
	s.ex, s.exFound = *h, true
}

// entry offers the rules and rows of an exact-index entry that pass.
func (s *searcher) entry(off int, class uint8, lit, rest int) {
	x := &s.t.exact
	e := x.entry(off)
	f := e.flags()
	h := hit{off: int32(off), class: class, lit: int32(lit), rest: int32(rest), pk: kindSegment}
	ex := class == classExact && s.collect == nil
	// A subpath row whose path ends in "/" matches that path exactly, not
	// as a subpath.
	bare := rest >= 0 && rest == len(s.req.Path)-1
	switch f & xKindMask {
	case xList:
		list := x.lists[e.ref()]
		h.off = -1
		for i := range list {
			it := &list[i]
			if it.cr != nil && !s.passes(it.cr) || it.cr == nil && (s.req.Method == "OPTIONS" || bare && it.slash) {
				continue
			}
			h.xi, h.cr = it, it.cr
			h.prio, h.ord, h.isRow, h.line, h.nq = it.prio(), it.ord(), it.cr == nil, it.line, 0
			if it.cr != nil {
				h.nq = it.cr.nq
			}
			s.give(&h, ex)
			if s.collect == nil {
				return
			}
		}
	case xRule:
		if f&xSimple != 0 {
			if s.req.Method == "OPTIONS" {
				return
			}
		} else {
			cr := x.rules[e.ref()]
			if !s.passes(cr) {
				return
			}
			h.cr, h.nq = cr, cr.nq
		}
		h.prio, h.ord = e.prio(), e.ord()
		s.give(&h, ex)
	case xRow:
		if s.req.Method == "OPTIONS" || bare && f&xSlash != 0 {
			return
		}
		h.isRow, h.ord, h.line = true, e.ord(), e.line()
		s.give(&h, ex)
	}
}

// passes reports whether the request meets a rule's conditions other than
// host and path: scheme, method, window and query.
func (s *searcher) passes(cr *crule) bool {
	if cr.simple {
		return s.req.Method != "OPTIONS"
	}
	r := cr.r
	if r.Scheme != "" && r.Scheme != s.req.Scheme {
		return false
	}
	if !r.AnswersMethod(s.req.Method) {
		return false
	}
	if !s.now.IsZero() && !r.Window.Active(s.now) {
		return false
	}
	return cr.nq == 0 || queryMatches(cr.pat.query, s.req.Query)
}

// offer records h if it beats what was found (or, collecting, always).
func (s *searcher) offer(h *hit, caps bool) {
	h.tier, h.suffix = s.tier, int32(s.suffix)
	if s.collect != nil {
		*s.collect = append(*s.collect, *h)
		return
	}
	if s.found && s.t.cmpHit(h, &s.best) >= 0 {
		return
	}
	s.best = *h
	s.found = true
	if caps {
		s.bestCaps = s.cur
	}
}

// stops reports whether the search stops at the first hit of a pattern
// (specificity, not collecting).
func (s *searcher) stops() bool { return s.collect == nil && !s.t.firstMatch }

// level searches the patterns of one level, longest literal prefix first,
// then its regexes.
func (s *searcher) level(bk *bucket, lv *level) {
	s.prio = lv.prio
	if lv.pats || lv.sub {
		lit := len(s.req.Path) + 1
		// Literals of 256 bytes and more are not in the set: when the
		// level has any, try each length.
		for ; lit >= 256; lit-- {
			if lv.lits.long && s.lit1(bk, lv, lit) {
				return
			}
			if !lv.lits.long {
				lit = 256
			}
		}
		for lit = lv.lits.prev(lit); lit >= 1; lit = lv.lits.prev(lit - 1) {
			if s.lit1(bk, lv, lit) {
				return
			}
		}
	}
	s.regex(lv)
}

// lit1 probes the patterns with literal prefixes of length lit, in
// precedence order: named segments, segment prefixes, subpath rows,
// string prefixes. It reports whether the search of the level is over.
func (s *searcher) lit1(bk *bucket, lv *level, lit int) bool {
	path := s.req.Path
	n := len(path)
	l := lit - 1
	slash := l < n && path[l] == '/'
	if slash && lv.pats {
		s.named(lv, lit)
	}
	if slash || l == n {
		if lv.pats {
			s.prefix(lv, pkSeg, l, lit)
		}
		if lv.sub && slash {
			s.subRows(bk, l)
		}
	}
	if !slash && l < n && lv.pats {
		s.prefix(lv, pkStr, lit, lit)
	}
	return s.found && s.best.prio == lv.prio && s.stops()
}

// prefixSum returns the hash of the first n bytes of the path in key
// space ns, folded with ci.
func (s *searcher) prefixSum(n int, ns uint64, ci bool) uint64 {
	if ci {
		return hashKey(s.t.seed, ns, s.req.Path[:n], true)
	}
	if !s.phOK {
		s.ph.reset(s.t.seed, s.req.Path, false)
		s.phOK = true
	}
	return s.ph.sum(n, ns)
}

// prefix probes the segment or string prefixes whose literal is the first
// n bytes of the path.
func (s *searcher) prefix(lv *level, pk uint8, n, lit int) {
	path := s.req.Path
	for _, k := range [2]uint8{pk, pk | pkCI} {
		if !lv.lens[k].has(n) {
			continue
		}
		e := s.t.pidx.find(s.prefixSum(n, lv.nsk[k], k&pkCI != 0), lv.ns, k, path[:n])
		if e == nil {
			continue
		}
		sp := span{int32(n), int32(len(path))}
		h := hit{off: -1, rest: -1, class: classPattern, lit: int32(lit), prio: lv.prio, pk: kindString}
		if pk == pkSeg {
			h.pk = kindSegment
			if n < len(path) {
				sp.s++
			}
		}
		for i := 0; ; i++ {
			cr := e.rule(i)
			if cr == nil {
				break
			}
			if !s.passes(cr) {
				continue
			}
			s.cur[0] = sp
			h.cr, h.nq, h.ord = cr, cr.nq, cr.ord
			s.offer(&h, true)
			if s.collect == nil {
				break
			}
		}
	}
}

// subRows probes the subpath rows whose path is the first n bytes of the
// request path (which goes on with "/").
func (s *searcher) subRows(bk *bucket, n int) {
	x := &s.t.exact
	key := s.req.Path[:n]
	for _, flags := range [2]uint8{xSub, xSub | xCI} {
		if flags&xCI == 0 && !bk.subCS || flags&xCI != 0 && !bk.subCI {
			continue
		}
		h := s.prefixSum(n, nsKey(bk.id, flags), flags&xCI != 0)
		if !x.sub.has(h) {
			continue
		}
		if i := x.findHash(h, bk.id, flags, key); i >= 0 {
			s.entry(i, classPattern, n+1, n)
		}
	}
}

// named searches the named-segment tries whose literal prefix is the
// first lit bytes of the path (which end in "/").
func (s *searcher) named(lv *level, lit int) {
	for _, k := range [2]uint8{pkNamed, pkNamed | pkCI} {
		if !lv.lens[k].has(lit) {
			continue
		}
		if e := s.t.pidx.find(s.prefixSum(lit, lv.nsk[k], k&pkCI != 0), lv.ns, k, s.req.Path[:lit]); e != nil {
			s.lit = lit
			s.enter(e.root, lit, 0, k&pkCI != 0)
		}
	}
}

// enter matches the path segment that begins at pos against the children
// of n: the literal child, then the named one. It reports whether the
// search is over.
func (s *searcher) enter(n *snode, pos, depth int, ci bool) bool {
	path := s.req.Path
	end := strings.IndexByte(path[pos:], '/')
	if end < 0 {
		end = len(path)
	} else {
		end += pos
	}
	seg := path[pos:end]
	if n.lit != nil {
		var c *snode
		if ci {
			c = s.foldLookup(n.lit, seg)
		} else {
			c = n.lit[seg]
		}
		if c != nil && s.after(c, end, depth, ci) {
			return true
		}
	}
	if n.param != nil && seg != "" && depth < maxCaps {
		s.cur[depth] = span{int32(pos), int32(end)}
		if s.after(n.param, end, depth+1, ci) {
			return true
		}
	}
	return false
}

// foldLookup looks up the lower-cased seg in m.
func (s *searcher) foldLookup(m map[string]*snode, seg string) *snode {
	var buf [64]byte
	if len(seg) > len(buf) {
		return m[lowerASCII(seg)]
	}
	b := buf[:len(seg)]
	for i := 0; i < len(seg); i++ {
		b[i] = lower(seg[i])
	}
	return m[string(b)]
}

// after continues from node n at pos, just after a segment: deeper
// segments first, then the patterns that end here, then those that end
// here in "/*". It reports whether the search is over.
func (s *searcher) after(n *snode, pos, depth int, ci bool) bool {
	path := s.req.Path
	if pos < len(path) && path[pos] == '/' && (n.lit != nil || n.param != nil) {
		if s.enter(n, pos+1, depth, ci) {
			return true
		}
	}
	rest := len(path) - pos
	if n.end.first != nil && (rest == 0 || rest == 1 && path[pos] == '/') {
		for i := 0; ; i++ {
			cr := n.end.at(i)
			if cr == nil {
				break
			}
			if rest == 1 && !cr.pat.either || !s.passes(cr) {
				continue
			}
			s.offerNamed(cr)
			if s.stops() {
				return true
			}
			if s.collect == nil {
				break
			}
		}
	}
	if n.splat.first != nil && (rest == 0 || path[pos] == '/') && depth < maxCaps {
		sp := span{int32(len(path)), int32(len(path))}
		if rest > 0 {
			sp.s = int32(pos + 1)
		}
		for i := 0; ; i++ {
			cr := n.splat.at(i)
			if cr == nil {
				break
			}
			if !s.passes(cr) {
				continue
			}
			s.cur[depth] = sp
			s.offerNamed(cr)
			if s.stops() {
				return true
			}
			if s.collect == nil {
				break
			}
		}
	}
	return false
}

func (s *searcher) offerNamed(cr *crule) {
	h := hit{cr: cr, off: -1, rest: -1, class: classPattern, pk: kindNamed, lit: int32(s.lit), prio: s.prio,
		nq: cr.nq, ord: cr.ord, sig: cr.pat.sig}
	s.offer(&h, true)
}

// regex scans the regexes of a level in file order, unless the index
// already answered at this level (with first-match: with a rule earlier in
// file order).
func (s *searcher) regex(lv *level) {
	for _, cr := range lv.regex {
		if s.collect == nil && s.found && s.best.prio == lv.prio && (!s.t.firstMatch || cr.ord >= s.best.ord) {
			return
		}
		if !s.passes(cr) || !cr.pat.re.MatchString(s.req.Path) {
			continue
		}
		h := hit{cr: cr, off: -1, rest: -1, class: classRegex, prio: lv.prio, ord: cr.ord}
		s.offer(&h, false)
		if s.collect == nil {
			return
		}
	}
}

// finish fills m from the best hit.
func (s *searcher) finish(m *Match) {
	t, h := s.t, &s.best
	*m = Match{t: t, req: s.req, ridx: -1}
	switch {
	case h.off >= 0:
		e := t.exact.entry(int(h.off))
		f := e.flags()
		if f&xKindMask == xRow {
			tb := t.tables[e.ref()]
			m.Rule, m.Row, m.tb = tb.tmpl, int(e.line()), tb
		} else {
			m.ridx = int32(e.ref())
			m.Rule = t.rulePtrs[m.ridx]
		}
		m.status = e.status()
		if f&xStatic == 0 {
			m.setRule(t.rules[m.ridx])
			break
		}
		qpos, fpos := e.pos()
		m.static, m.pre, m.qpos, m.fpos = true, e.pre(), int32(qpos), int32(fpos)
		m.qmode, m.rel = e.qmode(), f&xRel != 0
	case h.xi != nil && h.xi.cr == nil:
		it := h.xi
		m.Rule, m.Row, m.tb = it.tb.tmpl, int(it.line), it.tb
		m.status, m.static, m.pre, m.qpos, m.fpos = it.status, true, it.pre, int32(it.qpos), int32(it.fpos)
		m.qmode, m.rel = it.tb.qmode, it.rel
	default:
		m.setRule(h.cr)
	}
	if h.rest >= 0 {
		m.rest = s.req.Path[h.rest:]
	}
	if m.cr == nil {
		return
	}
	p := &m.cr.pat
	switch h.class {
	case classPattern:
		m.caps = s.bestCaps
	case classRegex:
		if p.npath > 0 {
			idx := p.re.FindStringSubmatchIndex(s.req.Path)
			for g := 1; g <= p.npath && 2*g+1 < len(idx); g++ {
				if idx[2*g] >= 0 {
					m.caps[g-1] = span{int32(idx[2*g]), int32(idx[2*g+1])}
				}
			}
		}
	}
	for _, c := range p.query {
		if c.mode == qCapture {
			if a, b, ok := queryValue(s.req.Query, c.name); ok {
				m.caps[c.slot] = span{int32(a), int32(b)}
			}
		}
	}
}

// candidates returns every hit for req at now, in precedence order, with
// the rows that a rule with the same path shadows left out.
func (t *Table) candidates(req *detour.Request, now time.Time) []hit {
	var hits []hit
	s := searcher{t: t, req: req, now: now, collect: &hits}
	s.run()
	out := hits[:0]
	for i := range hits {
		h := &hits[i]
		if h.isRow && h.class == classExact && shadowed(hits, h) {
			continue
		}
		out = append(out, *h)
	}
	slices.SortStableFunc(out, func(a, b hit) int { return t.cmpHit(&a, &b) })
	return out
}

// shadowed reports whether an exact rule of the same bucket and priority
// as the exact row h is among hits.
func shadowed(hits []hit, h *hit) bool {
	for i := range hits {
		o := &hits[i]
		if !o.isRow && o.class == classExact && o.tier == h.tier && o.suffix == h.suffix && o.prio == h.prio {
			return true
		}
	}
	return false
}
