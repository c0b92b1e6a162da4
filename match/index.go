package match

import (
	"cmp"
	"slices"
	"strings"

	"github.com/detourhttp/detour"
)

// The index.
//
// Rules are grouped by host into buckets: one for host-less rules, one per
// exact host, one per wildcard suffix (a row with include_subdomains is in
// the bucket of its host and in the wildcard bucket of the same suffix).
// Exact paths of every bucket live in the exact index (exact.go), keyed by
// bucket and path. The rest of a bucket is split by priority into levels;
// the prefix and named patterns of every level live in one pattern hash,
// keyed by level and literal prefix, which Lookup probes at the lengths the
// request path allows (ends of segments for segment prefixes and named
// segments, any length for string prefixes), longest first, skipping
// lengths no key of the level has. Named segments continue from their
// literal prefix in a small trie of segments (snode). Regexes are a list
// per level, in file order.

// Pattern key kinds of the pattern hash.
const (
	pkSeg   = 1
	pkStr   = 2
	pkNamed = 3
	pkCI    = 4 // or-ed in: a case-insensitive key (lower-case)
)

// bucket is the rules of one host matcher.
type bucket struct {
	id     uint32
	tier   int8 // 0 exact host, 1 wildcard, 2 any host
	suffix int  // length of a wildcard's suffix
	// Which key spaces of the exact index the bucket uses.
	exactCS, exactCI, subCS, subCI bool
	// levels in descending priority.
	levels []*level
}

// level is the patterns and regexes of one priority in a bucket.
type level struct {
	prio int
	ns   uint32
	// lens[pk|ci] holds the key lengths of the level's pattern keys.
	lens [8]lenSet
	// nsk[pk|ci] is the key-space value of the level's keys of kind pk.
	nsk [8]uint64
	// pats: the level has prefix or named patterns; sub: the bucket's
	// subpath rows are probed here (priority 0).
	pats, sub bool
	regex     []*crule
}

// lenSet is a set of key lengths.
type lenSet struct {
	bits [4]uint64
	long bool // some key is 256 bytes or longer
}

func (l *lenSet) add(n int) {
	if n < 256 {
		l.bits[n>>6] |= 1 << (n & 63)
	} else {
		l.long = true
	}
}

func (l *lenSet) has(n int) bool {
	if n < 256 {
		return l.bits[n>>6]&(1<<(n&63)) != 0
	}
	return l.long
}

// pindex is the pattern hash: (level, kind, literal) → pentry.
type pindex struct {
	seed  uint64
	slots []uint64 // tag | index in ents
	ents  []pentry
	bloom bloom
}

// pentry is the patterns of one literal prefix in one level.
type pentry struct {
	ns    uint32
	pk    uint8
	key   string
	rules []*crule // pkSeg, pkStr: in precedence order
	root  *snode   // pkNamed: the segments after the prefix
}

// snode is a node of a named-segment trie: the state after a segment.
type snode struct {
	lit   map[string]*snode // next literal segment (lower-case when ci)
	param *snode            // next named segment
	end   []*crule          // patterns that end here
	splat []*crule          // patterns that end here in "/*"
}

func (p *pindex) hash(ns uint32, pk uint8, key string) uint64 {
	return hashKey(p.seed, nsKey(ns, pk|0x80), key, pk&pkCI != 0)
}

// find returns the entry of key, or nil; h is its hash.
func (p *pindex) find(h uint64, ns uint32, pk uint8, key string) *pentry {
	if len(p.slots) == 0 || !p.bloom.has(h) {
		return nil
	}
	tag := slotTag(h)
	for i := slotIndex(uint32(h), len(p.slots)); ; {
		s := p.slots[i]
		if s == 0 {
			return nil
		}
		if s&^0xffffffff == tag {
			e := &p.ents[uint32(s)]
			if e.ns == ns && e.pk == pk {
				if pk&pkCI != 0 {
					if equalFold(e.key, key) {
						return e
					}
				} else if e.key == key {
					return e
				}
			}
		}
		if i++; i == len(p.slots) {
			i = 0
		}
	}
}

// builder builds the index of a Table.
type builder struct {
	c      *compiler
	t      *Table
	nextID uint32
	levels map[levelKey]*level
	pents  map[pentKey]int
}

type levelKey struct {
	b    *bucket
	prio int
}

type pentKey struct {
	ns  uint32
	pk  uint8
	key string
}

func newBuilder(c *compiler) *builder {
	return &builder{c: c, t: c.t, levels: map[levelKey]*level{}, pents: map[pentKey]int{}}
}

// bucket returns the bucket of host matcher h, creating it.
func (b *builder) bucket(h hostMatcher) *bucket {
	t := b.t
	var m *map[string]*bucket
	switch h.kind {
	case hostNone:
		if t.any == nil {
			t.any = &bucket{id: b.newID(), tier: 2}
		}
		return t.any
	case hostExact:
		m = &t.hosts
	default:
		m = &t.wild
	}
	if *m == nil {
		*m = map[string]*bucket{}
	}
	bk := (*m)[h.name]
	if bk == nil {
		bk = &bucket{id: b.newID()}
		if h.kind == hostWild {
			bk.tier, bk.suffix = 1, len(h.name)
		}
		(*m)[h.name] = bk
	}
	return bk
}

func (b *builder) newID() uint32 {
	b.nextID++
	return b.nextID
}

// level returns the level of priority prio in bk, creating it.
func (b *builder) level(bk *bucket, prio int) *level {
	k := levelKey{bk, prio}
	lv := b.levels[k]
	if lv == nil {
		lv = &level{prio: prio, ns: b.newID()}
		for pk := range lv.nsk {
			lv.nsk[pk] = nsKey(lv.ns, uint8(pk)|0x80)
		}
		b.levels[k] = lv
		bk.levels = append(bk.levels, lv)
	}
	return lv
}

// build fills the index of b.t.
func (b *builder) build() {
	t := b.t
	t.exact.rules, t.exact.tables = t.rules, t.tables
	t.exact.init(b.countExact(), t.seed)
	t.exact.sub = newBloom(b.countSub())
	t.pidx.seed = t.seed
	for _, cr := range t.rules {
		b.addRule(cr)
	}
	for _, ct := range t.tables {
		b.addTable(ct)
	}
	b.finish()
}

// countExact counts the entries the exact index will hold, at most.
func (b *builder) countExact() int {
	n := 0
	for _, cr := range b.t.rules {
		if cr.pat.kind == kindExact {
			n++
			if cr.pat.either {
				n++
			}
		}
	}
	for _, ct := range b.t.tables {
		per := 1
		if ct.t.Subpath {
			per = 2
		}
		if ct.t.IncludeSubdomains {
			per *= 2
		}
		n += per * len(ct.t.Rows)
	}
	return n
}

// countSub counts the subpath entries the exact index will hold, at
// most.
func (b *builder) countSub() int {
	n := 0
	for _, ct := range b.t.tables {
		if ct.t.Subpath {
			n += 2 * len(ct.t.Rows)
		}
	}
	return n
}

// addRule adds a rule to its bucket.
func (b *builder) addRule(cr *crule) {
	bk := b.bucket(cr.host)
	p := cr.pat
	switch p.kind {
	case kindExact:
		flags := uint8(0)
		if p.ci {
			flags = xCI
			bk.exactCI = true
		} else {
			bk.exactCS = true
		}
		for _, key := range exactKeys(p.lit, p.either) {
			b.insertExact(bk, flags, key, xitem{cr: cr})
		}
		return
	case kindRegex:
		lv := b.level(bk, cr.r.Priority)
		lv.regex = append(lv.regex, cr)
		return
	}
	lv := b.level(bk, cr.r.Priority)
	lv.pats = true
	var pk uint8
	var n int
	switch p.kind {
	case kindSegment:
		pk, n = pkSeg, len(p.lit)
	case kindString:
		pk, n = pkStr, len(p.lit)
	case kindNamed:
		pk, n = pkNamed, len(p.lit)
	}
	if p.ci {
		pk |= pkCI
	}
	lv.lens[pk].add(n)
	e := b.pentry(lv.ns, pk, p.lit)
	if p.kind != kindNamed {
		e.rules = append(e.rules, cr)
		return
	}
	if e.root == nil {
		e.root = &snode{}
	}
	n0 := e.root
	for _, s := range p.segs {
		if s.param {
			if n0.param == nil {
				n0.param = &snode{}
			}
			n0 = n0.param
			continue
		}
		if n0.lit == nil {
			n0.lit = map[string]*snode{}
		}
		next := n0.lit[s.lit]
		if next == nil {
			next = &snode{}
			n0.lit[s.lit] = next
		}
		n0 = next
	}
	if p.splat {
		n0.splat = append(n0.splat, cr)
	} else {
		n0.end = append(n0.end, cr)
	}
}

// exactKeys returns the keys of an exact path: with either, the path with
// and without its trailing slash.
func exactKeys(path string, either bool) []string {
	if !either || path == "/" {
		return []string{path}
	}
	if trimmed, ok := strings.CutSuffix(path, "/"); ok {
		return []string{path, trimmed}
	}
	return []string{path, path + "/"}
}

// pentry returns the pattern entry of (ns, pk, key), creating it.
func (b *builder) pentry(ns uint32, pk uint8, key string) *pentry {
	k := pentKey{ns, pk, key}
	i, ok := b.pents[k]
	if !ok {
		i = len(b.t.pidx.ents)
		b.t.pidx.ents = append(b.t.pidx.ents, pentry{ns: ns, pk: pk, key: key})
		b.pents[k] = i
	}
	return &b.t.pidx.ents[i]
}

// insertExact adds an item to the exact index and reports shadowed and
// duplicate rows.
func (b *builder) insertExact(bk *bucket, flags uint8, key string, it xitem) {
	before := b.t.exact.insert(bk.id, flags, key, it)
	for i := range before {
		o := &before[i]
		switch {
		case it.cr == nil && o.cr == nil:
			tb := it.tb.t
			b.c.add(detour.SeverityError, detour.Source{File: tb.File, Line: int(it.line)}, tableID(tb), "from", "tie",
				"row for %s repeats the row at %s:%d", key, o.tb.t.File, o.line)
		case it.cr == nil && o.cr != nil && o.cr.r.Priority >= 0 && flags&xSub == 0:
			tb := it.tb.t
			b.c.add(detour.SeverityWarning, detour.Source{File: tb.File, Line: int(it.line)}, tableID(tb), "from", "shadowed",
				"row for %s is shadowed by rule %s at %s (a rule with the same host and path wins)", key, o.cr.r.ID, where(o.cr.r.Source))
		}
	}
}

// addTable adds the rows of a table.
func (b *builder) addTable(ct *ctable) {
	tb := ct.t
	hosts := map[string]hostMatcher{}
	for i := range tb.Rows {
		row := &tb.Rows[i]
		h := ct.host
		if row.Host != "" {
			var ok bool
			if h, ok = hosts[row.Host]; !ok {
				h, _ = parseHost(row.Host)
				hosts[row.Host] = h
			}
		}
		it := xitem{tb: ct, line: int32(row.Line), status: row.Status, qpos: -1, fpos: -1, rel: true}
		if it.status == 0 {
			it.status = ct.tmpl.Status
		}
		if row.To != "" {
			tg, _ := parseTarget(row.To, nil) // checked by compileTable
			it.pre, it.qpos, it.fpos, it.rel = tg.pre, tg.qpos, tg.fpos, !tg.abs
		}
		key := row.Path
		flags := uint8(0)
		if tb.CaseInsensitive {
			key, flags = lowerASCII(key), xCI
		}
		bks := []*bucket{b.bucket(h)}
		if tb.IncludeSubdomains && h.kind == hostExact {
			bks = append(bks, b.bucket(hostMatcher{hostWild, h.name}))
		}
		for _, bk := range bks {
			if flags&xCI != 0 {
				bk.exactCI = true
			} else {
				bk.exactCS = true
			}
			b.insertExact(bk, flags, key, it)
			if !tb.Subpath {
				continue
			}
			if flags&xCI != 0 {
				bk.subCI = true
			} else {
				bk.subCS = true
			}
			b.level(bk, 0).sub = true
			sub := it
			sub.slash = strings.HasSuffix(key, "/")
			b.insertExact(bk, flags|xSub, strings.TrimSuffix(key, "/"), sub)
		}
	}
}

// finish sorts what needs an order and builds the pattern hash.
func (b *builder) finish() {
	t := b.t
	for _, bk := range b.allBuckets() {
		slices.SortFunc(bk.levels, func(x, y *level) int { return cmp.Compare(y.prio, x.prio) })
	}
	for i := range t.exact.lists {
		slices.SortStableFunc(t.exact.lists[i], t.exactCmp)
	}
	for i := range t.pidx.ents {
		e := &t.pidx.ents[i]
		t.sortRules(e.rules)
		if e.root != nil {
			t.sortTrie(e.root)
		}
	}
	p := &t.pidx
	if len(p.ents) > 0 {
		p.slots = make([]uint64, len(p.ents)+len(p.ents)*3/7+8)
	}
	p.bloom = newBloom(len(p.ents))
	for i := range p.ents {
		e := &p.ents[i]
		h := p.hash(e.ns, e.pk, e.key)
		p.bloom.add(h)
		for j := slotIndex(uint32(h), len(p.slots)); ; {
			if p.slots[j] == 0 {
				p.slots[j] = slotTag(h) | uint64(i)
				break
			}
			if j++; j == len(p.slots) {
				j = 0
			}
		}
	}
	b.levels, b.pents = nil, nil
}

func (b *builder) allBuckets() []*bucket {
	var out []*bucket
	if b.t.any != nil {
		out = append(out, b.t.any)
	}
	for _, bk := range b.t.hosts {
		out = append(out, bk)
	}
	for _, bk := range b.t.wild {
		out = append(out, bk)
	}
	return out
}

func (t *Table) sortTrie(n *snode) {
	t.sortRules(n.end)
	t.sortRules(n.splat)
	for _, c := range n.lit {
		t.sortTrie(c)
	}
	if n.param != nil {
		t.sortTrie(n.param)
	}
}

// sortRules sorts rules of one pattern in precedence order: with
// specificity, more query conditions first, then file order; with
// first-match, file order.
func (t *Table) sortRules(rs []*crule) {
	slices.SortFunc(rs, func(a, b *crule) int {
		if !t.firstMatch {
			if c := cmp.Compare(len(b.pat.query), len(a.pat.query)); c != 0 {
				return c
			}
		}
		return cmp.Compare(a.ord, b.ord)
	})
}

// exactCmp orders the items of one exact key: higher priority first, then
// rules before rows, then (with specificity) more query conditions, then
// file order.
func (t *Table) exactCmp(a, b xitem) int {
	if c := cmp.Compare(b.prio(), a.prio()); c != 0 {
		return c
	}
	if ar, br := a.cr == nil, b.cr == nil; ar != br {
		if ar {
			return 1
		}
		return -1
	}
	if !t.firstMatch && a.cr != nil {
		if c := cmp.Compare(len(b.cr.pat.query), len(a.cr.pat.query)); c != 0 {
			return c
		}
	}
	return cmp.Compare(a.ord(), b.ord())
}
