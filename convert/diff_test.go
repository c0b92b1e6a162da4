package convert_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/detourhttp/detour/convert"
	"github.com/detourhttp/detour/match"
	"github.com/detourhttp/detour/ruleset"

	"github.com/detourhttp/detour/internal/testutil"
)

// testCert and testKey are a self-signed certificate for every host,
// made once per test binary.
var testCert, testKey []byte

func TestMain(m *testing.M) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "detour test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour), DNSNames: []string{"*"}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		panic(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		panic(err)
	}
	testCert = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	testKey = pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder})
	os.Exit(m.Run())
}

// corpusCase is one configuration of the corpus, as the test runs it.
type corpusCase struct {
	name      string
	file      string // the corpus file
	http      int    // its ports on the real server
	https     int
	result    *convert.Result
	rulesPath string
}

// corpus lists the corpus files of dir with suffix.
func corpus(t *testing.T, dir, suffix string) []*corpusCase {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []*corpusCase
	for _, e := range es {
		if e.IsDir() || !strings.HasSuffix(e.Name(), suffix) {
			continue
		}
		out = append(out, &corpusCase{name: strings.TrimSuffix(e.Name(), suffix), file: filepath.Join(dir, e.Name())})
	}
	return out
}

// importCase imports a corpus file and writes the rules and tables into
// a folder of its own.
func importCase(t *testing.T, format string, c *corpusCase, tmp string) {
	t.Helper()
	res, err := convert.Import(format, c.file, convert.FileReader{})
	if err != nil {
		t.Fatalf("%s: import: %v", c.file, err)
	}
	c.result = res
	dir := filepath.Join(tmp, "rules", c.name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tb := range res.Tables {
		if err := os.WriteFile(filepath.Join(dir, tb.Name), tb.Data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	c.rulesPath = filepath.Join(dir, "detour.yaml")
	if err := os.WriteFile(c.rulesPath, res.YAML, 0o644); err != nil {
		t.Fatal(err)
	}
}

// autoRequests draws requests from the imported rules: samples of every
// rule's pattern on each of its hosts, with and without a query, plus a
// few paths no rule means.
func autoRequests(t *testing.T, c *corpusCase, defHosts []string) []request {
	t.Helper()
	set, _, err := ruleset.Load(c.rulesPath)
	if err != nil {
		t.Fatal(err)
	}
	return setRequests(set, defHosts)
}

// escapeTarget percent-encodes a decoded path as a client sends it.
func escapeTarget(p string) string { return (&url.URL{Path: p}).EscapedPath() }

// setRequests draws requests from the rules and table rows of set.
func setRequests(set *ruleset.Set, defHosts []string) []request {
	var out []request
	seen := make(map[string]bool)
	add := func(r request) {
		if k := r.String(); !seen[k] {
			seen[k] = true
			out = append(out, r)
		}
	}
	hostsOf := func(h string) []string {
		switch {
		case h == "":
			return defHosts
		case strings.HasPrefix(h, "*."):
			return []string{"sub" + h[1:]}
		}
		return []string{h}
	}
	for i, r := range set.Rules {
		samples, err := match.Samples(&r, 3)
		if err != nil {
			continue
		}
		schemes := []string{"http"}
		if r.Scheme != "" {
			schemes = []string{r.Scheme}
		}
		for _, h := range hostsOf(r.Host) {
			for j, s := range samples {
				for _, sc := range schemes {
					add(request{method: "GET", scheme: sc, host: h, target: s})
					q := "?a=1&b=x%20y"
					if strings.Contains(s, "?") {
						q = "&a=1"
					}
					add(request{method: "GET", scheme: sc, host: h, target: s + q})
					if (i+j)%3 == 0 {
						add(request{method: "POST", scheme: sc, host: h, target: s})
					}
					if i := strings.IndexByte(s[1:], '/'); j == 0 && i >= 0 {
						// A run of slashes inside the path (Apache
						// merges a leading run whatever MergeSlashes says).
						add(request{method: "GET", scheme: sc, host: h, target: s[:i+1] + "/" + s[i+1:]})
					}
					if (i+j)%4 == 1 {
						add(request{method: "HEAD", scheme: sc, host: h, target: s})
					}
					if i == 0 && j == 0 {
						add(request{method: "OPTIONS", scheme: sc, host: h, target: s})
					}
				}
			}
		}
	}
	for _, tb := range set.Tables {
		for i, row := range tb.Rows {
			if i >= 20 {
				break
			}
			h := row.Host
			if h == "" {
				h = tb.Host
			}
			for _, hh := range hostsOf(h) {
				add(request{method: "GET", scheme: "http", host: hh, target: escapeTarget(row.Path)})
				add(request{method: "GET", scheme: "http", host: hh, target: escapeTarget(row.Path) + "?a=1"})
			}
		}
	}
	for _, h := range defHosts {
		add(request{method: "GET", scheme: "http", host: h, target: "/no-rule-means-this"})
	}
	if len(defHosts) == 1 && defHosts[0] == "default.test" && !hostless(set) {
		// nginx's and Apache's first server answers unknown hosts; the
		// importers note it, and the corpus names the hosts it means.
		out = out[:len(out)-1]
	}
	return out
}

// hasLine reports whether the corpus file holds the line.
func hasLine(t *testing.T, path, line string) bool {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Contains(string(b), "\n"+line+"\n") || strings.HasPrefix(string(b), line+"\n")
}

// hostless reports whether any rule of set answers every host.
func hostless(set *ruleset.Set) bool {
	for _, r := range set.Rules {
		if r.Host == "" {
			return true
		}
	}
	for _, tb := range set.Tables {
		for _, row := range tb.Rows {
			if tb.Host == "" && row.Host == "" {
				return true
			}
		}
	}
	return false
}

// hostsLine reads "# hosts: a b" of a corpus file: the hosts requests
// for host-less rules use; "default.test" when absent.
func hostsLine(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(line), "# hosts:"); ok {
			return strings.Fields(rest)
		}
	}
	return []string{"default.test"}
}

// differential runs every request of c against the real server and
// detour and reports disagreements; it returns the requests compared.
func differential(t *testing.T, c *corpusCase) int {
	t.Helper()
	reqs := caseHeader(t, c.file)
	explicit := len(reqs)
	reqs = append(reqs, autoRequests(t, c, hostsLine(t, c.file))...)
	dPlain, dSecure := detourServer(t, c.rulesPath)
	return compare(t, c, reqs, explicit, dPlain, dSecure)
}

// compare sends every request to the real server of c and to detour
// and reports disagreements; it returns the number of requests.
func compare(t *testing.T, c *corpusCase, reqs []request, explicit int, dPlain, dSecure string) int {
	t.Helper()
	// An explicit line overrides an automatic request for the same URL.
	seen := make(map[string]bool)
	var list []request
	for _, r := range reqs {
		k := r.String()
		if seen[k] {
			continue
		}
		seen[k] = true
		list = append(list, r)
	}
	realPlain := "http://127.0.0.1:" + strconv.Itoa(c.http)
	realSecure := "https://127.0.0.1:" + strconv.Itoa(c.https)
	pits := make(map[string]int) // documented pitfall → answers it showed in
	for name := range pitfalls {
		if hasLine(t, c.file, "# pitfall: "+name) {
			pits[name] = 0
		}
	}
	rawURI := false  // the import noted $request_uri: raw paths differ
	options := false // the import noted that detour does not redirect OPTIONS
	if c.result != nil {
		for _, f := range c.result.Findings {
			rawURI = rawURI || strings.Contains(f.Message, "$request_uri is the path as the client sent it")
			options = options || f.Message == convert.OptionsNote
		}
	}
	for i, r := range list {
		realBase, realPort, dBase := realPlain, strconv.Itoa(c.http), dPlain
		if r.scheme == "https" {
			realBase, realPort, dBase = realSecure, strconv.Itoa(c.https), dSecure
		}
		want := ask(t, realBase, r, realPort)
		got := ask(t, dBase, r, "")
		if options && r.method == "OPTIONS" && want.kind != "none" {
			want = answer{kind: "none", status: 404} // the documented difference
		}
		if rawURI && strings.Contains(r.target, "//") {
			want.location = mergeSlashes(want.location)
		}
		for name := range pits {
			if loc, ok := pitfalls[name](want.location, r); ok {
				want.location = loc
				pits[name]++
			}
		}
		if i < explicit && testing.Verbose() {
			t.Logf("%s: real server %s, detour %s", r, want, got)
		}
		switch {
		case r.differs != "":
			if want.same(got) {
				t.Errorf("%s: documented to differ (%s), but both answer %s", r, r.differs, got)
			}
			if c.result != nil && !c.result.Findings.Lost() {
				t.Errorf("%s differs (%s), but the import reports nothing left out", r, r.differs)
			}
		case !want.same(got):
			kind := "auto"
			if i < explicit {
				kind = "explicit"
			}
			t.Errorf("%s (%s): real server %s, detour %s", r, kind, want, got)
		}
	}
	for name, n := range pits {
		if n == 0 {
			t.Errorf("the case documents the pitfall %s, but no answer showed it", name)
		}
	}
	if t.Failed() {
		b, _ := os.ReadFile(c.rulesPath)
		t.Logf("rules:\n%s", b)
		if c.result != nil {
			for _, f := range c.result.Findings {
				t.Logf("finding: %s", f)
			}
		}
	}
	return len(list)
}

// mergeSlashes merges runs of slashes in the path of an absolute URL.
func mergeSlashes(loc string) string {
	scheme, rest, ok := strings.Cut(loc, "://")
	if !ok {
		return loc
	}
	host, path, ok := strings.Cut(rest, "/")
	if !ok {
		return loc
	}
	path, tail, _ := cutAny(path, "?#")
	for strings.Contains(path, "//") {
		path = strings.ReplaceAll(path, "//", "/")
	}
	return scheme + "://" + host + "/" + strings.TrimPrefix(path, "/") + tail
}

// cutAny cuts s before the first byte of any in chars.
func cutAny(s, chars string) (string, string, bool) {
	if i := strings.IndexAny(s, chars); i >= 0 {
		return s[:i], s[i:], true
	}
	return s, "", false
}

// pitfalls are the documented differences of the original servers, by
// the name a corpus file gives them ("# pitfall: NAME"): each turns the
// real server's resolved Location into what detour sends instead, and
// reports whether the pitfall showed.
var pitfalls = map[string]func(loc string, r request) (string, bool){
	// nginx's "?$args" without $is_args leaves a bare "?".
	"bare-query": func(loc string, _ request) (string, bool) {
		if strings.HasSuffix(loc, "?") {
			return strings.TrimSuffix(loc, "?"), true
		}
		return loc, false
	},
	// nginx's rewrite to $request_uri appends the arguments again.
	"duplicated-query": func(loc string, r request) (string, bool) {
		if _, q, ok := strings.Cut(r.target, "?"); ok && strings.HasSuffix(loc, "?"+q+"?"+q) {
			return strings.TrimSuffix(loc, "?"+q), true
		}
		return loc, false
	},
	// Apache's QSA escapes the appended query again (%20 → %2520).
	"qsa-double-escape": func(loc string, r request) (string, bool) {
		if _, q, ok := strings.Cut(r.target, "?"); ok && strings.Contains(q, "%") && strings.Contains(loc, "%25") {
			return strings.ReplaceAll(loc, "%25", "%"), true
		}
		return loc, false
	},
	// Apache's Redirect with a query in its target appends the rest of
	// the path after that query.
	"rest-after-query": func(loc string, _ request) (string, bool) {
		if base, q, ok := strings.Cut(loc, "?"); ok {
			if i := strings.IndexByte(q, '/'); i >= 0 {
				return base + q[i:] + "?" + q[:i], true
			}
		}
		return loc, false
	},
	// Apache appends the query after a #fragment of the target.
	"query-after-fragment": func(loc string, _ request) (string, bool) {
		if base, f, ok := strings.Cut(loc, "#"); ok {
			if frag, q, ok := strings.Cut(f, "?"); ok {
				return base + "?" + q + "#" + frag, true
			}
		}
		return loc, false
	},
}

// copyTree copies the files of src into dst.
func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// writeCert writes the test certificate into dir.
func writeCert(t *testing.T, dir string) (cert, key string) {
	t.Helper()
	cert, key = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(cert, testCert, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(key, testKey, 0o644); err != nil {
		t.Fatal(err)
	}
	return cert, key
}

// tempDir is a folder other users can read (Apache's workers run as
// nobody), removed at the end of the test.
func tempDir(t *testing.T) string {
	t.Helper()
	d := t.TempDir()
	for p := d; p != os.TempDir() && p != "/" && p != "."; p = filepath.Dir(p) {
		os.Chmod(p, 0o755)
	}
	return d
}

func TestNginxDifferential(t *testing.T) {
	bin := testutil.Bin(t, "nginx")
	cases := corpus(t, "testdata/nginx", ".conf")
	if len(cases) < 30 {
		t.Errorf("the nginx corpus holds %d configurations; the issue asks for at least 30", len(cases))
	}
	tmp := tempDir(t)
	copyTree(t, "testdata/nginx", tmp)
	cert, key := writeCert(t, tmp)
	ports := testutil.FreePorts(t, 2*len(cases))
	var conf strings.Builder
	fmt.Fprintf(&conf, "pid %s/nginx.pid;\nerror_log %s/error.log warn;\nevents { worker_connections 256; }\nhttp {\n", tmp, tmp)
	fmt.Fprintf(&conf, "  access_log off;\n  client_body_temp_path %[1]s/body;\n  proxy_temp_path %[1]s/proxy;\n  fastcgi_temp_path %[1]s/fastcgi;\n  uwsgi_temp_path %[1]s/uwsgi;\n  scgi_temp_path %[1]s/scgi;\n", tmp)
	for i, c := range cases {
		c.http, c.https = ports[2*i], ports[2*i+1]
		b, err := os.ReadFile(c.file)
		if err != nil {
			t.Fatal(err)
		}
		site := nginxSite(string(b), c.http, c.https, cert, key)
		if err := os.WriteFile(filepath.Join(tmp, c.name+".conf"), []byte(site), 0o644); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&conf, "  include %s.conf;\n", c.name)
	}
	conf.WriteString("}\n")
	main := filepath.Join(tmp, "nginx.conf")
	if err := os.WriteFile(main, []byte(conf.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	testutil.StartProc(t, bin, "-p", tmp, "-c", main, "-g", "daemon off; master_process off;")
	runCorpus(t, "nginx", cases, tmp)
}

func TestApacheDifferential(t *testing.T) {
	bin := testutil.Bin(t, "apache2")
	cases := append(corpus(t, "testdata/apache", ".conf"), corpus(t, "testdata/apache", ".htaccess")...)
	slices.SortFunc(cases, func(a, b *corpusCase) int { return strings.Compare(a.name, b.name) })
	if len(cases) < 30 {
		t.Errorf("the Apache corpus holds %d configurations; the issue asks for at least 30", len(cases))
	}
	tmp := tempDir(t)
	cert, key := writeCert(t, tmp)
	ports := testutil.FreePorts(t, 2*len(cases))
	conf := apacheMain(tmp)
	for i, c := range cases {
		c.http, c.https = ports[2*i], ports[2*i+1]
		b, err := os.ReadFile(c.file)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(conf, "Listen 127.0.0.1:%d\n", c.http)
		if strings.Contains(string(b), ":443>") {
			fmt.Fprintf(conf, "Listen 127.0.0.1:%d\n", c.https)
		}
		site := string(b)
		if strings.HasSuffix(c.file, ".htaccess") {
			docroot := filepath.Join(tmp, "htdocs", c.name)
			if err := os.MkdirAll(docroot, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(docroot, ".htaccess"), b, 0o644); err != nil {
				t.Fatal(err)
			}
			site = fmt.Sprintf("<VirtualHost 127.0.0.1:%d>\nDocumentRoot %s\n<Directory %s>\nAllowOverride All\nOptions FollowSymLinks\nRequire all granted\n</Directory>\n</VirtualHost>\n", c.http, docroot, docroot)
		} else {
			// "@DOCROOT@" in a configuration stands for a folder of its
			// own, so that <Directory> sections apply.
			docroot := filepath.Join(tmp, "htdocs", c.name)
			if err := os.MkdirAll(filepath.Join(docroot, "blog"), 0o755); err != nil {
				t.Fatal(err)
			}
			site = apacheSite(strings.ReplaceAll(site, "@DOCROOT@", docroot), c.http, c.https, cert, key)
		}
		name := filepath.Join(tmp, c.name+".site")
		if err := os.WriteFile(name, []byte(site), 0o644); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(conf, "Include %s\n", name)
	}
	main := filepath.Join(tmp, "httpd.conf")
	if err := os.WriteFile(main, []byte(conf.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	testutil.StartProc(t, bin, "-X", "-f", main)
	runCorpus(t, "apache", cases, tmp)
}

// runCorpus waits for the server started on every case's port, then
// imports each case from format and compares detour with the server.
func runCorpus(t *testing.T, format string, cases []*corpusCase, tmp string) {
	t.Helper()
	var all []int
	for _, c := range cases {
		all = append(all, c.http)
	}
	testutil.WaitPorts(t, all, filepath.Join(tmp, "error.log"))
	total := 0
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			importCase(t, format, c, tmp)
			total += differential(t, c)
		})
	}
	t.Logf("%d %s configurations, %d requests compared", len(cases), format, total)
}

// apacheMain is a self-contained httpd.conf head: modules from the
// Debian layout, every path in tmp.
func apacheMain(tmp string) *strings.Builder {
	b := new(strings.Builder)
	mods := "/usr/lib/apache2/modules"
	fmt.Fprintf(b, "ServerRoot %s\nServerName default.test\nPidFile %s/httpd.pid\nErrorLog %s/error.log\nLogLevel warn\nMutex file:%s default\n", tmp, tmp, tmp, tmp)
	for _, m := range []string{"mpm_event", "authz_core", "alias", "rewrite", "ssl", "socache_shmcb", "dir"} {
		fmt.Fprintf(b, "LoadModule %s_module %s/mod_%s.so\n", m, mods, m)
	}
	fmt.Fprintf(b, "User nobody\nGroup nogroup\nDocumentRoot %s/htdocs\n<Directory />\nAllowOverride None\nRequire all granted\n</Directory>\n", tmp)
	if err := os.MkdirAll(tmp+"/htdocs", 0o755); err != nil {
		panic(err)
	}
	return b
}
