// Package testutil holds small helpers the tests of several packages
// share. Only tests import it.
package testutil

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf16"
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

// FreePorts returns n loopback ports that were free a moment ago.
func FreePorts(tb testing.TB, n int) []int {
	tb.Helper()
	ports := make([]int, 0, n)
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			tb.Fatal(err)
		}
		defer l.Close() // held until all are picked, so that none comes twice
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports
}

// StartProc starts a server program that is interrupted (and waited for)
// when the test ends; its output is logged if the test failed, or always
// with DETOUR_SHOW set.
func StartProc(tb testing.TB, name string, args ...string) {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 5 * time.Second
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		cancel()
		cmd.Wait()
		if (tb.Failed() || os.Getenv("DETOUR_SHOW") != "") && out.Len() > 0 {
			tb.Logf("%s output:\n%s", filepath.Base(name), out.String())
		}
	})
}

// WaitPorts waits up to 15 s until every loopback port accepts
// connections, and fails the test with the server's error log otherwise.
func WaitPorts(tb testing.TB, ports []int, errlog string) {
	tb.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for _, p := range ports {
		for {
			c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", p), time.Second)
			if err == nil {
				c.Close()
				break
			}
			if time.Now().After(deadline) {
				b, _ := os.ReadFile(errlog)
				tb.Fatalf("port %d does not answer: %v\n%s", p, err, b)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

// YAMLText returns data as a YAML reader decodes it: UTF-16 after a
// byte-order mark, else as it is — for counting the lines an error may
// name.
func YAMLText(data []byte) string {
	var order binary.ByteOrder
	switch {
	case bytes.HasPrefix(data, []byte{0xff, 0xfe}):
		order = binary.LittleEndian
	case bytes.HasPrefix(data, []byte{0xfe, 0xff}):
		order = binary.BigEndian
	default:
		return string(data)
	}
	units := make([]uint16, 0, len(data)/2)
	for i := 2; i+1 < len(data); i += 2 {
		units = append(units, order.Uint16(data[i:]))
	}
	return string(utf16.Decode(units))
}
