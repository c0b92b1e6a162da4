package server

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/detourhttp/detour"
	"github.com/detourhttp/detour/match"
)

// statuses are the statuses a rule answers with, in the order of
// RuleStats' counters.
var statuses = [...]int{301, 302, 303, 307, 308, 410}

func statusSlot(status int) int {
	switch status {
	case 301:
		return 0
	case 302:
		return 1
	case 303:
		return 2
	case 307:
		return 3
	case 308:
		return 4
	}
	return 5
}

// RuleStats counts the answers of one rule, or of all the rows of one bulk
// table, by status. Counting allocates nothing and takes no lock.
type RuleStats struct {
	// ID is the rule's id (a table's id for its rows).
	ID string
	// Status is the rule's status (a table's default status).
	Status int
	// Table is true for a bulk table's rows.
	Table bool

	counts [len(statuses)]atomic.Uint64
	last   atomic.Int64 // Unix nanoseconds of the last answer, to the second

	flushed uint64 // answers already handed out by TakeHits; guarded by Stats.mu
	retired bool   // no longer in the live set; guarded by Stats.mu
}

// hit counts one answer with status at now.
func (s *RuleStats) hit(status int, now time.Time) {
	s.counts[statusSlot(status)].Add(1)
	// The last hit is kept to the second: most answers then only read
	// the shared word rather than write it.
	n := now.UnixNano()
	if n-s.last.Load() >= int64(time.Second) {
		s.last.Store(n)
	}
}

// Hits returns the answers counted since the process started.
func (s *RuleStats) Hits() uint64 {
	var n uint64
	for i := range s.counts {
		n += s.counts[i].Load()
	}
	return n
}

// Count returns the answers counted with status.
func (s *RuleStats) Count(status int) uint64 { return s.counts[statusSlot(status)].Load() }

// LastHit returns the time of the last answer (to the second), zero
// before the first.
func (s *RuleStats) LastHit() time.Time {
	if n := s.last.Load(); n != 0 {
		return time.Unix(0, n)
	}
	return time.Time{}
}

// StatusCounts calls fn for each status with a count, and for the rule's
// own status even at zero, so that its series exists from the start.
func (s *RuleStats) StatusCounts(fn func(status int, n uint64)) {
	for i, st := range statuses {
		if n := s.counts[i].Load(); n > 0 || st == s.Status {
			fn(st, n)
		}
	}
}

// Stats keeps RuleStats by rule id across rule sets: a rule that stays
// (same id) keeps counting on the same counters after a reload. It is
// safe for concurrent use; the zero value is not usable, call NewStats.
type Stats struct {
	mu   sync.Mutex
	byID map[string]*RuleStats
	// retired are counters of rules gone from the live set with counts
	// not yet taken.
	retired []*RuleStats
}

// NewStats returns an empty Stats.
func NewStats() *Stats { return &Stats{byID: make(map[string]*RuleStats)} }

// Index returns the counters of t's rules and tables, keyed as Lookup's
// Match.Rule points: one entry per rule and per table (not per row). It is
// built once per rule set, when it is compiled, and put in Rules.Stats.
func (s *Stats) Index(t *match.Table) map[*detour.Rule]*RuleStats {
	rules, tables := t.Rules(), t.Tables()
	idx := make(map[*detour.Rule]*RuleStats, len(rules)+len(tables))
	s.mu.Lock()
	defer s.mu.Unlock()
	live := make(map[string]*RuleStats, len(rules)+len(tables))
	get := func(id string, status int, table bool) *RuleStats {
		if status == 0 {
			status = detour.DefaultStatus
		}
		rs := s.byID[id]
		if rs == nil || rs.Table != table {
			rs = &RuleStats{ID: id, Status: status, Table: table}
		}
		rs.Status = status
		live[id] = rs
		return rs
	}
	for _, r := range rules {
		idx[r] = get(r.ID, r.Status, false)
	}
	// A Match for a table row points at the table's template rule.
	for i, tb := range tables {
		idx[t.TableRule(i)] = get(tb.ID, tb.Status, true)
	}
	for id, rs := range s.byID {
		if live[id] != rs {
			rs.retired = true
			s.retired = append(s.retired, rs)
		}
	}
	for _, rs := range live {
		rs.retired = false
	}
	s.byID = live
	return idx
}

// All returns the counters of the live rules and tables.
func (s *Stats) All() []*RuleStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*RuleStats, 0, len(s.byID))
	for _, rs := range s.byID {
		out = append(out, rs)
	}
	return out
}

// Get returns the counters of the live rule or table id, nil if none.
func (s *Stats) Get(id string) *RuleStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.byID[id]
}

// Unflushed returns the answers of id counted but not yet taken by
// TakeHits, and the last one's time.
func (s *Stats) Unflushed(id string) (uint64, time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rs := s.byID[id]
	if rs == nil {
		return 0, time.Time{}
	}
	return rs.Hits() - rs.flushed, rs.LastHit()
}

// TakeHits returns the answers counted since the last TakeHits, by rule,
// and marks them taken; give them back with PutBack when they could not
// be persisted.
func (s *Stats) TakeHits() []detour.Hit {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []detour.Hit
	take := func(rs *RuleStats) {
		n := rs.Hits()
		if n > rs.flushed {
			out = append(out, detour.Hit{ID: rs.ID, Count: n - rs.flushed, Last: rs.LastHit()})
			rs.flushed = n
		}
	}
	for _, rs := range s.byID {
		take(rs)
	}
	for _, rs := range s.retired {
		take(rs)
	}
	s.retired = nil
	return out
}

// PutBack returns hits taken by TakeHits that were not persisted, so the
// next TakeHits hands them out again.
func (s *Stats) PutBack(hits []detour.Hit) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, h := range hits {
		if rs := s.byID[h.ID]; rs != nil && rs.flushed >= h.Count {
			rs.flushed -= h.Count
		}
	}
}
