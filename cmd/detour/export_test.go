package main_test

import (
	"strings"
	"testing"
)

func TestExport(t *testing.T) {
	seed := "rules:\n  - from: /original-resource\n    to: /temporary-resource\n"
	methods := "rules:\n  - from: /form\n    to: /new-form\n    methods: [POST]\n"
	for _, tc := range []struct {
		name, rules string
		args        []string
		code        int
		inStdout    string
		inStderr    string
	}{
		{"nginx", seed, []string{"--to", "nginx"}, 0, `location = "/original-resource"`, ""},
		{"apache", seed, []string{"--to", "apache"}, 0, "RewriteRule ^/original-resource$ /temporary-resource [R=307,L]", ""},
		{"caddy", seed, []string{"--to", "caddy"}, 0, "redir @r0 `/temporary-resource` 307", ""},
		{"left out", methods, []string{"--to", "nginx"}, 1, "server", "left out: rule"},
		{"partial", methods, []string{"--to", "nginx", "--partial"}, 0, "server", "left out: rule"},
		{"methods in apache", methods, []string{"--to", "apache"}, 0, "RewriteCond %{REQUEST_METHOD} ^(POST)$", ""},
		{"no format", seed, nil, 2, "", "--to is required"},
		{"bad format", seed, []string{"--to", "iis"}, 2, "", "--to must be"},
		{"bad rules", "rules: [{from: /a, to: /b, status: 999}]\n", []string{"--to", "nginx"}, 2, "", "does not load"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := writeRules(t, tc.rules)
			code, stdout, stderr := run(t, nil, append(append([]string{"export"}, tc.args...), path)...)
			if code != tc.code {
				t.Errorf("exit %d, want %d\n%s", code, tc.code, stderr)
			}
			if !strings.Contains(stdout, tc.inStdout) {
				t.Errorf("stdout does not hold %q:\n%s", tc.inStdout, stdout)
			}
			if !strings.Contains(stderr, tc.inStderr) {
				t.Errorf("stderr does not say %q:\n%s", tc.inStderr, stderr)
			}
		})
	}
	if code, _, stderr := run(t, nil, "export", "--to", "nginx", "/nonexistent/rules.yaml"); code != 2 {
		t.Errorf("missing path: exit %d, want 2\n%s", code, stderr)
	}
}
