// Package reload keeps the redirect listener's rule set in step with its
// files: it loads and compiles a rules file or folder (with its tables)
// aside, swaps the result into the server atomically, and refuses a set
// with errors so the previous one keeps serving. Run watches the files;
// Reload is the trigger for SIGHUP and, later, the admin API.
package reload

import (
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
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
	// Path is the rules file or folder. Required.
	Path string
	// Server receives every rule set that loads without errors. Required.
	Server *server.Handler
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

	mu    sync.Mutex // serialises loads; guards the fields below
	files []string   // absolute paths of the live set's files
	print []string   // fingerprint of the rules path and files after the last load
	stats Stats

	successes atomic.Uint64
	failures  atomic.Uint64
}

// New returns a Reloader for cfg. It loads nothing; call Reload.
func New(cfg Config) (*Reloader, error) {
	if cfg.Path == "" || cfg.Server == nil {
		return nil, errors.New("reload: config needs a path and a server")
	}
	abs, err := filepath.Abs(cfg.Path)
	if err != nil {
		return nil, fmt.Errorf("reload: rules path: %w", err)
	}
	cfg.Path = abs
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
// When the set is refused the previous one keeps serving and the error
// wraps the detour.Diagnostics that refused it (errors.As finds them);
// an error without diagnostics means the rules could not be read at all.
func (r *Reloader) Reload(reason string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	start := time.Now()
	log := r.cfg.Log.With("rules", r.cfg.Path, "reason", reason)

	rules, files, diags, err := load(r.cfg.Path, r.cfg.Now())
	for _, d := range diags {
		if d.Severity == detour.SeverityWarning {
			log.Warn("rules warning", "diagnostic", d.String())
		}
	}
	if err == nil && diags.HasErrors() {
		err = fmt.Errorf("rules %s refused: %w", r.cfg.Path, diags.Errors())
	}
	now := r.cfg.Now()
	r.stats.LastAttempt = now
	if len(files) > 0 {
		// Even a refused set tells which files it read: watch them too,
		// so that fixing a table file is seen.
		r.files = union(r.files, files)
	}
	defer func() { r.print = fingerprint(r.watchedLocked()) }()
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
		return err
	}
	r.cfg.Server.Store(rules)
	r.files = files
	r.successes.Add(1)
	r.stats.LastSuccess = now
	r.stats.LastError = ""
	log.Info("rules loaded", "count", rules.Table.Len(), "files", len(files), "warnings", len(diags), "took", time.Since(start))
	return nil
}

// load reads and compiles the rule set at path, linting it at now. files are the absolute
// paths it read, known even when it has errors if the set could be read.
func load(path string, now time.Time) (*server.Rules, []string, detour.Diagnostics, error) {
	set, diags, err := ruleset.Load(path)
	if err != nil {
		return nil, nil, diags, fmt.Errorf("load rules: %w", err)
	}
	if set == nil {
		return nil, nil, diags, nil
	}
	files := absAll(set.Files)
	if diags.HasErrors() {
		return nil, files, diags, nil
	}
	table, cdiags := set.CompileAt(now)
	diags = append(diags, cdiags...)
	if diags.HasErrors() || table == nil {
		return nil, files, diags, nil
	}
	return &server.Rules{Table: table, MergeSlashes: set.MergeSlashes}, files, diags, nil
}

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
