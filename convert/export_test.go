package convert_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/detourhttp/detour"
	"github.com/detourhttp/detour/convert"
	"github.com/detourhttp/detour/ruleset"

	"github.com/detourhttp/detour/internal/testutil"
)

// exportCase is one rule set of the export corpus, exported.
type exportCase struct {
	corpusCase
	set    *ruleset.Set
	config string
	lost   convert.Findings
}

// exportCorpus loads the export corpus and exports every set to format.
func exportCorpus(t *testing.T, format string) []*exportCase {
	t.Helper()
	var out []*exportCase
	for _, c := range corpus(t, "testdata/export", ".yaml") {
		set, ds, err := ruleset.Load(c.file)
		if err != nil || ds.HasErrors() {
			t.Fatalf("%s: %v %v", c.file, err, ds.Errors())
		}
		conf, fs, err := convert.Export(format, set)
		if err != nil {
			t.Fatalf("%s: %v", c.file, err)
		}
		x := &exportCase{corpusCase: *c, set: set, config: string(conf)}
		for _, f := range fs {
			if f.Lost {
				x.lost = append(x.lost, f)
			}
		}
		out = append(out, x)
	}
	return out
}

// exported is the set as the exported configuration holds it: without
// the rules export left out, so detour and the server should agree on
// everything else.
func (x *exportCase) exported() *ruleset.Set {
	s := *x.set
	s.Rules = nil
	for _, r := range x.set.Rules {
		if !x.leftOut(r.Source) {
			s.Rules = append(s.Rules, r)
		}
	}
	return &s
}

func (x *exportCase) leftOut(src detour.Source) bool {
	for _, f := range x.lost {
		if f.File == src.File && f.Line == src.Line {
			return true
		}
	}
	return false
}

// roundTrip compares detour serving each exported set with the real
// server running the export. With mergesSlashes, the server merges runs
// of slashes whatever the configuration says (Caddy: the exporter notes
// it), so requests with them are left out unless the set merges too.
func roundTrip(t *testing.T, cases []*exportCase, mergesSlashes bool) {
	t.Helper()
	total := 0
	for _, x := range cases {
		t.Run(x.name, func(t *testing.T) {
			set := x.exported()
			reqs := setRequests(set, []string{"default.test"})
			if mergesSlashes && !set.MergeSlashes {
				reqs = slices.DeleteFunc(reqs, func(r request) bool { return strings.Contains(r.target, "//") })
			}
			dPlain, dSecure := serveSet(t, set)
			total += compare(t, &x.corpusCase, reqs, 0, dPlain, dSecure)
			if t.Failed() {
				t.Logf("exported configuration:\n%s", x.config)
				for _, f := range x.lost {
					t.Logf("left out: %s", f)
				}
			}
		})
	}
	t.Logf("%d rule sets, %d requests compared", len(cases), total)
}

func TestExportNginx(t *testing.T) {
	bin := testutil.Bin(t, "nginx")
	cases := exportCorpus(t, "nginx")
	tmp := tempDir(t)
	cert, key := writeCert(t, tmp)
	ports := testutil.FreePorts(t, 2*len(cases))
	var conf strings.Builder
	fmt.Fprintf(&conf, "pid %s/nginx.pid;\nerror_log %s/error.log warn;\nevents { worker_connections 256; }\nhttp {\n", tmp, tmp)
	fmt.Fprintf(&conf, "  access_log off;\n  client_body_temp_path %[1]s/body;\n  proxy_temp_path %[1]s/proxy;\n  fastcgi_temp_path %[1]s/fastcgi;\n  uwsgi_temp_path %[1]s/uwsgi;\n  scgi_temp_path %[1]s/scgi;\n", tmp)
	for i, x := range cases {
		x.http, x.https = ports[2*i], ports[2*i+1]
		site := nginxSite(x.config, x.http, x.https, cert, key)
		name := filepath.Join(tmp, x.name+".conf")
		if err := os.WriteFile(name, []byte(site), 0o644); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&conf, "  include %s;\n", name)
	}
	conf.WriteString("}\n")
	main := filepath.Join(tmp, "nginx.conf")
	if err := os.WriteFile(main, []byte(conf.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(bin, "-t", "-p", tmp, "-c", main).CombinedOutput(); err != nil {
		t.Fatalf("nginx -t refuses the export: %v\n%s\n%s", err, out, conf.String())
	}
	testutil.StartProc(t, bin, "-p", tmp, "-c", main, "-g", "daemon off; master_process off;")
	testutil.WaitPorts(t, httpPorts(cases), filepath.Join(tmp, "error.log"))
	roundTrip(t, cases, false)
}

func TestExportApache(t *testing.T) {
	bin := testutil.Bin(t, "apache2")
	cases := exportCorpus(t, "apache")
	tmp := tempDir(t)
	cert, key := writeCert(t, tmp)
	ports := testutil.FreePorts(t, 2*len(cases))
	conf := apacheMain(tmp)
	for i, x := range cases {
		x.http, x.https = ports[2*i], ports[2*i+1]
		fmt.Fprintf(conf, "Listen 127.0.0.1:%d\n", x.http)
		name := filepath.Join(tmp, x.name+".site")
		if err := os.WriteFile(name, []byte(apacheSite(x.config, x.http, x.https, cert, key)), 0o644); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(conf, "Include %s\n", name)
	}
	main := filepath.Join(tmp, "httpd.conf")
	if err := os.WriteFile(main, []byte(conf.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(bin, "-t", "-f", main).CombinedOutput(); err != nil {
		t.Fatalf("apache2 -t refuses the export: %v\n%s", err, out)
	}
	testutil.StartProc(t, bin, "-X", "-f", main)
	testutil.WaitPorts(t, httpPorts(cases), filepath.Join(tmp, "error.log"))
	roundTrip(t, cases, false)
}

// caddySiteRE finds the site address the Caddy exporter writes.
var caddySiteRE = regexp.MustCompile(`(?m)^:80 \{`)

func TestExportCaddy(t *testing.T) {
	bin := testutil.Bin(t, "caddy")
	cases := exportCorpus(t, "caddy")
	tmp := tempDir(t)
	ports := testutil.FreePorts(t, 2*len(cases))
	var conf strings.Builder
	conf.WriteString("{\n\tadmin off\n\tauto_https off\n\tstorage file_system " + tmp + "/caddy\n}\n")
	for i, x := range cases {
		x.http, x.https = ports[2*i], ports[2*i+1]
		one := filepath.Join(tmp, x.name+".Caddyfile")
		if err := os.WriteFile(one, []byte(x.config), 0o644); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command(bin, "validate", "--adapter", "caddyfile", "--config", one).CombinedOutput(); err != nil {
			t.Fatalf("caddy validate refuses the export of %s: %v\n%s\n%s", x.name, err, out, x.config)
		}
		conf.WriteString(caddySiteRE.ReplaceAllString(x.config, fmt.Sprintf("http://127.0.0.1:%d, http://:%d {", x.http, x.http)))
	}
	main := filepath.Join(tmp, "Caddyfile")
	if err := os.WriteFile(main, []byte(conf.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("HOME", tmp)
	t.Setenv("XDG_DATA_HOME", tmp)
	t.Setenv("XDG_CONFIG_HOME", tmp)
	testutil.StartProc(t, bin, "run", "--adapter", "caddyfile", "--config", main)
	testutil.WaitPorts(t, httpPorts(cases), filepath.Join(tmp, "none"))
	roundTrip(t, cases, true)
}

func httpPorts(cases []*exportCase) []int {
	var ps []int
	for _, x := range cases {
		ps = append(ps, x.http)
	}
	return ps
}
