package ruleset

import (
	"cmp"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/detourhttp/detour"
	"github.com/detourhttp/detour/match"
)

// LintOptions bound the redirect-graph analysis of Lint. The zero value
// uses the defaults.
type LintOptions struct {
	// Samples is how many sample requests are drawn from each rule's
	// pattern (match.Samples); 0 means 4.
	Samples int
	// MaxHops bounds each followed chain; 0 means 16. A chain that is
	// still going after MaxHops hops is reported as a possible loop.
	MaxHops int
	// MaxLookups bounds the lookups of the whole analysis; 0 means
	// 10,000,000. Past it the analysis stops and says so in a warning.
	MaxLookups int
}

// Per-kind caps on the findings reported one by one for the rows of one
// table; the rest are counted in one more warning.
const maxRowFindings = 20

// Lint checks the redirect graph of the compiled set t, read as s, at now;
// see LintOptions.Lint.
func Lint(s *Set, t *match.Table, now time.Time) detour.Diagnostics {
	return LintOptions{}.Lint(s, t, now)
}

// Lint checks the redirect graph of the compiled set t over (host, path)
// (SPEC §1.4). s gives merge_slashes and the rules files' field paths; it
// may be nil. A zero now skips the expired check.
//
// For every rule it draws sample requests from match.Samples (host: the
// rule's own, a label under a wildcard, or none; scheme: the rule's, else
// https; method: the first the rule answers), and for every table row its
// own path; it looks each up with windows ignored, builds the Location,
// resolves it against the request URL and, while the Location stays on a
// host the set serves (a relative one always does), looks it up again,
// changing the method as clients do for 301, 302 and 303. It reports:
//
//   - "loop", an error: a request comes round again through rules that
//     are all exact (no pattern, regex, query condition or wildcard host)
//     and whose methods and windows overlap, at a time not yet past;
//   - "possible-loop", a warning: any other loop, and a chain still going
//     after MaxHops hops;
//   - "chain", a warning: A redirects to B, which redirects again (or
//     answers 410), where A could go straight to the end;
//   - "shadowed", a warning: a rule none of whose samples it answers,
//     because a rule ahead of it answers at least the same methods at
//     least as long (a table row: a rule or row that wins its path);
//   - "expired", a warning: a window whose end is at or before now.
//
// A 410 ends a chain; so does a Location on a host the set does not
// serve, or one that is not http or https. Each finding names the file
// and line of the rule it is about (the line of its to: field for loops
// and chains) and the rule ids and places of the others involved.
func (o LintOptions) Lint(s *Set, t *match.Table, now time.Time) detour.Diagnostics {
	l := newLinter(o, s, t, now)
	for _, r := range t.Rules() {
		if l.stopped {
			break
		}
		l.expired(r)
		reqs := l.samples(r)
		l.shadowed(r, reqs)
		for _, req := range reqs {
			l.walkFrom(node{rule: r}, req)
		}
	}
	for _, tb := range t.Tables() {
		if l.stopped {
			break
		}
		l.tableRows(tb)
	}
	if l.stopped {
		l.diags = append(l.diags, detour.Diagnostic{Severity: detour.SeverityWarning, Code: "incomplete",
			Message: fmt.Sprintf("the redirect-graph check stopped after %d lookups; loops, chains and shadowed rules past that point are not reported", l.maxLookups)})
	}
	return l.diags
}

// node is one answerer in the graph: a rule, or one row of a table (whose
// rule is the table's template rule).
type node struct {
	rule *detour.Rule
	row  int
}

// hop is one step of a followed chain.
type hop struct {
	n   node
	req detour.Request
	// status and loc are the answer: the Location as sent.
	status int
	loc    string
}

// outcome says how a followed chain ended.
type outcome int

const (
	endNoRule   outcome = iota // the last Location matches no rule
	endLeft                    // it leaves the set's hosts, or HTTP
	endGone                    // a 410
	endLoop                    // a request came round again
	endTooLong                 // MaxHops hops and still going
	endNotFirst                // the first request is answered by another node
	endStopped                 // out of lookups
)

type linter struct {
	t          *match.Table
	now        time.Time
	merge      bool
	samplesN   int
	maxHops    int
	maxLookups int
	lookups    int
	stopped    bool

	places map[string]*place
	tables map[string]*detour.Table
	exact  map[string]bool // hosts the set serves
	wild   map[string]bool // ".example.com" suffixes it serves

	m     match.Match
	buf   []byte
	hops  []hop          // reused by walk
	cur   detour.Request // the request l.m was filled from
	loops map[string]bool
	diags detour.Diagnostics

	// rowFindings counts findings per table and code, to cap them.
	rowFindings map[string]int
}

func newLinter(o LintOptions, s *Set, t *match.Table, now time.Time) *linter {
	l := &linter{t: t, now: now, samplesN: cmp.Or(o.Samples, 4), maxHops: cmp.Or(o.MaxHops, 16),
		maxLookups: cmp.Or(o.MaxLookups, 10_000_000),
		tables:     make(map[string]*detour.Table), exact: make(map[string]bool), wild: make(map[string]bool),
		loops: make(map[string]bool), rowFindings: make(map[string]int)}
	if s != nil {
		l.merge = s.MergeSlashes
		l.places = s.placesByID()
	}
	serve := func(host string, subdomains bool) {
		switch {
		case host == "":
		case strings.HasPrefix(host, "*."):
			l.wild[host[1:]] = true
		default:
			l.exact[host] = true
			if subdomains {
				l.wild["."+host] = true
			}
		}
	}
	for _, r := range t.Rules() {
		serve(r.Host, false)
	}
	for _, tb := range t.Tables() {
		l.tables[tb.ID] = tb
		serve(tb.Host, tb.IncludeSubdomains)
		last := ""
		for i := range tb.Rows {
			if h := tb.Rows[i].Host; h != "" && h != last {
				serve(h, tb.IncludeSubdomains)
				last = h
			}
		}
	}
	return l
}

// served reports whether the set answers requests for host by name.
func (l *linter) served(host string) bool {
	if l.exact[host] {
		return true
	}
	for i := 0; i < len(host); i++ {
		if host[i] == '.' && i > 0 && l.wild[host[i:]] {
			return true
		}
	}
	return false
}

// spend counts one lookup and reports whether the budget allows it.
func (l *linter) spend() bool {
	if l.lookups >= l.maxLookups {
		l.stopped = true
		return false
	}
	l.lookups++
	return true
}

// samples returns the sample requests of rule r.
func (l *linter) samples(r *detour.Rule) []detour.Request {
	var targets []string
	if exactFrom(r.From) && !strings.ContainsRune(r.From, '%') {
		// What match.Samples would return, without compiling a probe
		// table for each of a hundred thousand exact rules.
		targets = []string{r.From}
	} else {
		var err error
		if targets, err = match.Samples(r, l.samplesN); err != nil {
			return nil
		}
	}
	host := r.Host
	if strings.HasPrefix(host, "*.") {
		host = "sample" + host[1:]
	}
	scheme := cmp.Or(r.Scheme, "https")
	method := "GET"
	if len(r.Methods) > 0 {
		method = r.Methods[0]
	}
	reqs := make([]detour.Request, 0, len(targets))
	for _, target := range targets {
		p, q, _ := strings.Cut(target, "?")
		p, err := detour.NormalizePath(p, l.merge)
		if err != nil {
			continue
		}
		reqs = append(reqs, detour.Request{Method: method, Scheme: scheme, Host: host, Path: p, Query: q})
	}
	return reqs
}

// expired reports a rule whose window has ended.
func (l *linter) expired(r *detour.Rule) {
	if l.now.IsZero() || r.Window.End.IsZero() || r.Window.End.After(l.now) {
		return
	}
	file, line, field := l.where(node{rule: r}, "window.end")
	l.diags = append(l.diags, detour.Diagnostic{Severity: detour.SeverityWarning, File: file, Line: line, Field: field,
		Rule: r.ID, Code: "expired",
		Message: fmt.Sprintf("the window ended at %s; the rule no longer answers and can be removed", r.Window.End.Format(time.RFC3339))})
}

// shadowed reports rule r when a rule ahead of it answers every sample
// of it that reaches it, whenever r would.
func (l *linter) shadowed(r *detour.Rule, reqs []detour.Request) {
	var by []node
	reached := 0
	for i := range reqs {
		if !l.spend() {
			return
		}
		cands := l.t.Candidates(&reqs[i], time.Time{})
		at := slices.IndexFunc(cands, func(c match.Candidate) bool { return c.Rule == r && c.Row == 0 })
		if at < 0 {
			continue // the sample does not reach r (a method or scheme it lacks)
		}
		reached++
		if at == 0 {
			return
		}
		w := slices.IndexFunc(cands[:at], func(c match.Candidate) bool { return covers(c.Rule, r) })
		if w < 0 {
			return // r answers when the rules ahead of it do not
		}
		if n := (node{rule: cands[w].Rule, row: cands[w].Row}); !slices.Contains(by, n) {
			by = append(by, n)
		}
	}
	if reached == 0 {
		return
	}
	names := make([]string, len(by))
	for i, n := range by {
		names[i] = l.describe(n)
	}
	file, line, field := l.where(node{rule: r}, "")
	l.diags = append(l.diags, detour.Diagnostic{Severity: detour.SeverityWarning, File: file, Line: line, Field: field,
		Rule: r.ID, Code: "shadowed",
		Message: fmt.Sprintf("the rule never answers: %s answers first every request it matches", strings.Join(names, " and "))})
}

// covers reports whether w answers, whenever r is active, at least the
// requests of r's methods and scheme, in the same host tier, so that when
// w precedes r on a request, r never answers it.
func covers(w, r *detour.Rule) bool {
	if len(r.Methods) == 0 {
		if len(w.Methods) != 0 {
			return false
		}
	} else if slices.ContainsFunc(r.Methods, func(m string) bool { return !w.AnswersMethod(m) }) {
		return false
	}
	if w.Scheme != "" && w.Scheme != r.Scheme {
		return false
	}
	if r.CaseInsensitive && !w.CaseInsensitive || r.TrailingSlashEither && !w.TrailingSlashEither {
		return false
	}
	ws, we, rs, re := w.Window.Start, w.Window.End, r.Window.Start, r.Window.End
	if !ws.IsZero() && (rs.IsZero() || rs.Before(ws)) {
		return false
	}
	if !we.IsZero() && (re.IsZero() || re.After(we)) {
		return false
	}
	return true
}

// tableRows follows every row of tb, reporting rows that another rule or
// row wins, and the loops and chains they start.
func (l *linter) tableRows(tb *detour.Table) {
	tpl := (*detour.Rule)(nil)
	for i := range tb.Rows {
		if l.stopped {
			return
		}
		row := &tb.Rows[i]
		host := cmp.Or(row.Host, tb.Host)
		req := detour.Request{Method: "GET", Scheme: "https", Host: host, Path: row.Path}
		if tpl == nil {
			// The template rule match answers rows with; found once.
			if !l.spend() {
				return
			}
			l.cur = req
			if l.t.Lookup(&l.cur, time.Time{}, &l.m) && l.m.Rule.ID == tb.ID {
				tpl = l.m.Rule
			}
		}
		src := node{rule: tpl, row: row.Line}
		if tpl == nil {
			src.rule = &detour.Rule{ID: tb.ID} // matches no answer: the row is beaten
		}
		if l.walkFrom(src, req) != endNotFirst {
			continue
		}
		// Another rule or row answers the row's path; l.m holds it.
		if l.m.Rule != nil {
			winner := node{rule: l.m.Rule, row: l.m.Row}
			// match.Compile already warns of a row that an exact rule
			// with the same path beats; this finds the rest (a pattern
			// of higher priority, first-match order).
			if winner.row == 0 && exactFrom(winner.rule.From) {
				continue
			}
			if l.rowFinding(tb, "shadowed") {
				file, line := l.tableFile(tb), row.Line
				l.diags = append(l.diags, detour.Diagnostic{Severity: detour.SeverityWarning, File: file, Line: line,
					Rule: tb.ID, Code: "shadowed",
					Message: fmt.Sprintf("the row for %s never answers: %s wins", show(req), l.describe(winner))})
			}
		}
	}
	if n := l.rowFindings[tb.ID+"\x00shadowed"] - maxRowFindings; n > 0 {
		l.diags = append(l.diags, detour.Diagnostic{Severity: detour.SeverityWarning, File: l.tableFile(tb), Rule: tb.ID,
			Code: "shadowed", Message: fmt.Sprintf("%d more shadowed rows not shown", n)})
	}
	if n := l.rowFindings[tb.ID+"\x00chain"] - maxRowFindings; n > 0 {
		l.diags = append(l.diags, detour.Diagnostic{Severity: detour.SeverityWarning, File: l.tableFile(tb), Rule: tb.ID,
			Code: "chain", Message: fmt.Sprintf("%d more rows that start a chain not shown", n)})
	}
}

// rowFinding counts a finding of kind code about a row of tb and reports
// whether it is still to be shown one by one.
func (l *linter) rowFinding(tb *detour.Table, code string) bool {
	k := tb.ID + "\x00" + code
	l.rowFindings[k]++
	return l.rowFindings[k] <= maxRowFindings
}

// walkFrom follows the chain that starts with req, which src should
// answer, reports what it finds and returns how the chain ended. When
// another node answers req (endNotFirst), l.m holds its match.
func (l *linter) walkFrom(src node, req detour.Request) outcome {
	hops, out, loopAt := l.walk(src, req)
	switch out {
	case endLoop:
		l.loop(hops[loopAt:])
	case endTooLong:
		l.tooLong(src, hops)
	case endNoRule, endLeft, endGone:
		if len(hops) >= 2 {
			l.chain(src, hops, out)
		}
	}
	return out
}

// walk follows the chain from req. For endLoop, loopAt is the index of
// the hop the chain came back to. The hops are valid until the next walk.
func (l *linter) walk(src node, req detour.Request) (hops []hop, out outcome, loopAt int) {
	hops = l.hops[:0]
	defer func() { l.hops = hops[:0] }()
	for {
		if !l.spend() {
			return hops, endStopped, 0
		}
		// Lookup through a field, so that req does not escape: one
		// allocation less per hop.
		l.cur = req
		if !l.t.Lookup(&l.cur, time.Time{}, &l.m) {
			return hops, endNoRule, 0
		}
		h := hop{n: node{rule: l.m.Rule, row: l.m.Row}, req: req, status: l.m.Status()}
		if len(hops) == 0 && h.n != src {
			return hops, endNotFirst, 0
		}
		for i := range hops {
			if sameRequest(&hops[i], &h) {
				return hops, endLoop, i
			}
		}
		if h.status == detour.StatusGone {
			return append(hops, h), endGone, 0
		}
		l.buf = l.m.AppendLocation(l.buf[:0])
		h.loc = string(l.buf)
		hops = append(hops, h)
		next, ok := l.follow(&h)
		if !ok {
			return hops, endLeft, 0
		}
		if len(hops) >= l.maxHops {
			return hops, endTooLong, 0
		}
		req = next
	}
}

// sameRequest reports whether b is a's request again, for the same
// answerer: the same method, scheme, host and path, and the same query
// when the answer depends on it.
func sameRequest(a, b *hop) bool {
	if a.n != b.n || a.req.Method != b.req.Method || a.req.Scheme != b.req.Scheme ||
		a.req.Host != b.req.Host || a.req.Path != b.req.Path {
		return false
	}
	r := a.n.rule
	if strings.Contains(r.From, "?") || strings.Contains(r.To, "{query}") {
		return a.req.Query == b.req.Query
	}
	return true
}

// follow returns the request a client makes for h's Location, and false
// when the Location leaves the set (another host, not HTTP) or does not
// parse.
func (l *linter) follow(h *hop) (detour.Request, bool) {
	req := h.req
	switch {
	case h.status == detour.StatusSeeOther && req.Method != "HEAD",
		(h.status == detour.StatusMovedPermanently || h.status == detour.StatusFound) && req.Method == "POST":
		req.Method = "GET"
	}
	loc := h.loc
	if loc == "" {
		return req, false
	}
	// The common cases without net/url: an absolute path, and an
	// absolute URL on a host the set does not serve.
	if loc[0] == '/' && (len(loc) == 1 || loc[1] != '/' && loc[1] != '\\') && !strings.ContainsRune(loc, '\\') {
		loc, _, _ = strings.Cut(loc, "#")
		p, q, _ := strings.Cut(loc, "?")
		p, err := detour.NormalizePath(p, l.merge)
		if err != nil {
			return req, false
		}
		req.Path, req.Query = p, q
		return req, true
	}
	if rest, ok := cutScheme(loc); ok {
		host := rest
		if i := strings.IndexAny(rest, "/?#"); i >= 0 {
			host = rest[:i]
		}
		if !strings.ContainsAny(host, "@%\\") {
			if h, err := detour.NormalizeHost(host); err == nil && h != req.Host && !l.served(h) {
				return req, false
			}
		}
	}
	u, err := url.Parse(loc)
	if err != nil {
		return req, false
	}
	base := &url.URL{Scheme: req.Scheme, Host: req.Host, Path: req.Path, RawQuery: req.Query}
	v := base.ResolveReference(u)
	if v.Scheme != "http" && v.Scheme != "https" {
		return req, false
	}
	host, err := detour.NormalizeHost(v.Host)
	if err != nil || host != req.Host && !l.served(host) {
		return req, false
	}
	p := v.EscapedPath()
	if p == "" {
		p = "/"
	}
	p, err = detour.NormalizePath(p, l.merge)
	if err != nil {
		return req, false
	}
	req.Scheme, req.Host, req.Path, req.Query = v.Scheme, host, p, v.RawQuery
	return req, true
}

// cutScheme returns what follows "http://" or "https://" in loc.
func cutScheme(loc string) (string, bool) {
	for _, p := range []string{"https://", "http://"} {
		if hasPrefixFold(loc, p) {
			return loc[len(p):], true
		}
	}
	return "", false
}

// loop reports a cycle once, on its earliest rule, as an error when it
// certainly happens and as a warning when it may.
func (l *linter) loop(cycle []hop) {
	keys := make([]string, len(cycle))
	first := 0
	for i, h := range cycle {
		keys[i] = h.n.rule.ID + "#" + strconv.Itoa(h.n.row)
		if before(h.n, cycle[first].n) {
			first = i
		}
	}
	slices.Sort(keys)
	key := strings.Join(slices.Compact(keys), "\x00")
	if l.loops[key] {
		return
	}
	l.loops[key] = true
	// Show the cycle from its earliest rule.
	cycle = append(slices.Clone(cycle[first:]), cycle[:first]...)
	var b strings.Builder
	for _, h := range cycle {
		fmt.Fprintf(&b, "%s [%s] → ", show(h.req), l.describe(h.n))
	}
	b.WriteString(show(cycle[0].req))
	d := detour.Diagnostic{Severity: detour.SeverityError, Rule: cycle[0].n.rule.ID, Code: "loop"}
	d.File, d.Line, d.Field = l.where(cycle[0].n, "to")
	if why := l.uncertain(cycle); why != "" {
		d.Severity, d.Code = detour.SeverityWarning, "possible-loop"
		d.Message = fmt.Sprintf("possible redirect loop (%s): %s", why, b.String())
	} else {
		d.Message = "redirect loop: " + b.String()
	}
	l.diags = append(l.diags, d)
}

// before orders nodes by file order.
func before(a, b node) bool {
	if a.rule.Source.Seq != b.rule.Source.Seq {
		return a.rule.Source.Seq < b.rule.Source.Seq
	}
	return a.row < b.row
}

// uncertain returns why a cycle may not happen, or "" when it certainly
// does: every rule in it is exact, and their methods and windows overlap
// at a time not yet past.
func (l *linter) uncertain(cycle []hop) string {
	var w detour.Window
	for i, h := range cycle {
		r := h.n.rule
		switch {
		case h.n.row == 0 && !exactFrom(r.From):
			return fmt.Sprintf("through the pattern of rule %s, for some paths only", r.ID)
		case h.n.row != 0 && l.tables[r.ID] != nil && l.tables[r.ID].Subpath:
			return fmt.Sprintf("through the subpath rows of %s, for some paths only", r.ID)
		case strings.HasPrefix(r.Host, "*."):
			return fmt.Sprintf("through the wildcard host of rule %s", r.ID)
		}
		for _, o := range cycle[:i] {
			if !r.MethodsOverlap(o.n.rule) {
				return fmt.Sprintf("rules %s and %s answer different methods", o.n.rule.ID, r.ID)
			}
			if !r.Window.Overlaps(o.n.rule.Window) {
				return fmt.Sprintf("rules %s and %s are never active at the same time", o.n.rule.ID, r.ID)
			}
		}
		if s := r.Window.Start; !s.IsZero() && (w.Start.IsZero() || s.After(w.Start)) {
			w.Start = s
		}
		if e := r.Window.End; !e.IsZero() && (w.End.IsZero() || e.Before(w.End)) {
			w.End = e
		}
	}
	if !l.now.IsZero() && !w.End.IsZero() && !w.End.After(l.now) {
		return "only while windows that have ended were active"
	}
	return ""
}

// exactFrom reports whether from is an exact path: no regex, splat,
// string prefix, named segment or query condition.
func exactFrom(from string) bool {
	if from == "" || from[0] != '/' || strings.ContainsAny(from, "*?") {
		return false
	}
	return !strings.Contains(from, "/:")
}

// tooLong reports a chain from src that was still going after MaxHops
// hops, once per rule or table.
func (l *linter) tooLong(src node, hops []hop) {
	key := "long\x00" + src.rule.ID
	if l.loops[key] {
		return
	}
	l.loops[key] = true
	var b strings.Builder
	for i, h := range hops {
		if i == 4 {
			b.WriteString("… → ")
			break
		}
		fmt.Fprintf(&b, "%s [%s] → ", show(h.req), l.describe(h.n))
	}
	b.WriteString(hops[len(hops)-1].loc)
	d := detour.Diagnostic{Severity: detour.SeverityWarning, Rule: src.rule.ID, Code: "possible-loop",
		Message: fmt.Sprintf("possible redirect loop: the chain from %s is still going after %d hops: %s", show(hops[0].req), len(hops), b.String())}
	d.File, d.Line, d.Field = l.where(src, "to")
	l.diags = append(l.diags, d)
}

// chain reports, once per rule (and for a table row, up to a cap per
// table), a chain of two or more hops from src.
func (l *linter) chain(src node, hops []hop, out outcome) {
	if src.row != 0 {
		if !l.rowFinding(l.tables[src.rule.ID], "chain") {
			return
		}
	} else {
		key := "chain\x00" + src.rule.ID
		if l.loops[key] {
			return
		}
		l.loops[key] = true
	}
	var b strings.Builder
	for _, h := range hops {
		fmt.Fprintf(&b, "%s [%s] → ", show(h.req), l.describe(h.n))
	}
	last := hops[len(hops)-1]
	end := last.loc
	if out == endGone {
		end = "410 Gone"
		b.WriteString(end)
	} else {
		b.WriteString(end)
	}
	advice := fmt.Sprintf("redirect straight to %s", end)
	switch {
	case out == endGone:
		advice = "answer 410 straight away"
	case out == endNoRule:
		// The method changed on the way (a 301, 302 or 303 made a POST
		// a GET), so the chain can come back to where it began.
		if final, ok := l.follow(&last); ok && final.Host == hops[0].req.Host && final.Path == hops[0].req.Path {
			advice = fmt.Sprintf("it ends where it began, as a %s", final.Method)
		}
	}
	d := detour.Diagnostic{Severity: detour.SeverityWarning, Rule: src.rule.ID, Code: "chain",
		Message: fmt.Sprintf("redirect chain of %d hops: %s; %s", len(hops), b.String(), advice)}
	d.File, d.Line, d.Field = l.where(src, "to")
	l.diags = append(l.diags, d)
}

// show renders a request for a message: the path and query, after the
// scheme and host when it has a host.
func show(r detour.Request) string {
	s := r.Path
	if r.Query != "" {
		s += "?" + r.Query
	}
	if r.Host != "" {
		s = r.Scheme + "://" + r.Host + s
	}
	return s
}

// describe names a node for a message: `rule "id" at file:line`, or
// `row file:line`.
func (l *linter) describe(n node) string {
	if n.row != 0 {
		if tb := l.tables[n.rule.ID]; tb != nil {
			return fmt.Sprintf("row %s:%d", l.tableFile(tb), n.row)
		}
		return fmt.Sprintf("row %d of %s", n.row, n.rule.ID)
	}
	file, line, _ := l.where(n, "")
	if file == "" {
		return fmt.Sprintf("rule %s", n.rule.ID)
	}
	return fmt.Sprintf("rule %s at %s:%d", n.rule.ID, file, line)
}

// where returns the file, line and field path of field of node n (the
// node itself for ""); for a table row, the row's line in the table file.
func (l *linter) where(n node, field string) (file string, line int, path string) {
	if n.row != 0 {
		if tb := l.tables[n.rule.ID]; tb != nil {
			return l.tableFile(tb), n.row, ""
		}
	}
	file, line = n.rule.Source.File, n.rule.Source.Line
	if n.rule.Source.Runtime {
		file = "runtime"
	}
	if p := l.places[n.rule.ID]; p != nil && p.file == n.rule.Source.File {
		path, line = p.fieldAt(field)
	}
	return file, line, path
}

// tableFile is the path of tb's file as Load read it.
func (l *linter) tableFile(tb *detour.Table) string { return tableFile(tb) }
