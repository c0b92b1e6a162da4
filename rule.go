// Package detour is the vocabulary of the detour redirect system: rules,
// requests, redirects, diagnostics and errors. It does no I/O.
//
// The packages around it give it life: match compiles rules into a lookup
// table, ruleset reads rule files and lints them, follow is the client that
// follows redirect chains, and internal/server answers HTTP requests.
package detour

import (
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Status codes a rule may answer with.
const (
	StatusMovedPermanently  = 301
	StatusFound             = 302
	StatusSeeOther          = 303
	StatusTemporaryRedirect = 307
	StatusPermanentRedirect = 308
	StatusGone              = 410
)

// DefaultStatus is the status of a rule that names none: 307.
const DefaultStatus = StatusTemporaryRedirect

// DefaultMaxAge is the Cache-Control max-age, in seconds, of a permanent
// redirect (301, 308) whose rule names none.
const DefaultMaxAge = 3600

// ValidStatus reports whether code is a status a rule may answer with.
func ValidStatus(code int) bool {
	switch code {
	case 301, 302, 303, 307, 308, 410:
		return true
	}
	return false
}

// Permanent reports whether code is a permanent redirect (301 or 308).
func Permanent(code int) bool { return code == 301 || code == 308 }

// QueryMode says how the request's query string reaches the Location.
type QueryMode string

// Query modes. The zero value behaves as QueryPreserve.
const (
	// QueryPreserve appends the request's parameters after the target's.
	QueryPreserve QueryMode = "preserve"
	// QueryDrop keeps the target's parameters only.
	QueryDrop QueryMode = "drop"
	// QueryReplace keeps the request's parameters only.
	QueryReplace QueryMode = "replace"
)

// Order says how rules of equal host tier and priority compete.
type Order string

// Orders. The zero value behaves as OrderSpecificity.
const (
	// OrderSpecificity: an exact path wins, then the most specific pattern,
	// then regexes in file order.
	OrderSpecificity Order = "specificity"
	// OrderFirstMatch: the first candidate in file order wins.
	OrderFirstMatch Order = "first-match"
)

// Window is the time span [Start, End) in which a rule is active. A zero
// Start or End leaves that side open; the zero Window is always active.
type Window struct {
	Start time.Time
	End   time.Time
}

// IsZero reports whether w is open on both sides.
func (w Window) IsZero() bool { return w.Start.IsZero() && w.End.IsZero() }

// Active reports whether now lies in the window: Start <= now < End.
func (w Window) Active(now time.Time) bool {
	if !w.Start.IsZero() && now.Before(w.Start) {
		return false
	}
	if !w.End.IsZero() && !now.Before(w.End) {
		return false
	}
	return true
}

// Overlaps reports whether w and o share at least one instant.
func (w Window) Overlaps(o Window) bool {
	// [a.Start, a.End) and [b.Start, b.End) overlap unless one ends
	// before the other starts.
	if !w.End.IsZero() && !o.Start.IsZero() && !o.Start.Before(w.End) {
		return false
	}
	if !o.End.IsZero() && !w.Start.IsZero() && !w.Start.Before(o.End) {
		return false
	}
	return true
}

// Header is one extra response header of a rule.
type Header struct {
	Name  string
	Value string
}

// Source says where a rule came from, for messages and the API.
type Source struct {
	// File is the rules file (or the table file, for table rows); empty for
	// runtime rules.
	File string
	// Line is the 1-based line of the rule in File; 0 when unknown.
	Line int
	// Table is the table file a row came from, relative to the rules file
	// that references it; empty for rules that are not table rows.
	Table string
	// Runtime is true for rules created through the admin API.
	Runtime bool
	// Seq is the rule's position in file order across the whole rule set
	// (files in lexical order, runtime rules after file rules by creation
	// time). It breaks ties for regexes and decides order: first-match.
	Seq int
}

// String returns "file:line", "file" or "runtime".
func (s Source) String() string {
	switch {
	case s.Runtime:
		return "runtime"
	case s.File == "":
		return ""
	case s.Line > 0:
		return s.File + ":" + strconv.Itoa(s.Line)
	}
	return s.File
}

// Rule maps a request to a response: a redirect, or 410 Gone. It is the
// rule as written, with defaults applied; package match compiles it.
//
// A Rule is a plain value; once handed to match.Compile it must not be
// changed.
type Rule struct {
	// ID is stable across reloads: given in the file, or derived from host,
	// from and methods (see DeriveID).
	ID string
	// Host is empty (any host), an exact host ("example.com") or a
	// wildcard ("*.example.com": one or more labels below, not the apex).
	// Lower-case A-labels.
	Host string
	// Scheme is empty (any), "http" or "https".
	Scheme string
	// From is the path pattern as written: "/exact", "/seg/*", "/prefix*",
	// "/blog/:year/:slug", "~regex", "~*regex", optionally followed by a
	// query condition "?name=:capture".
	From string
	// To is the target as written; empty for 410.
	To string
	// Status is one of 301, 302, 303, 307, 308, 410.
	Status int
	// Query says how the request's query string reaches the Location.
	Query QueryMode
	// Methods lists upper-case methods; empty means every method but
	// OPTIONS. A rule listing GET also answers HEAD.
	Methods []string
	// Window limits when the rule is active.
	Window Window
	// RetryAfter is sent as Retry-After: seconds, an HTTP date, or
	// "window_end" (the window's end as an HTTP date). Empty: none.
	RetryAfter string
	// Headers are extra response headers.
	Headers []Header
	// Priority: higher is tried first. Default 0.
	Priority int
	// CaseInsensitive makes the path comparison ignore ASCII case.
	CaseInsensitive bool
	// TrailingSlashEither makes "/a" and "/a/" equivalent for this rule.
	TrailingSlashEither bool
	// Absolute builds an absolute Location from the rule's host (or the
	// matched request host) and the request's scheme.
	Absolute bool
	// MaxAge is the Cache-Control max-age of a permanent redirect, in
	// seconds; 0 means DefaultMaxAge.
	MaxAge int
	// Source says where the rule came from.
	Source Source
}

// AnswersMethod reports whether r answers requests with method m.
func (r *Rule) AnswersMethod(m string) bool {
	if len(r.Methods) == 0 {
		return m != "OPTIONS"
	}
	for _, x := range r.Methods {
		if x == m || (m == "HEAD" && x == "GET") {
			return true
		}
	}
	return false
}

// MethodsOverlap reports whether some method is answered by both r and o.
func (r *Rule) MethodsOverlap(o *Rule) bool {
	switch {
	case len(r.Methods) == 0 && len(o.Methods) == 0:
		return true
	case len(r.Methods) == 0:
		return slices.ContainsFunc(o.Methods, r.AnswersMethod) || o.AnswersMethod("HEAD") && r.AnswersMethod("HEAD")
	case len(o.Methods) == 0:
		return o.MethodsOverlap(r)
	}
	for _, m := range append(slices.Clone(r.Methods), "HEAD") {
		if r.AnswersMethod(m) && o.AnswersMethod(m) {
			return true
		}
	}
	return false
}

// DeriveID returns the id of a rule that names none: "r-" and 12 hex digits
// of a hash over host, from and the sorted methods, so it is stable across
// reloads and does not depend on the rule's place in the file.
func DeriveID(host, from string, methods []string) string {
	ms := slices.Clone(methods)
	slices.Sort(ms)
	sum := sha256.Sum256([]byte(host + "\x00" + from + "\x00" + strings.Join(ms, ",")))
	return "r-" + hex.EncodeToString(sum[:6])
}

// Table is a bulk table of exact old→new pairs (SPEC §1.6), kept apart
// from Rule so that a million rows cost a few words each.
type Table struct {
	// ID names the table in logs and metrics ("table:legacy-urls.csv");
	// rows are counted by table, not by row.
	ID string
	// File is the table's path as the rules file references it.
	File string
	// Source is where the rules file references the table.
	Source Source
	// Status is the default for rows without one; 0 means DefaultStatus.
	Status int
	// Query applies to every row.
	Query QueryMode
	// Host, when set, is the host of rows whose from column has none.
	Host string
	// IncludeSubdomains makes a row's host match its subdomains too.
	IncludeSubdomains bool
	// Subpath makes a row match everything below its path as well,
	// carrying the rest of the path to the target.
	Subpath bool
	// CaseInsensitive makes the path comparison ignore ASCII case.
	CaseInsensitive bool
	// MaxAge is the Cache-Control max-age of permanent rows; 0 means
	// DefaultMaxAge.
	MaxAge int
	// Rows in file order.
	Rows []Row
}

// Row is one line of a Table.
type Row struct {
	// Line is the row's 1-based line in the table file.
	Line int
	// Host is the host of a from column given as a full URL; empty means
	// the table's Host (or any host when that is empty too).
	Host string
	// Path is the from path, normalised as a request path would be.
	Path string
	// To is the target.
	To string
	// Status is the row's own status; 0 means the table's.
	Status int
}
