package convert_test

import (
	"strings"
	"testing"

	"github.com/detourhttp/detour/convert"
)

// TestFindings: what an importer cannot express is reported at its line,
// never dropped silently; notes say what detour does instead of a
// pitfall.
func TestFindings(t *testing.T) {
	for _, tc := range []struct {
		name, format, file, in string
		line                   int
		lost                   bool
		say                    string
	}{
		{"nginx regex server_name", "nginx", "n.conf", "server {\n server_name ~^www\\.(.+)$;\n return 301 /;\n}", 2, true, "regular expression"},
		{"nginx odd wildcard", "nginx", "n.conf", "server {\n server_name www.example.*;\n return 301 /;\n}", 2, true, "*.example.com only"},
		{"nginx internal rewrite", "nginx", "n.conf", "server {\n rewrite ^/a$ /b last;\n}", 2, true, "changes the URI inside nginx"},
		{"nginx set", "nginx", "n.conf", "server {\n set $x 1;\n}", 2, true, "set is not supported"},
		{"nginx content return", "nginx", "n.conf", "server {\n location /a {\n  return 403;\n }\n}", 3, true, "answers with content"},
		{"nginx unknown variable", "nginx", "n.conf", "server {\n return 301 /a?r=$remote_addr;\n}", 2, true, "variable $remote_addr"},
		{"nginx host without name", "nginx", "n.conf", "server {\n return 301 https://$host$request_uri;\n}", 2, true, "needs a host matcher"},
		{"nginx if other condition", "nginx", "n.conf", "server {\n if ($http_user_agent ~ bot) { return 403; }\n}", 2, true, "only comparisons of $host or $scheme"},
		{"nginx host inequality without names", "nginx", "n.conf", "server {\n if ($host != a.example) { return 301 http://a.example/; }\n}", 2, true, "without exact names"},
		{"nginx nested location", "nginx", "n.conf", "server {\n location /a {\n  location /a/b { return 301 /c; }\n }\n}", 3, true, "nested location"},
		{"nginx PCRE only regex", "nginx", "n.conf", "server {\n location ~ ^/(?=a) { return 301 /b; }\n}", 2, true, "not valid RE2"},
		{"nginx content shadows", "nginx", "n.conf", "server {\n location /static/ { root /srv; }\n location / { return 301 https://x.example/; }\n}", 2, true, "detour has no pass-through rule"},
		{"nginx bare query", "nginx", "n.conf", "server {\n return 301 https://x.example$uri?$args;\n}", 2, false, "bare \"?\""},
		{"nginx duplicated query", "nginx", "n.conf", "server {\n rewrite ^ https://x.example$request_uri permanent;\n}", 2, false, "a second time"},
		{"nginx rewrite outside location", "nginx", "n.conf", "server {\n location /a/ {\n  rewrite ^/b/(.*)$ /c/$1 permanent;\n }\n}", 3, true, "only to requests that select location"},
		{"nginx missing map", "nginx", "n.conf", "server {\n if ($nomap) { return 301 $nomap; }\n}", 2, true, "no map sets"},
		{"nginx map hostnames", "nginx", "n.conf", "map $uri $m {\n hostnames;\n /a /b;\n}\nserver {\n if ($m) { return 301 $m; }\n}", 2, true, "hostnames is not supported"},
		{"nginx loop", "nginx", "n.conf", "server {\n location = /a { return 301 /a; }\n}", 2, true, "loop"},
		{"apache other condition", "apache", "a.conf", "RewriteEngine On\nRewriteCond %{QUERY_STRING} id=1\nRewriteRule ^/a$ /b [R=301,L]", 2, true, "cannot be expressed; the rule is left out"},
		{"apache negated host", "apache", "a.conf", "RewriteEngine On\nRewriteCond %{HTTP_HOST} !^www\\.\nRewriteRule ^/(.*)$ http://www.x.example/$1 [R=301,L]", 2, true, "only a literal host"},
		{"apache OR", "apache", "a.conf", "RewriteEngine On\nRewriteCond %{HTTP_HOST} ^a\\.example$ [OR]\nRewriteRule ^/a$ /b [R,L]", 2, true, "[OR]"},
		{"apache internal rewrite", "apache", "a.conf", "RewriteEngine On\nRewriteRule ^/a$ /index.php [L]", 2, true, "without R"},
		{"apache engine off", "apache", "a.conf", "RewriteRule ^/a$ /b [R=301,L]", 1, true, "RewriteEngine is not On"},
		{"apache forbidden", "apache", "a.conf", "RewriteEngine On\nRewriteRule ^/a$ - [F]", 2, true, "flag F"},
		{"apache cond backreference", "apache", "a.conf", "RewriteEngine On\nRewriteCond %{HTTP_HOST} ^x\\.example$\nRewriteRule ^/(.*)$ http://%1/$1 [R=301,L]", 3, true, "back-references"},
		{"apache location section", "apache", "a.conf", "<Location /x>\n Redirect 301 /y\n</Location>", 1, true, "redirects inside it are not supported"},
		{"apache odd alias", "apache", "a.conf", "<VirtualHost *:80>\n ServerName a.example\n ServerAlias www.*\n Redirect 301 /a /b\n</VirtualHost>", 3, true, "*.example.com only"},
		{"apache status 404", "apache", "a.conf", "Redirect 404 /a", 1, true, "not a redirect detour can send"},
		{"apache R without L", "apache", "a.conf", "RewriteEngine On\nRewriteRule ^/a$ /b [R=301]", 2, false, "R without L"},
		{"apache QSA escape", "apache", "a.conf", "RewriteEngine On\nRewriteRule ^/a$ /b?x=1 [R=301,QSA,L]", 2, false, "escapes the appended query again"},
		{"apache no RewriteBase", "apache", ".htaccess", "RewriteEngine On\nRewriteRule ^a$ b [R=301,L]", 2, false, "without RewriteBase"},
		{"netlify condition", "netlify", "_redirects", "/a /b 302 Country=us", 1, true, "conditions Country=us"},
		{"csv bad status", "csv", "r.csv", "/a,/b,200", 1, true, "status \"200\""},
		{"csv odd header", "csv", "r.csv", "example.com/a,/b\n/c,/d", 1, false, "read as a header row"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			name := "/in/" + tc.file
			res, err := convert.Import(tc.format, name, memReader(name, []byte(tc.in)))
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range res.Findings {
				if f.Line == tc.line && f.Lost == tc.lost && strings.Contains(f.Message, tc.say) {
					if f.File != name {
						t.Errorf("finding names %q, want %q", f.File, name)
					}
					return
				}
			}
			t.Errorf("no finding at line %d (lost %v) saying %q; got:\n%v\n%s", tc.line, tc.lost, tc.say, findingLines(res.Findings), res.YAML)
		})
	}
}

func findingLines(fs convert.Findings) string {
	var b strings.Builder
	for _, f := range fs {
		b.WriteString(f.String() + "\n")
	}
	return b.String()
}
