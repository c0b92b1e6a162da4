package match_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/detourhttp/detour"
	"github.com/detourhttp/detour/match"
)

func TestSamples(t *testing.T) {
	tests := []struct {
		name string
		rule detour.Rule
		want []string // samples that must be among the results
	}{
		{"exact", r("a", "/about/team"), []string{"/about/team"}},
		{"exact with escapes", r("a", "/caf%C3%A9"), []string{"/caf%C3%A9"}},
		{"exact non-ASCII", r("a", "/café"), []string{"/caf%C3%A9"}},
		{"segment prefix", r("a", "/docs/*"), []string{"/docs/a", "/docs/x/y", "/docs"}},
		{"root prefix", r("a", "/*"), []string{"/a", "/x/y"}},
		{"string prefix", r("a", "/promo*"), []string{"/promoa", "/promo/x/y", "/promo"}},
		{"named", r("a", "/blog/:year/:slug"), []string{"/blog/a/b2"}},
		{"named and splat", r("a", "/u/:id/*"), []string{"/u/a/a", "/u/b2/x/y"}},
		{"query present", r("a", "/p?debug"), []string{"/p?debug"}},
		{"query equal", r("a", "/p?id=5&lang=en"), []string{"/p?id=5&lang=en"}},
		{"query capture", r("a", "/product.php?id=:id"), []string{"/product.php?id=a"}},
		{"regex", r("a", "~^/item/([0-9]+)$"), []string{"/item/0"}},
		{"regex alternation", r("a", "~^/(en|fr)/(.+)$"), []string{"/en/a", "/fr/xx"}},
		{"regex case-insensitive", r("a", "~*^/Item/[a-z]{2,3}$"), nil},
		{"unanchored regex", r("a", "~legacy"), []string{"/legacy"}},
		{"case-insensitive", r("a", "/About/*", ci), []string{"/about/a"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := match.Samples(&tt.rule, 5)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) == 0 || len(got) > 5 {
				t.Fatalf("got %d samples", len(got))
			}
			for _, w := range tt.want {
				if !slices.Contains(got, w) {
					t.Errorf("samples %q lack %q", got, w)
				}
			}
			// Every sample reaches its rule in a one-rule table.
			rl := tt.rule
			rl.Source = detour.Source{File: "rules.yaml", Line: 1}
			tb := mustCompile(t, match.Options{}, rl)
			for _, s := range got {
				rawPath, query, _ := strings.Cut(s, "?")
				path, err := detour.NormalizePath(rawPath, false)
				if err != nil {
					t.Fatalf("sample %q: %v", s, err)
				}
				var m match.Match
				if !tb.Lookup(&detour.Request{Method: "GET", Path: path, Query: query}, time.Time{}, &m) {
					t.Errorf("sample %q does not match %q", s, tt.rule.From)
				}
			}
		})
	}
}

func TestSamplesCount(t *testing.T) {
	rl := r("a", "/docs/*")
	for n, want := range map[int]int{0: 0, 1: 1, 2: 2, 10: 3} {
		got, err := match.Samples(&rl, n)
		if err != nil || len(got) != want {
			t.Errorf("n=%d: got %q, %v; want %d", n, got, err, want)
		}
	}
}

func TestSamplesErrors(t *testing.T) {
	for name, from := range map[string]string{
		"bad pattern":   "/a/*/b",
		"impossible":    `~^/a$b`,
		"no path regex": `~^a$`,
	} {
		t.Run(name, func(t *testing.T) {
			rl := r("a", from)
			if got, err := match.Samples(&rl, 3); err == nil {
				t.Errorf("got %q, want an error", got)
			}
		})
	}
	if _, err := match.Samples(nil, 1); err == nil {
		t.Error("nil rule: no error")
	}
}

// TestSamplesOfRandomRules: samples of every random rule of the
// differential test reach that rule alone.
func TestSamplesOfRandomRules(t *testing.T) {
	rng := newRand(11)
	for range 300 {
		for _, rl := range randRules(rng, 5) {
			rl.Host, rl.Methods, rl.Scheme, rl.Window = "", nil, "", detour.Window{}
			got, err := match.Samples(&rl, 4)
			if err != nil {
				t.Fatalf("%s: %v", rl.From, err)
			}
			rl.Source = detour.Source{File: "x", Line: 1}
			tb := mustCompile(t, match.Options{}, rl)
			for _, s := range got {
				rawPath, query, _ := strings.Cut(s, "?")
				path, err := detour.NormalizePath(rawPath, false)
				var m match.Match
				if err != nil || !tb.Lookup(&detour.Request{Method: "GET", Path: path, Query: query}, time.Time{}, &m) {
					t.Fatalf("sample %q of %q does not match", s, rl.From)
				}
			}
		}
	}
}
