package check_test

import (
	"os"
	"strconv"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/detourhttp/detour/check"
)

// openPTY opens a pseudo-terminal: the controller to read what is
// written, and the terminal itself.
func openPTY(t *testing.T) (ptmx, tty *os.File) {
	t.Helper()
	ptmx, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals here: %v", err)
	}
	t.Cleanup(func() { ptmx.Close() })
	fd := int(ptmx.Fd())
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
		t.Fatalf("unlock pty: %v", err)
	}
	n, err := unix.IoctlGetInt(fd, unix.TIOCGPTN)
	if err != nil {
		t.Fatalf("pty number: %v", err)
	}
	tty, err = os.OpenFile("/dev/pts/"+strconv.Itoa(n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatalf("open pty: %v", err)
	}
	t.Cleanup(func() { tty.Close() })
	return ptmx, tty
}

func TestProgressLineOnATerminal(t *testing.T) {
	ptmx, tty := openPTY(t)
	if !check.IsTerminal(tty) {
		t.Fatal("a pseudo-terminal is not a terminal")
	}
	p := check.NewProgressLine(tty)
	if p == nil {
		t.Fatal("no progress line on a terminal")
	}
	clock := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	p.SetClock(func() time.Time { return clock })
	p.Show(check.Progress{Done: 1, Failed: 0, Total: 4})
	clock = clock.Add(50 * time.Millisecond)
	p.Show(check.Progress{Done: 2, Failed: 1, Total: 4}) // within 100ms of the last: not drawn
	clock = clock.Add(60 * time.Millisecond)
	p.Show(check.Progress{Done: 3, Failed: 1, Total: 4})
	p.Show(check.Progress{Done: 4, Failed: 1, Total: 4}) // the last is always drawn
	p.Clear()
	want := "\r\x1b[Kdetour check: 1/4 cases, 0 failed" +
		"\r\x1b[Kdetour check: 3/4 cases, 1 failed" +
		"\r\x1b[Kdetour check: 4/4 cases, 1 failed" +
		"\r\x1b[K"
	got := make([]byte, 0, len(want))
	buf := make([]byte, 256)
	ptmx.SetReadDeadline(time.Now().Add(5 * time.Second))
	for len(got) < len(want) {
		n, err := ptmx.Read(buf)
		got = append(got, buf[:n]...)
		if err != nil {
			break
		}
	}
	if string(got) != want {
		t.Errorf("terminal got %q, want %q", got, want)
	}
}
