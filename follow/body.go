package follow

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
)

// errReplayClosed is returned by a replay reader used after Close, or made
// after the capture was released.
var errReplayClosed = errors.New("follow: read from a closed request body")

// capture records a request body that cannot be rewound as it is first read,
// so that a 307 or 308 can send the identical bytes again.
//
// Every reader made by newReader sees the whole body from its first byte:
// bytes another reader already pulled from the source come from the record,
// the rest from the source (and are recorded on the way). Readers may be
// used concurrently — the Transport may still be writing one hop's body while
// the next hop sends its replay — and each may be closed concurrently with
// its Read, as http.Request.Body requires.
//
// The record lives in memory up to memLimit bytes, then in a temp file. Once
// more than limit bytes have been pulled the record is dropped: readers that
// are behind fail with ErrBodyTooLarge and no new reader can be made, but the
// reader that is streaming the source carries on, so the request that is
// already on the wire is never damaged.
//
// The source is closed and the temp file removed when the owner (Follow) and
// every reader have let go.
type capture struct {
	src      io.ReadCloser
	limit    int64  // bytes that may be recorded; beyond, the record is dropped
	memLimit int64  // bytes kept in memory before spilling to a temp file
	tempDir  string // where the temp file goes; "" means os.TempDir()

	pull sync.Mutex // held while reading the source; taken before mu

	mu        sync.Mutex
	mem       []byte   // the record while it fits in memory
	file      *os.File // the record once spilled
	n         int64    // bytes pulled from the source so far
	srcErr    error    // sticky: io.EOF or the source's error
	truncated bool     // the record no longer holds [0, n)
	refs      int      // the owner plus open readers
	released  bool     // refs reached zero; everything is closed
	spillErr  error    // the temp file could not be written
}

// newCapture wraps src. The caller holds the owner reference and must call
// release exactly once.
func newCapture(src io.ReadCloser, limit, memLimit int64, tempDir string) *capture {
	return &capture{src: src, limit: limit, memLimit: memLimit, tempDir: tempDir, refs: 1}
}

// replayable reports whether a new reader could still deliver every byte.
func (c *capture) replayable() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return !c.truncated && c.spillErr == nil && !c.released
}

// size returns the body's length once the source has been read to its end,
// and -1 while it is unknown.
func (c *capture) size() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.srcErr == io.EOF && !c.truncated {
		return c.n
	}
	return -1
}

// newReader returns a reader of the whole body, from its first byte. It
// fails with ErrBodyTooLarge when the record was dropped.
func (c *capture) newReader() (io.ReadCloser, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case c.released:
		return nil, errReplayClosed
	case c.truncated:
		return nil, fmt.Errorf("%w: more than %d bytes were already sent", ErrBodyTooLarge, c.limit)
	case c.spillErr != nil:
		return nil, fmt.Errorf("%w: %w", ErrBodyTooLarge, c.spillErr)
	}
	c.refs++
	return &replayReader{c: c}, nil
}

// release drops the owner's reference.
func (c *capture) release() {
	c.mu.Lock()
	last := c.unrefLocked()
	c.mu.Unlock()
	if last {
		c.cleanup()
	}
}

// unrefLocked drops one reference and reports whether it was the last; the
// caller then calls cleanup once it has unlocked c.mu.
func (c *capture) unrefLocked() bool {
	c.refs--
	if c.refs > 0 || c.released {
		return false
	}
	c.released = true
	return true
}

// cleanup closes the source and removes the record. It runs without c.mu
// held: closing the source may have to unblock a Read in progress on another
// goroutine (which is what http.Request.Body asks of it), and that Read's
// reader takes c.mu when it returns.
func (c *capture) cleanup() {
	c.src.Close()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.mem = nil
	if c.file != nil {
		c.file.Close()
		os.Remove(c.file.Name())
		c.file = nil
	}
}

// recordLocked appends p to the record, spilling to a temp file or dropping
// the record when the limits say so.
func (c *capture) recordLocked(p []byte) {
	if c.truncated || c.spillErr != nil || c.released || len(p) == 0 {
		return
	}
	if c.n+int64(len(p)) > c.limit {
		c.truncated = true
		c.mem = nil
		if c.file != nil {
			c.file.Close()
			os.Remove(c.file.Name())
			c.file = nil
		}
		return
	}
	if c.file == nil && int64(len(c.mem)+len(p)) > c.memLimit {
		f, err := os.CreateTemp(c.tempDir, "follow-body-*")
		if err != nil {
			c.spillErr = fmt.Errorf("spill body to temp file: %w", err)
			c.mem = nil
			return
		}
		if _, err := f.Write(c.mem); err != nil {
			f.Close()
			os.Remove(f.Name())
			c.spillErr = fmt.Errorf("spill body to temp file: %w", err)
			c.mem = nil
			return
		}
		c.file, c.mem = f, nil
	}
	if c.file != nil {
		if _, err := c.file.WriteAt(p, c.n); err != nil {
			c.spillErr = fmt.Errorf("spill body to temp file: %w", err)
		}
		return
	}
	c.mem = append(c.mem, p...)
}

// replayReader is one hop's view of a captured body.
type replayReader struct {
	c      *capture
	off    int64
	closed bool // guarded by c.mu
}

// Read reads the next bytes of the body: from the record when another reader
// already pulled them, else from the source.
func (r *replayReader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	c := r.c
	for {
		c.mu.Lock()
		if n, err, done := r.fromRecordLocked(p); done {
			c.mu.Unlock()
			return n, err
		}
		c.mu.Unlock()

		// This reader is at the head of the stream: pull from the source.
		// Only one reader pulls at a time; if another pulled meanwhile,
		// go round again and read its bytes from the record.
		c.pull.Lock()
		c.mu.Lock()
		if r.closed || c.released {
			c.mu.Unlock()
			c.pull.Unlock()
			return 0, errReplayClosed
		}
		if r.off != c.n || c.srcErr != nil {
			c.mu.Unlock()
			c.pull.Unlock()
			continue
		}
		c.mu.Unlock()

		n, err := c.src.Read(p)

		c.mu.Lock()
		if n > 0 {
			c.recordLocked(p[:n])
			c.n += int64(n)
			r.off += int64(n)
		}
		if err != nil {
			c.srcErr = err
		}
		c.mu.Unlock()
		c.pull.Unlock()
		return n, err
	}
}

// fromRecordLocked serves r from the record when it is behind the head of
// the stream, or reports the end of the stream. done is false when r must
// pull from the source.
func (r *replayReader) fromRecordLocked(p []byte) (n int, err error, done bool) {
	c := r.c
	if r.closed || c.released {
		return 0, errReplayClosed, true
	}
	if r.off < c.n {
		switch {
		case c.truncated:
			return 0, fmt.Errorf("%w: more than %d bytes were already sent", ErrBodyTooLarge, c.limit), true
		case c.spillErr != nil:
			return 0, fmt.Errorf("%w: %w", ErrBodyTooLarge, c.spillErr), true
		}
		want := min(int64(len(p)), c.n-r.off)
		if c.file != nil {
			n, err = c.file.ReadAt(p[:want], r.off)
			if err == io.EOF && int64(n) == want {
				err = nil
			}
		} else {
			n = copy(p[:want], c.mem[r.off:])
		}
		r.off += int64(n)
		return n, err, true
	}
	if c.srcErr != nil {
		return 0, c.srcErr, true
	}
	return 0, nil, false
}

// Close lets go of the body; the last one to let go closes the source.
func (r *replayReader) Close() error {
	r.c.mu.Lock()
	if r.closed {
		r.c.mu.Unlock()
		return nil
	}
	r.closed = true
	last := r.c.unrefLocked()
	r.c.mu.Unlock()
	if last {
		r.c.cleanup()
	}
	return nil
}
