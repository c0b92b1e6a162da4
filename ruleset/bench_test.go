package ruleset_test

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/detourhttp/detour/ruleset"
)

// BenchmarkLoadTable1M loads a rules file whose table has 1,000,000 rows
// (paths of a site migration, a third with a status column, a tenth with
// a full URL), written to b.TempDir once. SPEC §1.6 asks for well under
// 2 s a load; it reports ns/row as well.
func BenchmarkLoadTable1M(b *testing.B) {
	const rows = 1_000_000
	dir := b.TempDir()
	f, err := os.Create(filepath.Join(dir, "legacy.csv"))
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriter(f)
	fmt.Fprintln(w, "from,to,status")
	for i := range rows {
		switch {
		case i%10 == 0:
			fmt.Fprintf(w, "https://www.example.com/archive/%d/item-%d.html,https://example.org/items/%d\n", i/1000, i, i)
		case i%3 == 0:
			fmt.Fprintf(w, "/archive/%d/item-%d.html,/items/%d,308\n", i/1000, i, i)
		default:
			fmt.Fprintf(w, "/archive/%d/item-%d.html,/items/%d\n", i/1000, i, i)
		}
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
	rules := filepath.Join(dir, "rules.yaml")
	if err := os.WriteFile(rules, []byte("tables:\n  - file: legacy.csv\n    status: 301\n"), 0o644); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		s, ds, err := ruleset.Load(rules)
		if err != nil || len(ds) > 0 {
			b.Fatalf("Load: %v %v", err, ds)
		}
		if n := len(s.Tables[0].Rows); n != rows {
			b.Fatalf("got %d rows, want %d", n, rows)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/rows, "ns/row")
}
