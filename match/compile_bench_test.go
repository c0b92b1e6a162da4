package match_test

import (
	"testing"

	"github.com/detourhttp/detour/match"
)

// BenchmarkCompile measures building a Table of 100,000 rules or rows of
// each benchmark family.
func BenchmarkCompile(b *testing.B) {
	for _, fam := range benchFamilies {
		b.Run(fam.name, func(b *testing.B) {
			rules, tables := fam.build(100_000)
			b.ReportAllocs()
			for b.Loop() {
				if tb, diags := match.Compile(rules, tables, match.Options{}); tb == nil {
					b.Fatal(diags)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/100_000, "ns/rule")
		})
	}
}
