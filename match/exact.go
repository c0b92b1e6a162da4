package match

import "github.com/detourhttp/detour"

// The exact index holds every exact path of every rule and table row in
// one open-addressed hash with linear probing. A slot is 16 bytes: a
// 32-bit hash tag, the offset of the entry in one byte arena, and the
// rule that answers (the table's template rule for a row). An entry holds
// a fixed header, the key and, for a static target, the pre-rendered
// Location, so a lookup that answers touches about two cache lines and
// allocates nothing.
//
// Entry layout (little-endian):
//
//	0      flags (entry kind, xSimple, xStatic, xCI, xSub, xRel, xSlash)
//	1      query mode
//	2..3   status
//	4..7   bucket id
//	8..11  ref: rule index, table index or list index
//	12..15 row line
//	16..19 priority (int32)
//	20..23 ordinal (int32)
//	24..25 key length
//	26..27 Location length
//	28..29 index of "?" in the Location, plus 1 (0: none)
//	30..31 index of "#" in the Location, plus 1 (0: none)
//	32..   key, then Location

const (
	xRule     = 1 // one rule
	xRow      = 2 // one table row
	xList     = 3 // several items: lists[ref]
	xKindMask = 3
	xSimple   = 1 << 2 // nothing to check but the method (not OPTIONS)
	xStatic   = 1 << 3 // the Location is pre-rendered in the entry
	xCI       = 1 << 4 // the key is lower-case; compare folding case
	xSub      = 1 << 5 // a subpath entry: the row also matches below the key
	xRel      = 1 << 6 // the pre-rendered Location is relative
	xSlash    = 1 << 7 // a subpath entry of a row whose path ends in "/"
	xKeyFlags = xCI | xSub
)

const xHeader = 32

// maxKey is the longest key or pre-rendered Location an entry holds.
const maxKey = 0xffff

// exactIndex is the hash of exact paths.
type exactIndex struct {
	rules  []*crule
	tables []*ctable
	seed   uint64
	slots  []xslot
	arena  []byte
	lists  [][]xitem
	// sub filters the keys of subpath entries, which lookups probe at
	// every "/" of the path.
	sub bloom
}

// xslot is a slot of the exact index: tag<<32 | offset (0: empty), and
// the rule of a single-item entry.
type xslot struct {
	key  uint64
	rule *detour.Rule
}

// xitem is one rule or row of an entry with several.
type xitem struct {
	cr *crule  // the rule; nil for a row
	tb *ctable // the row's table
	// A row's line, status and pre-rendered target.
	line       int32
	status     int
	pre        []byte
	preS       string // pre, when it is the row's target as it is
	qpos, fpos int
	rel        bool
	slash      bool // a subpath item of a row whose path ends in "/"
}

func (it *xitem) prio() int {
	if it.cr != nil {
		return it.cr.r.Priority
	}
	return 0
}

func (it *xitem) ord() int32 {
	if it.cr != nil {
		return it.cr.ord
	}
	return it.tb.ord
}

func u16(a []byte, i int) int { return int(a[i]) | int(a[i+1])<<8 }

func u32(a []byte, i int) uint32 {
	return uint32(a[i]) | uint32(a[i+1])<<8 | uint32(a[i+2])<<16 | uint32(a[i+3])<<24
}

func put16(a []byte, v int) []byte { return append(a, byte(v), byte(v>>8)) }

func put32(a []byte, v uint32) []byte {
	return append(a, byte(v), byte(v>>8), byte(v>>16), byte(v>>24))
}

// init sizes the index for n entries.
func (x *exactIndex) init(n int, seed uint64) {
	x.seed = seed
	if n > 0 {
		x.slots = make([]xslot, n+n*3/7+8) // load factor at most 0.7
	}
}

// hash returns the hash of key in the key space of bucket and flags.
func (x *exactIndex) hash(bucket uint32, flags uint8, key string) uint64 {
	return hashKey(x.seed, nsKey(bucket, flags), key, flags&xCI != 0)
}

// find returns the offset of the entry for key and the rule of the slot,
// or -1.
func (x *exactIndex) find(bucket uint32, flags uint8, key string) (int, *detour.Rule) {
	if len(x.slots) == 0 {
		return -1, nil
	}
	return x.findHash(x.hash(bucket, flags, key), bucket, flags, key)
}

// findHash is find with the hash of the key already computed.
func (x *exactIndex) findHash(h uint64, bucket uint32, flags uint8, key string) (int, *detour.Rule) {
	tag := slotTag(h)
	a := x.arena
	for i := slotIndex(uint32(h), len(x.slots)); ; {
		s := &x.slots[i]
		if s.key == 0 {
			return -1, nil
		}
		if s.key&^0xffffffff == tag {
			off := int(uint32(s.key))
			if a[off]&xKeyFlags == flags && u32(a, off+4) == bucket {
				kl := u16(a, off+24)
				k := a[off+xHeader : off+xHeader+kl]
				if flags&xCI != 0 {
					if equalFold(string(k), key) {
						return off, s.rule
					}
				} else if string(k) == key {
					return off, s.rule
				}
			}
		}
		if i++; i == len(x.slots) {
			i = 0
		}
	}
}

// insert adds it under key. When the key already has an entry, the entry
// becomes (or stays) a list and insert returns the items it held before.
func (x *exactIndex) insert(bucket uint32, flags uint8, key string, it xitem) []xitem {
	h := x.hash(bucket, flags, key)
	if off, _ := x.find(bucket, flags, key); off >= 0 {
		if it.pre == nil && it.preS != "" {
			it.pre = []byte(it.preS) // a list item holds its own
		}
		var before []xitem
		if x.arena[off]&xKindMask == xList {
			ref := u32(x.arena, off+8)
			before = x.lists[ref]
			x.lists[ref] = append(x.lists[ref], it)
			return before
		}
		before = []xitem{x.decode(off)}
		x.lists = append(x.lists, []xitem{before[0], it})
		x.arena[off] = x.arena[off]&^(xKindMask|xSimple|xStatic) | xList
		ref := uint32(len(x.lists) - 1)
		copy(x.arena[off+8:], put32(nil, ref))
		return before
	}
	off := len(x.arena)
	x.arena = x.encode(x.arena, bucket, flags, key, &it)
	if flags&xSub != 0 {
		x.sub.add(h)
	}
	rule := it.tb.tmplOr(it.cr)
	tag := slotTag(h)
	for i := slotIndex(uint32(h), len(x.slots)); ; {
		if x.slots[i].key == 0 {
			x.slots[i] = xslot{tag | uint64(uint32(off)), rule}
			return nil
		}
		if i++; i == len(x.slots) {
			i = 0
		}
	}
}

// encode appends the entry of it to a.
func (x *exactIndex) encode(a []byte, bucket uint32, flags uint8, key string, it *xitem) []byte {
	var (
		kindFlags            uint8
		qmode                qmodeRule
		status               int
		ref, line            uint32
		prio                 int
		pre                  []byte
		qpos, fpos           = -1, -1
		simple, static, rel_ bool
	)
	if cr := it.cr; cr != nil {
		kindFlags, qmode, status, ref, prio = xRule, cr.qmode, cr.status, uint32(cr.idx), cr.r.Priority
		simple = cr.simple
		switch {
		case cr.gone:
			static, rel_ = true, true
		case cr.tgt.static && !cr.absolute && len(cr.tgt.pre) <= maxKey:
			static, rel_ = true, !cr.tgt.abs
			pre, qpos, fpos = cr.tgt.pre, cr.tgt.qpos, cr.tgt.fpos
		}
	} else {
		kindFlags, qmode, status, ref, line = xRow, it.tb.qmode, it.status, uint32(it.tb.idx), uint32(it.line)
		simple, static, rel_ = true, true, it.rel
		pre, qpos, fpos = it.pre, it.qpos, it.fpos
		if pre == nil {
			pre = []byte(it.preS) // does not escape: appended below
		}
	}
	f := kindFlags | flags
	if simple {
		f |= xSimple
	}
	if static {
		f |= xStatic
	}
	if rel_ {
		f |= xRel
	}
	if it.slash {
		f |= xSlash
	}
	a = append(a, f, byte(qmode))
	a = put16(a, status)
	a = put32(a, bucket)
	a = put32(a, ref)
	a = put32(a, line)
	a = put32(a, uint32(int32(prio)))
	a = put32(a, uint32(it.ord()))
	a = put16(a, len(key))
	a = put16(a, len(pre))
	a = put16(a, qpos+1)
	a = put16(a, fpos+1)
	a = append(a, key...)
	return append(a, pre...)
}

// decode returns the item of a single entry at off.
func (x *exactIndex) decode(off int) xitem {
	e := entry{x.arena, off}
	if e.flags()&xKindMask == xRule {
		return xitem{cr: x.rules[e.ref()]}
	}
	return xitem{
		tb:     x.tables[e.ref()],
		line:   e.line(),
		status: e.status(),
		pre:    e.pre(),
		qpos:   e.qpos(),
		fpos:   e.fpos(),
		rel:    e.flags()&xRel != 0,
		slash:  e.flags()&xSlash != 0,
	}
}

// entry is a view of an entry of the arena.
type entry struct {
	a   []byte
	off int
}

func (e entry) flags() uint8     { return e.a[e.off] }
func (e entry) qmode() qmodeRule { return qmodeRule(e.a[e.off+1]) }
func (e entry) status() int      { return u16(e.a, e.off+2) }
func (e entry) ref() uint32      { return u32(e.a, e.off+8) }
func (e entry) line() int32      { return int32(u32(e.a, e.off+12)) }
func (e entry) prio() int        { return int(int32(u32(e.a, e.off+16))) }
func (e entry) ord() int32       { return int32(u32(e.a, e.off+20)) }
func (e entry) pre() []byte {
	kl, pl := u16(e.a, e.off+24), u16(e.a, e.off+26)
	start := e.off + xHeader + kl
	return e.a[start : start+pl : start+pl]
}
func (e entry) qpos() int { return u16(e.a, e.off+28) - 1 }
func (e entry) fpos() int { return u16(e.a, e.off+30) - 1 }
