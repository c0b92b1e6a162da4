package main_test

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	main "github.com/detourhttp/detour/cmd/detour"

	"github.com/detourhttp/detour/internal/testutil"
)

// checkdata is the check package's testdata folder: expectations files
// and rule sets.
const checkdata = "../../check/testdata"

// runCheck runs "detour check args..." in-process.
func runCheck(t testing.TB, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb syncBuffer
	m := &main.Main{Stdout: &out, Stderr: &errb}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	code = m.Run(ctx, append([]string{"check"}, args...))
	return code, out.String(), errb.String()
}

// writeCheckFile writes an expectations file into a new temporary folder.
func writeCheckFile(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "check.yaml")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestCheckUsage(t *testing.T) {
	pass := filepath.Join(checkdata, "demo-pass.yaml")
	tests := []struct {
		name   string
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{"no file", nil, 2, "", "check takes one expectations FILE"},
		{"two files", []string{"a.yaml", "b.yaml"}, 2, "", "check takes one expectations FILE"},
		{"a file and --rules", []string{pass, "--rules", "r.yaml", "--base", "http://127.0.0.1:1"}, 2, "", "not both"},
		{"--rules without --base", []string{"--rules", filepath.Join(checkdata, "rules")}, 2, "", "--rules needs --base"},
		{"bad --base", []string{pass, "--base", "127.0.0.1:8080"}, 2, "", `--base "127.0.0.1:8080"`},
		{"--base with a query", []string{pass, "--base", "http://127.0.0.1/?x"}, 2, "", "--base"},
		{"--concurrency 0", []string{pass, "--base", "http://127.0.0.1:1", "--concurrency", "0"}, 2, "", "--concurrency must be at least 1"},
		{"--timeout 0", []string{pass, "--base", "http://127.0.0.1:1", "--timeout", "0s"}, 2, "", "--timeout must be positive"},
		{"bad --timeout", []string{pass, "--base", "http://127.0.0.1:1", "--timeout", "soon"}, 2, "", "usage: detour check"},
		{"bad --resolve", []string{pass, "--base", "http://127.0.0.1:1", "--resolve", "example.com:80"}, 2, "", "want HOST:PORT:ADDR"},
		{"--resolve to a name", []string{pass, "--base", "http://127.0.0.1:1", "--resolve", "example.com:80:localhost"}, 2, "", "ADDR must be an IP address"},
		{"unknown flag", []string{pass, "--follow"}, 2, "", "usage: detour check"},
		{"a path without --base", []string{pass}, 2, "", "demo-pass.yaml:4: url \"/original-resource\" is a path: give --base"},
		{"missing file", []string{"nope.yaml", "--base", "http://127.0.0.1:1"}, 2, "", "detour: check: expectations: open nope.yaml"},
		{"missing rules", []string{"--rules", "nope", "--base", "http://127.0.0.1:1"}, 2, "", "detour: check: rules: stat nope"},
		{"help", []string{"-h"}, 0, "-exact-location", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runCheck(t, tt.args...)
			if code != tt.code {
				t.Errorf("exit %d, want %d\nstdout %s\nstderr %s", code, tt.code, stdout, stderr)
			}
			if !strings.Contains(stdout, tt.stdout) || !strings.Contains(stderr, tt.stderr) {
				t.Errorf("stdout %q lacks %q or stderr %q lacks %q", stdout, tt.stdout, stderr, tt.stderr)
			}
		})
	}
	t.Run("listed in detour help", func(t *testing.T) {
		_, stdout, _ := run(t, nil, "help")
		if !strings.Contains(stdout, "detour check FILE --base URL") {
			t.Errorf("help does not list check:\n%s", stdout)
		}
	})
}

func TestCheckFile(t *testing.T) {
	s := startServe(t, nil, args()...) // the built-in demo set
	bad := writeCheckFile(t, "cases:\n  - request: {url: /a}\n    expect:\n      statsu: 301\n  - request: {url: relative}\n    expect: {status: 301}\n")
	tests := []struct {
		name   string
		args   []string
		code   int
		stdout []string
		stderr []string
	}{
		{"passing file", []string{filepath.Join(checkdata, "demo-pass.yaml"), "--base", s.base()}, 0,
			[]string{"5 passed, 0 failed\n"}, nil},
		{"failing file", []string{filepath.Join(checkdata, "demo-fail.yaml"), "--base", s.base()}, 1,
			[]string{
				"FAIL wrong status (" + filepath.Join(checkdata, "demo-fail.yaml") + ":8)\n  GET " + s.base() + "/permanent-resource\n  status: expected 301, got 308\n",
				`location: expected "/elsewhere", got "/temporary-resource"`,
				`location: expected "/somewhere", got (none)`,
				"final_status: expected 404, got 200\n  hops: expected 2, got 1\n",
				"1 passed, 4 failed\n",
			}, nil},
		{"unparsable file", []string{bad, "--base", s.base()}, 2, nil, []string{
			"detour: check: " + bad + `:4: cases[0].expect.statsu: unknown field "statsu" (did you mean "status"?)` + "\n",
			"detour: check: " + bad + `:5: cases[1].request.url: "relative" is neither`,
		}},
		{"unreachable base", []string{filepath.Join(checkdata, "demo-pass.yaml"), "--base", "http://" + closedAddr(t)}, 2, nil,
			[]string{"detour: check: nothing checked: no response from the server", "connection refused"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runCheck(t, tt.args...)
			if code != tt.code {
				t.Errorf("exit %d, want %d\nstdout %s\nstderr %s", code, tt.code, stdout, stderr)
			}
			for _, w := range tt.stdout {
				if !strings.Contains(stdout, w) {
					t.Errorf("stdout lacks %q:\n%s", w, stdout)
				}
			}
			for _, w := range tt.stderr {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, stderr)
				}
			}
			if tt.code != 2 && stderr != "" {
				t.Errorf("stderr is not a terminal, yet got %q", stderr)
			}
		})
	}
}

func TestCheckJSON(t *testing.T) {
	s := startServe(t, nil, args()...)
	code, stdout, stderr := runCheck(t, filepath.Join(checkdata, "demo-fail.yaml"), "--base", s.base(), "--json")
	if code != 1 {
		t.Fatalf("exit %d, want 1: %s", code, stderr)
	}
	var rep struct {
		Name           string
		Passed, Failed int
		Cases          []struct {
			Name, Source, Method, URL string
			Passed                    bool
			Status                    int
			Location                  *string
			FinalStatus               *int `json:"final_status"`
			Hops                      *int
			Mismatches                []struct{ Field, Expected, Got string }
		}
		Skipped []any
	}
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, stdout)
	}
	if rep.Passed != 1 || rep.Failed != 4 || len(rep.Cases) != 5 || rep.Skipped == nil || len(rep.Skipped) != 0 {
		t.Fatalf("report: %+v", rep)
	}
	var got []string
	for _, c := range rep.Cases {
		line := fmt.Sprintf("%s %v %s %s %d", c.Name, c.Passed, c.Method, strings.TrimPrefix(c.URL, s.base()), c.Status)
		for _, m := range c.Mismatches {
			line += fmt.Sprintf(" [%s %s→%s]", m.Field, m.Expected, m.Got)
		}
		got = append(got, line)
	}
	want := []string{
		"passes true POST /original-resource 307",
		"wrong status false GET /permanent-resource 308 [status 301→308]",
		`wrong location false GET /original-resource 307 [location "/elsewhere"→"/temporary-resource"]`,
		`a Location where there is none false GET /gone 410 [location "/somewhere"→(none)]`,
		"wrong final status and hops false GET /original-resource 307 [final_status 404→200] [hops 2→1]",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("cases\n got %q\nwant %q", got, want)
	}
	if c := rep.Cases[4]; c.FinalStatus == nil || *c.FinalStatus != 200 || c.Hops == nil || *c.Hops != 1 || *c.Location != "/temporary-resource" {
		t.Errorf("followed case: %+v", c)
	}
}

// junitReport is the JUnit XML shape as CI systems read it.
type junitReport struct {
	XMLName  xml.Name `xml:"testsuites"`
	Tests    int      `xml:"tests,attr"`
	Failures int      `xml:"failures,attr"`
	Errors   int      `xml:"errors,attr"`
	Time     string   `xml:"time,attr"`
	Suites   []struct {
		Name     string `xml:"name,attr"`
		Tests    int    `xml:"tests,attr"`
		Failures int    `xml:"failures,attr"`
		Time     string `xml:"time,attr"`
		Cases    []struct {
			Name      string `xml:"name,attr"`
			Classname string `xml:"classname,attr"`
			Time      string `xml:"time,attr"`
			Failure   *struct {
				Message string `xml:"message,attr"`
				Text    string `xml:",chardata"`
			} `xml:"failure"`
		} `xml:"testcase"`
	} `xml:"testsuite"`
}

func TestCheckJUnit(t *testing.T) {
	s := startServe(t, nil, args()...)
	for _, tt := range []struct {
		file     string
		code     int
		failures int
	}{{"demo-pass.yaml", 0, 0}, {"demo-fail.yaml", 1, 4}} {
		t.Run(tt.file, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "report.xml")
			file := filepath.Join(checkdata, tt.file)
			code, stdout, stderr := runCheck(t, file, "--base", s.base(), "--junit", out)
			if code != tt.code {
				t.Fatalf("exit %d, want %d: %s", code, tt.code, stderr)
			}
			if !strings.Contains(stdout, "passed, ") {
				t.Errorf("no text report beside the JUnit file: %q", stdout)
			}
			data, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			var rep junitReport
			if err := xml.Unmarshal(data, &rep); err != nil {
				t.Fatalf("JUnit does not parse: %v\n%s", err, data)
			}
			if rep.Tests != 5 || rep.Failures != tt.failures || rep.Errors != 0 || rep.Time == "" || len(rep.Suites) != 1 {
				t.Fatalf("testsuites %+v", rep)
			}
			suite := rep.Suites[0]
			if suite.Name != file || suite.Tests != 5 || suite.Failures != tt.failures || len(suite.Cases) != 5 {
				t.Fatalf("testsuite %+v", suite)
			}
			failed := 0
			for _, c := range suite.Cases {
				if c.Classname != file || c.Time == "" {
					t.Errorf("testcase %+v", c)
				}
				if c.Failure != nil {
					failed++
				}
			}
			if failed != tt.failures {
				t.Errorf("%d testcases carry a failure, want %d", failed, tt.failures)
			}
			if tt.failures > 0 {
				c := suite.Cases[1]
				if c.Name != "wrong status" || c.Failure == nil || c.Failure.Message != `status: expected 301, got 308` ||
					!strings.Contains(c.Failure.Text, "- status: 301\n+ status: 308\n") {
					t.Errorf("failed testcase %+v", c)
				}
			}
		})
	}
	t.Run("unwritable report", func(t *testing.T) {
		code, _, stderr := runCheck(t, filepath.Join(checkdata, "demo-pass.yaml"), "--base", s.base(),
			"--junit", filepath.Join(t.TempDir(), "no", "such", "dir", "r.xml"))
		if code != 2 || !strings.Contains(stderr, "--junit") {
			t.Errorf("exit %d, stderr %q", code, stderr)
		}
	})
}

// hostRules answer by host, with absolute Locations for one host.
const hostRules = `
rules:
  - host: shop.example.com
    from: /checkout/*
    to: /maintenance
  - host: abs.example.com
    from: /old
    to: /new
    absolute: true
  - from: /old
    to: /new
`

func TestCheckLocationsAndHosts(t *testing.T) {
	s := startServe(t, nil, args("--rules", writeRules(t, hostRules))...)
	_, port, _ := net.SplitHostPort(s.addrs.HTTP.String())
	file := writeCheckFile(t, `cases:
  - name: relative got, relative expected
    request: {url: /old}
    expect: {status: 307, location: /new}
  - name: absolute got, relative expected
    request: {url: /old, headers: {Host: abs.example.com}}
    expect: {status: 307, location: /new}
  - name: absolute got, absolute expected
    request: {url: /old, headers: {Host: abs.example.com}}
    expect: {status: 307, location: "http://abs.example.com/new"}
  - name: by Host header
    request: {url: /checkout/a, headers: {Host: shop.example.com}}
    expect: {status: 307, location: /maintenance}
  - name: by --resolve
    request: {url: "http://shop.example.com:`+port+`/checkout/b"}
    expect: {status: 307, location: "http://shop.example.com:`+port+`/maintenance"}
`)
	resolve := "shop.example.com:" + port + ":127.0.0.1"
	t.Run("resolved", func(t *testing.T) {
		code, stdout, stderr := runCheck(t, file, "--base", s.base(), "--resolve", resolve)
		if code != 0 || !strings.Contains(stdout, "5 passed, 0 failed") {
			t.Errorf("exit %d\n%s%s", code, stdout, stderr)
		}
	})
	t.Run("exact", func(t *testing.T) {
		code, stdout, stderr := runCheck(t, file, "--base", s.base(), "--resolve", resolve, "--exact-location")
		if code != 1 || !strings.Contains(stdout, "3 passed, 2 failed") {
			t.Errorf("exit %d\n%s%s", code, stdout, stderr)
		}
		want := "FAIL absolute got, relative expected (" + file + ":5)\n  GET " + s.base() + "/old\n" +
			`  location: expected "/new", got "http://abs.example.com/new"` + "\n"
		if !strings.Contains(stdout, want) {
			t.Errorf("stdout lacks\n%s\ngot\n%s", want, stdout)
		}
		if !strings.Contains(stdout, `FAIL by --resolve`) {
			t.Errorf("the relative Location of a --resolve case passed as exact text:\n%s", stdout)
		}
	})
	t.Run("without --resolve the host is not ours", func(t *testing.T) {
		// The Host header case needs no --resolve; the absolute URL's
		// host is sent where --resolve says, here nowhere reachable.
		other := "shop.example.com:" + port + ":127.0.0.2"
		code, stdout, _ := runCheck(t, file, "--base", s.base(), "--resolve", other, "--timeout", "2s")
		if code != 1 || !strings.Contains(stdout, "ERROR by --resolve") || !strings.Contains(stdout, "4 passed, 1 failed") {
			t.Errorf("exit %d\n%s", code, stdout)
		}
	})
}

func TestCheckRules(t *testing.T) {
	rules := filepath.Join(checkdata, "rules")
	same := startServe(t, nil, args("--rules", rules)...)
	changed := startServe(t, nil, args("--rules", filepath.Join(checkdata, "rules-changed"))...)
	t.Run("against the same rules", func(t *testing.T) {
		code, stdout, stderr := runCheck(t, "--rules", rules, "--base", same.base())
		if code != 0 {
			t.Fatalf("exit %d\n%s%s", code, stdout, stderr)
		}
		if !regexp.MustCompile(`(?m)^\d+ passed, 0 failed; 1 rule skipped$`).MatchString(stdout) || !strings.Contains(stdout, "SKIP rule later (") {
			t.Errorf("stdout:\n%s", stdout)
		}
	})
	t.Run("against changed rules", func(t *testing.T) {
		code, stdout, stderr := runCheck(t, "--rules", rules, "--base", changed.base(), "--json")
		if code != 1 {
			t.Fatalf("exit %d\n%s%s", code, stdout, stderr)
		}
		var rep struct {
			Failed int
			Cases  []struct {
				Name   string
				Passed bool
			}
		}
		if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
			t.Fatal(err)
		}
		var failed []string
		for _, c := range rep.Cases {
			if !c.Passed {
				failed = append(failed, c.Name)
			}
		}
		want := []string{
			"blog: GET /blog/a/b2", "blog: GET /blog/b2/c-3", "blog: GET /blog/c-3/a", "blog: GET /blog/a/b2?detour-check=1",
			"search: GET /search", "search: GET /search?detour-check=1",
			"table:legacy.csv row 3: GET /old/2",
		}
		if strings.Join(failed, "\n") != strings.Join(want, "\n") {
			t.Errorf("failed cases\n got %q\nwant %q", failed, want)
		}
	})
	t.Run("rules that do not parse", func(t *testing.T) {
		bad := writeRules(t, "rules:\n  - from: /a\n    to: /b\n    stauts: 301\n")
		code, _, stderr := runCheck(t, "--rules", bad, "--base", same.base())
		if code != 2 || !strings.Contains(stderr, bad+":4: rules[0].stauts: unknown field") {
			t.Errorf("exit %d, stderr %q", code, stderr)
		}
	})
	t.Run("rules that give no case", func(t *testing.T) {
		none := writeRules(t, "rules:\n  - {id: later, from: /a, to: /b, window: {start: 2999-01-01T00:00:00Z}}\n")
		code, _, stderr := runCheck(t, "--rules", none, "--base", same.base())
		if code != 2 || !strings.Contains(stderr, "gives no case to check") || !strings.Contains(stderr, "rule later") {
			t.Errorf("exit %d, stderr %q", code, stderr)
		}
	})
}

// bulkRules writes a rule set whose one table holds n rows.
func bulkRules(tb testing.TB, n int) string {
	tb.Helper()
	dir := tb.TempDir()
	var csv strings.Builder
	csv.WriteString("from,to\n")
	for i := range n {
		fmt.Fprintf(&csv, "/old/%d,/new/%d\n", i, i)
	}
	if err := os.WriteFile(filepath.Join(dir, "bulk.csv"), []byte(csv.String()), 0o644); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "detour.yaml"), []byte("tables:\n  - {file: bulk.csv, status: 301}\n"), 0o644); err != nil {
		tb.Fatal(err)
	}
	return dir
}

// TestCheckRulesScale checks a 2,000-row table with --rules against
// detour serving it, and logs how long it took (no assertion on time;
// BenchmarkCheckRules10k measures 10,000 rows).
func TestCheckRulesScale(t *testing.T) {
	const rows = 2000
	dir := bulkRules(t, rows)
	s := startServe(t, nil, args("--rules", dir)...)
	start := time.Now()
	code, stdout, stderr := runCheck(t, "--rules", dir, "--base", s.base())
	took := time.Since(start)
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, stdout, stderr)
	}
	if want := fmt.Sprintf("%d passed, 0 failed\n", rows+1); stdout != want {
		t.Errorf("stdout %q, want %q", stdout, want)
	}
	t.Logf("%d cases in %s", rows+1, took.Round(time.Millisecond))
}

// BenchmarkCheckRules10k runs `detour check --rules` over a 10,000-row
// table against detour serving it, in-process, with the default
// concurrency:
//
//	go test -run '^$' -bench CheckRules10k -benchtime 3x ./cmd/detour/
func BenchmarkCheckRules10k(b *testing.B) {
	const rows = 10_000
	dir := bulkRules(b, rows)
	s := startServe(b, nil, args("--rules", dir)...).base()
	b.ResetTimer()
	for b.Loop() {
		code, stdout, stderr := runCheck(b, "--rules", dir, "--base", s)
		if code != 0 || stdout != fmt.Sprintf("%d passed, 0 failed\n", rows+1) {
			b.Fatalf("exit %d\n%s%s", code, stdout, stderr)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/run")
	b.ReportMetric(float64(rows+1), "cases/run")
}

// nginxConf is the config the nginx test runs: the seed's
// `location /original-resource { return 307 /temporary-resource; }` and a
// few more redirects, everything nginx writes kept in the test's folder.
const nginxConf = `{user}
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log;
events { worker_connections 64; }
http {
    access_log {dir}/access.log;
    client_body_temp_path {dir}/client_body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    default_type text/plain;

    server {
        listen 127.0.0.1:{port};
        server_name localhost;
        location /original-resource { return 307 /temporary-resource; }
        location = /temporary-resource { return 200 "temporary resource\n"; }
        location = /old { return 301 /new; }
        location = /new { return 200 "new\n"; }
        location /docs/ { rewrite ^/docs/(.*)$ /manual/$1 permanent; }
        location /manual/ { return 200 "manual\n"; }
        location = /gone { return 410; }
        location = /hop1 { return 302 /hop2; }
        location = /hop2 { return 303 /new; }
    }
    server {
        listen 127.0.0.1:{port};
        server_name shop.example.com;
        location / { return 307 /maintenance; }
        location = /maintenance { return 503; }
    }
}
`

// startNginx runs nginx in the foreground on a free loopback port with
// nginxConf, until the end of the test, and returns the port.
func startNginx(t *testing.T) string {
	t.Helper()
	bin := testutil.Bin(t, "nginx")
	var lastErr error
	for range 3 { // the free port may be taken between looking and binding
		dir := t.TempDir()
		port := strconv.Itoa(testutil.FreePorts(t, 1)[0])
		user := ""
		if os.Geteuid() == 0 {
			user = "user root;" // workers must reach the test's folder
		}
		conf := strings.NewReplacer("{user}", user, "{dir}", dir, "{port}", port).Replace(nginxConf)
		confPath := filepath.Join(dir, "nginx.conf")
		if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
			t.Fatal(err)
		}
		var out syncBuffer
		cmd := exec.Command(bin, "-p", dir+"/", "-c", confPath, "-e", filepath.Join(dir, "error.log"), "-g", "daemon off;")
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatalf("start nginx: %v", err)
		}
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		if lastErr = waitListening(port, exited); lastErr == nil {
			t.Cleanup(func() {
				cmd.Process.Signal(syscall.SIGQUIT) // graceful stop
				select {
				case <-exited:
				case <-time.After(10 * time.Second):
					cmd.Process.Kill()
					<-exited
				}
			})
			return port
		}
		cmd.Process.Kill()
		<-exited
		log, _ := os.ReadFile(filepath.Join(dir, "error.log"))
		lastErr = fmt.Errorf("%w\n%s%s", lastErr, out.String(), log)
	}
	t.Fatalf("nginx did not start: %v", lastErr)
	return ""
}

// waitListening waits until 127.0.0.1:port accepts connections, or the
// process exits.
func waitListening(port string, exited chan error) error {
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if c, err := net.DialTimeout("tcp", "127.0.0.1:"+port, time.Second); err == nil {
			c.Close()
			return nil
		}
		select {
		case err := <-exited:
			exited <- err
			return fmt.Errorf("nginx exited: %v", err)
		case <-time.After(20 * time.Millisecond):
		}
	}
	return errors.New("nginx did not listen within 15s")
}

// TestCheckNginx runs a passing and a deliberately failing expectations
// file against a real nginx. nginx makes every Location absolute
// (http://127.0.0.1:PORT/new for `return 301 /new`): resolved comparison
// passes, --exact-location shows the difference.
func TestCheckNginx(t *testing.T) {
	port := startNginx(t)
	base := "http://127.0.0.1:" + port
	resolve := "shop.example.com:" + port + ":127.0.0.1"
	pass := writeCheckFile(t, strings.ReplaceAll(`cases:
  - name: the seed's 307, followed
    request: {method: POST, url: /original-resource, body: "data=example"}
    expect: {status: 307, location: /temporary-resource, final_status: 200, hops: 1}
  - request: {url: /old}
    expect: {status: 301, location: /new, final_status: 200, hops: 1}
  - name: the query carried by rewrite
    request: {url: "/docs/a?x=1"}
    expect: {status: 301, location: "/manual/a?x=1"}
  - request: {url: /gone}
    expect: {status: 410, location: null}
  - name: a chain of two
    request: {url: /hop1}
    expect: {status: 302, location: /hop2, final_status: 200, hops: 2}
  - name: a server block by Host header
    request: {url: /checkout, headers: {Host: "shop.example.com:{port}"}}
    expect: {status: 307, location: /maintenance, final_status: 503, hops: 1}
  - name: a server block by --resolve
    request: {url: "http://shop.example.com:{port}/cart"}
    expect: {status: 307, location: "http://shop.example.com:{port}/maintenance"}
`, "{port}", port))
	fail := writeCheckFile(t, `cases:
  - name: status
    request: {url: /old}
    expect: {status: 302, location: /new}
  - name: location
    request: {url: /old}
    expect: {status: 301, location: /newer}
  - name: final status
    request: {method: POST, url: /original-resource}
    expect: {status: 307, final_status: 201}
  - name: hops
    request: {url: /hop1}
    expect: {hops: 1}
  - name: passes
    request: {url: /old}
    expect: {status: 301}
`)
	t.Run("passing file", func(t *testing.T) {
		code, stdout, stderr := runCheck(t, pass, "--base", base, "--resolve", resolve)
		if code != 0 || stdout != "7 passed, 0 failed\n" {
			t.Errorf("exit %d\n%s%s", code, stdout, stderr)
		}
	})
	t.Run("failing file", func(t *testing.T) {
		code, stdout, stderr := runCheck(t, fail, "--base", base)
		if code != 1 {
			t.Fatalf("exit %d\n%s%s", code, stdout, stderr)
		}
		for _, w := range []string{
			"FAIL status (" + fail + ":2)\n  GET " + base + "/old\n  status: expected 302, got 301\n\n",
			"FAIL location (" + fail + ":5)\n  GET " + base + "/old\n" +
				`  location: expected "/newer", got "` + base + `/new" (resolved against ` + base + "/old: expected " + base + "/newer, got " + base + "/new)\n",
			"final_status: expected 201, got 200\n",
			"hops: expected 1, got 2\n",
			"1 passed, 4 failed\n",
		} {
			if !strings.Contains(stdout, w) {
				t.Errorf("stdout lacks\n%s\ngot\n%s", w, stdout)
			}
		}
	})
	t.Run("exact location", func(t *testing.T) {
		code, stdout, stderr := runCheck(t, pass, "--base", base, "--resolve", resolve, "--exact-location")
		if code != 1 {
			t.Fatalf("exit %d\n%s%s", code, stdout, stderr)
		}
		// Every relative expectation fails as text; the absolute one
		// and the one without Location pass.
		want := "FAIL GET /old (" + pass + ":5)\n  GET " + base + "/old\n" +
			`  location: expected "/new", got "` + base + `/new"` + "\n"
		if !strings.Contains(stdout, want) || !strings.HasSuffix(stdout, "2 passed, 5 failed\n") {
			t.Errorf("stdout lacks\n%s\nor the summary; got\n%s", want, stdout)
		}
	})
	t.Run("--rules against nginx", func(t *testing.T) {
		// A rule set that states what the config does: nginx implements
		// it, in its own absolute way.
		rules := writeRules(t, `
rules:
  - {id: seed, from: /original-resource*, to: /temporary-resource, query: drop}
  - {id: old, from: /old, to: /new, status: 301, query: drop}
  - {id: docs, from: "~^/docs/(.*)$", to: "/manual/$1", status: 301}
  - {id: gone, from: /gone, status: 410}
  - {id: shop, host: shop.example.com, from: /checkout/*, to: /maintenance, query: drop}
`)
		code, stdout, stderr := runCheck(t, "--rules", rules, "--base", base, "--resolve", resolve)
		if code != 0 || !strings.HasSuffix(stdout, " passed, 0 failed\n") {
			t.Errorf("exit %d\n%s%s", code, stdout, stderr)
		}
		// `return 301 /new` drops the query; detour keeps it unless told.
		rules = writeRules(t, "rules:\n  - {id: old, from: /old, to: /new, status: 301}\n")
		code, stdout, stderr = runCheck(t, "--rules", rules, "--base", base)
		want := "FAIL old: GET /old?detour-check=1 (" + rules + ":2)\n  GET " + base + "/old?detour-check=1\n" +
			`  location: expected "/new?detour-check=1", got "` + base + `/new"`
		if code != 1 || !strings.Contains(stdout, want) || !strings.HasSuffix(stdout, "1 passed, 1 failed\n") {
			t.Errorf("exit %d\n%s%s\nwant\n%s", code, stdout, stderr, want)
		}
	})
}
