package match

import (
	"cmp"
	"errors"
	"fmt"
	"hash/maphash"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/detourhttp/detour"
	"golang.org/x/net/idna"
)

// crule is a compiled rule. What Lookup and AppendLocation read comes
// first, and the pattern and target are part of it, so that answering
// from a rule touches few cache lines.
type crule struct {
	r   *detour.Rule
	idx int32 // index in Table.rules
	ord int32 // place in file order (Source.Seq, then position)
	// status and qmode as the rule says.
	status int
	qmode  qmodeRule
	// simple: no methods, scheme, window or query condition to check.
	simple   bool
	gone     bool  // no target (410)
	absolute bool  // r.Absolute
	nq       int32 // number of query conditions
	tgt      target
	host     hostMatcher
	pat      pattern
	patOK    bool // pat parsed
	// Pre-rendered headers.
	ownCC   bool   // the rule's headers set Cache-Control
	cc      string // Cache-Control when the window does not cap it
	maxAge  int
	retry   string // Retry-After value, rendered
	windowE time.Time
}

// ctable is a compiled table.
type ctable struct {
	t    *detour.Table
	tmpl *detour.Rule // template rule: ID = table id
	idx  int32
	ord  int32
	// qmode and ccPermanent apply to every row.
	qmode       qmodeRule
	ccPermanent string
	host        hostMatcher
}

// hostMatcher is a compiled host: none, exact or "*." wildcard.
type hostMatcher struct {
	kind hostKind
	// name is the exact host, or the suffix of a wildcard without "*."
	name string
}

type hostKind uint8

const (
	hostNone hostKind = iota
	hostExact
	hostWild
)

// compiler holds the state of one Compile.
type compiler struct {
	opts  Options
	diags detour.Diagnostics
	t     *Table
}

func (c *compiler) add(sev detour.Severity, src detour.Source, id, field, code, format string, args ...any) {
	c.diags = append(c.diags, detour.Diagnostic{
		Severity: sev,
		File:     src.File,
		Line:     src.Line,
		Field:    field,
		Rule:     id,
		Code:     code,
		Message:  fmt.Sprintf(format, args...),
	})
}

func (c *compiler) errf(r *detour.Rule, field, format string, args ...any) {
	c.add(detour.SeverityError, r.Source, r.ID, field, "invalid", format, args...)
}

// compile runs Compile.
func compile(rules []detour.Rule, tables []detour.Table, opts Options) (*Table, detour.Diagnostics) {
	if opts.MaxRegex <= 0 {
		opts.MaxRegex = DefaultMaxRegex
	}
	t := &Table{
		firstMatch: opts.Order == detour.OrderFirstMatch,
		seed:       maphash.String(maphash.MakeSeed(), "detour"),
	}
	c := &compiler{opts: opts, t: t}
	if opts.Order != "" && opts.Order != detour.OrderSpecificity && opts.Order != detour.OrderFirstMatch {
		c.add(detour.SeverityError, detour.Source{}, "", "order", "invalid", "order %q is not specificity or first-match", opts.Order)
	}
	c.order(rules, tables)
	for i := range t.rules {
		c.compileRule(t.rules[i])
	}
	c.checkIDs()
	c.checkTies()
	c.checkRegexCap()
	for _, tb := range t.tables {
		c.compileTable(tb)
	}
	if c.diags.HasErrors() {
		return nil, c.diags
	}
	b := newBuilder(c)
	b.build()
	if c.diags.HasErrors() {
		return nil, c.diags
	}
	return t, c.diags
}

// order sorts rules and tables into file order (Source.Seq, rules before
// tables at an equal Seq, then their place in the arguments) and gives
// each its ordinal.
func (c *compiler) order(rules []detour.Rule, tables []detour.Table) {
	type item struct {
		seq, table, i int
	}
	items := make([]item, 0, len(rules)+len(tables))
	for i := range rules {
		items = append(items, item{rules[i].Source.Seq, 0, i})
	}
	for i := range tables {
		items = append(items, item{tables[i].Source.Seq, 1, i})
	}
	slices.SortFunc(items, func(a, b item) int {
		return cmp.Or(cmp.Compare(a.seq, b.seq), cmp.Compare(a.table, b.table), cmp.Compare(a.i, b.i))
	})
	t := c.t
	t.rules = make([]*crule, 0, len(rules))
	slab := make([]crule, len(rules))
	t.rulePtrs = make([]*detour.Rule, 0, len(rules))
	for ord, it := range items {
		if it.table == 1 {
			tb := &tables[it.i]
			t.tables = append(t.tables, &ctable{t: tb, idx: int32(len(t.tables)), ord: int32(ord)})
			t.tablePtrs = append(t.tablePtrs, tb)
			t.nrows += len(tb.Rows)
			continue
		}
		r := &rules[it.i]
		if r.ID == "" {
			cp := *r
			cp.ID = detour.DeriveID(r.Host, r.From, r.Methods)
			r = &cp
		}
		cr := &slab[len(t.rules)]
		cr.r, cr.idx, cr.ord = r, int32(len(t.rules)), int32(ord)
		t.rules = append(t.rules, cr)
		t.rulePtrs = append(t.rulePtrs, r)
	}
	// When every rule is the caller's at its own index (rules come in file
	// order with their ids, as ruleset gives them), Lookup finds a rule's
	// pointer from its index without reading rulePtrs.
	for i, r := range t.rulePtrs {
		if r != &rules[i] {
			return
		}
	}
	t.ruleArgs = rules
}

// compileRule checks one rule and fills its compiled form.
func (c *compiler) compileRule(cr *crule) {
	r := cr.r
	var err error
	if cr.host, err = parseHost(r.Host); err != nil {
		c.errf(r, "host", "%v", err)
	}
	switch r.Scheme {
	case "", "http", "https":
	default:
		c.errf(r, "scheme", "scheme %q is not http or https", r.Scheme)
	}
	for _, m := range r.Methods {
		if !isToken(m) || strings.ToUpper(m) != m {
			c.errf(r, "methods", "method %q is not an upper-case token", m)
		}
	}
	cr.status = r.Status
	if cr.status == 0 {
		cr.status = detour.DefaultStatus
	}
	if !detour.ValidStatus(cr.status) {
		c.errf(r, "status", "status %d is not one of 301, 302, 303, 307, 308, 410", r.Status)
	}
	var ok bool
	if cr.qmode, ok = queryMode(r.Query); !ok {
		c.errf(r, "query", "query %q is not preserve, drop or replace", r.Query)
	}
	if !r.Window.Start.IsZero() && !r.Window.End.IsZero() && !r.Window.End.After(r.Window.Start) {
		c.errf(r, "window", "window end %s is not after its start %s",
			r.Window.End.Format(time.RFC3339), r.Window.Start.Format(time.RFC3339))
	}
	if r.MaxAge < 0 {
		c.errf(r, "max_age", "max_age %d is negative", r.MaxAge)
	}
	if p, err := parsePattern(r.From, r.CaseInsensitive, r.TrailingSlashEither); err != nil {
		c.errf(r, "from", "%v", err)
	} else {
		cr.pat, cr.patOK, cr.nq = *p, true, int32(len(p.query))
	}
	if r.Absolute && cr.host.kind == hostNone {
		c.errf(r, "absolute", "absolute: true needs a host matcher to build the URL from")
	}
	cr.absolute = r.Absolute
	cr.gone = cr.status == detour.StatusGone
	switch {
	case cr.gone && r.To != "":
		c.errf(r, "to", "a 410 rule has no target")
	case !cr.gone && r.To == "":
		c.errf(r, "to", "a redirect needs a target")
	case r.To != "" && cr.patOK:
		tg, err := parseTarget(r.To, &cr.pat)
		switch {
		case err != nil:
			c.errf(r, "to", "%v", err)
		case tg.uses != 0 && cr.host.kind == hostNone:
			c.errf(r, "to", "placeholders {scheme} {host} {path} {query} need a rule with a host matcher")
		default:
			cr.tgt = *tg
			cr.tgt.inline()
		}
	}
	c.compileHeaders(cr)
	cr.simple = len(r.Methods) == 0 && r.Scheme == "" && r.Window.IsZero() && cr.nq == 0
}

// compileHeaders checks the rule's headers and Retry-After and renders
// what can be rendered now.
func (c *compiler) compileHeaders(cr *crule) {
	r := cr.r
	for _, h := range r.Headers {
		field := "headers." + h.Name
		switch {
		case !isToken(h.Name):
			c.errf(r, field, "header name %q is not a token", h.Name)
		case forbiddenHeader(h.Name):
			c.errf(r, field, "header %s may not be set by a rule (framing, hop-by-hop or Location)", h.Name)
		case hasControl(h.Value):
			c.errf(r, field, "header value holds a control character")
		}
		if strings.EqualFold(h.Name, "Cache-Control") {
			cr.ownCC = true
		}
	}
	cr.maxAge = r.MaxAge
	if cr.maxAge == 0 {
		cr.maxAge = detour.DefaultMaxAge
	}
	cr.cc = cacheControl(cr.status, cr.maxAge)
	cr.windowE = r.Window.End
	switch ra := r.RetryAfter; {
	case ra == "":
	case ra == "window_end":
		if r.Window.End.IsZero() {
			c.errf(r, "retry_after", "retry_after: window_end needs a window with an end")
		} else {
			cr.retry = r.Window.End.UTC().Format(TimeFormat)
		}
	case isDigits(ra):
		cr.retry = ra
	case validHTTPDate(ra):
		cr.retry = ra
	default:
		c.errf(r, "retry_after", "retry_after %q is not seconds, an HTTP date or window_end", ra)
	}
}

// cacheControl is the Cache-Control of a status with max-age maxAge.
func cacheControl(status, maxAge int) string {
	switch status {
	case 302, 303, 307:
		return "no-store"
	case 301, 308:
		return "max-age=" + strconv.Itoa(maxAge)
	}
	return ""
}

// checkIDs reports duplicate ids, naming both places.
func (c *compiler) checkIDs() {
	seen := make(map[string]*detour.Source, len(c.t.rules)+len(c.t.tables))
	for _, cr := range c.t.rules {
		r := cr.r
		if first, dup := seen[r.ID]; dup {
			c.add(detour.SeverityError, r.Source, r.ID, "id", "duplicate-id", "id %q is already used at %s", r.ID, where(*first))
			continue
		}
		seen[r.ID] = &r.Source
	}
	for _, tb := range c.t.tables {
		id := tableID(tb.t)
		if first, dup := seen[id]; dup {
			c.add(detour.SeverityError, tb.t.Source, id, "id", "duplicate-id", "table id %q is already used at %s", id, where(*first))
			continue
		}
		seen[id] = &tb.t.Source
	}
}

// where names a source for a message.
func where(s detour.Source) string {
	if w := s.String(); w != "" {
		return w
	}
	return "an unnamed source"
}

// checkTies reports pairs of rules with the same host, from and priority
// whose schemes, methods and windows overlap (SPEC §1.2 point 4), naming
// both; the later rule in file order carries the error.
func (c *compiler) checkTies() {
	type key struct {
		host string
		kind hostKind
		from string
		prio int
	}
	first := make(map[key]*crule, len(c.t.rules))
	var groups map[key][]*crule // keys with more than one rule
	for _, cr := range c.t.rules {
		k := key{cr.host.name, cr.host.kind, cr.r.From, cr.r.Priority}
		f, seen := first[k]
		if !seen {
			first[k] = cr
			continue
		}
		if groups == nil {
			groups = map[key][]*crule{}
		}
		g := groups[k]
		if g == nil {
			g = []*crule{f}
		}
		for _, o := range g {
			a, b := o.r, cr.r
			if a.Scheme != "" && b.Scheme != "" && a.Scheme != b.Scheme {
				continue
			}
			if !a.MethodsOverlap(b) || !a.Window.Overlaps(b.Window) {
				continue
			}
			c.add(detour.SeverityError, b.Source, b.ID, "from", "tie",
				"rule %s at %s ties with rule %s at %s: same host, from and priority, and their methods and windows overlap (give one a priority, or make their methods or windows disjoint)",
				b.ID, where(b.Source), a.ID, where(a.Source))
		}
		groups[k] = append(g, cr)
	}
}

// checkRegexCap reports the first regex rule past the cap.
func (c *compiler) checkRegexCap() {
	n := 0
	for _, cr := range c.t.rules {
		if cr.patOK && cr.pat.kind == kindRegex {
			n++
			if n == c.opts.MaxRegex+1 {
				c.errf(cr.r, "from", "more than %d regex rules (the cap); use exact paths, prefixes or named segments", c.opts.MaxRegex)
				return
			}
		}
	}
}

// maxRowErrors caps the bad-row errors reported for one table.
const maxRowErrors = 100

// queryMode returns the compiled form of q; false when q is not a mode
// (the zero value is QueryPreserve).
func queryMode(q detour.QueryMode) (qmodeRule, bool) {
	switch q {
	case "", detour.QueryPreserve:
		return modePreserve, true
	case detour.QueryDrop:
		return modeDrop, true
	case detour.QueryReplace:
		return modeReplace, true
	}
	return modePreserve, false
}

// compileTable checks a table and its rows.
func (c *compiler) compileTable(ct *ctable) {
	tb := ct.t
	id := tableID(tb)
	ct.tmpl = &detour.Rule{
		ID:              id,
		Host:            tb.Host,
		Status:          tb.Status,
		Query:           tb.Query,
		CaseInsensitive: tb.CaseInsensitive,
		MaxAge:          tb.MaxAge,
		Source:          tb.Source,
	}
	if ct.tmpl.Status == 0 {
		ct.tmpl.Status = detour.DefaultStatus
	}
	fail := func(field, format string, args ...any) {
		c.add(detour.SeverityError, tb.Source, id, field, "invalid", format, args...)
	}
	if !detour.ValidStatus(ct.tmpl.Status) {
		fail("status", "status %d is not one of 301, 302, 303, 307, 308, 410", tb.Status)
	}
	var ok bool
	if ct.qmode, ok = queryMode(tb.Query); !ok {
		fail("query", "query %q is not preserve, drop or replace", tb.Query)
	}
	if tb.MaxAge < 0 {
		fail("max_age", "max_age %d is negative", tb.MaxAge)
	}
	maxAge := tb.MaxAge
	if maxAge == 0 {
		maxAge = detour.DefaultMaxAge
	}
	ct.ccPermanent = "max-age=" + strconv.Itoa(maxAge)
	var err error
	if ct.host, err = parseHost(tb.Host); err != nil {
		fail("host", "%v", err)
	}
	if ct.host.kind == hostWild {
		fail("host", "a table host is exact (use include_subdomains for subdomains)")
	}
	bad := 0
	for i := range tb.Rows {
		row := &tb.Rows[i]
		if msg, field := c.checkRow(ct, row); msg != "" {
			bad++
			if bad <= maxRowErrors {
				c.add(detour.SeverityError, detour.Source{File: tb.File, Line: row.Line}, id, field, "invalid",
					"%s (row %q)", msg, rowText(row))
			}
		}
	}
	if bad > maxRowErrors {
		c.add(detour.SeverityError, detour.Source{File: tb.File}, id, "", "invalid",
			"%d more bad rows not listed", bad-maxRowErrors)
	}
}

// checkRow checks a row; it returns a message and a field when it is bad.
func (c *compiler) checkRow(ct *ctable, row *detour.Row) (msg, field string) {
	if row.Path == "" || row.Path[0] != '/' {
		return "from path must begin with /", "from"
	}
	if hasControl(row.Path) {
		return "from holds a control character", "from"
	}
	if row.Host != "" {
		if h, err := parseHost(row.Host); err != nil || h.kind != hostExact {
			return fmt.Sprintf("host %q is not a valid host", row.Host), "from"
		}
	}
	status := row.Status
	if status == 0 {
		status = ct.tmpl.Status
	}
	switch {
	case !detour.ValidStatus(status):
		return fmt.Sprintf("status %d is not one of 301, 302, 303, 307, 308, 410", row.Status), "status"
	case status == detour.StatusGone && row.To != "":
		return "a 410 row has no target", "to"
	case status != detour.StatusGone && row.To == "":
		return "a redirect needs a target", "to"
	case row.To != "":
		if _, _, _, ok := fastTarget(row.To); ok {
			break
		}
		if _, err := parseTarget(row.To, nil); err != nil {
			return err.Error(), "to"
		}
	}
	return "", ""
}

// rowText is a row's from and to, cut short, for messages.
func rowText(row *detour.Row) string {
	s := row.Path + "," + row.To
	if row.Host != "" {
		s = row.Host + s
	}
	if len(s) > 60 {
		s = s[:57] + "..."
	}
	return s
}

// tableID is a table's id, or "table:" and its file when it has none.
func tableID(tb *detour.Table) string {
	if tb.ID != "" {
		return tb.ID
	}
	return "table:" + tb.File
}

// parseHost parses a host matcher: "", "example.com" or "*.example.com".
// Hosts are compared lower-case, as A-labels.
func parseHost(h string) (hostMatcher, error) {
	if h == "" {
		return hostMatcher{}, nil
	}
	kind := hostExact
	name := h
	if rest, ok := strings.CutPrefix(h, "*."); ok {
		kind, name = hostWild, rest
	}
	if strings.HasPrefix(name, "[") && strings.HasSuffix(name, "]") && kind == hostExact {
		return hostMatcher{kind, strings.ToLower(name)}, nil
	}
	if strings.ContainsAny(name, ":/*@ ") {
		return hostMatcher{}, fmt.Errorf("host %q is not a host name or *.name (no port, scheme or path)", h)
	}
	a, err := idna.Lookup.ToASCII(strings.TrimSuffix(name, "."))
	if err != nil || a == "" {
		return hostMatcher{}, fmt.Errorf("host %q is not a valid host name", h)
	}
	return hostMatcher{kind, strings.ToLower(a)}, nil
}

// isToken reports whether s is an HTTP token (RFC 9110 §5.6.2).
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' {
			continue
		}
		if !strings.ContainsRune("!#$%&'*+-.^_`|~", rune(c)) {
			return false
		}
	}
	return true
}

// forbiddenHeader reports whether a rule may not set header name: framing,
// hop-by-hop, and Location.
func forbiddenHeader(name string) bool {
	switch strings.ToLower(name) {
	case "location", "content-length", "transfer-encoding", "connection", "keep-alive",
		"proxy-connection", "te", "trailer", "upgrade":
		return true
	}
	return false
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// TimeFormat is the IMF-fixdate layout of HTTP dates (RFC 9110 §5.6.7),
// as net/http.TimeFormat; times must be in UTC.
const TimeFormat = "Mon, 02 Jan 2006 15:04:05 GMT"

// validHTTPDate reports whether s is an HTTP date in one of the three
// forms RFC 9110 §5.6.7 makes recipients accept.
func validHTTPDate(s string) bool {
	for _, layout := range []string{TimeFormat, "Monday, 02-Jan-06 15:04:05 GMT", "Mon Jan _2 15:04:05 2006"} {
		if _, err := time.Parse(layout, s); err == nil {
			return true
		}
	}
	return false
}

// errNoRule is returned by Samples for a nil rule.
var errNoRule = errors.New("no rule")
