// Package match compiles rules into a lookup table and answers requests
// from it. It is pure: no I/O, no clock of its own, no HTTP server.
//
// Compile checks every rule (the errors of SPEC §1.4 that concern a single
// rule or a pair of rules) and builds a Table; Table.Lookup finds the rule
// that answers a normalised request following the precedence of SPEC §1.2,
// and the Match it fills renders the response's Location and headers
// (SPEC §1.3).
package match

import (
	"time"

	"github.com/detourhttp/detour"
)

// Options tune Compile. The zero value is ready to use.
type Options struct {
	// Order says how rules of equal host tier and priority compete; the
	// zero value means detour.OrderSpecificity.
	Order detour.Order
	// MaxRegex caps the number of regex rules; 0 means 10,000.
	MaxRegex int
}

// Table is a compiled, immutable rule set. It is safe for concurrent use.
type Table struct {
	// TODO(match): built by the match package owner.
}

// Compile checks rules and tables and builds a Table. The diagnostics hold
// every error and warning found, each with the rule's Source file and line,
// the rule id and the field ("from", "to", "headers.X-Foo", …). When any is
// an error, the Table is nil.
func Compile(rules []detour.Rule, tables []detour.Table, opts Options) (*Table, detour.Diagnostics) {
	panic("match.Compile: not built yet")
}

// Len returns the number of rules and table rows in t.
func (t *Table) Len() int { panic("match: not built yet") }

// Rules returns t's rules (not table rows) in Source.Seq order. The caller
// must not change them.
func (t *Table) Rules() []*detour.Rule { panic("match: not built yet") }

// Tables returns t's tables. The caller must not change them.
func (t *Table) Tables() []*detour.Table { panic("match: not built yet") }

// Lookup finds the rule that answers req at time now, fills m and reports
// whether one did. A zero now ignores windows (for lint). It allocates
// nothing when an exact rule or table row answers.
func (t *Table) Lookup(req *detour.Request, now time.Time, m *Match) bool {
	panic("match: not built yet")
}

// Candidates returns every rule that matches req at now, the one Lookup
// would choose first, then the rest in precedence order. Table rows appear
// as their table's template rule. It is for lint and "which rule answers
// this?", not for the hot path.
func (t *Table) Candidates(req *detour.Request, now time.Time) []Candidate {
	panic("match: not built yet")
}

// Candidate is one rule that matches a request.
type Candidate struct {
	Rule *detour.Rule
	// Row is the table row's line, 0 for rules.
	Row int
}

// Match is the result of a Lookup. The zero value is ready for Lookup; a
// Match may be reused, and is not safe for concurrent use. It refers to
// the request it was filled from, which must stay unchanged while the
// Match is used.
type Match struct {
	// Rule is the rule that answered. For a table row it is the table's
	// template rule: ID is the table's id, and Row says which row.
	Rule *detour.Rule
	// Row is the 1-based line of the table row that answered; 0 for rules.
	Row int
	// TODO(match): unexported state (captures, request, compiled target).
}

// Status returns the response status: 301, 302, 303, 307, 308 or 410.
func (m *Match) Status() int { panic("match: not built yet") }

// AppendLocation appends the Location header value to dst: the target
// with captures and placeholders substituted and encoded, and the query
// merged as the rule says. It appends nothing for 410.
func (m *Match) AppendLocation(dst []byte) []byte { panic("match: not built yet") }

// Location returns the Location header value; it allocates.
func (m *Match) Location() string { return string(m.AppendLocation(nil)) }

// Headers calls fn for each response header other than Location and the
// body's Content-Type: Cache-Control (no-store for 302/303/307, a max-age
// capped at the window's end for 301/308, unless the rule's headers set
// it), Retry-After, and the rule's extra headers. now caps max-age and
// renders "window_end".
func (m *Match) Headers(now time.Time, fn func(name, value string)) {
	panic("match: not built yet")
}

// Samples returns up to n request targets (path, and "?query" when the
// rule has a query condition) that r's from pattern matches, exercising
// every capture. An exact rule yields its path.
func Samples(r *detour.Rule, n int) ([]string, error) { panic("match: not built yet") }
