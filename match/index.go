package match

import (
	"cmp"
	"math/bits"
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
	ns     uint64 // key space of its case-sensitive exact keys: nsKey(id, 0)
	tier   int8   // 0 exact host, 1 wildcard, 2 any host
	suffix int    // length of a wildcard's suffix
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
	// lits holds the literal prefix lengths of the level's patterns and
	// subpath rows (a segment prefix or subpath key of length n has a
	// literal of n+1), so that Lookup visits only those.
	lits lenSet
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

// prev returns the largest length in l that is at most n (n < 256), or
// -1.
func (l *lenSet) prev(n int) int {
	for w := n >> 6; w >= 0; w-- {
		m := l.bits[w]
		if w == n>>6 {
			m &= 2<<(n&63) - 1
		}
		if m != 0 {
			return w<<6 + bits.Len64(m) - 1
		}
	}
	return -1
}

// pindex is the pattern hash: (level, kind, literal) → pentry. The
// entries are the slots of an open-addressed table, one cache line each,
// behind a Bloom filter: a probe for a literal no pattern has seldom
// leaves the cache, and one that hits reads one line.
type pindex struct {
	seed  uint64
	ents  []pentry // slots; pk == 0 marks an empty one
	bloom bloom
}

// pentry is the patterns of one literal prefix in one level. A short key
// is kept in the entry itself.
type pentry struct {
	tag   uint32 // high hash bits, to skip other keys quickly
	ns    uint32
	pk    uint8
	klen  uint8 // length of the key in kbuf, or keyLong
	kbuf  [keyInline]byte
	first *crule // pkSeg, pkStr: the first rule in precedence order
	root  *snode // pkNamed: the segments after the prefix
	ext   *pentryExt
}

// pentryExt holds what few entries need.
type pentryExt struct {
	more []*crule // the rules after first
	long string   // a key longer than keyInline
}

const (
	keyInline = 30
	keyLong   = 255
)

func (e *pentry) setKey(k string) {
	if len(k) <= keyInline {
		e.klen = uint8(copy(e.kbuf[:], k))
		return
	}
	e.klen = keyLong
	e.extra().long = k
}

func (e *pentry) extra() *pentryExt {
	if e.ext == nil {
		e.ext = &pentryExt{}
	}
	return e.ext
}

func (e *pentry) key() string {
	if e.klen == keyLong {
		return e.ext.long
	}
	return string(e.kbuf[:e.klen])
}

// keyIs reports whether the entry's key is k (folding case with ci).
func (e *pentry) keyIs(k string, ci bool) bool {
	if e.klen != keyLong {
		if int(e.klen) != len(k) {
			return false
		}
		if !ci {
			return string(e.kbuf[:e.klen]) == k
		}
		return equalFold(string(e.kbuf[:e.klen]), k)
	}
	if ci {
		return equalFold(e.ext.long, k)
	}
	return e.ext.long == k
}

// rule returns the i-th rule of a pkSeg or pkStr entry, or nil past the
// end.
func (e *pentry) rule(i int) *crule {
	if i == 0 {
		return e.first
	}
	if e.ext != nil && i <= len(e.ext.more) {
		return e.ext.more[i-1]
	}
	return nil
}

func (e *pentry) addRule(cr *crule) {
	if e.first == nil {
		e.first = cr
	} else {
		x := e.extra()
		x.more = append(x.more, cr)
	}
}

// ruleList is a list of rules of one pattern, the first kept inline.
type ruleList struct {
	first *crule
	more  []*crule
}

// at returns the i-th rule, or nil past the end.
func (l *ruleList) at(i int) *crule {
	if i == 0 {
		return l.first
	}
	if i <= len(l.more) {
		return l.more[i-1]
	}
	return nil
}

func (l *ruleList) add(cr *crule) {
	if l.first == nil {
		l.first = cr
	} else {
		l.more = append(l.more, cr)
	}
}

// sort puts the list in precedence order.
func (l *ruleList) sort(t *Table) {
	if len(l.more) == 0 {
		return
	}
	all := append([]*crule{l.first}, l.more...)
	t.sortRules(all)
	l.first, l.more = all[0], all[1:]
}

// snode is a node of a named-segment trie: the state after a segment.
type snode struct {
	lit   map[string]*snode // next literal segment (lower-case when ci)
	param *snode            // next named segment
	end   ruleList          // patterns that end here
	splat ruleList          // patterns that end here in "/*"
}

func (p *pindex) hash(ns uint32, pk uint8, key string) uint64 {
	return hashKey(p.seed, nsKey(ns, pk|0x80), key, pk&pkCI != 0)
}

// find returns the entry of key, or nil; h is its hash.
func (p *pindex) find(h uint64, ns uint32, pk uint8, key string) *pentry {
	if len(p.ents) == 0 || !p.bloom.has(h) {
		return nil
	}
	tag := uint32(h>>32) | 1
	for i := slotIndex(uint32(h), len(p.ents)); ; {
		e := &p.ents[i]
		if e.pk == 0 {
			return nil
		}
		if e.tag == tag && e.ns == ns && e.pk == pk && e.keyIs(key, pk&pkCI != 0) {
			return e
		}
		if i++; i == len(p.ents) {
			i = 0
		}
	}
}

// builder builds the index of a Table.
type builder struct {
	slab   []snode
	c      *compiler
	t      *Table
	nextID uint32
	levels map[levelKey]*level
	pents  map[pentKey]int
	ents   []pentry // the pattern entries, until finish places them
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
			t.any = b.newBucket(2)
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
		bk = b.newBucket(0)
		if h.kind == hostWild {
			bk.tier, bk.suffix = 1, len(h.name)
		}
		(*m)[h.name] = bk
	}
	return bk
}

// newBucket returns a new bucket of tier.
func (b *builder) newBucket(tier int8) *bucket {
	id := b.newID()
	return &bucket{id: id, ns: nsKey(id, 0), tier: tier}
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
	// Size the arena for the long rows up front: grown by append, a
	// million rows' records would be copied again and again, and the
	// last copy could be a quarter larger than it needs.
	t.exact.arena = make([]byte, 0, b.countArena())
	for _, cr := range t.rules {
		b.addRule(cr)
	}
	for _, ct := range t.tables {
		b.addTable(ct)
	}
	if a := t.exact.arena; cap(a)-len(a) > len(a)/8 {
		t.exact.arena = slices.Clip(append([]byte(nil), a...))
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
		n += ct.keysPerRow() * len(ct.t.Rows)
	}
	return n
}

// keysPerRow is how many exact keys each row of ct takes: a subpath row
// adds a key for the paths below it, and a row that includes subdomains
// has its keys in the wildcard bucket too.
func (ct *ctable) keysPerRow() int {
	per := 1
	if ct.t.Subpath {
		per = 2
	}
	if ct.t.IncludeSubdomains {
		per *= 2
	}
	return per
}

// countArena estimates the bytes table rows take in the arena: the
// target of an out entry, the record of a long one. Rules, and
// rows whose Location is not their target as written, may add more.
func (b *builder) countArena() int {
	n := 0
	for _, ct := range b.t.tables {
		per := ct.keysPerRow()
		for i := range ct.t.Rows {
			row := &ct.t.Rows[i]
			switch k := len(row.Path) + len(row.To); {
			case k <= slotData:
			case len(row.Path) <= outAt:
				n += per * len(row.To)
			default:
				n += per * (xRecord + k)
			}
		}
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
	p := &cr.pat
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
	if p.kind == kindSegment {
		lv.lits.add(n + 1)
	} else {
		lv.lits.add(n)
	}
	e := b.pentry(lv.ns, pk, p.lit)
	if p.kind != kindNamed {
		e.addRule(cr)
		return
	}
	if e.root == nil {
		e.root = b.node()
	}
	n0 := e.root
	for _, s := range p.segs {
		if s.param {
			if n0.param == nil {
				n0.param = b.node()
			}
			n0 = n0.param
			continue
		}
		if n0.lit == nil {
			n0.lit = map[string]*snode{}
		}
		next := n0.lit[s.lit]
		if next == nil {
			next = b.node()
			n0.lit[s.lit] = next
		}
		n0 = next
	}
	if p.splat {
		n0.splat.add(cr)
	} else {
		n0.end.add(cr)
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

// node returns a new trie node. Nodes come from slabs, so that the nodes
// of one pattern, made one after the other, lie close in memory.
func (b *builder) node() *snode {
	if len(b.slab) == cap(b.slab) {
		b.slab = make([]snode, 0, 256)
	}
	b.slab = b.slab[:len(b.slab)+1]
	return &b.slab[len(b.slab)-1]
}

// pentry returns the pattern entry of (ns, pk, key), creating it.
func (b *builder) pentry(ns uint32, pk uint8, key string) *pentry {
	k := pentKey{ns, pk, key}
	i, ok := b.pents[k]
	if !ok {
		i = len(b.ents)
		b.ents = append(b.ents, pentry{ns: ns, pk: pk})
		b.ents[i].setKey(key)
		b.pents[k] = i
	}
	return &b.ents[i]
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
			if q, f, abs, ok := fastTarget(row.To); ok {
				it.preS, it.qpos, it.fpos, it.rel = row.To, q, f, !abs
			} else {
				tg, _ := parseTarget(row.To, nil) // checked by compileTable
				it.pre, it.qpos, it.fpos, it.rel = tg.pre, tg.qpos, tg.fpos, !tg.abs
			}
		}
		key := row.Path
		flags := uint8(0)
		if tb.CaseInsensitive {
			key, flags = lowerASCII(key), xCI
		}
		bks := [2]*bucket{b.bucket(h)}
		if tb.IncludeSubdomains && h.kind == hostExact {
			bks[1] = b.bucket(hostMatcher{hostWild, h.name})
		}
		for _, bk := range bks {
			if bk == nil {
				continue
			}
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
			lv := b.level(bk, 0)
			lv.sub = true
			lv.lits.add(len(strings.TrimSuffix(key, "/")) + 1)
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
	p := &t.pidx
	if len(b.ents) > 0 {
		p.ents = make([]pentry, len(b.ents)+len(b.ents)*3/7+8)
	}
	p.bloom = newBloom(len(b.ents))
	for i := range b.ents {
		e := &b.ents[i]
		if e.ext != nil && len(e.ext.more) > 0 {
			all := append([]*crule{e.first}, e.ext.more...)
			t.sortRules(all)
			e.first, e.ext.more = all[0], all[1:]
		}
		if e.root != nil {
			t.sortTrie(e.root)
		}
		h := p.hash(e.ns, e.pk, e.key())
		p.bloom.add(h)
		e.tag = uint32(h>>32) | 1
		for j := slotIndex(uint32(h), len(p.ents)); ; {
			if p.ents[j].pk == 0 {
				p.ents[j] = *e
				break
			}
			if j++; j == len(p.ents) {
				j = 0
			}
		}
	}
	b.levels, b.pents, b.ents = nil, nil, nil
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
	n.end.sort(t)
	n.splat.sort(t)
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
