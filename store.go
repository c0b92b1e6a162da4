package detour

import (
	"context"
	"time"
)

// RuntimeRule is a rule created at run time through the admin API, as a
// RuleStore keeps it: the rule itself (the same fields as the rules file)
// and what the store says about it.
type RuntimeRule struct {
	// Rule is the rule; its ID is the runtime rule's key. Its Source is
	// filled in when the rule set is built (Runtime true, Seq after the
	// file rules in creation order); stores leave it zero.
	Rule Rule
	// Enabled rules take part in the rule set; disabled ones are kept but
	// do not answer.
	Enabled bool
	// Version changes (grows) with every write to the rule; it is the
	// ETag of the admin API. It is set by the store.
	Version int64
	// Seq orders runtime rules by creation: it is set by the store when
	// the rule is created and never changes.
	Seq int64
	// CreatedAt and UpdatedAt are set by the store.
	CreatedAt time.Time
	UpdatedAt time.Time
	// Hits and LastHit are the persisted hit counts (see RuleStore.AddHits);
	// the running server adds the counts not yet persisted.
	Hits    uint64
	LastHit time.Time
}

// RuleFilter selects runtime rules for RuleStore.ListRules. The zero value
// selects every rule, the first DefaultListLimit of them.
type RuleFilter struct {
	// Host, when set, selects rules whose host is exactly Host.
	Host string
	// PathPrefix, when set, selects rules whose from begins with it.
	PathPrefix string
	// Enabled, when set, selects enabled (true) or disabled (false) rules.
	Enabled *bool
	// ActiveAt, when not zero, selects enabled rules whose window holds it.
	ActiveAt time.Time
	// Limit caps the rules returned; 0 means DefaultListLimit, and it is
	// at most MaxListLimit.
	Limit int
	// After is the cursor of a previous page (RulePage.Next); empty for the
	// first page.
	After string
}

// Paging limits of RuleStore.ListRules.
const (
	DefaultListLimit = 100
	MaxListLimit     = 1000
)

// RulePage is one page of ListRules, in creation order (Seq ascending).
type RulePage struct {
	Rules []*RuntimeRule
	// Next is the cursor of the next page; empty on the last page.
	Next string
}

// Hit is a count of answers given by one rule (file or runtime, by id),
// for RuleStore.AddHits.
type Hit struct {
	ID    string
	Count uint64
	Last  time.Time
}

// RuleStore keeps runtime rules durably. Every method is safe for
// concurrent use, and a method that returns nil has committed its write:
// a process killed right after still finds it when it starts again.
//
// Errors are *Error values with these codes: ENOTFOUND for an unknown id,
// ECONFLICT when CreateRule finds the id taken, EPRECONDITION when a
// version given to a write is not the rule's current one, EINVALID for a
// bad filter or cursor, EUNAVAILABLE when the database cannot be reached.
// package storetest holds the contract every implementation passes.
type RuleStore interface {
	// ListRules returns one page of the rules that filter selects, in
	// creation order, with their persisted hits.
	ListRules(ctx context.Context, filter RuleFilter) (*RulePage, error)
	// AllRules returns every runtime rule in creation order; the rule set
	// is built from it.
	AllRules(ctx context.Context) ([]*RuntimeRule, error)
	// Rule returns the rule with id.
	Rule(ctx context.Context, id string) (*RuntimeRule, error)
	// CreateRule stores a new rule and returns it as stored (Version,
	// Seq, CreatedAt, UpdatedAt set).
	CreateRule(ctx context.Context, rule Rule, enabled bool) (*RuntimeRule, error)
	// ReplaceRule replaces the rule with rule.ID, keeping its Seq and
	// CreatedAt. ifVersion, when not 0, must be its current Version.
	ReplaceRule(ctx context.Context, rule Rule, enabled bool, ifVersion int64) (*RuntimeRule, error)
	// SetEnabled enables or disables the rule with id. ifVersion, when not
	// 0, must be its current Version.
	SetEnabled(ctx context.Context, id string, enabled bool, ifVersion int64) (*RuntimeRule, error)
	// DeleteRule deletes the rule with id. ifVersion, when not 0, must be
	// its current Version.
	DeleteRule(ctx context.Context, id string, ifVersion int64) error
	// AddHits adds counts to the persisted hits of rules by id (any id:
	// file rules have hit counts too) and moves their last hit forward.
	AddHits(ctx context.Context, hits []Hit) error
	// Hits returns the persisted hits of every rule that has any.
	Hits(ctx context.Context) (map[string]Hit, error)
	// Version returns the store's change counter: it grows with every
	// committed write to the rules (not with AddHits), whoever made it.
	Version(ctx context.Context) (int64, error)
	// Changes returns a channel that receives a value, soon after, when
	// any writer commits a change to the rules; bursts may be coalesced.
	// It is closed when the store is closed. A store shared by several
	// servers (PostgreSQL) delivers the changes of all of them.
	Changes() <-chan struct{}
	// Ping reports whether the store can be reached, for /readyz and
	// metrics.
	Ping(ctx context.Context) error
	// Close releases the store.
	Close() error
}
