// Package testutil holds small helpers the tests of several packages
// share. Only tests import it.
package testutil

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

// SyncBuffer is a bytes.Buffer safe for concurrent use: the log of a
// running server, written by its goroutines and read by the test.
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p.
func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// String returns what was written so far.
func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Bin returns the path of the program name — on PATH, or in /usr/sbin
// where Debian puts nginx and apache2 — and fails the test when it is
// missing: the test command (./scripts/test) installs every program a
// test needs, so a missing one is a broken set-up, never a reason to skip.
func Bin(tb testing.TB, name string) string {
	tb.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	p := filepath.Join("/usr/sbin", name)
	if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
		return p
	}
	tb.Fatalf("%s is not installed: ./scripts/test installs it (apt-get install)", name)
	return ""
}
