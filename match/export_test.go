package match

// MappedBytes returns the bytes t maps outside the Go heap.
func MappedBytes(t *Table) int64 { return t.exact.mem.size() }

// HashCSAgrees reports whether Lookup's hash of s (hashCS) equals the
// case-sensitive hashKey the index is built with.
func HashCSAgrees(seed, ns uint64, s string) bool {
	return hashCS(seed, ns, s) == hashKey(seed, ns, s, false)
}
