package match

// MappedBytes returns the bytes t maps outside the Go heap.
func MappedBytes(t *Table) int64 { return t.exact.mem.size() }
