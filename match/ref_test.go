package match_test

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/detourhttp/detour"
	"github.com/detourhttp/detour/match"
)

// This file holds a naive reference of SPEC §1.2: every rule is tried
// against the request by a straightforward matcher (named segments become
// a regular expression), the candidates are sorted by a comparator written
// from the spec, and the first one answers. The differential tests check
// that Table.Lookup and Table.Candidates agree with it on many random rule
// sets and requests.

// refCand is a matching rule or row with what precedence looks at.
type refCand struct {
	rule *detour.Rule  // a rule; nil for a row
	tbl  *detour.Table // a row's table
	row  *detour.Row

	tier   int // 0 exact host, 1 wildcard, 2 any host
	suffix int
	prio   int
	class  int // 0 exact path, 1 pattern, 2 regex
	lit    int // literal prefix length
	kind   int // 0 named, 1 segment prefix, 2 string prefix
	sig    string
	isRow  bool
	nq     int
	ord    int

	caps []string // capture values in the order the target uses them
	rest string   // subpath rows
}

// ref is the reference matcher over a rule set.
type ref struct {
	rules      []detour.Rule
	tables     []detour.Table
	firstMatch bool
	ords       map[any]int
}

func newRef(rules []detour.Rule, tables []detour.Table, order detour.Order) *ref {
	r := &ref{rules: rules, tables: tables, firstMatch: order == detour.OrderFirstMatch, ords: map[any]int{}}
	type item struct {
		seq, table, i int
		key           any
	}
	var items []item
	for i := range rules {
		items = append(items, item{rules[i].Source.Seq, 0, i, &rules[i]})
	}
	for i := range tables {
		items = append(items, item{tables[i].Source.Seq, 1, i, &tables[i]})
	}
	slices.SortFunc(items, func(a, b item) int {
		return cmp.Or(cmp.Compare(a.seq, b.seq), cmp.Compare(a.table, b.table), cmp.Compare(a.i, b.i))
	})
	for ord, it := range items {
		r.ords[it.key] = ord
	}
	return r
}

// hostTier places the request host against a host matcher: ok, tier and
// wildcard suffix length.
func hostTier(matcher, host string, subdomains bool) (bool, int, int) {
	switch {
	case matcher == "":
		return true, 2, 0
	case strings.HasPrefix(matcher, "*."):
		s := matcher[2:]
		if strings.HasSuffix(host, "."+s) {
			return true, 1, len(s)
		}
	case host == matcher:
		return true, 0, 0
	case subdomains && strings.HasSuffix(host, "."+matcher):
		return true, 1, len(matcher)
	}
	return false, 0, 0
}

func foldIf(ci bool, s string) string {
	if !ci {
		return s
	}
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 32
		}
	}
	return string(b)
}

// toggleSlash returns p with its trailing slash removed, or with one
// added: what trailing_slash: either also matches.
func toggleSlash(p string) string {
	switch {
	case p == "/":
		return p
	case strings.HasSuffix(p, "/"):
		return p[:len(p)-1]
	}
	return p + "/"
}

// formDecode decodes a query name or value as a form does ("+" is a
// space); an escape that is not one stays as it is.
func formDecode(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '+' {
			c = ' '
		} else if c == '%' && i+2 < len(s) {
			if v, err := url.PathUnescape(s[i : i+3]); err == nil {
				b.WriteString(v)
				i += 2
				continue
			}
		}
		b.WriteByte(c)
	}
	return b.String()
}

// refQuery reports whether raw query q meets the conditions cond (the
// part of from after "?"), and returns the captured values in order.
func refQuery(cond, q string) (bool, []string) {
	type param struct{ name, value string }
	var params []param
	for _, p := range strings.Split(q, "&") {
		if p == "" {
			continue
		}
		n, v, _ := strings.Cut(p, "=")
		params = append(params, param{formDecode(n), formDecode(v)})
	}
	var caps []string
	for _, c := range strings.Split(cond, "&") {
		name, want, hasValue := strings.Cut(c, "=")
		name = formDecode(name)
		if !strings.HasPrefix(want, ":") {
			want = formDecode(want)
		}
		found := false
		for _, p := range params {
			if p.name != name {
				continue
			}
			switch {
			case !hasValue:
				found = true
			case strings.HasPrefix(want, ":"):
				found = true
				caps = append(caps, p.value)
			case p.value == want:
				found = true
			}
			if found {
				break
			}
		}
		if !found {
			return false, nil
		}
	}
	return true, caps
}

// matchRule matches one rule; the captures are in the order of the
// rule's names (named segments, splat, query captures) or regex groups.
func (rf *ref) matchRule(r *detour.Rule, req *detour.Request, now time.Time) (refCand, bool) {
	c := refCand{rule: r, prio: r.Priority, ord: rf.ords[r]}
	ok, tier, suffix := hostTier(r.Host, req.Host, false)
	if !ok || r.Scheme != "" && r.Scheme != req.Scheme || !r.AnswersMethod(req.Method) {
		return c, false
	}
	if !now.IsZero() && !r.Window.Active(now) {
		return c, false
	}
	c.tier, c.suffix = tier, suffix
	from := r.From
	if strings.HasPrefix(from, "~") {
		src := from[1:]
		if strings.HasPrefix(src, "*") {
			src = "(?i)" + src[1:]
		}
		re := regexp.MustCompile(src)
		idx := re.FindStringSubmatchIndex(req.Path)
		if idx == nil {
			return c, false
		}
		c.class = 2
		for g := 1; g < len(idx)/2; g++ {
			if idx[2*g] < 0 {
				c.caps = append(c.caps, "")
			} else {
				c.caps = append(c.caps, req.Path[idx[2*g]:idx[2*g+1]])
			}
		}
		return c, true
	}
	pathPat, cond, hasCond := strings.Cut(from, "?")
	ci, path := r.CaseInsensitive, req.Path
	fp := foldIf(ci, path)
	switch {
	case strings.HasSuffix(pathPat, "/*") && !strings.Contains(pathPat, "/:"):
		l := foldIf(ci, strings.TrimSuffix(pathPat, "/*"))
		switch {
		case fp == l:
			c.caps = []string{""}
		case strings.HasPrefix(fp, l+"/"):
			c.caps = []string{path[len(l)+1:]}
		default:
			return c, false
		}
		c.class, c.kind, c.lit = 1, 1, len(l)+1
	case strings.HasSuffix(pathPat, "*") && !strings.Contains(pathPat, "/:"):
		l := foldIf(ci, strings.TrimSuffix(pathPat, "*"))
		if !strings.HasPrefix(fp, l) {
			return c, false
		}
		c.caps = []string{path[len(l):]}
		c.class, c.kind, c.lit = 1, 2, len(l)
	case strings.Contains(pathPat, "/:"):
		// Named segments, as a regular expression over the folded path.
		body := strings.TrimSuffix(pathPat, "*")
		splat := body != pathPat
		if splat {
			body = strings.TrimSuffix(body, "/")
		}
		segs := strings.Split(body, "/")[1:]
		var b strings.Builder
		b.WriteString("^")
		litDone := false
		litLen := 0
		for _, s := range segs {
			b.WriteString("/")
			litLen++
			if strings.HasPrefix(s, ":") {
				if !litDone {
					c.lit = litLen
					litDone = true
				}
				b.WriteString("([^/]+)")
				c.sig += "b"
				continue
			}
			b.WriteString(regexp.QuoteMeta(foldIf(ci, s)))
			litLen += len(s)
			if litDone {
				c.sig += "a"
			}
		}
		switch {
		case splat:
			b.WriteString("(?:/((?s:.*)))?$") // a splat takes any byte, a decoded newline too
			c.sig += "d"
		case r.TrailingSlashEither:
			b.WriteString("/?$")
			c.sig += "c"
		default:
			b.WriteString("$")
			c.sig += "c"
		}
		idx := regexp.MustCompile(b.String()).FindStringSubmatchIndex(fp)
		if idx == nil {
			return c, false
		}
		for g := 1; g < len(idx)/2; g++ {
			if idx[2*g] < 0 {
				c.caps = append(c.caps, "")
			} else {
				c.caps = append(c.caps, path[idx[2*g]:idx[2*g+1]])
			}
		}
		c.class, c.kind = 1, 0
	default:
		p := foldIf(ci, pathPat)
		if !(fp == p || r.TrailingSlashEither && fp == toggleSlash(p)) {
			return c, false
		}
		c.class = 0
	}
	if hasCond {
		ok, qcaps := refQuery(cond, req.Query)
		if !ok {
			return c, false
		}
		c.caps = append(c.caps, qcaps...)
		c.nq = len(strings.Split(cond, "&"))
	}
	return c, true
}

// matchRows matches the rows of a table.
func (rf *ref) matchRows(tb *detour.Table, req *detour.Request) []refCand {
	if req.Method == "OPTIONS" {
		return nil
	}
	var out []refCand
	for i := range tb.Rows {
		row := &tb.Rows[i]
		host := row.Host
		if host == "" {
			host = tb.Host
		}
		ok, tier, suffix := hostTier(host, req.Host, tb.IncludeSubdomains)
		if !ok {
			continue
		}
		c := refCand{tbl: tb, row: row, isRow: true, tier: tier, suffix: suffix, ord: rf.ords[tb]}
		fp, p := foldIf(tb.CaseInsensitive, req.Path), foldIf(tb.CaseInsensitive, row.Path)
		switch {
		case fp == p:
			out = append(out, c)
		case tb.Subpath && strings.HasPrefix(fp, strings.TrimSuffix(p, "/")+"/"):
			c.class, c.kind, c.lit = 1, 1, len(strings.TrimSuffix(p, "/"))+1
			c.rest = req.Path[len(strings.TrimSuffix(p, "/")):]
			out = append(out, c)
		}
	}
	return out
}

// candidates returns the reference's candidates, best first.
func (rf *ref) candidates(req *detour.Request, now time.Time) []refCand {
	var cs []refCand
	for i := range rf.rules {
		if c, ok := rf.matchRule(&rf.rules[i], req, now); ok {
			cs = append(cs, c)
		}
	}
	for i := range rf.tables {
		cs = append(cs, rf.matchRows(&rf.tables[i], req)...)
	}
	// A rule with the same host and exact path shadows a row: rows matched
	// exactly drop out when an exact rule of the same host tier and
	// priority matches.
	kept := cs[:0:0]
	for _, c := range cs {
		if c.isRow && c.class == 0 && slices.ContainsFunc(cs, func(o refCand) bool {
			return !o.isRow && o.class == 0 && o.tier == c.tier && o.suffix == c.suffix && o.prio == c.prio
		}) {
			continue
		}
		kept = append(kept, c)
	}
	slices.SortStableFunc(kept, rf.compare)
	return kept
}

// compare is SPEC §1.2 as a comparator.
func (rf *ref) compare(a, b refCand) int {
	if c := cmp.Or(cmp.Compare(a.tier, b.tier), cmp.Compare(b.suffix, a.suffix), cmp.Compare(b.prio, a.prio)); c != 0 {
		return c
	}
	if rf.firstMatch {
		if c := cmp.Compare(a.ord, b.ord); c != 0 {
			return c
		}
	}
	if c := cmp.Compare(a.class, b.class); c != 0 {
		return c
	}
	if a.class == 1 {
		if c := cmp.Or(cmp.Compare(b.lit, a.lit), cmp.Compare(a.kind, b.kind), strings.Compare(a.sig, b.sig)); c != 0 {
			return c
		}
	}
	if a.isRow != b.isRow {
		if a.isRow {
			return 1
		}
		return -1
	}
	if !rf.firstMatch {
		if c := cmp.Compare(b.nq, a.nq); c != 0 {
			return c
		}
	}
	if c := cmp.Compare(a.ord, b.ord); c != 0 {
		return c
	}
	if a.row != nil && b.row != nil {
		return cmp.Compare(a.row.Line, b.row.Line)
	}
	return 0
}

// location renders the reference Location of the random targets, which
// are "/tN" followed by "/" and each capture, or "/rowN" and the rest.
func (c refCand) location(req *detour.Request) string {
	var loc string
	if c.row != nil {
		loc = c.row.To + c.rest
	} else {
		loc = c.rule.To
		if i := strings.IndexByte(loc[1:], '/'); i >= 0 {
			loc = loc[:i+1]
		}
		for _, v := range c.caps {
			loc += "/" + v
		}
	}
	if req.Query != "" {
		loc += "?" + req.Query
	}
	return loc
}

func (c refCand) String() string {
	if c.row != nil {
		return fmt.Sprintf("%s row %d", c.tbl.ID, c.row.Line)
	}
	return c.rule.ID + " " + c.rule.From
}

// ---- random rule sets ----

var (
	segWords = []string{"a", "b", "ab", "A", "x"}
	regexes  = []string{`~^/a/([a-z]+)$`, `~^/(a|b)/`, `~*^/ab`, `~/x$`, `~^/([^/]+)/([^/]+)$`, `~^/(A|a)(b)?`}
	hosts    = []string{"", "", "", "ex.com", "*.ex.com", "a.ex.com", "*.a.ex.com"}
	clock    = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
)

func randPath(rng *rand.Rand, maxSegs int) string {
	n := 1 + rng.IntN(maxSegs)
	var b strings.Builder
	for range n {
		b.WriteString("/")
		if rng.IntN(20) > 0 {
			b.WriteString(segWords[rng.IntN(len(segWords))])
		}
	}
	if rng.IntN(5) == 0 {
		b.WriteString("/")
	}
	return b.String()
}

// randFrom returns a random from pattern and the capture references its
// target uses.
func randFrom(rng *rand.Rand) (from string, refs []string) {
	switch rng.IntN(6) {
	case 0, 1:
		from = randPath(rng, 3)
	case 2:
		from = strings.TrimSuffix(randPath(rng, 2), "/") + "/*"
		if rng.IntN(6) == 0 {
			from = "/*"
		}
		refs = []string{":splat"}
	case 3:
		base := strings.TrimSuffix(randPath(rng, 2), "/")
		if base == "" {
			base = "/x"
		}
		from = base + "*"
		refs = []string{":splat"}
	case 4:
		segs := 1 + rng.IntN(3)
		var b strings.Builder
		np := 0
		for i := range segs {
			if rng.IntN(2) == 0 || i == segs-1 && np == 0 {
				np++
				fmt.Fprintf(&b, "/:p%d", np)
				refs = append(refs, fmt.Sprintf(":p%d", np))
			} else {
				b.WriteString("/" + segWords[rng.IntN(len(segWords))])
			}
		}
		if rng.IntN(4) == 0 {
			b.WriteString("/*")
			refs = append(refs, ":splat")
		}
		from = b.String()
	case 5:
		from = regexes[rng.IntN(len(regexes))]
		n := regexp.MustCompile(strings.TrimPrefix(strings.TrimPrefix(from, "~"), "*")).NumSubexp()
		for g := 1; g <= n; g++ {
			refs = append(refs, fmt.Sprintf("$%d", g))
		}
		return from, refs
	}
	if rng.IntN(8) == 0 {
		switch rng.IntN(3) {
		case 0:
			from += "?q"
		case 1:
			from += "?q=1"
		case 2:
			from += "?q=:v"
			refs = append(refs, ":v")
		}
	}
	return from, refs
}

func randRules(rng *rand.Rand, n int) []detour.Rule {
	var rules []detour.Rule
	type tieKey struct {
		host, from string
		prio       int
	}
	seen := map[tieKey]bool{}
	for i := 0; len(rules) < n && i < 10*n; i++ {
		from, refs := randFrom(rng)
		r := detour.Rule{
			ID:     fmt.Sprintf("r%d", len(rules)),
			Host:   hosts[rng.IntN(len(hosts))],
			From:   from,
			To:     fmt.Sprintf("/t%d", len(rules)),
			Status: 307,
		}
		for _, ref := range refs {
			r.To += "/" + ref
		}
		if !strings.HasPrefix(from, "~") {
			r.CaseInsensitive = rng.IntN(8) == 0
			r.TrailingSlashEither = rng.IntN(6) == 0
		}
		switch rng.IntN(10) {
		case 0:
			r.Priority = 1
		case 1:
			r.Priority = -1
		}
		switch rng.IntN(10) {
		case 0:
			r.Methods = []string{"GET"}
		case 1:
			r.Methods = []string{"POST"}
		}
		if rng.IntN(10) == 0 {
			r.Scheme = "http"
		}
		switch rng.IntN(12) {
		case 0:
			r.Window = detour.Window{End: clock.Add(-time.Hour)}
		case 1:
			r.Window = detour.Window{Start: clock.Add(-time.Hour), End: clock.Add(time.Hour)}
		}
		k := tieKey{r.Host, r.From, r.Priority}
		if seen[k] {
			continue
		}
		seen[k] = true
		rules = append(rules, r)
	}
	return rules
}

func randTables(rng *rand.Rand, firstSeq int) []detour.Table {
	var tables []detour.Table
	// Rows with the same host and path are a load error, within a table
	// and across tables.
	seen := map[string]bool{}
	for ti := range rng.IntN(3) {
		tb := detour.Table{
			ID:                fmt.Sprintf("table%d", ti),
			File:              fmt.Sprintf("t%d.csv", ti),
			Source:            detour.Source{File: "rules.yaml", Line: 100 + ti, Seq: firstSeq + ti*7},
			Status:            301,
			Host:              []string{"", "ex.com"}[rng.IntN(2)],
			IncludeSubdomains: rng.IntN(3) == 0,
			Subpath:           rng.IntN(2) == 0,
			CaseInsensitive:   rng.IntN(5) == 0,
		}
		for i := range 1 + rng.IntN(8) {
			row := detour.Row{Line: i + 2, Path: randPath(rng, 2)}
			if rng.IntN(5) == 0 {
				row.Host = "a.ex.com"
			}
			host := row.Host
			if host == "" {
				host = tb.Host
			}
			ci := fmt.Sprint(tb.CaseInsensitive)
			key := host + "|" + ci + "|" + foldIf(tb.CaseInsensitive, row.Path)
			sub := host + "|" + ci + "|sub|" + foldIf(tb.CaseInsensitive, strings.TrimSuffix(row.Path, "/"))
			if seen[key] || tb.Subpath && seen[sub] {
				continue
			}
			seen[key] = true
			if tb.Subpath {
				seen[sub] = true
			}
			row.To = fmt.Sprintf("/row%d", row.Line)
			if rng.IntN(3) == 0 {
				// Too long to be inline with its key: an out entry, or
				// a long one.
				row.To += "/" + strings.Repeat("x", 40)
			}
			tb.Rows = append(tb.Rows, row)
		}
		tables = append(tables, tb)
	}
	return tables
}

func randRequest(rng *rand.Rand) *detour.Request {
	req := &detour.Request{
		Method: []string{"GET", "GET", "HEAD", "POST", "OPTIONS"}[rng.IntN(5)],
		Scheme: []string{"http", "https"}[rng.IntN(2)],
		Host:   []string{"", "ex.com", "a.ex.com", "b.a.ex.com", "other.com"}[rng.IntN(5)],
		Path:   randPath(rng, 4),
		Query:  []string{"", "", "q", "q=1", "q=2&q=1", "z=1"}[rng.IntN(6)],
	}
	if rng.IntN(6) == 0 {
		req.Path = "/" + []string{"b", "c"}[rng.IntN(2)] + req.Path
	}
	return req
}

// describe identifies a candidate of the package.
func describe(c match.Candidate) string {
	if c.Row > 0 {
		return fmt.Sprintf("%s row %d", c.Rule.ID, c.Row)
	}
	return c.Rule.ID + " " + c.Rule.From
}

// checkAgainstRef compares Lookup and Candidates with the reference for
// one request; it returns a description of the first difference.
func checkAgainstRef(tb *match.Table, rf *ref, req *detour.Request, now time.Time) string {
	return checkRef(tb, rf, req, now, true)
}

// checkRef is checkAgainstRef; the Location is compared only with loc
// (the reference renders captures without encoding them).
func checkRef(tb *match.Table, rf *ref, req *detour.Request, now time.Time, loc bool) string {
	want := rf.candidates(req, now)
	got := tb.Candidates(req, now)
	var ws, gs []string
	for _, c := range want {
		ws = append(ws, c.String())
	}
	for _, c := range got {
		gs = append(gs, describe(c))
	}
	if !slices.Equal(ws, gs) {
		return fmt.Sprintf("candidates for %+v at %v:\n got  %q\n want %q", *req, now, gs, ws)
	}
	var m match.Match
	ok := tb.Lookup(req, now, &m)
	if ok != (len(want) > 0) {
		return fmt.Sprintf("lookup %+v: got ok=%v, want %d candidates %q", *req, ok, len(want), ws)
	}
	if !ok {
		return ""
	}
	gotBest := describe(match.Candidate{Rule: m.Rule, Row: m.Row})
	if gotBest != ws[0] {
		return fmt.Sprintf("lookup %+v: got %s, want %s", *req, gotBest, ws[0])
	}
	if got, wantLoc := m.Location(), want[0].location(req); loc && got != wantLoc {
		return fmt.Sprintf("lookup %+v: %s: location %q, want %q", *req, ws[0], got, wantLoc)
	}
	return ""
}

func TestLookupMatchesReference(t *testing.T) {
	rounds := 400
	if testing.Short() {
		rounds = 60
	}
	for round := range rounds {
		rng := rand.New(rand.NewPCG(uint64(round), 7))
		size := 1 + rng.IntN(30)
		if round%10 == 9 {
			size = 150 // crowded: many rules match each request
		}
		rules := randRules(rng, size)
		for i := range rules {
			rules[i].Source = detour.Source{File: "rules.yaml", Line: i + 1, Seq: i * 3}
		}
		tables := randTables(rng, rng.IntN(len(rules)*3+1))
		order := detour.OrderSpecificity
		if round%3 == 2 {
			order = detour.OrderFirstMatch
		}
		tb, diags := match.Compile(rules, tables, match.Options{Order: order})
		if tb == nil {
			t.Fatalf("round %d: compile: %v", round, diags)
		}
		rf := newRef(rules, tables, order)
		for range 200 {
			req := randRequest(rng)
			now := clock
			if rng.IntN(4) == 0 {
				now = time.Time{}
			}
			if diff := checkAgainstRef(tb, rf, req, now); diff != "" {
				var lines []string
				for _, r := range rules {
					lines = append(lines, fmt.Sprintf("  %s host=%q from=%q prio=%d ci=%v either=%v methods=%v scheme=%q window=%v",
						r.ID, r.Host, r.From, r.Priority, r.CaseInsensitive, r.TrailingSlashEither, r.Methods, r.Scheme, !r.Window.IsZero()))
				}
				for _, tbl := range tables {
					lines = append(lines, fmt.Sprintf("  %s host=%q sub=%v subpath=%v ci=%v rows=%v", tbl.ID, tbl.Host, tbl.IncludeSubdomains, tbl.Subpath, tbl.CaseInsensitive, tbl.Rows))
				}
				t.Fatalf("round %d (%s): %s\nrules:\n%s", round, order, diff, strings.Join(lines, "\n"))
			}
		}
	}
}

func newRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 7)) }
