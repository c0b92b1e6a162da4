package match_test

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/detourhttp/detour"
	"github.com/detourhttp/detour/match"
)

// The benchmarks build rule sets of 10 to 1,000,000 rules and look up
// requests drawn at random over the whole set: each op is one Lookup and
// one AppendLocation into a reused buffer. The requests are generated in
// advance, in their random order, so reading them streams through memory
// and what the numbers show is the table.

var benchSizes = []int{10, 10_000, 100_000, 1_000_000}

// benchRequests is how many requests each benchmark cycles through.
const benchRequests = 1 << 20

// benchFamily builds a rule set of n rules and a request for rule i.
type benchFamily struct {
	name  string
	build func(n int) ([]detour.Rule, []detour.Table)
	req   func(n, i int, rng *rand.Rand) detour.Request
}

var benchFamilies = []benchFamily{
	{
		// exact: exact paths with static targets.
		name: "exact",
		build: func(n int) ([]detour.Rule, []detour.Table) {
			rules := make([]detour.Rule, n)
			for i := range rules {
				rules[i] = detour.Rule{
					ID:     "e" + strconv.Itoa(i),
					From:   "/catalog/item-" + strconv.Itoa(i) + "/details",
					To:     "/products/" + strconv.Itoa(i),
					Status: 307,
					Source: detour.Source{Seq: i},
				}
			}
			return rules, nil
		},
		req: func(n, i int, rng *rand.Rand) detour.Request {
			return detour.Request{Method: "GET", Scheme: "https", Host: "example.com",
				Path: "/catalog/item-" + strconv.Itoa(i) + "/details"}
		},
	},
	{
		// rows: a bulk table of exact rows.
		name: "rows",
		build: func(n int) ([]detour.Rule, []detour.Table) {
			rows := make([]detour.Row, n)
			for i := range rows {
				rows[i] = detour.Row{Line: i + 1, Path: "/old/" + strconv.Itoa(i) + ".html", To: "/new/" + strconv.Itoa(i)}
			}
			return nil, []detour.Table{{ID: "table:legacy.csv", File: "legacy.csv", Status: 301, Rows: rows}}
		},
		req: func(n, i int, rng *rand.Rand) detour.Request {
			return detour.Request{Method: "GET", Scheme: "https", Host: "example.com", Path: "/old/" + strconv.Itoa(i) + ".html"}
		},
	},
	{
		// migration: a bulk table shaped as a site migration's (the
		// rows of bench/tool's 1m set): 34-byte paths and 17-byte
		// targets, too long together to be inline in a slot.
		name: "migration",
		build: func(n int) ([]detour.Rule, []detour.Table) {
			rows := make([]detour.Row, n)
			for i := range rows {
				rows[i] = detour.Row{Line: i + 2, Path: fmt.Sprintf("/legacy/products/page-%07d.html", i), To: fmt.Sprintf("/new/news/%07d", i)}
			}
			return nil, []detour.Table{{ID: "table:table.csv", File: "table.csv", Status: 307, Rows: rows}}
		},
		req: func(n, i int, rng *rand.Rand) detour.Request {
			return detour.Request{Method: "GET", Scheme: "http", Host: "127.0.0.1", Path: fmt.Sprintf("/legacy/products/page-%07d.html", i)}
		},
	},
	{
		// patterns: segment prefixes, string prefixes and named segments
		// with captures, a third each.
		name: "patterns",
		build: func(n int) ([]detour.Rule, []detour.Table) {
			rules := make([]detour.Rule, n)
			for i := range rules {
				s := strconv.Itoa(i)
				r := detour.Rule{ID: "p" + s, Status: 307, Source: detour.Source{Seq: i}}
				switch i % 3 {
				case 0:
					r.From, r.To = "/docs-"+s+"/*", "/d/"+s+"/:splat"
				case 1:
					r.From, r.To = "/promo-"+s+"*", "/landing/"+s
				case 2:
					r.From, r.To = "/blog-"+s+"/:year/:slug", "/posts/"+s+"/:year/:slug"
				}
				rules[i] = r
			}
			return rules, nil
		},
		req: func(n, i int, rng *rand.Rand) detour.Request {
			s := strconv.Itoa(i)
			r := detour.Request{Method: "GET", Scheme: "https", Host: "example.com"}
			switch i % 3 {
			case 0:
				r.Path = "/docs-" + s + "/guide/intro"
			case 1:
				r.Path = "/promo-" + s + "-summer"
			case 2:
				r.Path = "/blog-" + s + "/2024/hello-world"
			}
			return r
		},
	},
	{
		// mixed: exact rules, table rows, patterns and ten regexes (which
		// the index answers before they are scanned).
		name: "mixed",
		build: func(n int) ([]detour.Rule, []detour.Table) {
			var rules []detour.Rule
			var rows []detour.Row
			for i := range n {
				s := strconv.Itoa(i)
				r := detour.Rule{ID: "m" + s, Status: 308, Source: detour.Source{Seq: i}}
				switch i % 4 {
				case 0:
					r.From, r.To = "/a/"+s, "/b/"+s
				case 1:
					rows = append(rows, detour.Row{Line: i, Path: "/old/" + s, To: "https://new.example.com/" + s})
					continue
				case 2:
					r.From, r.To = "/docs-"+s+"/*", "/d/"+s+"/:splat"
				case 3:
					r.From, r.To = "/u/"+s+"/:tab", "/users/"+s+"?tab=:tab"
				}
				rules = append(rules, r)
			}
			for i := range 10 {
				rules = append(rules, detour.Rule{ID: "rx" + strconv.Itoa(i), Status: 307,
					From: fmt.Sprintf("~^/legacy%d/([a-z]+)/([0-9]+)$", i), To: "/l/$1/$2", Source: detour.Source{Seq: n + i}})
			}
			return rules, []detour.Table{{ID: "table:m.csv", File: "m.csv", Rows: rows, Source: detour.Source{Seq: -1}}}
		},
		req: func(n, i int, rng *rand.Rand) detour.Request {
			s := strconv.Itoa(i)
			r := detour.Request{Method: "GET", Scheme: "https", Host: "example.com"}
			switch i % 4 {
			case 0:
				r.Path = "/a/" + s
			case 1:
				r.Path, r.Query = "/old/"+s, "utm=x"
			case 2:
				r.Path = "/docs-" + s + "/x/y"
			case 3:
				r.Path = "/u/" + s + "/posts"
			}
			return r
		},
	},
}

func BenchmarkLookup(b *testing.B) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, fam := range benchFamilies {
		for _, n := range benchSizes {
			// With b.Loop the function runs once, and the timer starts at
			// the first call of Loop: building is not measured.
			b.Run(fmt.Sprintf("%s/%d", fam.name, n), func(b *testing.B) {
				if testing.Short() && n > 100_000 {
					b.Skip("1M rules under -short")
				}
				rules, tables := fam.build(n)
				before := heapAlloc()
				tb, diags := match.Compile(rules, tables, match.Options{})
				if tb == nil {
					b.Fatalf("%s/%d: %v", fam.name, n, diags.Errors())
				}
				// What the Table holds: its heap, and what it maps outside
				// the heap.
				size := heapAlloc() - before + match.MappedBytes(tb)
				rng := rand.New(rand.NewPCG(uint64(n), 1))
				reqs := make([]detour.Request, benchRequests)
				for j := range reqs {
					reqs[j] = fam.req(n, rng.IntN(n), rng)
				}
				var m match.Match
				buf := make([]byte, 0, 256)
				// Let the collector finish with what building left behind,
				// so that its marking does not run during the loop.
				runtime.GC()
				b.ReportAllocs()
				i := 0
				for b.Loop() {
					req := &reqs[i&(benchRequests-1)]
					i++
					if !tb.Lookup(req, now, &m) {
						b.Fatalf("no match for %s", req.Path)
					}
					buf = m.AppendLocation(buf[:0])
				}
				b.ReportMetric(float64(size)/float64(n), "table-B/rule")
			})
		}
	}
}

// BenchmarkGoMap is a reference, not a product benchmark: Go's builtin
// map[string]string from each exact path to its target, with the same
// requests as BenchmarkLookup and each op one map read and one copy of
// the value into a reused buffer. It shows what one plain hash lookup
// costs on this machine at each size, next to BenchmarkLookup's.
func BenchmarkGoMap(b *testing.B) {
	for _, fam := range benchFamilies[:2] { // exact, rows
		for _, n := range benchSizes {
			b.Run(fmt.Sprintf("%s/%d", fam.name, n), func(b *testing.B) {
				if testing.Short() && n > 100_000 {
					b.Skip("1M rules under -short")
				}
				rules, tables := fam.build(n)
				m := make(map[string]string, n)
				for _, r := range rules {
					m[r.From] = r.To
				}
				for _, tb := range tables {
					for _, row := range tb.Rows {
						m[row.Path] = row.To
					}
				}
				rng := rand.New(rand.NewPCG(uint64(n), 1))
				reqs := make([]detour.Request, benchRequests)
				for j := range reqs {
					reqs[j] = fam.req(n, rng.IntN(n), rng)
				}
				buf := make([]byte, 0, 256)
				runtime.GC()
				b.ReportAllocs()
				i := 0
				for b.Loop() {
					req := &reqs[i&(benchRequests-1)]
					i++
					v, ok := m[req.Path]
					if !ok {
						b.Fatalf("no match for %s", req.Path)
					}
					buf = append(buf[:0], v...)
				}
			})
		}
	}
}

// BenchmarkSlotFloor is the floor under BenchmarkLookup at each size:
// one read of a random slot of an array as large as the exact index's,
// at a position the read before gave, and nothing else. Once the slots
// outgrow the CPU's caches (1M rules: 90 MB of slots) every lookup pays
// at least this one read, whatever the index.
func BenchmarkSlotFloor(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("slots/%d", n), func(b *testing.B) {
			if testing.Short() && n > 100_000 {
				b.Skip("1M rules under -short")
			}
			w := match.NewSlotWalk(n)
			for b.Loop() {
				w.Step()
			}
		})
	}
}

// heapAlloc returns the bytes of live heap objects, after a collection.
func heapAlloc() int64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapAlloc)
}
