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

// load64 reads 8 bytes of s at i, little-endian.
func load64(s string, i int) uint64 {
	_ = s[i+7]
	return uint64(s[i]) | uint64(s[i+1])<<8 | uint64(s[i+2])<<16 | uint64(s[i+3])<<24 |
		uint64(s[i+4])<<32 | uint64(s[i+5])<<40 | uint64(s[i+6])<<48 | uint64(s[i+7])<<56
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

// hashKey hashes s under seed; with fold, as if s were lower-cased.
func hashKey(seed uint64, s string, fold bool) uint64 {
	h := seed ^ mix(uint64(len(s))^hk0, hk1)
	i := 0
	for ; i+8 <= len(s); i += 8 {
		w := load64(s, i)
		if fold {
			w = lower8(w)
		}
		h = mix(w^hk2, h^hk3)
	}
	if i < len(s) {
		var w uint64
		for j := len(s) - 1; j >= i; j-- {
			c := s[j]
			if fold {
				c = lower(c)
			}
			w = w<<8 | uint64(c)
		}
		h = mix(w^hk1, h^hk2)
	}
	return mix(h, hk0)
}

// nsSeed derives the seed of a key space (a host bucket, a pattern
// level) from the table seed.
func nsSeed(seed uint64, ns uint32, kind uint8) uint64 {
	return mix(seed^uint64(ns)<<8^uint64(kind), hk3)
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

// slotTag is the non-zero tag of a hash kept in a slot.
func slotTag(h uint64) uint64 {
	return (h>>32 | 1) << 32
}
