package reload

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/detourhttp/detour"
	"github.com/detourhttp/detour/internal/server"
)

// Defaults of RunStore and RunHits.
const (
	// DefaultStorePoll is how often RunStore checks the store's version,
	// the safety net under its change notifications.
	DefaultStorePoll = 5 * time.Second
	// DefaultHitsEvery is how often RunHits persists hit counts.
	DefaultHitsEvery = 10 * time.Second
)

var errNoStore = detour.Errorf(detour.EUNAVAILABLE, "this server has no rule store")

// readStoreLocked reads every runtime rule and the store's version.
func (r *Reloader) readStoreLocked(ctx context.Context) error {
	v, err := r.cfg.Store.Version(ctx)
	if err != nil {
		return fmt.Errorf("runtime rules: %w", err)
	}
	all, err := r.cfg.Store.AllRules(ctx)
	if err != nil {
		return fmt.Errorf("runtime rules: %w", err)
	}
	r.runtime, r.applied = all, v
	return nil
}

// Shadowed returns why the runtime rule id is left out of the live rules,
// "" when it is not.
func (r *Reloader) Shadowed(id string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.shadowed[id].Message
}

// ShadowedCount returns the number of runtime rules left out of the live
// rules.
func (r *Reloader) ShadowedCount() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.shadowed)
}

// Store returns the rule store, nil when there is none.
func (r *Reloader) Store() detour.RuleStore { return r.cfg.Store }

// Refresh reads the runtime rules from the store again when its version
// moved since they were last read (another server's write, or a write to
// the same file by another process), and makes the new set live.
func (r *Reloader) Refresh(ctx context.Context) error {
	if r.cfg.Store == nil {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.set == nil {
		return nil // the first Reload reads the store
	}
	v, err := r.cfg.Store.Version(ctx)
	if err != nil {
		return fmt.Errorf("runtime rules: %w", err)
	}
	if v == r.applied {
		return nil
	}
	if err := r.readStoreLocked(ctx); err != nil {
		return err
	}
	rules, shadowed, _ := r.build(r.set, r.runtime)
	if rules == nil {
		return errors.New("runtime rules: the rule set does not compile")
	}
	r.swapLocked(rules, shadowed)
	r.cfg.Log.Info("runtime rules reloaded from the store", "version", v, "runtime", len(r.runtime))
	releaseMemory()
	return nil
}

// RunStore follows the store until ctx is done: after each change
// notification, and every poll interval (0 means DefaultStorePoll), it
// calls Refresh. Errors are logged; the live rules keep serving.
func (r *Reloader) RunStore(ctx context.Context, poll time.Duration) {
	if r.cfg.Store == nil {
		return
	}
	if poll <= 0 {
		poll = DefaultStorePoll
	}
	tick := time.NewTicker(poll)
	defer tick.Stop()
	changes := r.cfg.Store.Changes()
	for {
		select {
		case <-ctx.Done():
			return
		case _, ok := <-changes:
			if !ok {
				return
			}
		case <-tick.C:
		}
		if err := r.Refresh(ctx); err != nil && ctx.Err() == nil {
			r.cfg.Log.Warn("runtime rules not refreshed; the live rules keep serving", "error", err)
		}
	}
}

// write applies one change to the runtime rules: it builds the rule set
// with next (the runtime rules after the change) and refuses the change
// when that makes a runtime rule shadowed that was not before; else it
// commits with commit, and makes the set live before it returns. The
// caller's change is durable and live when write returns nil.
func (r *Reloader) write(ctx context.Context, next []*detour.RuntimeRule, commit func() (*detour.RuntimeRule, error)) (*detour.RuntimeRule, error) {
	if r.set == nil {
		return nil, detour.Errorf(detour.EUNAVAILABLE, "no rules are loaded yet")
	}
	rules, shadowed, diags := r.build(r.set, next)
	if rules == nil {
		// The live set compiles, so the change is at fault even though
		// the errors name file rules (a loop through them, say).
		ds := diags.Errors()
		msg := "the rules would not compile with this change"
		if len(ds) > 0 {
			msg += ": " + ds[0].String()
		}
		return nil, &detour.Error{Code: detour.EINVALID, Message: msg, Diagnostics: ds}
	}
	if err := refusal(r.shadowed, shadowed); err != nil {
		return nil, err
	}
	before, verr := r.cfg.Store.Version(ctx)
	rr, err := commit()
	if err != nil {
		return nil, err
	}
	if rr != nil {
		// The store gives the rule as stored (version, times).
		next = slices.Clone(next)
		for i, x := range next {
			if x.Rule.ID == rr.Rule.ID {
				next[i] = rr
			}
		}
	}
	r.runtime = next
	r.swapLocked(rules, shadowed)
	// When nobody else wrote in between, the store is at what is live;
	// else leave the version behind so that RunStore reads it all again.
	if after, err := r.cfg.Store.Version(ctx); err == nil && verr == nil && after == before+1 && before == r.applied {
		r.applied = after
	}
	releaseMemory()
	return rr, nil
}

// refusal returns the error of a change that would leave out runtime rules
// that were live: 409 for a tie or a taken id (the message names the other
// rule's file:line), 422 for any other error.
func refusal(before, after map[string]detour.Diagnostic) error {
	var ds detour.Diagnostics
	conflict := false
	for id, d := range after {
		if _, was := before[id]; was {
			continue
		}
		if d.Code == "tie" || d.Code == "duplicate-id" {
			conflict = true
		}
		ds = append(ds, d)
	}
	if len(ds) == 0 {
		return nil
	}
	slices.SortFunc(ds, func(a, b detour.Diagnostic) int { return strings.Compare(a.Rule, b.Rule) })
	code := detour.EINVALID
	msg := "the rule is refused: " + ds[0].Message
	if conflict {
		code = detour.ECONFLICT
		msg = "the rule conflicts with the live rules: " + ds[0].Message
	}
	return &detour.Error{Code: code, Message: msg, Diagnostics: ds}
}

func (r *Reloader) findLocked(id string) int {
	return slices.IndexFunc(r.runtime, func(x *detour.RuntimeRule) bool { return x.Rule.ID == id })
}

func (r *Reloader) needStore() error {
	if r.cfg.Store == nil {
		return errNoStore
	}
	return nil
}

// CreateRule creates a runtime rule. It returns once the rule is
// committed and live; a rule that ties with a live rule or takes its id
// is refused with ECONFLICT, one that does not compile with the rest with
// EINVALID.
func (r *Reloader) CreateRule(ctx context.Context, rule detour.Rule, enabled bool) (*detour.RuntimeRule, error) {
	if err := r.needStore(); err != nil {
		return nil, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.findLocked(rule.ID) >= 0 {
		return nil, detour.Errorf(detour.ECONFLICT, "a runtime rule with id %q already exists", rule.ID)
	}
	next := append(slices.Clone(r.runtime), &detour.RuntimeRule{Rule: rule, Enabled: enabled})
	return r.write(ctx, next, func() (*detour.RuntimeRule, error) {
		return r.cfg.Store.CreateRule(ctx, rule, enabled)
	})
}

// ReplaceRule replaces the runtime rule rule.ID; ifVersion, when not 0,
// must be its version (else EPRECONDITION).
func (r *Reloader) ReplaceRule(ctx context.Context, rule detour.Rule, enabled bool, ifVersion int64) (*detour.RuntimeRule, error) {
	if err := r.needStore(); err != nil {
		return nil, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	i, err := r.currentLocked(ctx, rule.ID, ifVersion)
	if err != nil {
		return nil, err
	}
	next := slices.Clone(r.runtime)
	x := *next[i]
	x.Rule, x.Enabled = rule, enabled
	next[i] = &x
	return r.write(ctx, next, func() (*detour.RuntimeRule, error) {
		return r.cfg.Store.ReplaceRule(ctx, rule, enabled, ifVersion)
	})
}

// SetEnabled enables or disables the runtime rule id.
func (r *Reloader) SetEnabled(ctx context.Context, id string, enabled bool, ifVersion int64) (*detour.RuntimeRule, error) {
	if err := r.needStore(); err != nil {
		return nil, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	i, err := r.currentLocked(ctx, id, ifVersion)
	if err != nil {
		return nil, err
	}
	next := slices.Clone(r.runtime)
	x := *next[i]
	x.Enabled = enabled
	next[i] = &x
	return r.write(ctx, next, func() (*detour.RuntimeRule, error) {
		return r.cfg.Store.SetEnabled(ctx, id, enabled, ifVersion)
	})
}

// DeleteRule deletes the runtime rule id.
func (r *Reloader) DeleteRule(ctx context.Context, id string, ifVersion int64) error {
	if err := r.needStore(); err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	i, err := r.currentLocked(ctx, id, ifVersion)
	if err != nil {
		return err
	}
	next := slices.Delete(slices.Clone(r.runtime), i, i+1)
	_, err = r.write(ctx, next, func() (*detour.RuntimeRule, error) {
		return nil, r.cfg.Store.DeleteRule(ctx, id, ifVersion)
	})
	return err
}

// currentLocked finds the runtime rule id, checking ifVersion against
// what was last read (the store checks again when it commits).
func (r *Reloader) currentLocked(ctx context.Context, id string, ifVersion int64) (int, error) {
	i := r.findLocked(id)
	if i < 0 {
		// Perhaps another server created it: the store has the last word.
		if _, err := r.cfg.Store.Rule(ctx, id); err != nil {
			return -1, err
		}
		if err := r.readStoreLocked(ctx); err != nil {
			return -1, err
		}
		if i = r.findLocked(id); i < 0 {
			return -1, detour.Errorf(detour.ENOTFOUND, "no runtime rule has id %q", id)
		}
	}
	if v := r.runtime[i].Version; ifVersion != 0 && ifVersion != v {
		return -1, detour.Errorf(detour.EPRECONDITION, "rule %q has changed: its version is %d, not %d; fetch it again", id, v, ifVersion)
	}
	return i, nil
}

// FlushHits persists the hit counts counted since the last flush. Counts
// that cannot be persisted are kept for the next flush.
func (r *Reloader) FlushHits(ctx context.Context) error {
	if r.cfg.Store == nil || r.cfg.Stats == nil {
		return nil
	}
	hits := r.cfg.Stats.TakeHits()
	if len(hits) == 0 {
		return nil
	}
	if err := r.cfg.Store.AddHits(ctx, hits); err != nil {
		r.cfg.Stats.PutBack(hits)
		return fmt.Errorf("persist hits: %w", err)
	}
	return nil
}

// RunHits persists hit counts every interval (0 means DefaultHitsEvery)
// until ctx is done, and once more then.
func (r *Reloader) RunHits(ctx context.Context, every time.Duration) {
	if r.cfg.Store == nil || r.cfg.Stats == nil {
		return
	}
	if every <= 0 {
		every = DefaultHitsEvery
	}
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			if err := r.FlushHits(fctx); err != nil {
				r.cfg.Log.Warn("hit counts not persisted at shutdown", "error", err)
			}
			cancel()
			return
		case <-tick.C:
			if err := r.FlushHits(ctx); err != nil {
				r.cfg.Log.Warn("hit counts not persisted; will retry", "error", err)
			}
		}
	}
}

// RuleStats returns the per-rule counters, nil when not counting.
func (r *Reloader) RuleStats() *server.Stats { return r.cfg.Stats }
