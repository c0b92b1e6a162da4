package match

import (
	"bytes"
	"encoding/binary"
	"math"
	"strings"
	"unsafe"
)

// The exact index holds every exact path of every rule and table row in
// one open-addressed hash with linear probing whose slots are the entries
// themselves. A slot is one 64-byte cache line, 64-byte aligned, holding
// the key and, for a static target, the pre-rendered Location, so that a
// lookup that answers reads one line (and the next, when collisions
// pushed its key along) and allocates nothing.
//
// Slot layout (xslot, little-endian):
//
//	0..1   tag: high bits of the key's hash, never 0; 0 marks an empty slot
//	2..3   flags: entry kind, xSimple, xStatic, xCI, xSub, xRel, xSlash,
//	       xLong, xBigPrio, query mode (2 bits), status code (3 bits), xOut
//	4..5   bucket id (inline and out entries)
//	6      key length (inline and out entries)
//	7      Location length (inline entries)
//	8..11  ref: rule index, table index or list index
//	12..15 aux: a row's line; a rule's priority (xBigPrio: see the rule)
//	16..63 inline entries: the key, then the Location;
//	       out entries: 16..57 the key, 58..61 the offset of the
//	       Location in the arena, 62..63 its length;
//	       long entries: 16..19 the offset of the entry's record in the arena
//
// An entry is inline when its key and Location fit in the slot's 48 bytes,
// its bucket id in 16 bits, its status has a code and the places of "?"
// and "#" in its Location are where derivePos finds them. An entry that
// would be inline but for the length of its Location is an out entry
// (xOut) when its key fits in 42 bytes: the key stays in the slot, where
// probes compare it, and only the Location, bare, goes to the arena — a
// site migration's rows are mostly such. Otherwise the entry is long, and
// its record in the arena holds the rest (little-endian):
//
//	0..3   bucket id
//	4..5   status
//	6..7   key length
//	8..9   Location length
//	10..11 index of "?" in the Location, plus 1 (0: none)
//	12..13 index of "#" in the Location, plus 1 (0: none)
//	14..   key, then Location
//
// A rule's file-order ordinal is not kept: the rule or table has it.

// Entry kinds and flags.
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
	xLong     = 1 << 8  // the entry's key and Location are in the arena
	xBigPrio  = 1 << 9  // the rule's priority does not fit in aux
	xOut      = 1 << 15 // the key is inline, the Location in the arena

	xQmodeShift  = 10 // query mode: 2 bits
	xStatusShift = 12 // status code: 3 bits, 0 in long entries
)

const (
	slotSize = 64
	slotData = slotSize - 16 // bytes of key and Location an inline entry holds
	// xRecord is the size of a long entry's record before its key.
	xRecord = 14
	// outAt is where an out entry's Location offset and length are in
	// its data, after at most outAt bytes of key.
	outAt = slotData - 6
)

// maxKey is the longest key or pre-rendered Location an entry holds.
const maxKey = 0xffff

// statusCodes are the statuses an inline entry can hold, by code; code 0
// means the status is in the long record.
var statusCodes = [8]uint16{0, 301, 302, 303, 307, 308, 410}

// statusCode returns the code of status, 0 when it has none.
func statusCode(status int) uint16 {
	for c, s := range statusCodes {
		if c > 0 && int(s) == status {
			return uint16(c)
		}
	}
	return 0
}

// exactIndex is the hash of exact paths.
type exactIndex struct {
	rules  []*crule
	tables []*ctable
	seed   uint64
	slots  []xslot  // 64-byte aligned
	mem    *slotMem // where slots are when not in the heap; keeps them mapped
	arena  []byte   // records of long entries
	lists  [][]xitem
	// sub filters the keys of subpath entries, which lookups probe at
	// every "/" of the path.
	sub bloom
}

// xslot is a slot of the exact index; see the layout above.
type xslot struct {
	tag    uint16
	flags  uint16
	bucket uint16
	klen   uint8
	plen   uint8
	ref    uint32
	aux    uint32
	data   [slotData]byte
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

// slotCount is how many slots the index has for n entries: the load
// factor is at most 0.7.
func slotCount(n int) int { return n + n*3/7 + 8 }

// init sizes the index for n entries.
func (x *exactIndex) init(n int, seed uint64) {
	x.seed = seed
	if n > 0 {
		x.slots, x.mem = allocSlots(slotCount(n))
	}
}

// hash returns the hash of key in the key space of bucket and flags.
func (x *exactIndex) hash(bucket uint32, flags uint8, key string) uint64 {
	return hashKey(x.seed, nsKey(bucket, flags), key, flags&xCI != 0)
}

// xtag is the non-zero tag of a hash kept in a slot.
func xtag(h uint64) uint16 { return uint16(h>>48) | 1 }

// find returns the index of the slot of key, or -1.
func (x *exactIndex) find(bucket uint32, flags uint8, key string) int {
	if len(x.slots) == 0 {
		return -1
	}
	return x.findHash(x.hash(bucket, flags, key), bucket, flags, key)
}

// findHash is find with the hash of the key already computed.
func (x *exactIndex) findHash(h uint64, bucket uint32, flags uint8, key string) int {
	tag := xtag(h)
	for i := slotIndex(uint32(h), len(x.slots)); ; {
		s := &x.slots[i]
		if s.tag == 0 {
			return -1
		}
		if s.tag == tag && uint8(s.flags)&xKeyFlags == flags && x.holds(s, bucket, key, flags&xCI != 0) {
			return i
		}
		if i++; i == len(x.slots) {
			i = 0
		}
	}
}

// findCS is find for a case-sensitive key that is not a subpath key, in
// the bucket whose key space is ns (nsKey(bucket, 0)): Lookup's fast
// path, which compares an inline key eight bytes at a time.
func (x *exactIndex) findCS(ns uint64, bucket uint32, key string) int {
	if len(x.slots) == 0 {
		return -1
	}
	h := hashCS(x.seed, ns, key)
	tag := xtag(h)
	for i := slotIndex(uint32(h), len(x.slots)); ; {
		s := &x.slots[i]
		if s.tag == tag {
			if s.flags&(xLong|xKeyFlags) == 0 {
				if int(s.klen) == len(key) && uint32(s.bucket) == bucket && sameKey(&s.data, key) {
					return i
				}
			} else if uint8(s.flags)&xKeyFlags == 0 && x.holds(s, bucket, key, false) {
				return i
			}
		} else if s.tag == 0 {
			return -1
		}
		if i++; i == len(x.slots) {
			i = 0
		}
	}
}

// sameKey reports whether key, at most slotData bytes long, is the first
// len(key) bytes of d. It compares eight bytes at a time.
func sameKey(d *[slotData]byte, key string) bool {
	n := len(key)
	if n < 8 {
		return string(d[:n]) == key
	}
	for i := 0; i+8 < n; i += 8 {
		if binary.LittleEndian.Uint64(d[i:]) != load64(key, i) {
			return false
		}
	}
	return binary.LittleEndian.Uint64(d[n-8:]) == load64(key, n-8)
}

// holds reports whether slot s is the entry of bucket and key.
func (x *exactIndex) holds(s *xslot, bucket uint32, key string, fold bool) bool {
	var k []byte
	if s.flags&xLong == 0 {
		if int(s.klen) != len(key) || uint32(s.bucket) != bucket {
			return false
		}
		k = s.data[:len(key)]
	} else {
		off := int(u32(s.data[:], 0))
		if u32(x.arena, off) != bucket || u16(x.arena, off+6) != len(key) {
			return false
		}
		k = x.arena[off+xRecord : off+xRecord+len(key)]
	}
	if fold {
		return equalFold(string(k), key)
	}
	return string(k) == key
}

// insert adds it under key. When the key already has an entry, the entry
// becomes (or stays) a list and insert returns the items it held before.
func (x *exactIndex) insert(bucket uint32, flags uint8, key string, it xitem) []xitem {
	h := x.hash(bucket, flags, key)
	if i := x.find(bucket, flags, key); i >= 0 {
		s := &x.slots[i]
		if it.pre == nil && it.preS != "" {
			it.pre = []byte(it.preS) // a list item holds its own
		}
		var before []xitem
		if s.flags&xKindMask == xList {
			ref := s.ref
			before = x.lists[ref]
			x.lists[ref] = append(x.lists[ref], it)
			return before
		}
		before = []xitem{x.decode(i)}
		x.lists = append(x.lists, []xitem{before[0], it})
		s.flags = s.flags&^(xKindMask|xSimple|xStatic) | xList
		s.ref = uint32(len(x.lists) - 1)
		return before
	}
	if flags&xSub != 0 {
		x.sub.add(h)
	}
	for i := slotIndex(uint32(h), len(x.slots)); ; {
		if s := &x.slots[i]; s.tag == 0 {
			x.encode(s, bucket, flags, key, &it)
			s.tag = xtag(h)
			return nil
		}
		if i++; i == len(x.slots) {
			i = 0
		}
	}
}

// encode fills the empty slot s with the entry of it.
func (x *exactIndex) encode(s *xslot, bucket uint32, flags uint8, key string, it *xitem) {
	var (
		kind                 uint16
		qmode                qmodeRule
		status               int
		ref, aux             uint32
		pre                  string // read, not kept: a view of a []byte serves
		qpos, fpos           = -1, -1
		simple, static, rel_ bool
		bigPrio              bool
	)
	if cr := it.cr; cr != nil {
		kind, qmode, status, ref = xRule, cr.qmode, cr.status, uint32(cr.idx)
		simple = cr.simple
		if p := cr.r.Priority; p >= math.MinInt32 && p <= math.MaxInt32 {
			aux = uint32(int32(p))
		} else {
			bigPrio = true
		}
		switch {
		case cr.gone:
			static, rel_ = true, true
		case cr.tgt.static && !cr.absolute && len(cr.tgt.pre) <= maxKey:
			static, rel_ = true, !cr.tgt.abs
			pre, qpos, fpos = view(cr.tgt.pre), cr.tgt.qpos, cr.tgt.fpos
		}
	} else {
		kind, qmode, status, ref, aux = xRow, it.tb.qmode, it.status, uint32(it.tb.idx), uint32(it.line)
		simple, static, rel_ = true, true, it.rel
		pre, qpos, fpos = it.preS, it.qpos, it.fpos
		if it.pre != nil {
			pre = view(it.pre)
		}
	}
	x.fill(s, flags, entryFlags(kind, qmode, simple, static, rel_, it.slash, bigPrio), ref, aux, status, bucket, key, pre, qpos, fpos)
}

// view is b as a string without a copy, for reading while b does not
// change.
func view(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

// entryFlags are the flags of an entry but its key flags, xLong and the
// status code.
func entryFlags(kind uint16, qmode qmodeRule, simple, static, rel, slash, bigPrio bool) uint16 {
	f := kind | uint16(qmode)<<xQmodeShift
	if simple {
		f |= xSimple
	}
	if static {
		f |= xStatic
	}
	if rel {
		f |= xRel
	}
	if slash {
		f |= xSlash
	}
	if bigPrio {
		f |= xBigPrio
	}
	return f
}

// fill writes an entry into the empty slot s: inline when it fits, else
// as a record appended to the arena.
func (x *exactIndex) fill(s *xslot, keyFlags uint8, f uint16, ref, aux uint32, status int, bucket uint32, key, pre string, qpos, fpos int) {
	f |= uint16(keyFlags)
	s.ref, s.aux = ref, aux
	code := statusCode(status)
	dq, df := derivePosString(pre)
	if code != 0 && bucket <= math.MaxUint16 && len(key)+len(pre) <= slotData && dq == qpos && df == fpos {
		s.flags = f | code<<xStatusShift
		s.bucket, s.klen, s.plen = uint16(bucket), uint8(len(key)), uint8(len(pre))
		copy(s.data[copy(s.data[:], key):], pre)
		return
	}
	if code != 0 && bucket <= math.MaxUint16 && len(key) <= outAt && dq == qpos && df == fpos {
		s.flags = f | xOut | code<<xStatusShift
		s.bucket, s.klen = uint16(bucket), uint8(len(key))
		copy(s.data[:], key)
		copy(s.data[outAt:], put16(put32(nil, uint32(len(x.arena))), len(pre)))
		x.arena = append(x.arena, pre...)
		return
	}
	s.flags = f | xLong
	copy(s.data[:], put32(nil, uint32(len(x.arena))))
	a := put32(x.arena, bucket)
	a = put16(a, status)
	a = put16(a, len(key))
	a = put16(a, len(pre))
	a = put16(a, qpos+1)
	a = put16(a, fpos+1)
	a = append(a, key...)
	x.arena = append(a, pre...)
}

// derivePos returns the indexes of "?" and "#" in a pre-rendered
// Location, -1 when absent: the first "#", and the first "?" before it.
func derivePos(pre []byte) (qpos, fpos int) {
	fpos = bytes.IndexByte(pre, '#')
	end := len(pre)
	if fpos >= 0 {
		end = fpos
	}
	return bytes.IndexByte(pre[:end], '?'), fpos
}

// derivePosString is derivePos of a string.
func derivePosString(pre string) (qpos, fpos int) {
	fpos = strings.IndexByte(pre, '#')
	end := len(pre)
	if fpos >= 0 {
		end = fpos
	}
	return strings.IndexByte(pre[:end], '?'), fpos
}

// decode returns the item of a single entry in slot i.
func (x *exactIndex) decode(i int) xitem {
	e := x.entry(i)
	if e.kind() == xRule {
		return xitem{cr: x.rules[e.ref()]}
	}
	qpos, fpos := e.pos()
	return xitem{
		tb:     x.tables[e.ref()],
		line:   e.line(),
		status: e.status(),
		pre:    bytes.Clone(e.pre()),
		qpos:   qpos,
		fpos:   fpos,
		rel:    e.flags()&xRel != 0,
		slash:  e.flags()&xSlash != 0,
	}
}

// entry is a view of the entry in one slot.
type entry struct {
	x *exactIndex
	s *xslot
}

// entry returns the entry of slot i.
func (x *exactIndex) entry(i int) entry { return entry{x, &x.slots[i]} }

func (e entry) flags() uint16    { return e.s.flags }
func (e entry) kind() uint16     { return e.s.flags & xKindMask }
func (e entry) qmode() qmodeRule { return qmodeRule(e.s.flags >> xQmodeShift & 3) }
func (e entry) ref() uint32      { return e.s.ref }

// line is a row's line.
func (e entry) line() int32 { return int32(e.s.aux) }

// record is the offset of a long entry's record.
func (e entry) record() int { return int(u32(e.s.data[:], 0)) }

func (e entry) status() int {
	if e.s.flags&xLong != 0 {
		return u16(e.x.arena, e.record()+4)
	}
	return int(statusCodes[e.s.flags>>xStatusShift&7])
}

// prio is the priority of a rule or row.
func (e entry) prio() int {
	switch {
	case e.kind() != xRule:
		return 0
	case e.s.flags&xBigPrio != 0:
		return e.x.rules[e.s.ref].r.Priority
	}
	return int(int32(e.s.aux))
}

// ord is the file-order ordinal of a rule or row.
func (e entry) ord() int32 {
	if e.kind() == xRule {
		return e.x.rules[e.s.ref].ord
	}
	return e.x.tables[e.s.ref].ord
}

// pre is the pre-rendered Location.
func (e entry) pre() []byte {
	if e.s.flags&xOut != 0 {
		return e.x.out(e.s)
	}
	if e.s.flags&xLong == 0 {
		k, p := int(e.s.klen), int(e.s.plen)
		return e.s.data[k : k+p : k+p]
	}
	a, off := e.x.arena, e.record()
	start := off + xRecord + u16(a, off+6)
	end := start + u16(a, off+8)
	return a[start:end:end]
}

// out is the Location of out entry s, in the arena.
func (x *exactIndex) out(s *xslot) []byte {
	off := int(u32(s.data[:], outAt))
	end := off + u16(s.data[:], outAt+4)
	return x.arena[off:end:end]
}

// pos returns the indexes of "?" and "#" in the Location, -1 when absent.
func (e entry) pos() (qpos, fpos int) {
	if e.s.flags&xLong == 0 {
		return derivePos(e.pre())
	}
	a, off := e.x.arena, e.record()
	return u16(a, off+10) - 1, u16(a, off+12) - 1
}
