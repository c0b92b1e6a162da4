//go:build linux

package match_test

import (
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/detourhttp/detour"
	"github.com/detourhttp/detour/match"
)

// rss returns the process's resident memory in bytes.
func rss(t *testing.T) int64 {
	t.Helper()
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		t.Skipf("no /proc/self/statm: %v", err)
	}
	f := strings.Fields(string(b))
	pages, err := strconv.ParseInt(f[1], 10, 64)
	if err != nil {
		t.Fatalf("statm %q: %v", b, err)
	}
	return pages * int64(os.Getpagesize())
}

// TestRecompileReleasesSlots: a reload compiles a new Table and drops the
// old one; the slots an old Table mapped outside the heap go with it, so
// that many reloads do not add up.
func TestRecompileReleasesSlots(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles 100,000 rows 20 times")
	}
	rows := make([]detour.Row, 100_000)
	for i := range rows {
		rows[i] = detour.Row{Line: i + 1, Path: "/old/" + strconv.Itoa(i) + ".html", To: "/new/" + strconv.Itoa(i)}
	}
	tables := []detour.Table{{ID: "table:t.csv", File: "t.csv", Status: 301, Rows: rows}}
	compile := func() *match.Table {
		tb, diags := match.Compile(nil, tables, match.Options{})
		if tb == nil {
			t.Fatalf("compile: %v", diags)
		}
		return tb
	}
	tb := compile()
	mapped := match.MappedBytes(tb)
	if mapped == 0 {
		// 100,000 rows take several MiB of slots, above mapMin: on
		// Linux they are mapped unless mapping broke.
		t.Fatal("slots of 100,000 rows are in the heap; want them mapped")
	}
	var m match.Match
	req := get("", "/old/7.html")
	runtime.GC()
	base := rss(t)
	for range 20 {
		tb = compile()
		if !tb.Lookup(&req, now, &m) || m.Location() != "/new/7" {
			t.Fatalf("lookup after recompile: got %q", m.Location())
		}
	}
	// Without release, twenty tables would hold 20×mapped more. Cleanups
	// run after a collection, on their own goroutine: give them a moment.
	limit := base + 4*mapped
	got := rss(t)
	for i := 0; got > limit && i < 100; i++ {
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
		got = rss(t)
	}
	if got > limit {
		t.Errorf("resident memory grew from %d to %d bytes over 20 compiles (%d mapped each); want at most %d", base, got, mapped, limit)
	}
	runtime.KeepAlive(tb)
}

// TestTableCopyKeepsSlots: a copy of a Table value reads the same mapped
// slots, so they stay mapped while the copy lives, after the original
// is gone.
func TestTableCopyKeepsSlots(t *testing.T) {
	rows := make([]detour.Row, 100_000)
	for i := range rows {
		rows[i] = detour.Row{Line: i + 1, Path: "/old/" + strconv.Itoa(i), To: "/new/" + strconv.Itoa(i)}
	}
	tb, diags := match.Compile(nil, []detour.Table{{ID: "table:t.csv", File: "t.csv", Status: 301, Rows: rows}}, match.Options{})
	if tb == nil {
		t.Fatalf("compile: %v", diags)
	}
	if match.MappedBytes(tb) == 0 {
		t.Fatal("slots of 100,000 rows are in the heap; want them mapped")
	}
	cp := new(match.Table)
	*cp = *tb
	tb = nil
	for range 3 {
		runtime.GC()
		time.Sleep(time.Millisecond) // let cleanups run, if any were due
	}
	for _, i := range []int{0, 5_000, 99_999} {
		req := get("", "/old/"+strconv.Itoa(i))
		var m match.Match
		if !cp.Lookup(&req, now, &m) {
			t.Fatalf("/old/%d: no match", i)
		}
		if got, want := m.Location(), "/new/"+strconv.Itoa(i); got != want {
			t.Errorf("/old/%d: Location %q, want %q", i, got, want)
		}
	}
}
