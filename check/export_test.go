package check

import "time"

// SetClock makes p read the time from now, for tests of its throttling.
func (p *ProgressLine) SetClock(now func() time.Time) { p.now = now }
