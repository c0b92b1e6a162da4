package convert_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/detourhttp/detour/convert"
	"github.com/detourhttp/detour/ruleset"
)

// answers imports data in format and returns what detour answers each
// request ("METHOD HOST TARGET") with: "STATUS LOCATION", "410" or "none".
func answers(t *testing.T, format, name, data string, reqs []string) ([]string, convert.Findings) {
	t.Helper()
	dir := t.TempDir()
	in := filepath.Join(dir, name)
	if err := os.WriteFile(in, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	res, err := convert.Import(format, in, convert.FileReader{})
	if err != nil {
		t.Fatal(err)
	}
	set, ds := ruleset.Parse(bytes.NewReader(res.YAML), "detour.yaml")
	if ds.HasErrors() {
		t.Fatalf("%v\n%s", ds.Errors(), res.YAML)
	}
	plain, _ := serveSet(t, set)
	var out []string
	for _, line := range reqs {
		f := strings.Fields(line)
		a := ask(t, plain, request{method: f[0], scheme: "http", host: f[1], target: f[2]}, "")
		switch a.kind {
		case "redirect":
			out = append(out, strings.Join([]string{itoa(a.status), a.location}, " "))
		case "gone":
			out = append(out, "410")
		default:
			out = append(out, "none")
		}
	}
	return out, res.Findings
}

func TestImportNetlify(t *testing.T) {
	data := `# comment
/home              /                          301
/blog/*            https://blog.example.com/:splat   301!
/news/:year/:slug  /articles/:year/:slug      302
/store id=:id      /products/:id              301!
/retired           /                          410
/app/*             /index.html                200
/original-resource /temporary-resource        307!
/first             /one                       302!
/first             /two                       302!
`
	for _, tc := range []struct{ req, want string }{
		{"GET x.test /home?a=1", "301 http://x.test/?a=1"},
		{"GET x.test /blog/2020/post", "301 https://blog.example.com/2020/post"},
		{"GET x.test /blog", "301 https://blog.example.com/"},
		{"GET x.test /news/2021/hello", "302 http://x.test/articles/2021/hello"},
		{"GET x.test /store?id=42", "301 http://x.test/products/42?id=42"},
		{"GET x.test /store", "none"},
		{"GET x.test /retired", "410"},
		{"GET x.test /app/x", "none"},
		{"POST x.test /original-resource", "307 http://x.test/temporary-resource"},
		{"GET x.test /first", "302 http://x.test/one"},
	} {
		got, fs := answers(t, "netlify", "_redirects", data, []string{tc.req})
		if got[0] != tc.want {
			t.Errorf("%s: got %s, want %s", tc.req, got[0], tc.want)
		}
		if !fs.Lost() {
			t.Errorf("the 200 rewrite is not reported as left out")
		}
	}
}

func TestImportCSV(t *testing.T) {
	for _, tc := range []struct {
		name, data string
		reqs       []string
		want       []string
		lost       bool
	}{
		{"header", "from,to,status\n/a,/b,301\n/c,https://example.com/d,\n/gone,,410\n",
			[]string{"GET x.test /a", "GET x.test /c?q=1", "GET x.test /gone", "GET x.test /none"},
			[]string{"301 http://x.test/b", "307 https://example.com/d?q=1", "410", "none"}, false},
		{"no header", "/a,/b\n/c,/d,308\n",
			[]string{"GET x.test /a", "POST x.test /c"},
			[]string{"307 http://x.test/b", "308 http://x.test/d"}, false},
		{"full URLs", "https://shop.example.com/cart,/basket,301\n",
			[]string{"GET shop.example.com /cart", "GET other.example.com /cart"},
			[]string{"301 http://shop.example.com/basket", "none"}, false},
		{"escapes", "/caf%E9,/cafe\n/a%20b,/ab\n/p%2A,/star\n/q%3Fx,/qx\n/n/%3Aid,/colon\n/pc%25,/percent\n",
			[]string{"GET x.test /caf%E9", "GET x.test /caf%C3%A9", "GET x.test /a%20b", "GET x.test /p%2A", "GET x.test /pp", "GET x.test /q%3Fx",
				"GET x.test /n/:id", "GET x.test /n/7", "GET x.test /pc%25"},
			[]string{"307 http://x.test/cafe", "none", "307 http://x.test/ab", "307 http://x.test/star", "none", "307 http://x.test/qx",
				"307 http://x.test/colon", "none", "307 http://x.test/percent"}, false},
		{"bad rows", "/a,/b,999\nnot-a-path,/x\n/ok,/fine\n",
			[]string{"GET x.test /a", "GET x.test /ok"},
			[]string{"none", "307 http://x.test/fine"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, fs := answers(t, "csv", "r.csv", tc.data, tc.reqs)
			for i := range tc.want {
				if got[i] != tc.want[i] {
					t.Errorf("%s: got %s, want %s", tc.reqs[i], got[i], tc.want[i])
				}
			}
			if fs.Lost() != tc.lost {
				t.Errorf("lost %v, want %v: %v", fs.Lost(), tc.lost, fs)
			}
		})
	}
}
