package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/detourhttp/detour/convert"
)

const importUsage = "detour import --from nginx|apache|netlify|csv [--partial] [--out DIR] FILE"

// importRules converts FILE to detour's rules format (SPEC §6): the YAML
// on stdout, or into DIR/detour.yaml with --out DIR, which an import that
// produces bulk tables (nginx map blocks) needs, as the tables are files
// beside the rules file. Findings go to stderr with file:line. Exit 1
// when something was left out unless --partial; 2 when FILE cannot be
// read or parsed, or for a usage error.
func (m *Main) importRules(args []string) int {
	fs := newFlagSet("import")
	from := fs.String("from", "", "input format: "+orList(convert.ImportFormats()))
	partial := fs.Bool("partial", false, "exit 0 even when something could not be expressed")
	out := fs.String("out", "", "write DIR/detour.yaml and its table files instead of printing the YAML")
	pos, code, ok := m.parseFlags(fs, args, importUsage)
	if !ok {
		return code
	}
	if len(pos) != 1 {
		return m.usageError(importUsage, "import takes one FILE")
	}
	if code, ok := m.checkFormat(importUsage, "--from", *from, convert.ImportFormats()); !ok {
		return code
	}
	res, err := convert.Import(*from, pos[0], convert.FileReader{})
	if err != nil {
		if errors.Is(err, convert.ErrSyntax) {
			fmt.Fprintf(m.Stderr, "detour: import: %v\n", err)
		} else {
			fmt.Fprintf(m.Stderr, "detour: import: %s: %v\n", pos[0], err)
		}
		return exitCantRun
	}
	for _, f := range res.Findings {
		fmt.Fprintln(m.Stderr, f.String())
	}
	if *out == "" && len(res.Tables) > 0 {
		names := make([]string, len(res.Tables))
		for i, t := range res.Tables {
			names[i] = t.Name
		}
		fmt.Fprintf(m.Stderr, "detour: import: this import produces table files (%s) that live beside the rules file: give --out DIR\n", strings.Join(names, ", "))
		return exitCantRun
	}
	if *out != "" {
		if err := writeImport(*out, res); err != nil {
			fmt.Fprintf(m.Stderr, "detour: import: %v\n", err)
			return exitCantRun
		}
		fmt.Fprintf(m.Stderr, "detour: import: wrote %s\n", filepath.Join(*out, "detour.yaml"))
	} else if _, err := m.Stdout.Write(res.YAML); err != nil {
		fmt.Fprintf(m.Stderr, "detour: import: %v\n", err)
		return exitCantRun
	}
	if res.Findings.Lost() && !*partial {
		fmt.Fprintln(m.Stderr, "detour: import: some directives could not be expressed (listed above); --partial accepts the rest")
		return exitFailed
	}
	return exitOK
}

// checkFormat checks the value of a --from or --to flag against the
// formats convert knows, and prints the usage error when it is not one.
func (m *Main) checkFormat(usageLine, flagName, got string, formats []string) (int, bool) {
	switch {
	case got == "":
		return m.usageError(usageLine, "%s is required", flagName), false
	case !slices.Contains(formats, got):
		return m.usageError(usageLine, "%s must be %s, not %q", flagName, orList(formats), got), false
	}
	return exitOK, true
}

// orList writes names as "a, b or c".
func orList(names []string) string {
	if len(names) < 2 {
		return strings.Join(names, "")
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}

// writeImport writes the rules file and its tables into dir.
func writeImport(dir string, res *convert.Result) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, t := range res.Tables {
		if err := os.WriteFile(filepath.Join(dir, t.Name), t.Data, 0o644); err != nil {
			return err
		}
	}
	return os.WriteFile(filepath.Join(dir, "detour.yaml"), res.YAML, 0o644)
}
