//go:build !linux

package match

// slotMem is nil: slots are in the Go heap.
type slotMem struct {
	span int
}

// allocSlots returns n zeroed, 64-byte aligned slots.
func allocSlots(n int) ([]xslot, *slotMem) { return heapSlots(n), nil }
