package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/detourhttp/detour"
	"github.com/detourhttp/detour/check"
	"github.com/detourhttp/detour/ruleset"
)

const checkUsage = "detour check FILE --base URL [--json] [--junit FILE] [--concurrency N]\n" +
	"                    [--timeout DURATION] [--exact-location] [--resolve HOST:PORT:ADDR]...\n" +
	"       detour check --rules PATH --base URL [same options]"

// check runs an expectations file, or the cases derived from a rule set,
// against a live server (SPEC §5.2): exit 0 when every case passes, 1 when
// any fails, 2 when it cannot run (usage, an expectations file or rule set
// that cannot be read or parsed, no response from the server at all).
func (m *Main) check(ctx context.Context, args []string) int {
	fs := newFlagSet("check")
	base := fs.String("base", "", "`URL` that the paths of the cases are appended to (scheme, host, port, optional path prefix)")
	rules := fs.String("rules", "", "derive the cases from the rule set at `PATH` (a file or folder) instead of a FILE")
	asJSON := fs.Bool("json", false, "print a JSON report instead of text")
	junit := fs.String("junit", "", "also write a JUnit XML report to `FILE`")
	conc := fs.Int("concurrency", check.DefaultConcurrency, "cases run at once, and the most connections per host (`N`)")
	timeout := fs.Duration("timeout", check.DefaultTimeout, "limit for each case, its redirect chain included (`DURATION`)")
	exact := fs.Bool("exact-location", false, "compare Location as exact text, not after resolution against the request URL")
	var resolves listFlag
	fs.Var(&resolves, "resolve", "connect to ADDR for HOST:PORT, as curl does (`HOST:PORT:ADDR`, repeatable)")
	pos, code, ok := m.parseFlags(fs, args, checkUsage)
	if !ok {
		return code
	}

	var file string
	switch {
	case *rules != "" && len(pos) > 0:
		return m.usageError(checkUsage, "check takes a FILE or --rules PATH, not both")
	case *rules == "" && len(pos) != 1:
		return m.usageError(checkUsage, "check takes one expectations FILE (or --rules PATH)")
	case *rules == "":
		file = pos[0]
	}
	if *conc < 1 {
		return m.usageError(checkUsage, "--concurrency must be at least 1, not %d", *conc)
	}
	if *timeout <= 0 {
		return m.usageError(checkUsage, "--timeout must be positive, not %s", *timeout)
	}
	runner := &check.Runner{Concurrency: *conc, Timeout: *timeout, ExactLocation: *exact}
	for _, r := range resolves {
		o, err := check.ParseOverride(r)
		if err != nil {
			return m.usageError(checkUsage, "%v", err)
		}
		runner.Resolve = append(runner.Resolve, o)
	}
	if *base != "" {
		u, err := url.Parse(*base)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
			return m.usageError(checkUsage, "--base %q: want an http or https URL such as http://127.0.0.1:8080", *base)
		}
		runner.Base = u
	} else if *rules != "" {
		return m.usageError(checkUsage, "--rules needs --base: the URL of the server to check")
	}

	var (
		cases   []check.Case
		skipped []check.Skipped
		name    string
	)
	if file != "" {
		var err error
		if cases, err = check.Load(file); err != nil {
			return m.cannotRead(err)
		}
		name = file
		if runner.Base == nil {
			for _, c := range cases {
				if len(c.Request.URL) > 0 && c.Request.URL[0] == '/' {
					return m.usageError(checkUsage, "%s: url %q is a path: give --base", c.Source, c.Request.URL)
				}
			}
		}
	} else {
		set, ds, err := ruleset.Load(*rules)
		if err != nil {
			fmt.Fprintf(m.Stderr, "detour: check: %v\n", err)
			return exitCantRun
		}
		if ds.HasErrors() {
			return m.cannotRead(fmt.Errorf("rules %s refused: %w", *rules, ds.Errors()))
		}
		if cases, skipped, err = check.FromRules(set, runner.Base, time.Now()); err != nil {
			return m.cannotRead(err)
		}
		name = "rules " + *rules
		if len(cases) == 0 {
			fmt.Fprintf(m.Stderr, "detour: check: the rule set %s gives no case to check\n", *rules)
			for _, s := range skipped {
				fmt.Fprintf(m.Stderr, "  rule %s (%s): %s\n", s.Rule, s.Source, s.Reason)
			}
			return exitCantRun
		}
	}

	progress := check.NewProgressLine(m.Stderr) // nil unless stderr is a terminal
	if progress != nil {
		runner.Progress = progress.Show
	}
	rep, err := runner.Run(ctx, cases)
	progress.Clear()
	if err != nil {
		if errors.Is(err, check.ErrUnreachable) {
			fmt.Fprintf(m.Stderr, "detour: check: nothing checked: %v\n", err)
		} else {
			fmt.Fprintf(m.Stderr, "detour: check: %v\n", err)
		}
		return exitCantRun
	}
	rep.Name, rep.Skipped = name, skipped

	if *asJSON {
		err = check.WriteJSON(m.Stdout, rep)
	} else {
		err = check.WriteText(m.Stdout, rep)
	}
	if err != nil {
		fmt.Fprintf(m.Stderr, "detour: check: %v\n", err)
		return exitCantRun
	}
	if *junit != "" {
		if err := writeFileAtomic(*junit, func(w io.Writer) error { return check.WriteJUnit(w, rep) }); err != nil {
			fmt.Fprintf(m.Stderr, "detour: check: --junit: %v\n", err)
			return exitCantRun
		}
	}
	if rep.Failed > 0 {
		return exitFailed
	}
	return exitOK
}

// cannotRead reports an input that could not be read or parsed, each
// problem on its own line (file:line: field: message), and returns
// exitCantRun.
func (m *Main) cannotRead(err error) int {
	var ds detour.Diagnostics
	if errors.As(err, &ds) {
		for _, d := range ds {
			fmt.Fprintf(m.Stderr, "detour: check: %s\n", d)
		}
		return exitCantRun
	}
	fmt.Fprintf(m.Stderr, "detour: check: %v\n", err)
	return exitCantRun
}

// writeFileAtomic writes a file through fn: into a temporary file beside
// it, synced, then renamed over it, so that a reader never sees half.
func writeFileAtomic(path string, fn func(io.Writer) error) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // after the rename, nothing is there
	if err := fn(tmp); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
