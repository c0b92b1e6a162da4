package check

import (
	"fmt"
	"io"
	"os"
	"time"
)

// progressEvery is the least time between two redraws of a ProgressLine.
const progressEvery = 100 * time.Millisecond

// ProgressLine keeps one line on a terminal up to date with a Run's
// progress: "detour check: 1200/10000 cases, 3 failed". Make one with
// NewProgressLine and give its Show to Runner.Progress.
type ProgressLine struct {
	w     io.Writer
	now   func() time.Time
	last  time.Time
	shown bool
}

// NewProgressLine returns a ProgressLine drawing on w, or nil when w is
// not a terminal (a pipe, a file, /dev/null, a buffer): there a progress
// line would only be noise in a log.
func NewProgressLine(w io.Writer) *ProgressLine {
	if !IsTerminal(w) {
		return nil
	}
	return &ProgressLine{w: w, now: time.Now}
}

// IsTerminal reports whether w is an *os.File open on a character device
// other than the null device: a terminal.
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok || f == nil {
		return false
	}
	fi, err := f.Stat()
	if err != nil || fi.Mode()&os.ModeCharDevice == 0 {
		return false
	}
	if null, err := os.Stat(os.DevNull); err == nil && os.SameFile(fi, null) {
		return false
	}
	return true
}

// Show redraws the line, at most every 100ms and always for the last
// case. It is meant for Runner.Progress, which calls it one call at a
// time. A nil ProgressLine draws nothing.
func (p *ProgressLine) Show(pr Progress) {
	if p == nil {
		return
	}
	now := p.now()
	if pr.Done < pr.Total && now.Sub(p.last) < progressEvery {
		return
	}
	p.last, p.shown = now, true
	fmt.Fprintf(p.w, "\r\x1b[Kdetour check: %d/%d cases, %d failed", pr.Done, pr.Total, pr.Failed)
}

// Clear erases the line, if one was drawn, so that the report starts on
// a clean line. A nil ProgressLine does nothing.
func (p *ProgressLine) Clear() {
	if p != nil && p.shown {
		fmt.Fprint(p.w, "\r\x1b[K")
		p.shown = false
	}
}
