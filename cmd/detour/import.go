package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
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
	from := fs.String("from", "", "input format: nginx, apache, netlify or csv")
	partial := fs.Bool("partial", false, "exit 0 even when something could not be expressed")
	out := fs.String("out", "", "write DIR/detour.yaml and its table files instead of printing the YAML")
	pos, code, ok := m.parseFlags(fs, args, importUsage)
	if !ok {
		return code
	}
	if len(pos) != 1 {
		return m.usageError(importUsage, "import takes one FILE")
	}
	switch *from {
	case "nginx", "apache", "netlify", "csv":
	case "":
		return m.usageError(importUsage, "--from is required")
	default:
		return m.usageError(importUsage, "--from must be nginx, apache, netlify or csv, not %q", *from)
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
