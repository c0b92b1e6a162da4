package convert_test

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/detourhttp/detour/convert"
)

// flat renders directives as "name arg arg {…}" lines for comparison.
func flat(ds []*convert.Directive) []string {
	var out []string
	for _, d := range ds {
		s := strings.Join(append([]string{d.Name}, quoteAll(d.Args)...), " ")
		if d.Block != nil {
			s += " {" + strings.Join(flat(d.Block), "; ") + "}"
		}
		out = append(out, s+"@"+filepath.Base(d.File)+":"+itoa(d.Line))
	}
	return out
}

func quoteAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = "[" + s + "]"
	}
	return out
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	s := ""
	for ; n > 0; n /= 10 {
		s = string(rune('0'+n%10)) + s
	}
	return s
}

func TestParseNginx(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     []string
	}{
		{"simple", "return 301 /a;", []string{"return [301] [/a]@n.conf:1"}},
		{"block", "location /x {\n  return 302 /y;\n}", []string{"location [/x] {return [302] [/y]@n.conf:2}@n.conf:1"}},
		{"comments", "# top\nreturn 301 /a; # after\n#last", []string{"return [301] [/a]@n.conf:2"}},
		{"hash inside a word", "return 301 /a#frag;", []string{"return [301] [/a#frag]@n.conf:1"}},
		{"double quotes", `return 301 "/a b;c";`, []string{"return [301] [/a b;c]@n.conf:1"}},
		{"single quotes", `return 301 '/a "b"';`, []string{`return [301] [/a "b"]@n.conf:1`}},
		{"escaped quote", `return 301 "/a\"b";`, []string{`return [301] [/a"b]@n.conf:1`}},
		{"regex escapes kept", `location ~ ^/a\.html$ {}`, []string{`location [~] [^/a\.html$] {}@n.conf:1`}},
		{"quoted braces", `location ~ "^/[0-9]{4}$" {}`, []string{`location [~] [^/[0-9]{4}$] {}@n.conf:1`}},
		{"variable braces", "return 301 /${uri}x;", []string{"return [301] [/${uri}x]@n.conf:1"}},
		{"empty block", "server {}", []string{"server {}@n.conf:1"}},
		{"multi-line directive", "rewrite\n  ^/a$\n  /b permanent;", []string{"rewrite [^/a$] [/b] [permanent]@n.conf:1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ds, _, err := convert.ParseNginx([]byte(tc.in), "/x/n.conf", memReader("/x/n.conf", []byte(tc.in)))
			if err != nil {
				t.Fatal(err)
			}
			if got := flat(ds); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got  %q\nwant %q", got, tc.want)
			}
		})
	}
}

func TestParseNginxErrors(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"unclosed block", "server {\n return 301 /a;\n", "n.conf:3: unexpected end of file, expecting \"}\""},
		{"missing semicolon", "return 301 /a", "n.conf:1: unexpected end of file"},
		{"stray brace", "}\n", `n.conf:1: unexpected "}"`},
		{"stray semicolon", ";", `n.conf:1: unexpected ";"`},
		{"unterminated quote", "return 301 \"/a;\n", "n.conf:1: unterminated quoted string"},
		{"text after quote", `return 301 "/a"b;`, "unexpected 'b' after a quoted string"},
		{"not utf-8", "return 301 /\xff;", "n.conf:1: the file is not UTF-8 text"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := convert.ParseNginx([]byte(tc.in), "/x/n.conf", memReader("/x/n.conf", []byte(tc.in)))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one saying %q", err, tc.want)
			}
			if !errors.Is(err, convert.ErrSyntax) {
				t.Errorf("%v does not wrap ErrSyntax", err)
			}
		})
	}
}

// TestNginxInclude follows includes with globs, relative to the main
// file's folder (nginx's configuration prefix) and then to the including
// file's, in lexical order, and refuses include loops.
func TestNginxInclude(t *testing.T) {
	dir := t.TempDir()
	write := func(name, data string) {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("nginx.conf", "http { include sites/*.conf; include none/*.conf; }")
	write("sites/b.conf", "server { include snippets/x.conf; }")
	write("sites/a.conf", "server { return 301 /a; }")
	write("snippets/x.conf", "location = /x { include ../sites/inner.part; }")
	write("sites/inner.part", "return 302 /y;")
	write("loop.conf", "include loop.conf;")
	ds, _, err := convert.ParseNginx(mustRead(t, filepath.Join(dir, "nginx.conf")), filepath.Join(dir, "nginx.conf"), convert.FileReader{})
	if err != nil {
		t.Fatal(err)
	}
	got := flat(ds)
	want := []string{"http {server {return [301] [/a]@a.conf:1}@a.conf:1; server {location [=] [/x] {return [302] [/y]@inner.part:1}@x.conf:1}@b.conf:1}@nginx.conf:1"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %q\nwant %q", got, want)
	}
	_, _, err = convert.ParseNginx(mustRead(t, filepath.Join(dir, "loop.conf")), filepath.Join(dir, "loop.conf"), convert.FileReader{})
	if err == nil || !strings.Contains(err.Error(), "include loop") {
		t.Errorf("include loop: %v", err)
	}
}

func mustRead(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestNginxMissingInclude(t *testing.T) {
	in := "include mime.types;\nreturn 301 /a;"
	ds, fs, err := convert.ParseNginx([]byte(in), "/x/n.conf", memReader("/x/n.conf", []byte(in)))
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) != 1 || len(fs) != 1 || !fs[0].Lost || fs[0].Line != 1 || !strings.Contains(fs[0].Message, "include mime.types: no such file") {
		t.Errorf("directives %q, findings %v: want the return and one finding for the include", flat(ds), fs)
	}
}

func TestParseApache(t *testing.T) {
	in := "# comment\nRedirect 301 \"/a b\" /c\n<VirtualHost *:80>\n  ServerName x.test\n  RewriteRule ^/(.*)$ \\\n    /y/$1 [R=302,L]\n</VirtualHost>\n"
	ds, err := convert.ParseApache([]byte(in), "/x/site.conf", memReader("/x/site.conf", []byte(in)))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, d := range ds {
		got = append(got, d.Name+" "+strings.Join(quoteAll(d.Args), " ")+"@"+itoa(d.Line))
		for _, e := range d.Block {
			got = append(got, "  "+e.Name+" "+strings.Join(quoteAll(e.Args), " ")+"@"+itoa(e.Line))
		}
	}
	want := []string{
		"Redirect [301] [/a b] [/c]@2",
		"VirtualHost [*:80]@3",
		"  ServerName [x.test]@4",
		"  RewriteRule [^/(.*)$] [/y/$1] [[R=302,L]]@5",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %q\nwant %q", got, want)
	}
	for _, bad := range []struct{ in, want string }{
		{"<VirtualHost *:80>\nRedirect /a /b\n", "site.conf:1: <VirtualHost> is not closed"},
		{"</Directory>\n", "site.conf:1: </Directory> closes no open section"},
		{"Redirect \"/a /b\n", "site.conf:1: unterminated quoted argument"},
		{"Include missing.conf\n", "site.conf:1: include:"},
	} {
		_, err := convert.ParseApache([]byte(bad.in), "/x/site.conf", memReader("/x/site.conf", []byte(bad.in)))
		if err == nil || !strings.Contains(err.Error(), bad.want) || !errors.Is(err, convert.ErrSyntax) {
			t.Errorf("%q: error %v, want a syntax error saying %q", bad.in, err, bad.want)
		}
	}
}
