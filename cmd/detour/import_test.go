package main_test

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeFile writes data to name in a new temporary folder.
func writeFile(t *testing.T, name, data string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

const seedNginx = `server {
    listen 80;
    location /original-resource {
        return 307 /temporary-resource;
    }
}
`

const seedApache = `<VirtualHost *:80>
    Redirect 307 /original-resource /temporary-resource
</VirtualHost>
`

// TestImportSeed imports the seed's nginx and Apache examples, lints the
// result and serves it: POST /original-resource answers 307 to
// /temporary-resource, as the original servers do.
func TestImportSeed(t *testing.T) {
	for _, tc := range []struct{ name, from, file, data string }{
		{"nginx", "nginx", "site.conf", seedNginx},
		{"apache", "apache", "site.conf", seedApache},
		{"netlify", "netlify", "_redirects", "/original-resource /temporary-resource 307!\n"},
		{"csv", "csv", "redirects.csv", "from,to,status\n/original-resource,/temporary-resource,307\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := writeFile(t, tc.file, tc.data)
			code, stdout, stderr := run(t, nil, "import", "--from", tc.from, in)
			if code != 0 {
				t.Fatalf("import: exit %d, want 0\n%s", code, stderr)
			}
			rules := writeRules(t, stdout)
			if code, out, _ := run(t, nil, "lint", rules); code != 0 {
				t.Fatalf("lint of the import: exit %d\n%s\n%s", code, out, stdout)
			}
			s := startServe(t, nil, args("--rules", rules)...)
			req, _ := http.NewRequest("POST", s.base()+"/original-resource", strings.NewReader("data=example"))
			resp, err := noFollow.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if got, want := resp.StatusCode, 307; got != want {
				t.Errorf("status %d, want %d", got, want)
			}
			if got, want := resp.Header.Get("Location"), "/temporary-resource"; got != want {
				t.Errorf("Location %q, want %q", got, want)
			}
		})
	}
}

func TestImportExitCodes(t *testing.T) {
	lossy := "server {\n    location /a { return 301 /b; }\n    location /c { set $x 1; return 404; }\n    rewrite ^/d$ /e last;\n}\n"
	for _, tc := range []struct {
		name     string
		args     func(dir string) []string
		code     int
		inStderr string
	}{
		{"left out", func(d string) []string { return []string{"import", "--from", "nginx", filepath.Join(d, "lossy.conf")} }, 1, "lossy.conf:4: left out:"},
		{"partial", func(d string) []string {
			return []string{"import", "--from", "nginx", "--partial", filepath.Join(d, "lossy.conf")}
		}, 0, "lossy.conf:3: left out:"},
		{"unparsable", func(d string) []string { return []string{"import", "--from", "nginx", filepath.Join(d, "broken.conf")} }, 2, "broken.conf:3: unexpected end of file"},
		{"missing file", func(d string) []string { return []string{"import", "--from", "apache", filepath.Join(d, "nope.conf")} }, 2, "nope.conf"},
		{"no format", func(d string) []string { return []string{"import", filepath.Join(d, "lossy.conf")} }, 2, "--from is required"},
		{"bad format", func(d string) []string { return []string{"import", "--from", "iis", filepath.Join(d, "lossy.conf")} }, 2, "--from must be"},
		{"two files", func(d string) []string { return []string{"import", "--from", "csv", "a", "b"} }, 2, "one FILE"},
		{"table needs out", func(d string) []string { return []string{"import", "--from", "nginx", filepath.Join(d, "map.conf")} }, 2, "give --out DIR"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			os.WriteFile(filepath.Join(dir, "lossy.conf"), []byte(lossy), 0o644)
			os.WriteFile(filepath.Join(dir, "broken.conf"), []byte("server {\n    location /a { return 301 /b\n"), 0o644)
			os.WriteFile(filepath.Join(dir, "map.conf"), []byte(mapConf), 0o644)
			code, _, stderr := run(t, nil, tc.args(dir)...)
			if code != tc.code {
				t.Errorf("exit %d, want %d\n%s", code, tc.code, stderr)
			}
			if !strings.Contains(stderr, tc.inStderr) {
				t.Errorf("stderr does not say %q:\n%s", tc.inStderr, stderr)
			}
		})
	}
}

const mapConf = `map $uri $moved {
    /old-1 /new-1;
    /old-2 /new-2;
}
server {
    listen 80;
    server_name example.com;
    if ($moved) { return 301 $moved; }
}
`

// TestImportOut writes the rules and the map's table into --out DIR; the
// folder lints clean and serves the rows.
func TestImportOut(t *testing.T) {
	in := writeFile(t, "site.conf", mapConf)
	out := filepath.Join(t.TempDir(), "imported")
	code, stdout, stderr := run(t, nil, "import", "--from", "nginx", "--out", out, in)
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	if stdout != "" {
		t.Errorf("stdout with --out: %q", stdout)
	}
	if _, err := os.Stat(filepath.Join(out, "moved.csv")); err != nil {
		t.Fatal(err)
	}
	rules := filepath.Join(out, "detour.yaml")
	if code, o, _ := run(t, nil, "lint", rules); code != 0 {
		t.Fatalf("lint: exit %d\n%s", code, o)
	}
	s := startServe(t, nil, args("--rules", rules)...)
	req, _ := http.NewRequest("GET", s.base()+"/old-2", nil)
	req.Host = "example.com"
	resp, err := noFollow.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 301 || resp.Header.Get("Location") != "/new-2" {
		t.Errorf("got %d %q, want 301 /new-2", resp.StatusCode, resp.Header.Get("Location"))
	}
}
