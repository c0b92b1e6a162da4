// Package reload keeps the redirect listener's rule set in step with its
// sources: the rules file or folder (with its tables) and the runtime
// rules of the store. It builds one rule set from both — file rules first,
// runtime rules after them in creation order, one precedence (SPEC §1.2) —
// compiles it aside, swaps the result into the server atomically, and
// refuses a set with errors so the previous one keeps serving. Run watches
// the files, RunStore follows the store; Reload is the trigger for SIGHUP;
// CreateRule and its siblings are the admin API's writes, which answer only
// once the change is committed and live.
//
// A runtime rule that the file rules will not have — it ties with a file
// rule, takes a file rule's id, or is otherwise refused together with
// them — is left out of the live set and reported as shadowed (Shadowed,
// and a warning in the log): a file reload always wins over runtime rules.
package reload

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"runtime/debug"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/detourhttp/detour"
	"github.com/detourhttp/detour/internal/server"
	"github.com/detourhttp/detour/ruleset"
)

// DefaultDebounce is how long Run waits after the last file event of a
// burst before it reloads.
const DefaultDebounce = 100 * time.Millisecond

// Config configures a Reloader.
type Config struct {
	// Path is the rules file or folder; empty means the built-in demo set
	// (ruleset.Demo, with the echo), which has no files to watch.
	Path string
	// Server receives every rule set that loads without errors. Required.
	Server *server.Handler
	// Store holds the runtime rules; nil means there are none (and the
	// rule writes fail).
	Store detour.RuleStore
	// Stats, when set, gets each live set's counters (server.Stats.Index).
	Stats *server.Stats
	// Log receives load results and each diagnostic; nil discards them.
	Log *slog.Logger
	// Debounce is the quiet time after a burst of file events before a
	// reload; 0 means DefaultDebounce.
	Debounce time.Duration
	// Now stamps reloads; nil means time.Now.
	Now func() time.Time
}

// Stats are a Reloader's counters, for /readyz and (later) metrics.
type Stats struct {
	// Successes and Failures count load attempts since start, the first
	// load included.
	Successes uint64
	Failures  uint64
	// LastAttempt is when the last load finished; zero before the first.
	LastAttempt time.Time
	// LastSuccess is when a rule set last went live.
	LastSuccess time.Time
	// LastError is the error of the last attempt; empty when it succeeded.
	LastError string
}

// Reloader loads the rule set at Config.Path into the server. It is safe
// for concurrent use: loads are serialised.
type Reloader struct {
	cfg Config

	mu    sync.Mutex // serialises loads and rule writes; guards the fields below
	files []string   // absolute paths of the live set's files
	print []string   // fingerprint of the rules path and files after the last load
	stats Stats

	set      *ruleset.Set                 // the file rules of the live set; nil before the first load
	runtime  []*detour.RuntimeRule        // the store's rules as last read, in creation order
	shadowed map[string]detour.Diagnostic // runtime rule id → why it is left out
	applied  int64                        // the store version runtime was read at

	successes atomic.Uint64
	failures  atomic.Uint64
}

// New returns a Reloader for cfg. It loads nothing; call Reload.
func New(cfg Config) (*Reloader, error) {
	if cfg.Server == nil {
		return nil, errors.New("reload: config needs a server")
	}
	if cfg.Path != "" {
		abs, err := filepath.Abs(cfg.Path)
		if err != nil {
			return nil, fmt.Errorf("reload: rules path: %w", err)
		}
		cfg.Path = abs
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Debounce <= 0 {
		cfg.Debounce = DefaultDebounce
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Reloader{cfg: cfg}, nil
}

// Reload loads and compiles the rule set now and, when it has no errors,
// makes it live. reason ("start", "SIGHUP", "file change") goes to the log.
// On the first load it also reads the runtime rules from the store.
// When the set is refused the previous one keeps serving and the error
// wraps the detour.Diagnostics that refused it (errors.As finds them);
// an error without diagnostics means the rules could not be read at all.
func (r *Reloader) Reload(reason string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	start := time.Now()
	log := r.cfg.Log.With("rules", r.rulesName(), "reason", reason)
	// The fingerprint of the files known already is taken before they
	// are read, and that of files new to the set as soon as they have
	// been read: a change made after a file was read must not count as
	// seen.
	before := r.watchedLocked()
	beforePrint := fingerprint(before)
	var read, readPrint []string
	defer func() { r.print = printAfter(before, beforePrint, read, readPrint, r.watchedLocked()) }()

	if r.set == nil && r.cfg.Store != nil {
		if err := r.readStoreLocked(context.Background()); err != nil {
			r.failures.Add(1)
			r.stats.LastAttempt = r.cfg.Now()
			r.stats.LastError = err.Error()
			log.Error("runtime rules cannot be read", "error", err)
			return err
		}
	}
	set, files, diags, err := r.loadFiles()
	read, readPrint = files, fingerprint(files)
	var rules *server.Rules
	var shadowed map[string]detour.Diagnostic
	if err == nil && !diags.HasErrors() {
		var bdiags detour.Diagnostics
		rules, shadowed, bdiags = r.build(set, r.runtime)
		diags = append(diags, bdiags...)
	}
	for _, d := range diags {
		if d.Severity == detour.SeverityWarning {
			log.Warn("rules warning", "diagnostic", d.String())
		}
	}
	if err == nil && diags.HasErrors() {
		err = fmt.Errorf("rules %s refused: %w", r.rulesName(), diags.Errors())
	}
	now := r.cfg.Now()
	r.stats.LastAttempt = now
	if len(files) > 0 {
		// Even a refused set tells which files it read: watch them too,
		// so that fixing a table file is seen.
		r.files = union(r.files, files)
	}
	if err != nil {
		r.failures.Add(1)
		r.stats.LastError = err.Error()
		for _, d := range diags.Errors() {
			log.Error("rules error", "diagnostic", d.String())
		}
		msg := "rules refused; the previous rules keep serving"
		if r.cfg.Server.Rules() == nil {
			msg = "rules refused; none are live"
		}
		log.Error(msg, "error", firstLine(err), "errors", len(diags.Errors()))
		releaseMemory() // what the refused set took
		return err
	}
	r.set = set
	r.swapLocked(rules, shadowed)
	r.files = files
	r.successes.Add(1)
	r.stats.LastSuccess = now
	r.stats.LastError = ""
	log.Info("rules loaded", "count", rules.Table.Len(), "files", len(files), "runtime", len(r.runtime),
		"warnings", len(diags), "took", time.Since(start))
	releaseMemory()
	return nil
}

// rulesName names the rules in messages: the path, or "built-in demo set".
func (r *Reloader) rulesName() string {
	if r.cfg.Path == "" {
		return "built-in demo set"
	}
	return r.cfg.Path
}

// loadFiles reads the rule set at the rules path (or the demo set). files
// are the absolute paths it read, known even when it has errors if the set
// could be read.
func (r *Reloader) loadFiles() (*ruleset.Set, []string, detour.Diagnostics, error) {
	if r.cfg.Path == "" {
		return ruleset.Demo(), nil, nil, nil
	}
	set, diags, err := ruleset.Load(r.cfg.Path)
	if err != nil {
		return nil, nil, diags, fmt.Errorf("load rules: %w", err)
	}
	if set == nil {
		return nil, nil, diags, nil
	}
	return set, absAll(set.Files), diags, nil
}

// build compiles the file rules of set with the enabled runtime rules
// after them (Source.Runtime, Seq after the file rules in creation order),
// linting at now. A runtime rule that an error names — a tie with a file
// rule, a taken id, a loop — is left out and returned in shadowed with
// the message, and the rest is compiled again; when an error names no
// runtime rule, the file rules themselves are at fault and rules is nil.
func (r *Reloader) build(set *ruleset.Set, runtime []*detour.RuntimeRule) (rules *server.Rules, shadowed map[string]detour.Diagnostic, diags detour.Diagnostics) {
	now := r.cfg.Now()
	next := 0
	fileIDs := make(map[string]detour.Source, len(set.Rules)+len(set.Tables))
	for _, fr := range set.Rules {
		next = max(next, fr.Source.Seq+1)
		fileIDs[fr.ID] = fr.Source
	}
	for _, tb := range set.Tables {
		next = max(next, tb.Source.Seq+1)
		fileIDs[tb.ID] = tb.Source
	}
	shadowed = map[string]detour.Diagnostic{}
	var live []detour.Rule
	for _, rr := range runtime {
		if !rr.Enabled {
			continue
		}
		rule := rr.Rule
		// An id taken by a file rule: match would report it, but the
		// message would be placed on the file rule.
		if src, taken := fileIDs[rule.ID]; taken {
			shadowed[rule.ID] = detour.Diagnostic{Severity: detour.SeverityError, Field: "id", Rule: rule.ID, Code: "duplicate-id",
				Message: fmt.Sprintf("id %q is already used at %s", rule.ID, src)}
			continue
		}
		rule.Source = detour.Source{Runtime: true, Seq: next}
		next++
		live = append(live, rule)
	}
	for {
		merged := *set
		merged.Rules = append(merged.Rules[:len(merged.Rules):len(merged.Rules)], live...)
		table, ds := merged.CompileAt(now)
		if table != nil {
			rules = &server.Rules{Table: table, MergeSlashes: set.MergeSlashes, Echo: r.cfg.Path == ""}
			if r.cfg.Stats != nil {
				rules.Stats = r.cfg.Stats.Index(table)
			}
			return rules, shadowed, append(diags, ds...)
		}
		bad := map[string]detour.Diagnostic{}
		for _, d := range ds.Errors() {
			if d.Rule != "" && (d.File == "" || d.File == "runtime") && containsRule(live, d.Rule) {
				if _, seen := bad[d.Rule]; !seen {
					d.File = ""
					bad[d.Rule] = d
				}
			}
		}
		if len(bad) == 0 {
			return nil, shadowed, append(diags, ds...)
		}
		kept := live[:0:0]
		for _, l := range live {
			if d, out := bad[l.ID]; out {
				shadowed[l.ID] = d
				continue
			}
			kept = append(kept, l)
		}
		live = kept
	}
}

func containsRule(rules []detour.Rule, id string) bool {
	for i := range rules {
		if rules[i].ID == id {
			return true
		}
	}
	return false
}

// swapLocked makes rules live and logs runtime rules newly shadowed.
func (r *Reloader) swapLocked(rules *server.Rules, shadowed map[string]detour.Diagnostic) {
	r.cfg.Server.Store(rules)
	for id, why := range shadowed {
		if _, was := r.shadowed[id]; !was {
			r.cfg.Log.Warn("runtime rule shadowed: it is left out of the live rules", "rule", id, "reason", why.Message)
		}
	}
	for id := range r.shadowed {
		if _, still := shadowed[id]; !still {
			r.cfg.Log.Info("runtime rule no longer shadowed", "rule", id)
		}
	}
	r.shadowed = shadowed
}

// releaseMemory returns the garbage of a load to the system, once the
// set it replaced is no longer reachable from the server (after the
// swap and its log: it takes a while). Building a
// table of a million rows leaves about as much garbage as the table
// keeps, and the Go runtime would otherwise hold on to it (its heap
// grows to twice what is live before it collects, and it gives pages
// back slowly): the process would stay that much larger until the next
// load. It costs one full collection per load.
func releaseMemory() { debug.FreeOSMemory() }

// Stats returns the counters.
func (r *Reloader) Stats() Stats {
	r.mu.Lock()
	s := r.stats
	r.mu.Unlock()
	s.Successes = r.successes.Load()
	s.Failures = r.failures.Load()
	return s
}

// Path returns the absolute rules path.
func (r *Reloader) Path() string { return r.cfg.Path }

// watched returns the rules path and the files of the live set (and of
// refused sets since).
func (r *Reloader) watched() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.watchedLocked()
}

func (r *Reloader) watchedLocked() []string {
	return append([]string{r.cfg.Path}, r.files...)
}

// printAfter returns the fingerprint to keep after a load, for the watch
// list after: each file's entry from the fingerprint taken before the
// load when it was on the list then (before, beforePrint), else from the
// one taken just after it was read (read, readPrint).
func printAfter(before, beforePrint, read, readPrint, after []string) []string {
	if slices.Equal(before, after) {
		return beforePrint
	}
	known := make(map[string]string, len(before)+len(read))
	for i, f := range read {
		known[f] = readPrint[i]
	}
	for i, f := range before {
		known[f] = beforePrint[i]
	}
	out := make([]string, len(after))
	for i, f := range after {
		if e, ok := known[f]; ok {
			out[i] = e
		} else {
			out[i] = fingerprint([]string{f})[0]
		}
	}
	return out
}

// loadedPrint returns the fingerprint taken after the last load.
func (r *Reloader) loadedPrint() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.print
}

func absAll(files []string) []string {
	out := make([]string, 0, len(files))
	for _, f := range files {
		if a, err := filepath.Abs(f); err == nil {
			out = append(out, a)
		}
	}
	return out
}

func union(a, b []string) []string {
	seen := make(map[string]bool, len(a)+len(b))
	out := make([]string, 0, len(a)+len(b))
	for _, s := range append(append([]string(nil), a...), b...) {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

func firstLine(err error) string {
	s := err.Error()
	for i := 0; i < len(s); i++ {
		if s[i] == '\n' {
			return s[:i] + " …"
		}
	}
	return s
}
