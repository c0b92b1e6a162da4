package convert_test

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/detourhttp/detour/convert"
	"github.com/detourhttp/detour/ruleset"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

// golden compares got with the golden file name, or rewrites it with
// -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(name, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(name)
	if err != nil {
		t.Fatalf("%v (run go test ./convert -run Golden -update to write it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the output (go test ./convert -run Golden -update rewrites it)\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

// withFindings appends the findings to out as comment lines.
func withFindings(out []byte, fs convert.Findings) []byte {
	var b bytes.Buffer
	b.Write(out)
	if len(fs) > 0 {
		b.WriteString("\n# findings:\n")
		for _, f := range fs {
			b.WriteString("# " + filepath.ToSlash(f.String()) + "\n")
		}
	}
	return b.Bytes()
}

// importInputs lists the golden inputs of every importer.
func importInputs(t *testing.T) map[string][]string {
	t.Helper()
	glob := func(pats ...string) []string {
		var out []string
		for _, p := range pats {
			m, err := filepath.Glob(p)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, m...)
		}
		return out
	}
	return map[string][]string{
		"nginx":   glob("testdata/nginx/*.conf"),
		"apache":  glob("testdata/apache/*.conf", "testdata/apache/*.htaccess"),
		"netlify": glob("testdata/netlify/_redirects"),
		"csv":     glob("testdata/csv/*.csv"),
	}
}

// TestGoldenImport checks every importer's output on its inputs, and that
// the output loads and lints without errors.
func TestGoldenImport(t *testing.T) {
	for format, files := range importInputs(t) {
		for _, f := range files {
			name := strings.TrimPrefix(filepath.Base(f), "_")
			t.Run(format+"/"+name, func(t *testing.T) {
				res, err := convert.Import(format, f, convert.FileReader{})
				if err != nil {
					t.Fatal(err)
				}
				dir := filepath.Join("testdata/golden/import", format)
				golden(t, filepath.Join(dir, name+".yaml"), withFindings(res.YAML, res.Findings))
				tmp := t.TempDir()
				for _, tb := range res.Tables {
					golden(t, filepath.Join(dir, name+"."+tb.Name), tb.Data)
					if err := os.WriteFile(filepath.Join(tmp, tb.Name), tb.Data, 0o644); err != nil {
						t.Fatal(err)
					}
				}
				rules := filepath.Join(tmp, "detour.yaml")
				if err := os.WriteFile(rules, res.YAML, 0o644); err != nil {
					t.Fatal(err)
				}
				ds, err := ruleset.LintPath(rules, time.Now(), false)
				if err != nil {
					t.Fatal(err)
				}
				if ds.HasErrors() {
					t.Errorf("the import does not lint:\n%v\n%s", ds.Errors(), res.YAML)
				}
			})
		}
	}
}

// TestGoldenExport checks every exporter's output on the export corpus.
func TestGoldenExport(t *testing.T) {
	for _, format := range convert.ExportFormats() {
		for _, c := range corpus(t, "testdata/export", ".yaml") {
			t.Run(format+"/"+c.name, func(t *testing.T) {
				set, ds, err := ruleset.Load(c.file)
				if err != nil || ds.HasErrors() {
					t.Fatalf("%v %v", err, ds.Errors())
				}
				out, fs, err := convert.Export(format, set)
				if err != nil {
					t.Fatal(err)
				}
				golden(t, filepath.Join("testdata/golden/export", format, c.name+".conf"), withFindings(out, fs))
			})
		}
	}
}
