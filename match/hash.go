package match

import "math/bits"

// Hashing of index keys: wyhash-style multiply-mix over 8-byte words,
// with ASCII case folding done eight bytes at a time for case-insensitive
// keys, so the request path is hashed as it is, without a lower-cased
// copy.

const (
	hk0 = 0xa0761d6478bd642f
	hk1 = 0xe7037ed1a0b428db
	hk2 = 0x8ebc6af09c88c6e3
	hk3 = 0x589965cc75374cc3
)

// mix multiplies a and b to 128 bits and folds the halves.
func mix(a, b uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	return hi ^ lo
}

// load64 reads 8 bytes of s at i, little-endian. Cutting the eight bytes
// out first leaves one bounds check, and the compiler makes the rest one
// load.
func load64(s string, i int) uint64 {
	s = s[i : i+8]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

// lower8 lower-cases the ASCII letters among the 8 bytes of w.
func lower8(w uint64) uint64 {
	const ones = 0x0101010101010101
	heptets := w & (0x7f * ones)
	geA := heptets + (0x80-'A')*ones
	gtZ := heptets + (0x80-'Z'-1)*ones
	upper := (geA &^ gtZ) &^ w & (0x80 * ones)
	return w | upper>>2
}

// hashKey hashes s in key space ns under seed; with fold, as if s were
// lower-cased. It equals prefixHash.sum(len(s), ns) over s.
func hashKey(seed, ns uint64, s string, fold bool) uint64 {
	h := seed
	i := 0
	if fold {
		for ; i+8 <= len(s); i += 8 {
			h = hashWord(h, lower8(load64(s, i)))
		}
	} else {
		for ; i+8 <= len(s); i += 8 {
			h = hashWord(h, load64(s, i))
		}
	}
	return hashTail(h, s, i, ns, fold)
}

func hashWord(h, w uint64) uint64 { return mix(w^hk2, h^hk3) }

// hashCS is hashKey(seed, ns, s, false), small enough for the compiler to
// inline into Lookup's fast path.
func hashCS(seed, ns uint64, s string) uint64 {
	if len(s) < 8 {
		return hashTail(seed, s, 0, ns, false)
	}
	h, i := seed, 0
	for ; i+8 <= len(s); i += 8 {
		h = hashWord(h, load64(s, i))
	}
	w := load64(s, len(s)-8) >> (64 - 8*(len(s)-i)) // 0 when i == len(s)
	return mix(mix(w^hk1, h^hk2^uint64(len(s)))^ns, hk0)
}

// hashTail finishes the hash h of the first i bytes of s (i a multiple
// of 8, at most len(s)): the bytes after them, the length and the key
// space. The last bytes are read as one word when s has eight.
func hashTail(h uint64, s string, i int, ns uint64, fold bool) uint64 {
	var w uint64
	if n := len(s) - i; n > 0 {
		if len(s) >= 8 {
			w = load64(s, len(s)-8) >> (64 - 8*n)
		} else {
			for j := len(s) - 1; j >= i; j-- {
				w = w<<8 | uint64(s[j])
			}
		}
		if fold {
			w = lower8(w)
		}
	}
	h = mix(w^hk1, h^hk2^uint64(len(s)))
	return mix(h^ns, hk0)
}

// nsKey is the key-space value of a bucket or level ns and a key kind.
func nsKey(ns uint32, kind uint8) uint64 {
	return mix(uint64(ns)<<8^uint64(kind)^hk1, hk3)
}

// prefixWords is how many leading words of a path prefixHash remembers;
// longer prefixes hash the rest as they go.
const prefixWords = 8

// prefixHash hashes prefixes of one string, sharing the work on the
// words they have in common: the probes of one lookup hash many prefixes
// of the request path.
type prefixHash struct {
	seed  uint64
	s     string
	fold  bool
	n     int // words hashed into states
	state [prefixWords + 1]uint64
}

func (p *prefixHash) reset(seed uint64, s string, fold bool) {
	p.seed, p.s, p.fold, p.n = seed, s, fold, 0
	p.state[0] = seed
}

// sum returns hashKey(seed, ns, s[:n], fold).
func (p *prefixHash) sum(n int, ns uint64) uint64 {
	w := n / 8
	if w > prefixWords {
		return hashKey(p.seed, ns, p.s[:n], p.fold)
	}
	for p.n < w {
		v := load64(p.s, p.n*8)
		if p.fold {
			v = lower8(v)
		}
		p.state[p.n+1] = hashWord(p.state[p.n], v)
		p.n++
	}
	return hashTail(p.state[w], p.s[:n], w*8, ns, p.fold)
}

// bloom is a register-blocked Bloom filter over 64-bit hashes: one word
// a key, four bits in it. A lookup probes it before the hash table, so
// that a probe for a key that is not there seldom leaves the cache.
type bloom []uint64

// newBloom sizes a filter for n keys, about 12 bits a key.
func newBloom(n int) bloom {
	if n == 0 {
		return nil
	}
	return make(bloom, n*12/64+1)
}

func bloomMask(h uint64) uint64 {
	return 1<<(h&63) | 1<<(h>>6&63) | 1<<(h>>12&63) | 1<<(h>>18&63)
}

func (b bloom) add(h uint64) {
	b[slotIndex(uint32(h>>32), len(b))] |= bloomMask(h)
}

// has reports whether h may be in the filter.
func (b bloom) has(h uint64) bool {
	m := bloomMask(h)
	return b[slotIndex(uint32(h>>32), len(b))]&m == m
}

// equalFold reports whether s equals the lower-case key k when s is
// lower-cased.
func equalFold(k, s string) bool {
	if len(k) != len(s) {
		return false
	}
	i := 0
	for ; i+8 <= len(s); i += 8 {
		if lower8(load64(s, i)) != load64(k, i) {
			return false
		}
	}
	for ; i < len(s); i++ {
		if lower(s[i]) != k[i] {
			return false
		}
	}
	return true
}

// slotIndex maps a 32-bit hash onto n slots.
func slotIndex(h uint32, n int) int {
	return int(uint64(h) * uint64(n) >> 32)
}
