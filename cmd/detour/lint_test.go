package main_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// lintFiles are rules files with known findings.
var lintFiles = map[string]string{
	"clean.yaml":   "rules:\n  - from: /a\n    to: /b\n",
	"warning.yaml": "rules:\n  - from: /a\n    to: /b\n    window:\n      end: 2020-01-01T00:00:00Z\n",
	"error.yaml":   "rules:\n  - from: /a\n    to: /b\n    status: 999\n",
	"syntax.yaml":  "rules:\n  - from: /a\n   to: [\n",
}

func writeLintFiles(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for name, data := range lintFiles {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestLintExitCodes(t *testing.T) {
	dir := writeLintFiles(t)
	at := func(name string) string { return filepath.Join(dir, name) }
	tests := []struct {
		name   string
		args   []string
		code   int
		stdout string // "" means empty
		stderr string
	}{
		{"clean", []string{at("clean.yaml")}, 0, "", ""},
		{"warning", []string{at("warning.yaml")}, 0, "warning.yaml:5: warning: rules[0].window.end:", ""},
		{"warning under --strict", []string{"--strict", at("warning.yaml")}, 1, "warning.yaml:5: rules[0].window.end:", ""},
		{"flags after the path", []string{at("warning.yaml"), "--strict"}, 1, "1 error, 0 warnings", ""},
		{"error", []string{at("error.yaml")}, 1, "error.yaml:4: rules[0].status:", ""},
		{"unparsable", []string{at("syntax.yaml")}, 1, "syntax.yaml:", ""},
		{"missing path", []string{at("none.yaml")}, 2, "", "no such file"},
		{"no path", nil, 2, "", "usage: detour lint"},
		{"two paths", []string{at("clean.yaml"), at("error.yaml")}, 2, "", "usage: detour lint"},
		{"unknown flag", []string{"--fix", at("clean.yaml")}, 2, "", "usage: detour lint"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := run(t, nil, append([]string{"lint"}, tt.args...)...)
			if code != tt.code {
				t.Errorf("exit %d, want %d (stdout %q, stderr %q)", code, tt.code, stdout, stderr)
			}
			if tt.stdout == "" && stdout != "" || !strings.Contains(stdout, tt.stdout) {
				t.Errorf("stdout %q, want %q", stdout, tt.stdout)
			}
			if !strings.Contains(stderr, tt.stderr) {
				t.Errorf("stderr %q does not hold %q", stderr, tt.stderr)
			}
		})
	}
}

func TestLintJSON(t *testing.T) {
	dir := writeLintFiles(t)
	type diagnostic struct {
		Severity string `json:"severity"`
		File     string `json:"file"`
		Line     int    `json:"line"`
		Field    string `json:"field"`
		Rule     string `json:"rule"`
		Code     string `json:"code"`
		Message  string `json:"message"`
	}
	type report struct {
		Errors      int           `json:"errors"`
		Warnings    int           `json:"warnings"`
		Diagnostics []*diagnostic `json:"diagnostics"`
	}
	tests := []struct {
		name  string
		args  []string
		code  int
		want  report
		first *diagnostic // nil when there are no diagnostics
	}{
		{"clean", []string{"clean.yaml"}, 0, report{Diagnostics: []*diagnostic{}}, nil},
		{"warning", []string{"warning.yaml"}, 0, report{Warnings: 1}, &diagnostic{Severity: "warning", Line: 5, Field: "rules[0].window.end", Code: "expired"}},
		{"strict", []string{"--strict", "warning.yaml"}, 1, report{Errors: 1}, &diagnostic{Severity: "error", Line: 5, Field: "rules[0].window.end", Code: "expired"}},
		{"error", []string{"error.yaml"}, 1, report{Errors: 1}, &diagnostic{Severity: "error", Line: 4, Field: "rules[0].status"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"lint", "--json"}, tt.args...)
			args[len(args)-1] = filepath.Join(dir, args[len(args)-1])
			code, stdout, _ := run(t, nil, args...)
			if code != tt.code {
				t.Errorf("exit %d, want %d", code, tt.code)
			}
			var got report
			if err := json.Unmarshal([]byte(stdout), &got); err != nil {
				t.Fatalf("%v in %q", err, stdout)
			}
			if got.Errors != tt.want.Errors || got.Warnings != tt.want.Warnings || got.Diagnostics == nil {
				t.Fatalf("got %d errors, %d warnings, diagnostics %v; want %d, %d and a list", got.Errors, got.Warnings, got.Diagnostics, tt.want.Errors, tt.want.Warnings)
			}
			if tt.first == nil {
				if len(got.Diagnostics) != 0 {
					t.Errorf("diagnostics %v, want none", got.Diagnostics)
				}
				return
			}
			if len(got.Diagnostics) == 0 {
				t.Fatal("no diagnostics")
			}
			d := got.Diagnostics[0]
			if d.Severity != tt.first.Severity || d.Line != tt.first.Line || d.Field != tt.first.Field ||
				tt.first.Code != "" && d.Code != tt.first.Code || d.File != args[len(args)-1] || d.Message == "" {
				t.Errorf("diagnostic %+v, want %+v in %s", *d, *tt.first, args[len(args)-1])
			}
		})
	}
}
