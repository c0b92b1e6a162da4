package main

import (
	"fmt"
	"time"

	"github.com/detourhttp/detour/ruleset"
)

const lintUsage = "detour lint [--strict] [--json] PATH"

// lint checks the rule set at PATH as every load does, plus the redirect
// graph (SPEC §1.4): exit 0 when clean, 1 with errors (warnings too under
// --strict, an unparsable file included), 2 when PATH cannot be read.
func (m *Main) lint(args []string) int {
	fs := newFlagSet("lint")
	strict := fs.Bool("strict", false, "turn every warning into an error")
	asJSON := fs.Bool("json", false, "print a JSON report")
	pos, code, ok := m.parseFlags(fs, args, lintUsage)
	if !ok {
		return code
	}
	if len(pos) != 1 {
		return m.usageError(lintUsage, "lint takes one PATH, a rules file or folder")
	}
	path := pos[0]
	ds, err := ruleset.LintPath(path, time.Now(), *strict)
	if err != nil {
		fmt.Fprintf(m.Stderr, "detour: lint: %v\n", err)
		return exitCantRun
	}
	if *asJSON {
		err = ruleset.WriteJSON(m.Stdout, ds)
	} else {
		err = ruleset.WriteText(m.Stdout, ds)
	}
	if err != nil {
		fmt.Fprintf(m.Stderr, "detour: %v\n", err)
		return exitCantRun
	}
	if ds.HasErrors() {
		return exitFailed
	}
	return exitOK
}
