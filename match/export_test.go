package match

import "math/rand/v2"

// MappedBytes returns the bytes t maps outside the Go heap.
func MappedBytes(t *Table) int64 { return t.exact.mem.size() }

// HashCSAgrees reports whether Lookup's hash of s (hashCS) equals the
// case-sensitive hashKey the index is built with.
func HashCSAgrees(seed, ns uint64, s string) bool {
	return hashCS(seed, ns, s) == hashKey(seed, ns, s, false)
}

// SlotWalk reads the slots of an array as large as the exact index's for
// n entries, and allocated as it is, one at a time in a random cycle:
// each read's position comes from the one before, as a lookup's probe
// depends on its key.
type SlotWalk struct {
	slots []xslot
	mem   *slotMem
	at    uint32
}

func NewSlotWalk(n int) *SlotWalk {
	w := &SlotWalk{}
	w.slots, w.mem = allocSlots(slotCount(n))
	perm := rand.Perm(len(w.slots))
	for i, s := range perm {
		w.slots[s].ref = uint32(perm[(i+1)%len(perm)])
	}
	w.at = uint32(perm[0])
	return w
}

// Step reads the next slot.
func (w *SlotWalk) Step() { w.at = w.slots[w.at].ref }
