package match_test

import (
	"testing"
	"time"

	"github.com/detourhttp/detour"
	"github.com/detourhttp/detour/match"
)

func TestSmoke(t *testing.T) {
	rules := []detour.Rule{
		{ID: "a", From: "/original-resource", To: "/temporary-resource"},
		{ID: "b", From: "/docs/*", To: "https://docs.example.com/:splat", Status: 308},
		{ID: "c", From: "/promo*", To: "/landing"},
		{ID: "d", From: "/blog/:year/:slug", To: "/posts/:year/:slug"},
		{ID: "e", From: "~^/item/([0-9]+)$", To: "/items/$1"},
		{ID: "f", From: "/product.php?id=:id", To: "/products/:id", Query: detour.QueryDrop},
		{ID: "g", From: "/gone", Status: 410},
	}
	for i := range rules {
		rules[i].Source = detour.Source{File: "x.yaml", Line: i + 1, Seq: i}
	}
	tb, diags := match.Compile(rules, nil, match.Options{})
	if tb == nil {
		t.Fatal(diags)
	}
	for _, tc := range []struct{ path, query, want string }{
		{"/original-resource", "", "/temporary-resource"},
		{"/original-resource", "a=1", "/temporary-resource?a=1"},
		{"/docs/a/b", "", "https://docs.example.com/a/b"},
		{"/docs", "", "https://docs.example.com/"},
		{"/promotion", "", "/landing"},
		{"/blog/2024/hello", "", "/posts/2024/hello"},
		{"/item/42", "", "/items/42"},
		{"/product.php", "id=7&x=1", "/products/7"},
		{"/gone", "", ""},
	} {
		var m match.Match
		ok := tb.Lookup(&detour.Request{Method: "GET", Path: tc.path, Query: tc.query}, time.Time{}, &m)
		if !ok {
			t.Errorf("%s: no match", tc.path)
			continue
		}
		if got := m.Location(); got != tc.want {
			t.Errorf("%s: got %q want %q", tc.path, got, tc.want)
		}
	}
}
