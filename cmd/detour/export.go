package main

import (
	"fmt"

	"github.com/detourhttp/detour/convert"
	"github.com/detourhttp/detour/ruleset"
)

const exportUsage = "detour export --to nginx|apache|caddy [--partial] PATH"

// exportRules writes the rule set at PATH as nginx, Apache or Caddy
// configuration on stdout (SPEC §6). What the format cannot express is
// reported on stderr; exit 1 then, unless --partial. Exit 2 when PATH
// cannot be read or does not load, or for a usage error.
func (m *Main) exportRules(args []string) int {
	fs := newFlagSet("export")
	to := fs.String("to", "", "output format: "+orList(convert.ExportFormats()))
	partial := fs.Bool("partial", false, "exit 0 even when some rules could not be expressed")
	pos, code, ok := m.parseFlags(fs, args, exportUsage)
	if !ok {
		return code
	}
	if len(pos) != 1 {
		return m.usageError(exportUsage, "export takes one PATH, a rules file or folder")
	}
	if code, ok := m.checkFormat(exportUsage, "--to", *to, convert.ExportFormats()); !ok {
		return code
	}
	set, ds, err := ruleset.Load(pos[0])
	if err != nil {
		fmt.Fprintf(m.Stderr, "detour: export: %v\n", err)
		return exitCantRun
	}
	if ds.HasErrors() {
		fmt.Fprintf(m.Stderr, "detour: export: the rule set does not load:\n%v\n", ds.Errors())
		return exitCantRun
	}
	out, findings, err := convert.Export(*to, set)
	if err != nil {
		fmt.Fprintf(m.Stderr, "detour: export: %v\n", err)
		return exitCantRun
	}
	for _, f := range findings {
		fmt.Fprintln(m.Stderr, f.String())
	}
	if _, err := m.Stdout.Write(out); err != nil {
		fmt.Fprintf(m.Stderr, "detour: export: %v\n", err)
		return exitCantRun
	}
	if findings.Lost() && !*partial {
		fmt.Fprintln(m.Stderr, "detour: export: some rules could not be expressed (listed above); --partial accepts the rest")
		return exitFailed
	}
	return exitOK
}
