// Package storetest is the contract every detour.RuleStore passes: one
// suite, run by each store package's tests against a real database
// (internal/sqlite today, internal/postgres next), unchanged.
package storetest

import (
	"context"
	"fmt"
	"reflect"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/detourhttp/detour"
)

// Run runs the contract against stores made by open, which returns a new,
// empty store for each subtest (closed by the suite).
func Run(t *testing.T, open func(t *testing.T) detour.RuleStore) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s detour.RuleStore)
	}{
		{"create and get every field", testCreateGet},
		{"create refuses a taken id", testCreateConflict},
		{"get unknown id", testGetNotFound},
		{"replace with versions", testReplace},
		{"set enabled", testSetEnabled},
		{"delete", testDelete},
		{"list order and paging", testListPaging},
		{"list filters", testListFilters},
		{"list bad cursor", testListBadCursor},
		{"hits", testHits},
		{"version and changes", testVersionChanges},
		{"ping", testPing},
		{"concurrent writers", testConcurrent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := open(t)
			t.Cleanup(func() { s.Close() })
			tt.fn(t, s)
		})
	}
}

// full is a rule with every field set.
func full(id string) detour.Rule {
	return detour.Rule{
		ID:      id,
		Host:    "shop.example.com",
		Scheme:  "https",
		From:    "/checkout/*",
		To:      "/maintenance",
		Status:  302,
		Query:   detour.QueryDrop,
		Methods: []string{"GET", "POST"},
		Window: detour.Window{
			Start: time.Date(2026, 12, 1, 2, 0, 0, 0, time.FixedZone("", 3600)),
			End:   time.Date(2026, 12, 1, 4, 0, 0, 0, time.UTC),
		},
		RetryAfter:          "window_end",
		Headers:             []detour.Header{{Name: "X-Reason", Value: "maintenance"}, {Name: "X-B", Value: "2"}},
		Priority:            10,
		CaseInsensitive:     true,
		TrailingSlashEither: true,
		Absolute:            true,
		MaxAge:              60,
	}
}

func simple(id, from string) detour.Rule {
	return detour.Rule{ID: id, From: from, To: "/to" + from, Status: 307, Query: detour.QueryPreserve}
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

// MustCreate creates r, enabled, and fails the test on error.
func MustCreate(tb testing.TB, s detour.RuleStore, r detour.Rule) *detour.RuntimeRule {
	tb.Helper()
	rr, err := s.CreateRule(context.Background(), r, true)
	if err != nil {
		tb.Fatalf("create %s: %v", r.ID, err)
	}
	return rr
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if got := detour.ErrorCode(err); got != code {
		t.Fatalf("error %v: code %q, want %q", err, got, code)
	}
}

// sameRule compares rules, times by instant and offset.
func sameRule(t *testing.T, got, want detour.Rule) {
	t.Helper()
	g, w := got, want
	if !g.Window.Start.Equal(w.Window.Start) || !g.Window.End.Equal(w.Window.End) {
		t.Errorf("window %v, want %v", g.Window, w.Window)
	}
	_, goff := g.Window.Start.Zone()
	_, woff := w.Window.Start.Zone()
	if goff != woff {
		t.Errorf("window start offset %d, want %d", goff, woff)
	}
	g.Window, w.Window = detour.Window{}, detour.Window{}
	g.Source, w.Source = detour.Source{}, detour.Source{}
	if !reflect.DeepEqual(g, w) {
		t.Errorf("rule\n got %+v\nwant %+v", g, w)
	}
}

func testCreateGet(t *testing.T, s detour.RuleStore) {
	before := time.Now().Add(-time.Second)
	created, err := s.CreateRule(ctx(t), full("checkout-maintenance"), false)
	if err != nil {
		t.Fatal(err)
	}
	if created.Version == 0 || created.Seq == 0 {
		t.Errorf("created version %d seq %d, want both set", created.Version, created.Seq)
	}
	if created.CreatedAt.Before(before) || !created.UpdatedAt.Equal(created.CreatedAt) {
		t.Errorf("created at %v updated at %v", created.CreatedAt, created.UpdatedAt)
	}
	got, err := s.Rule(ctx(t), "checkout-maintenance")
	if err != nil {
		t.Fatal(err)
	}
	sameRule(t, got.Rule, full("checkout-maintenance"))
	if got.Enabled {
		t.Error("enabled, want disabled as created")
	}
	if got.Version != created.Version || got.Seq != created.Seq {
		t.Errorf("get version %d seq %d, want %d %d", got.Version, got.Seq, created.Version, created.Seq)
	}
	if got.Hits != 0 || !got.LastHit.IsZero() {
		t.Errorf("hits %d last %v, want none", got.Hits, got.LastHit)
	}
}

func testCreateConflict(t *testing.T, s detour.RuleStore) {
	MustCreate(t, s, simple("a", "/a"))
	_, err := s.CreateRule(ctx(t), simple("a", "/other"), true)
	wantCode(t, err, detour.ECONFLICT)
	got, err := s.Rule(ctx(t), "a")
	if err != nil {
		t.Fatal(err)
	}
	if got.Rule.From != "/a" {
		t.Errorf("from %q after a refused create, want /a", got.Rule.From)
	}
}

func testGetNotFound(t *testing.T, s detour.RuleStore) {
	_, err := s.Rule(ctx(t), "nope")
	wantCode(t, err, detour.ENOTFOUND)
}

func testReplace(t *testing.T, s detour.RuleStore) {
	first := MustCreate(t, s, simple("a", "/a"))
	repl := simple("a", "/a2")
	tests := []struct {
		name      string
		id        string
		ifVersion func() int64
		code      string
	}{
		{"stale version", "a", func() int64 { return first.Version + 1000 }, detour.EPRECONDITION},
		{"unknown id", "zz", func() int64 { return 0 }, detour.ENOTFOUND},
		{"current version", "a", func() int64 { return first.Version }, ""},
		{"the version just replaced", "a", func() int64 { return first.Version }, detour.EPRECONDITION},
		{"no version", "a", func() int64 { return 0 }, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := repl
			r.ID = tt.id
			got, err := s.ReplaceRule(ctx(t), r, true, tt.ifVersion())
			if tt.code != "" {
				wantCode(t, err, tt.code)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Rule.From != "/a2" || got.Version <= first.Version || got.Seq != first.Seq || !got.CreatedAt.Equal(first.CreatedAt) {
				t.Errorf("replaced %+v; first %+v", got, first)
			}
		})
	}
}

func testSetEnabled(t *testing.T, s detour.RuleStore) {
	a := MustCreate(t, s, simple("a", "/a"))
	off, err := s.SetEnabled(ctx(t), "a", false, a.Version)
	if err != nil {
		t.Fatal(err)
	}
	if off.Enabled || off.Version <= a.Version {
		t.Errorf("disabled: enabled %v version %d (was %d)", off.Enabled, off.Version, a.Version)
	}
	_, err = s.SetEnabled(ctx(t), "a", true, a.Version)
	wantCode(t, err, detour.EPRECONDITION)
	on, err := s.SetEnabled(ctx(t), "a", true, 0)
	if err != nil || !on.Enabled {
		t.Fatalf("enable: %+v %v", on, err)
	}
	_, err = s.SetEnabled(ctx(t), "zz", true, 0)
	wantCode(t, err, detour.ENOTFOUND)
}

func testDelete(t *testing.T, s detour.RuleStore) {
	a := MustCreate(t, s, simple("a", "/a"))
	wantCode(t, s.DeleteRule(ctx(t), "a", a.Version+1000), detour.EPRECONDITION)
	if err := s.DeleteRule(ctx(t), "a", a.Version); err != nil {
		t.Fatal(err)
	}
	_, err := s.Rule(ctx(t), "a")
	wantCode(t, err, detour.ENOTFOUND)
	wantCode(t, s.DeleteRule(ctx(t), "a", 0), detour.ENOTFOUND)
	// The id may be used again, with a new version.
	again := MustCreate(t, s, simple("a", "/a"))
	if again.Version <= a.Version {
		t.Errorf("re-created version %d, want above %d", again.Version, a.Version)
	}
}

func testListPaging(t *testing.T, s detour.RuleStore) {
	var want []string
	for i := range 7 {
		id := "r" + strconv.Itoa(6-i) // ids not in creation order
		MustCreate(t, s, simple(id, "/p"+strconv.Itoa(i)))
		want = append(want, id)
	}
	tests := []struct {
		name  string
		limit int
		pages [][]string
	}{
		{"limit 3", 3, [][]string{want[:3], want[3:6], want[6:]}},
		{"limit 7: one page", 7, [][]string{want}},
		{"default limit", 0, [][]string{want}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			after := ""
			for i, wantPage := range tt.pages {
				p, err := s.ListRules(ctx(t), detour.RuleFilter{Limit: tt.limit, After: after})
				if err != nil {
					t.Fatal(err)
				}
				if got := ids(p.Rules); !reflect.DeepEqual(got, wantPage) {
					t.Errorf("page %d: %v, want %v", i, got, wantPage)
				}
				if last := i == len(tt.pages)-1; last != (p.Next == "") {
					t.Errorf("page %d: next %q", i, p.Next)
				}
				after = p.Next
			}
		})
	}
	all, err := s.AllRules(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	if got := ids(all); !reflect.DeepEqual(got, want) {
		t.Errorf("all rules %v, want %v", got, want)
	}
}

func testListFilters(t *testing.T, s detour.RuleStore) {
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	mk := func(id, host, from string, enabled bool, w detour.Window) {
		r := simple(id, from)
		r.Host, r.Window = host, w
		if _, err := s.CreateRule(ctx(t), r, enabled); err != nil {
			t.Fatal(err)
		}
	}
	mk("a", "example.com", "/docs/a", true, detour.Window{})
	mk("b", "example.com", "/blog/b", false, detour.Window{})
	mk("c", "", "/docs/c", true, detour.Window{End: now})                      // ended at now
	mk("d", "other.com", "/docs/d", true, detour.Window{Start: now})           // starts at now
	mk("e", "", "/x", true, detour.Window{Start: now.Add(time.Hour)})          // later
	mk("f", "", "/docs%/f", true, detour.Window{Start: now.Add(-time.Minute)}) // LIKE metacharacters
	yes, no := true, false
	tests := []struct {
		name   string
		filter detour.RuleFilter
		want   []string
	}{
		{"host", detour.RuleFilter{Host: "example.com"}, []string{"a", "b"}},
		{"path prefix", detour.RuleFilter{PathPrefix: "/docs/"}, []string{"a", "c", "d"}},
		{"path prefix with %", detour.RuleFilter{PathPrefix: "/docs%"}, []string{"f"}},
		{"enabled", detour.RuleFilter{Enabled: &yes}, []string{"a", "c", "d", "e", "f"}},
		{"disabled", detour.RuleFilter{Enabled: &no}, []string{"b"}},
		{"active at", detour.RuleFilter{ActiveAt: now}, []string{"a", "d", "f"}},
		{"host and prefix", detour.RuleFilter{Host: "example.com", PathPrefix: "/docs"}, []string{"a"}},
		{"no match", detour.RuleFilter{Host: "nowhere.example"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := s.ListRules(ctx(t), tt.filter)
			if err != nil {
				t.Fatal(err)
			}
			if got := ids(p.Rules); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func testListBadCursor(t *testing.T, s detour.RuleStore) {
	_, err := s.ListRules(ctx(t), detour.RuleFilter{After: "not-a-cursor"})
	wantCode(t, err, detour.EINVALID)
}

func testHits(t *testing.T, s detour.RuleStore) {
	MustCreate(t, s, simple("a", "/a"))
	t1 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	t2 := t1.Add(time.Hour)
	steps := [][]detour.Hit{
		{{ID: "a", Count: 3, Last: t2}, {ID: "file-rule", Count: 1, Last: t1}},
		{{ID: "a", Count: 2, Last: t1}}, // an older last hit does not move it back
	}
	for _, hs := range steps {
		if err := s.AddHits(ctx(t), hs); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.Hits(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]detour.Hit{
		"a":         {ID: "a", Count: 5, Last: t2},
		"file-rule": {ID: "file-rule", Count: 1, Last: t1},
	}
	for id, w := range want {
		g := got[id]
		if g.Count != w.Count || !g.Last.Equal(w.Last) {
			t.Errorf("hits %s: %+v, want %+v", id, g, w)
		}
	}
	rr, err := s.Rule(ctx(t), "a")
	if err != nil {
		t.Fatal(err)
	}
	if rr.Hits != 5 || !rr.LastHit.Equal(t2) {
		t.Errorf("rule hits %d last %v, want 5 %v", rr.Hits, rr.LastHit, t2)
	}
	v, err := s.Version(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.AddHits(ctx(t), []detour.Hit{{ID: "a", Count: 1, Last: t2}}); err != nil {
		t.Fatal(err)
	}
	if v2, _ := s.Version(ctx(t)); v2 != v {
		t.Errorf("AddHits moved the version from %d to %d", v, v2)
	}
}

func testVersionChanges(t *testing.T, s detour.RuleStore) {
	drain := func() {
		for {
			select {
			case <-s.Changes():
			default:
				return
			}
		}
	}
	v0, err := s.Version(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		name  string
		write func() error
	}{
		{"create", func() error { _, err := s.CreateRule(ctx(t), simple("a", "/a"), true); return err }},
		{"replace", func() error { _, err := s.ReplaceRule(ctx(t), simple("a", "/b"), true, 0); return err }},
		{"disable", func() error { _, err := s.SetEnabled(ctx(t), "a", false, 0); return err }},
		{"delete", func() error { return s.DeleteRule(ctx(t), "a", 0) }},
	}
	prev := v0
	for _, st := range steps {
		drain()
		if err := st.write(); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		v, err := s.Version(ctx(t))
		if err != nil {
			t.Fatal(err)
		}
		if v <= prev {
			t.Errorf("%s: version %d, want above %d", st.name, v, prev)
		}
		prev = v
		select {
		case <-s.Changes():
		case <-time.After(5 * time.Second):
			t.Errorf("%s: no change notified", st.name)
		}
	}
	// A refused write changes nothing.
	_, err = s.SetEnabled(ctx(t), "gone", true, 0)
	wantCode(t, err, detour.ENOTFOUND)
	if v, _ := s.Version(ctx(t)); v != prev {
		t.Errorf("refused write moved the version from %d to %d", prev, v)
	}
}

func testPing(t *testing.T, s detour.RuleStore) {
	if err := s.Ping(ctx(t)); err != nil {
		t.Fatal(err)
	}
}

// testConcurrent: writers at once all commit, each write with its own
// version.
func testConcurrent(t *testing.T, s detour.RuleStore) {
	const writers, each = 4, 8
	var wg sync.WaitGroup
	errs := make(chan error, writers*each)
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				id := fmt.Sprintf("w%d-%d", w, i)
				if _, err := s.CreateRule(context.Background(), simple(id, "/"+id), true); err != nil {
					errs <- err
					return
				}
				if err := s.AddHits(context.Background(), []detour.Hit{{ID: "shared", Count: 1}}); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	all, err := s.AllRules(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	versions := map[int64]bool{}
	for _, r := range all {
		versions[r.Version] = true
	}
	if len(all) != writers*each || len(versions) != len(all) {
		t.Errorf("%d rules with %d distinct versions, want %d", len(all), len(versions), writers*each)
	}
	hits, err := s.Hits(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	if got := hits["shared"].Count; got != writers*each {
		t.Errorf("shared hits %d, want %d", got, writers*each)
	}
}

func ids(rs []*detour.RuntimeRule) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.Rule.ID)
	}
	return out
}
