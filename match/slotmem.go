package match

import "unsafe"

// The slots of the exact index are 64-byte cache lines, and a slot must
// not straddle two: allocSlots aligns them.

// The layout of xslot is one cache line.
var (
	_ [slotSize - unsafe.Sizeof(xslot{})]byte
	_ [unsafe.Sizeof(xslot{}) - slotSize]byte
)

// slotMem is memory that holds slots outside the Go heap; nil when they
// are in it.
type slotMem struct{}

// allocSlots returns n zeroed, 64-byte aligned slots.
func allocSlots(n int) ([]xslot, *slotMem) {
	buf := make([]byte, n*slotSize+slotSize-1)
	p := unsafe.Pointer(unsafe.SliceData(buf))
	pad := -uintptr(p) & (slotSize - 1)
	return unsafe.Slice((*xslot)(unsafe.Add(p, pad)), n), nil
}

// size returns the bytes m maps; 0 for nil.
func (m *slotMem) size() int64 { return 0 }
