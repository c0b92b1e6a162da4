package check_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/detourhttp/detour/check"
	"github.com/detourhttp/detour/convert"
	"github.com/detourhttp/detour/internal/testutil"
)

// migrationRules is a rule set nginx can express in full: exact, splat,
// named and regex paths, query handling, a host of its own.
const migrationRules = `
rules:
  - from: /original-resource
    to: /temporary-resource
  - from: /docs/*
    to: https://docs.example.com/:splat
    status: 308
  - from: /blog/:year/:slug
    to: /posts/:year/:slug
  - from: ~^/item/([0-9]+)$
    to: /items/$1
  - from: /search
    to: /find?src=old
    query: replace
  - host: shop.example.com
    from: /checkout/*
    to: /maintenance
    status: 302
`

// TestRunAgainstNginx verifies a migration as the README says check
// does: the cases derived from a rule set pass against the real nginx
// serving that set's export, although nginx sends absolute Locations
// where detour sends paths; compared as exact text they do not.
func TestRunAgainstNginx(t *testing.T) {
	bin := testutil.Bin(t, "nginx")
	set := mustParseRules(t, migrationRules)
	conf, fs, err := convert.Export("nginx", set)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fs {
		if f.Lost {
			t.Fatalf("the export left out a rule: %s", f)
		}
	}
	port := startNginx(t, bin, string(conf))
	base := mustURL(t, fmt.Sprintf("http://127.0.0.1:%d", port))
	cases, _, err := check.FromRules(set, base, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if len(cases) < 10 {
		t.Fatalf("%d cases derived, want at least 10", len(cases))
	}

	rep := mustRun(t, &check.Runner{Base: base}, cases)
	if got := failures(rep); len(got) > 0 || rep.Passed != len(cases) {
		t.Errorf("against nginx, %d of %d cases passed; failures:\n%q\nnginx configuration:\n%s", rep.Passed, len(cases), got, conf)
	}

	rep = mustRun(t, &check.Runner{Base: base, ExactLocation: true}, cases)
	for i := range rep.Results {
		r := &rep.Results[i]
		if r.Location == "" || strings.HasPrefix(r.Location, "https://") {
			continue // no Location, or an absolute one in the rule itself
		}
		if r.Passed() || len(r.Mismatches) != 1 || r.Mismatches[0].Field != "location" {
			t.Errorf("%s: with ExactLocation, Location %q: passed %v, mismatches %+v; want one location mismatch",
				r.Case.Title(), r.Location, r.Passed(), r.Mismatches)
		}
	}
}

// startNginx runs nginx with site (server blocks listening on port 80)
// on a free loopback port until the end of the test, and returns the
// port.
func startNginx(t *testing.T, bin, site string) int {
	t.Helper()
	tmp := t.TempDir()
	for p := tmp; p != os.TempDir() && p != "/" && p != "."; p = filepath.Dir(p) {
		os.Chmod(p, 0o755) // nginx workers may run as another user
	}
	port := testutil.FreePorts(t, 1)[0]
	site = strings.ReplaceAll(site, "listen 80", fmt.Sprintf("listen 127.0.0.1:%d", port))
	var conf strings.Builder
	fmt.Fprintf(&conf, "pid %[1]s/nginx.pid;\nerror_log %[1]s/error.log warn;\nevents { worker_connections 64; }\nhttp {\n", tmp)
	fmt.Fprintf(&conf, "  access_log off;\n  client_body_temp_path %[1]s/body;\n  proxy_temp_path %[1]s/proxy;\n  fastcgi_temp_path %[1]s/fastcgi;\n  uwsgi_temp_path %[1]s/uwsgi;\n  scgi_temp_path %[1]s/scgi;\n", tmp)
	conf.WriteString(site + "}\n")
	main := filepath.Join(tmp, "nginx.conf")
	if err := os.WriteFile(main, []byte(conf.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(bin, "-t", "-p", tmp, "-c", main).CombinedOutput(); err != nil {
		t.Fatalf("nginx -t: %v\n%s\n%s", err, out, conf.String())
	}
	testutil.StartProc(t, bin, "-p", tmp, "-c", main, "-g", "daemon off; master_process off;")
	testutil.WaitPorts(t, []int{port}, filepath.Join(tmp, "error.log"))
	return port
}
