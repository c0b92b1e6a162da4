package match

import "unsafe"

// The slots of the exact index are 64-byte cache lines, and a slot must
// not straddle two: allocSlots aligns them. On Linux, a large slot array
// lives outside the Go heap, in memory the kernel may back with 2 MiB
// pages (slotmem_linux.go): a lookup at a random slot then seldom misses
// the TLB as well as the cache. Elsewhere, and when mapping fails, slots
// are in the heap.

// The layout of xslot is one cache line.
var (
	_ [slotSize - unsafe.Sizeof(xslot{})]byte
	_ [unsafe.Sizeof(xslot{}) - slotSize]byte
)

// heapSlots returns n zeroed, 64-byte aligned slots in the Go heap.
func heapSlots(n int) []xslot {
	buf := make([]byte, n*slotSize+slotSize-1)
	p := unsafe.Pointer(unsafe.SliceData(buf))
	pad := -uintptr(p) & (slotSize - 1)
	return unsafe.Slice((*xslot)(unsafe.Add(p, pad)), n)
}

// size returns the bytes of slots m holds, rounded up to whole pages (the
// mapping has up to one huge page more, for alignment, never touched); 0
// for nil.
func (m *slotMem) size() int64 {
	if m == nil {
		return 0
	}
	return int64(m.span)
}
