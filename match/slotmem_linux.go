//go:build linux

package match

import (
	"runtime"
	"syscall"
	"unsafe"
)

const (
	hugePage = 2 << 20
	// mapMin is the smallest slot array allocSlots maps outside the heap.
	mapMin = 4 << 20
)

// slotMem is a mapping that holds slots outside the Go heap. It holds no
// Go pointers. It is unmapped when the slotMem becomes unreachable: every
// Table that uses the slots (copies of a Table too) refers to it, and a
// Match refers to its Table, so the slots outlive every reader.
type slotMem struct {
	mapped []byte
	span   int // bytes of slots, rounded up to whole huge pages
}

// allocSlots returns n zeroed, 64-byte aligned slots. A large array is
// mapped outside the heap, 2 MiB aligned, with MADV_HUGEPAGE; then the
// slotMem is non-nil, and the slots must not be read once it is
// unreachable.
func allocSlots(n int) ([]xslot, *slotMem) {
	size := n * slotSize
	if size < mapMin {
		return heapSlots(n), nil
	}
	span := (size + hugePage - 1) &^ (hugePage - 1)
	mapped, err := syscall.Mmap(-1, 0, span+hugePage, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE|syscall.MAP_ANON)
	if err != nil {
		return heapSlots(n), nil
	}
	p := unsafe.Pointer(unsafe.SliceData(mapped))
	start := int(-uintptr(p) & (hugePage - 1))
	// Without transparent huge pages the advice fails, and 4 KiB pages
	// serve.
	_ = syscall.Madvise(mapped[start:start+span], syscall.MADV_HUGEPAGE)
	mem := &slotMem{mapped, span}
	runtime.AddCleanup(mem, func(b []byte) { _ = syscall.Munmap(b) }, mapped)
	return unsafe.Slice((*xslot)(unsafe.Add(p, start)), n), mem
}
